"""The history of results: every variation, instant variation and task result is kept on
disk with its model, seed and settings and a thumbnail, so that the painter can look at it
again, apply it to a document as layers, copy its seed, or discard it; it survives a restart
of Krita. Plain files, no Qt: an index.json and one zlib-compressed file per image.

Kept in the user data folder beside the models (~/.local/share/singan/history on Linux),
the newest MAX_ENTRIES and at most MAX_BYTES of them; older ones are dropped first.
"""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
import shutil
import struct
import tempfile
import time
import zlib
from dataclasses import asdict, dataclass, field
from pathlib import Path

from singan_protocol import ImagePayload

from .errors import UserFacingError
from .pixels import convert_samples

log = logging.getLogger(__name__)

INDEX = "index.json"
MAX_ENTRIES = 40  # results kept
MAX_BYTES = 1 << 30  # bytes of compressed pixels kept, all results together
THUMB_SIDE = 192  # px, longest side of a thumbnail (the docker shows it smaller in the list)
RGBA_FROM = {"RGBA": (0, 1, 2, 3), "BGRA": (2, 1, 0, 3), "RGB": (0, 1, 2, None),
             "GRAY": (0, 0, 0, None)}  # RGBA channel -> source channel (None: opaque)


@dataclass(frozen=True)
class Entry:
    entry_id: str
    kind: str  # "generate", "instant", "harmonize", "edit", "paint"
    label: str  # e.g. "sunset · seed 7", the group name when applied
    names: tuple[str, ...]  # one layer name per image
    model: str = ""  # the model's name ("" for instant variations)
    seed: int | None = None
    settings: dict = field(default_factory=dict)  # the request's options, as sent
    created: str = ""  # local time, "2026-01-02 10:04"
    thumb: tuple[int, int] = (0, 0)  # width, height of the thumbnail (RGBA u8, thumb.bin)
    images: tuple[dict, ...] = ()  # per image: width, height, channels, sample_type, channel_order, file, bytes

    @property
    def caption(self) -> str:
        parts = [self.label, f"{len(self.images)} image{'s' if len(self.images) != 1 else ''}",
                 self.created]
        return " · ".join(p for p in parts if p)


def thumbnail(image: ImagePayload, side: int = THUMB_SIDE) -> tuple[int, int, bytes]:
    """(width, height, RGBA u8 bytes) of a nearest-neighbour reduction: only the pixels
    kept are read and converted, so a large 32-bit float result costs little."""
    scale = min(1.0, side / max(image.width, image.height))
    tw, th = max(1, round(image.width * scale)), max(1, round(image.height * scale))
    size = {"u8": 1, "u16": 2, "f16": 2, "f32": 4}[image.sample_type]
    pixel = image.channels * size
    raw = memoryview(image.data).cast("B")
    picked = bytearray()
    for ty in range(th):
        row = min(image.height - 1, int((ty + 0.5) * image.height / th)) * image.width
        for tx in range(tw):
            at = (row + min(image.width - 1, int((tx + 0.5) * image.width / tw))) * pixel
            picked += raw[at:at + pixel]
    samples = convert_samples(bytes(picked), image.sample_type, "u8")
    order = RGBA_FROM[image.channel_order]
    out = bytearray(tw * th * 4)
    for i in range(tw * th):
        src = samples[i * image.channels:(i + 1) * image.channels]
        out[i * 4:i * 4 + 4] = bytes(src[c] if c is not None else 255 for c in order)
    return tw, th, bytes(out)


class History:
    def __init__(self, folder: Path, max_entries: int = MAX_ENTRIES, max_bytes: int = MAX_BYTES):
        self.folder = Path(folder)
        self.max_entries, self.max_bytes = max_entries, max_bytes
        self.entries: list[Entry] = self._load()  # newest first

    def _load(self) -> list[Entry]:
        try:
            data = json.loads((self.folder / INDEX).read_text(encoding="utf-8"))
            entries = [Entry(**{**e, "names": tuple(e["names"]), "thumb": tuple(e["thumb"]),
                                "images": tuple(e["images"])}) for e in data["entries"]]
        except FileNotFoundError:
            return []
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("the result history in %s is unreadable (%s): starting a new one",
                        self.folder, exc)
            return []
        return [e for e in entries if (self.folder / e.entry_id).is_dir()]

    def _save(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        text = json.dumps({"format": 1, "entries": [asdict(e) for e in self.entries]}, indent=1)
        fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".index-")
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(tmp, self.folder / INDEX)  # never a half-written index

    def add(self, kind: str, label: str, names, images, model: str = "",
            seed: int | None = None, settings: dict | None = None) -> Entry | None:
        """Keep a result; None (and a warning in the log) when the disk refuses it: the
        result is in the document already, so the painter loses nothing but its copy."""
        entry_id = f"{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(3)}"
        folder = self.folder / entry_id
        try:
            folder.mkdir(parents=True)
            stored = []
            for i, image in enumerate(images):
                packed = zlib.compress(bytes(image.data), 1)
                (folder / f"{i}.bin").write_bytes(packed)
                stored.append({"width": image.width, "height": image.height,
                               "channels": image.channels, "sample_type": image.sample_type,
                               "channel_order": image.channel_order, "file": f"{i}.bin",
                               "bytes": len(packed)})
            tw, th, thumb = thumbnail(images[0])
            (folder / "thumb.bin").write_bytes(thumb)
            entry = Entry(entry_id, kind, label, tuple(names)[:len(stored)], model, seed,
                          dict(settings or {}), time.strftime("%Y-%m-%d %H:%M"), (tw, th),
                          tuple(stored))
            self.entries.insert(0, entry)
            self._trim()
            self._save()
            return entry
        except OSError as exc:
            log.warning("could not keep %s in the history (%s): %s", label, folder, exc)
            shutil.rmtree(folder, ignore_errors=True)
            return None

    def _trim(self) -> None:
        total = 0
        for i, entry in enumerate(self.entries):
            total += sum(int(img.get("bytes", 0)) for img in entry.images)
            if i >= self.max_entries or (total > self.max_bytes and i > 0):
                for old in self.entries[i:]:
                    shutil.rmtree(self.folder / old.entry_id, ignore_errors=True)
                del self.entries[i:]
                return

    def get(self, entry_id: str) -> Entry:
        for entry in self.entries:
            if entry.entry_id == entry_id:
                return entry
        raise UserFacingError("That result is no longer in the history.")

    def thumb(self, entry: Entry) -> bytes:
        try:
            return (self.folder / entry.entry_id / "thumb.bin").read_bytes()
        except OSError:
            return b""

    def images(self, entry_id: str) -> list[ImagePayload]:
        entry = self.get(entry_id)
        out = []
        try:
            for img in entry.images:
                data = zlib.decompress((self.folder / entry_id / img["file"]).read_bytes())
                out.append(ImagePayload(img["width"], img["height"], img["channels"],
                                        img["sample_type"], img["channel_order"], data).validate(None))
        except (OSError, zlib.error, ValueError, KeyError) as exc:
            raise UserFacingError(f"The result “{entry.label}” could not be read back from "
                                  f"{self.folder / entry_id}: {exc}. Discard it.") from exc
        return out

    # ---- a picture of each model: the last preview of its training ----------------------

    def _model_file(self, model_id: str) -> Path:
        return self.folder / "models" / (re.sub(r"[^A-Za-z0-9_.-]", "_", model_id)[:120] + ".bin")

    def keep_model_preview(self, model_id: str, image: ImagePayload) -> None:
        w, h, data = thumbnail(image, 64)
        path = self._model_file(model_id)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(struct.pack("<HH", w, h) + data)
        except OSError as exc:
            log.warning("could not keep the preview of %s: %s", model_id, exc)

    def model_preview(self, model_id: str) -> tuple[int, int, bytes] | None:
        try:
            raw = self._model_file(model_id).read_bytes()
        except OSError:
            return None
        w, h = struct.unpack("<HH", raw[:4])
        return (w, h, raw[4:]) if len(raw) == 4 + w * h * 4 else None

    def discard(self, entry_id: str) -> None:
        entry = self.get(entry_id)
        self.entries.remove(entry)
        shutil.rmtree(self.folder / entry_id, ignore_errors=True)
        self._save()


def default_folder() -> Path:
    """Beside the models in the user data folder ($SINGAN_HOME/history when it is set)."""
    if os.environ.get("SINGAN_HOME"):
        return Path(os.environ["SINGAN_HOME"]) / "history"
    import platformdirs

    return Path(platformdirs.user_data_dir("singan", appauthor=False)) / "history"
