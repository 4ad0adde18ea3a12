"""Which actions the current document allows, and if not, why (the buttons' tooltips)."""

from __future__ import annotations

from dataclasses import dataclass

ACTIONS = {  # id -> the words on the button and in Tools > SinGAN
    "train": "Train on current layer",
    "generate": "Generate variations",
    "instant": "Instant variations",
    "harmonize": "Harmonize paste layer",
    "edit": "Edit selection",
    "paint": "Paint to image",
    "upscale": "Super-resolve layer",
    "animate": "Animate",
}
TIPS = {
    "train": "Teach a new model the textures of the active layer (or of the selection in it).",
    "generate": "Make new random pictures in the style of the chosen model, as new layers.",
    "instant": "Variations of the active layer in seconds, with no model (patch synthesis), "
               "as new layers.",
    "harmonize": "Blend the active layer (a pasted object) into the picture below it.",
    "edit": "Re-generate the selected area so that it fits the rest of the picture.",
    "paint": "Turn the active layer, a rough colour sketch, into a picture in the model's style.",
    "upscale": "Enlarge the active layer with SinGAN's super-resolution into a new document.",
    "animate": "Make a short looping animation from the chosen model, in a new document.",
}
READABLE_LAYERS = {"paintlayer", "grouplayer", "filelayer", "vectorlayer", "filllayer", "clonelayer"}
NEEDS_MODEL = {"generate", "edit", "paint", "animate"}
NEEDS_LAYER = {"train", "instant", "harmonize", "edit", "paint", "upscale"}


@dataclass(frozen=True)
class DocState:
    """What the plugin needs to know about Krita's active document, read each tick."""

    document: str = ""  # a key that names the document; "" = none open
    name: str = ""  # the document's name as the painter sees it
    canvas: tuple[int, int] = (0, 0)  # width, height in px
    layer: str = ""  # the active layer's name
    layer_type: str = ""  # Krita's node type, e.g. "paintlayer"
    color_problem: str = ""  # why the layer's colours cannot be used ("" = fine)
    has_selection: bool = False
    has_layer_below: bool = False  # a visible layer under the active one


def reasons(doc: DocState, connected: bool, has_model: bool) -> dict[str, str | None]:
    """action id -> None when it can run now, else a sentence that says why not."""
    out: dict[str, str | None] = {}
    for action in ACTIONS:
        out[action] = _reason(action, doc, connected, has_model)
    return out


def _reason(action: str, doc: DocState, connected: bool, has_model: bool) -> str | None:
    if not connected:
        return "Start the backend first (the button at the top of the SinGAN docker)."
    if action in NEEDS_MODEL and not has_model:
        return "Train a model first, or pick one in the model list."
    if action == "animate":
        return None  # the frames go into a new document
    if not doc.document:
        return "Open or create a picture first."
    if action == "generate":
        return None  # new layers, whatever the active layer is
    if action in NEEDS_LAYER and doc.layer_type not in READABLE_LAYERS:
        return ("The active layer is a mask or has no pixels of its own: pick a paint layer "
                "in the Layers docker.")
    if doc.color_problem:
        return doc.color_problem
    if action == "harmonize":
        if doc.layer_type != "paintlayer":
            return "Make the pasted object's layer (a paint layer) the active layer."
        if not doc.has_layer_below:
            return ("Harmonize needs a picture below the pasted layer: paste the object onto "
                    "its own layer above the picture.")
    if action == "edit" and not doc.has_selection:
        return "Select the area you changed first (any selection tool)."
    return None
