"""Which rectangle of a layer an action reads: the layer's pixels inside the canvas, or the
selection's bounds when there is one. Layers may be larger or smaller than the canvas and
may sit at negative offsets; everything outside the canvas is invisible, so it is left out."""

from __future__ import annotations

from dataclasses import dataclass

from .errors import UserFacingError

MIN_SIDE = 25  # px; the coarsest scale of SinGAN's pyramid (its min_size)


@dataclass(frozen=True)
class Rect:
    x: int
    y: int
    width: int
    height: int

    @property
    def empty(self) -> bool:
        return self.width <= 0 or self.height <= 0

    def intersect(self, other: Rect) -> Rect:
        x0, y0 = max(self.x, other.x), max(self.y, other.y)
        x1 = min(self.x + self.width, other.x + other.width)
        y1 = min(self.y + self.height, other.y + other.height)
        return Rect(x0, y0, max(0, x1 - x0), max(0, y1 - y0))

    def as_tuple(self) -> tuple[int, int, int, int]:
        return self.x, self.y, self.width, self.height


def read_region(layer_name: str, layer_bounds: Rect, canvas: Rect,
                selection: Rect | None) -> Rect:
    """The area an action works on; UserFacingError when it is empty or too small."""
    if selection is not None and not selection.empty:
        area = selection.intersect(canvas)
        if area.empty:
            raise UserFacingError("The selection is outside the canvas. Select part of the "
                                  "picture, or deselect (Ctrl+Shift+A) to use the whole layer.")
    else:
        area = layer_bounds.intersect(canvas)
        if area.empty:
            raise UserFacingError(f"The layer “{layer_name}” has nothing on the canvas. "
                                  "Pick a layer with pixels on it.")
    if area.width < MIN_SIDE or area.height < MIN_SIDE:
        raise UserFacingError(f"The area is only {area.width} x {area.height} pixels; SinGAN "
                              f"needs at least {MIN_SIDE} x {MIN_SIDE}. Select a larger area.")
    return area
