"""The one module that talks to Krita's document API (libkis): reads layers, selections
and the picture below a paste, and adds results as new layers or new documents.

New layers are filled with setPixelData() before they are added (setPixelData is not
undoable; adding a node is). The painter's own layers are only ever read.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile

from krita import Krita
from PyQt5.QtGui import QImage

from singan_protocol import ImagePayload

from .availability import DocState
from .errors import UserFacingError
from .layers import LayerRead, PasteRead, Placement
from .pixels import (
    PixelFormat,
    alpha_payload,
    convert_samples,
    from_payload,
    is_blank,
    pixel_format,
    to_payload,
)
from .regions import Rect, read_region

log = logging.getLogger(__name__)


def doc_key(doc) -> str:
    """The root node's uuid: unique per open image, unlike names and file names."""
    return doc.rootNode().uniqueId().toString()


def _rect(qrect) -> Rect:
    return Rect(qrect.x(), qrect.y(), qrect.width(), qrect.height())


def _selection_rect(doc) -> Rect | None:
    sel = doc.selection()
    if sel is None or sel.width() <= 0 or sel.height() <= 0:
        return None  # setSelection(Selection()) leaves an empty one behind: treat it as none
    return Rect(sel.x(), sel.y(), sel.width(), sel.height())


def _path_to(root, node) -> list:
    """[root, ..., node] through the layer tree; [] when node is not in it."""
    for child in root.childNodes():
        if child.uniqueId() == node.uniqueId():
            return [root, child]
        sub = _path_to(child, node)
        if sub:
            return [root, *sub]
    return []


def _visible_below(doc, node) -> bool:
    path = _path_to(doc.rootNode(), node)
    for parent, child in zip(path, path[1:]):
        ids = [c.uniqueId() for c in parent.childNodes()]
        below = parent.childNodes()[:ids.index(child.uniqueId())]
        if any(n.visible() and n.type() in ("paintlayer", "grouplayer", "filelayer", "vectorlayer",
                                            "filllayer", "clonelayer") for n in below):
            return True
    return False


def _project_below(clone, node, width: int, height: int) -> tuple[bytes, bytes]:
    path = _path_to(clone.rootNode(), node)  # uuids survive clone()
    if not path:
        raise UserFacingError("The pasted layer could not be found; try again.")
    for parent, child in zip(path, path[1:]):
        ids = [c.uniqueId() for c in parent.childNodes()]
        for above in parent.childNodes()[ids.index(child.uniqueId()) + 1:]:
            above.remove()
    for mask in clone.rootNode().childNodes():
        if mask.type() == "selectionmask":
            mask.remove()
    clone.refreshProjection()
    clone.waitForDone()
    composite = bytes(clone.pixelData(0, 0, width, height))
    path[-1].remove()
    clone.refreshProjection()
    clone.waitForDone()
    return composite, bytes(clone.pixelData(0, 0, width, height))


class KritaAdapter:
    def __init__(self, krita=None):
        self.krita = krita or Krita.instance()
        self._frame_folders: list[str] = []  # PNGs given to importAnimation (see close())

    # ---- the plugin's own settings, in Krita's (kritarc, group "singan") -----------------

    def read_setting(self, name: str) -> str:
        return self.krita.readSetting("singan", name, "")

    def write_setting(self, name: str, value: str) -> None:
        self.krita.writeSetting("singan", name, value)

    def animated_layer_problem(self) -> str | None:
        """Why the animated-layer import is not offered here, or None. Krita 5.1's
        importAnimation crashed Krita (exit 139, unsaved work lost) in 6 of 9 test sessions
        on 5.1.5, with batch mode, with and without a shown document and an active layer."""
        version = self.krita.version()
        if version.startswith(("4.", "5.0.", "5.1.")):
            return (f"Krita {version}'s animation import crashed Krita in our tests, so the "
                    "frames come as layers in a group. Krita 5.2 or newer offers this.")
        return None

    # ---- reading -----------------------------------------------------------------------

    def _active(self):
        doc = self.krita.activeDocument()
        if doc is None:
            raise UserFacingError("Open or create a picture first.")
        node = doc.activeNode()
        if node is None:
            raise UserFacingError("Pick a layer in the Layers docker first.")
        return doc, node

    def doc_state(self) -> DocState:
        doc = self.krita.activeDocument()
        if doc is None:
            return DocState()
        node = doc.activeNode()
        problem = ""
        if node is not None:
            try:
                pixel_format(node.colorModel(), node.colorDepth())
            except UserFacingError as exc:
                problem = str(exc)
        return DocState(
            document=doc_key(doc), name=doc.name() or os.path.basename(doc.fileName()),
            canvas=(doc.width(), doc.height()),
            layer=node.name() if node else "", layer_type=node.type() if node else "",
            color_problem=problem, has_selection=_selection_rect(doc) is not None,
            has_layer_below=node is not None and _visible_below(doc, node))

    def _place(self, doc, above, x: int, y: int, fmt: PixelFormat) -> Placement:
        return Placement(doc, doc_key(doc), doc.name() or os.path.basename(doc.fileName()) or
                         "Untitled", above, x, y, fmt)

    def placement(self) -> Placement:
        """New layers at the canvas origin, above the active layer, in the document's format."""
        doc = self.krita.activeDocument()
        if doc is None:
            raise UserFacingError("Open or create a picture first.")
        fmt = pixel_format(doc.colorModel(), doc.colorDepth())
        return self._place(doc, doc.activeNode(), 0, 0, fmt)

    def read_layer(self, use_selection: bool = True, with_mask: bool = False) -> LayerRead:
        """The active layer inside the canvas, or inside the selection's bounds when
        `use_selection`; with the selection as a mask over that area when `with_mask`."""
        doc, node = self._active()
        fmt = pixel_format(node.colorModel(), node.colorDepth())
        canvas = Rect(0, 0, doc.width(), doc.height())
        selection = _selection_rect(doc)
        if with_mask and selection is None:
            raise UserFacingError("Select the area you changed first (any selection tool).")
        area = read_region(node.name(), _rect(node.bounds()), canvas,
                           selection if use_selection else None)
        data = bytes(node.projectionPixelData(*area.as_tuple()))
        mask = None
        if with_mask:
            mask_bytes = bytes(doc.selection().pixelData(*area.as_tuple()))
            if is_blank(mask_bytes):
                raise UserFacingError("The selection is empty inside this layer.")
            mask = ImagePayload.of(area.width, area.height, "GRAY", "u8", mask_bytes)
        return LayerRead(self._place(doc, node, area.x, area.y, fmt), node.name(),
                         to_payload(fmt, area.width, area.height, data), mask)

    def read_paste(self) -> PasteRead:
        """The active paint layer as a pasted object over the picture below it."""
        doc, node = self._active()
        if node.type() != "paintlayer":
            raise UserFacingError("Make the pasted object's layer (a paint layer) the active layer.")
        fmt = pixel_format(doc.colorModel(), doc.colorDepth())
        node_fmt = pixel_format(node.colorModel(), node.colorDepth())
        w, h = doc.width(), doc.height()
        alpha = alpha_payload(node_fmt, w, h, bytes(node.pixelData(0, 0, w, h)))
        mask_u8 = convert_samples(alpha.data, alpha.sample_type, "u8")
        if is_blank(mask_u8):
            raise UserFacingError(f"The layer “{node.name()}” is empty on the canvas: paste an "
                                  "object onto it first.")
        composite, background = self._composites(doc, node)
        mask = ImagePayload.of(w, h, "GRAY", "u8", mask_u8)
        return PasteRead(self._place(doc, node, 0, 0, fmt), node.name(),
                         to_payload(fmt, w, h, composite), mask, to_payload(fmt, w, h, background))

    def _composites(self, doc, node) -> tuple[bytes, bytes]:
        """The projection down to the paste (included), then without it, read from a
        clone so the painter's document is never touched."""
        clone = doc.clone()
        try:
            return _project_below(clone, node, doc.width(), doc.height())
        finally:
            clone.close()  # after _project_below let go of the clone's nodes

    # ---- writing -----------------------------------------------------------------------

    def _open_document(self, place: Placement):
        for doc in self.krita.documents():
            if doc_key(doc) == place.doc_key:
                return doc
        raise UserFacingError(f"The picture “{place.doc_name}” was closed before the result "
                              "arrived, so the result was dropped.")

    def _filled_layer(self, doc, name: str, image, x: int, y: int, visible: bool = True):
        node = doc.createNode(name, "paintlayer")
        fmt = pixel_format(node.colorModel(), node.colorDepth())
        node.setPixelData(from_payload(fmt, image), x, y, image.width, image.height)
        if not visible:
            node.setVisible(False)
        return node

    def add_layers(self, place: Placement, images, names, group: str | None = None,
                   hidden=()) -> None:
        """New filled layers above the placement's layer (first on top), in a group if named."""
        doc = self._open_document(place)
        nodes = [self._filled_layer(doc, name, image, place.x, place.y, i not in hidden)
                 for i, (image, name) in enumerate(zip(images, names))]
        above = place.above
        parent = above.parentNode() if above is not None else None
        if parent is None:
            parent, above = doc.rootNode(), None
        if group:
            folder = doc.createGroupLayer(group)
            for node in reversed(nodes):
                folder.addChildNode(node, None)  # None: on top, so the first ends highest
            parent.addChildNode(folder, above)
        else:
            for node in nodes:
                parent.addChildNode(node, above)
        doc.refreshProjection()

    def _new_document(self, name: str, width: int, height: int, fmt: PixelFormat):
        doc = self.krita.createDocument(width, height, name, fmt.model, fmt.depth, "", 300.0)
        if doc is None:
            raise UserFacingError(f"Krita could not create a {width} × {height} document.")
        for child in doc.rootNode().childNodes():
            child.remove()  # the empty "Background" Krita puts in every new document
        return doc

    def _show(self, doc) -> None:
        window = self.krita.activeWindow()
        if window is not None:
            window.addView(doc)

    def new_document(self, name: str, image, fmt: PixelFormat) -> None:
        """A new document holding `image` in one layer; the source document is untouched."""
        doc = self._new_document(name, image.width, image.height, fmt)
        doc.rootNode().addChildNode(self._filled_layer(doc, name, image, 0, 0), None)
        doc.refreshProjection()
        self._show(doc)

    def new_animation(self, name: str, frames, fps: float, fmt: PixelFormat,
                      animated_layer: bool = False) -> str:
        """A new, unsaved document with the frames as layers in a group (one visible), or,
        when asked, as an animated layer through Krita's importAnimation, which crashed
        Krita 5.1.5 in about 1 of 4 runs (KRITA_NOTES.md): only an opt-in. The painter's
        documents are never touched or saved. Returns how it was done, in words."""
        first = frames[0]
        doc = self._new_document(name, first.width, first.height, fmt)
        doc.setFramesPerSecond(max(1, int(round(fps))))
        doc.setFullClipRangeStartTime(0)
        doc.setFullClipRangeEndTime(len(frames) - 1)
        how = "as layers in a group"
        if animated_layer:
            # the import adds its layer next to the active one, in a shown document
            holder = doc.createNode("frames", "paintlayer")
            doc.rootNode().addChildNode(holder, None)
            doc.setActiveNode(holder)
            self._show(doc)
            if self._import_animation(doc, frames):
                how = "as an animated layer"
            else:
                how = "as layers in a group (the animated import failed)"
            holder.remove()
        if how != "as an animated layer":
            folder = doc.createGroupLayer(f"{name} frames")
            for i, frame in enumerate(frames):
                folder.addChildNode(self._filled_layer(doc, f"frame {i + 1}", frame, 0, 0,
                                                       visible=i == 0), None)
            doc.rootNode().addChildNode(folder, None)
        doc.refreshProjection()
        self._show(doc)
        return how

    def _import_animation(self, doc, frames) -> bool:
        """Krita's importAnimation from PNGs; batch mode keeps it from asking questions.
        The PNGs stay until Krita quits (close()): Krita 5.1.5 may still read them in a
        worker thread after importAnimation returned."""
        folder = tempfile.mkdtemp(prefix="singan-frames-")
        self._frame_folders.append(folder)
        files = []
        for i, frame in enumerate(frames):
            bgra = from_payload(PixelFormat("RGBA", "U8"), frame)
            image = QImage(bgra, frame.width, frame.height, frame.width * 4, QImage.Format_ARGB32)
            path = os.path.join(folder, f"frame{i:05d}.png")
            if not image.save(path, "PNG"):
                log.warning("could not write %s", path)
                return False
            files.append(path)
        doc.setBatchmode(True)
        try:
            done = bool(doc.importAnimation(files, 0, 1))
            doc.waitForDone()
            return done
        finally:
            doc.setBatchmode(False)

    def close(self) -> None:
        """Krita is quitting: remove the frames imported as animations."""
        for folder in self._frame_folders:
            shutil.rmtree(folder, ignore_errors=True)
        self._frame_folders.clear()
