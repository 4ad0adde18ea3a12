"""What the Krita adapter hands the controller: pixels read from a document, and where
results go back. Krita objects travel inside as opaque values."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from singan_protocol import ImagePayload

from .pixels import PixelFormat


@dataclass(frozen=True)
class Placement:
    """Where results go: a document, the layer they go above, a position."""

    document: Any  # krita.Document
    doc_key: str  # stable while the document is open
    doc_name: str  # as the painter sees it
    above: Any  # krita.Node the new layers go above; None = on top
    x: int  # px, where a result's top-left corner lands
    y: int
    fmt: PixelFormat  # the document's format, which new layers take


@dataclass(frozen=True)
class LayerRead:
    place: Placement
    layer: str  # the layer's name
    image: ImagePayload  # its pixels inside the read area
    mask: ImagePayload | None = None  # the selection inside that area (GRAY u8), if asked


@dataclass(frozen=True)
class PasteRead:
    place: Placement
    layer: str  # the pasted layer's name
    composite: ImagePayload  # the canvas as the painter sees it down to the paste, paste included
    mask: ImagePayload  # the paste's alpha (GRAY)
    background: ImagePayload  # the canvas without the paste (what a model is trained on)
