"""The multi-scale pyramid: how many scales, their sizes, and the resize between them."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ..errors import BadImage


@dataclass(frozen=True)
class Pyramid:
    scale_factor: float  # adjusted factor, so the coarsest scale lands on min_size
    sizes: tuple[tuple[int, int], ...]  # (H, W) per scale, coarse to fine

    @property
    def num_scales(self) -> int:
        return len(self.sizes)


def _ceil(x: float) -> int:
    # The authors' resize has output size ceil(in * s); the tolerance keeps 48.0000001 at 48.
    return math.ceil(x - 1e-6)


def plan_pyramid(height: int, width: int, max_size: int, min_size: int,
                 scale_factor: float) -> Pyramid:
    """Scale sizes for an image of (height, width), following the authors' adjust_scales2image."""
    if min(height, width) < min_size:
        raise BadImage(f"the image is {width} x {height} px; its shorter side must be at least "
                       f"min_size = {min_size} px: use a larger image or a smaller --min-size")
    num_scales = math.ceil(math.log(min_size / min(height, width)) / math.log(scale_factor)) + 1
    scale2stop = math.ceil(math.log(min(max_size, max(height, width)) / max(height, width))
                           / math.log(scale_factor))
    stop_scale = max(num_scales - scale2stop, 1)
    resize = min(max_size / max(height, width), 1.0)
    top_h, top_w = _ceil(height * resize), _ceil(width * resize)
    if min(top_h, top_w) < min_size:
        raise BadImage(f"at max_size {max_size} the image becomes {top_w} x {top_h} px, smaller "
                       f"than min_size = {min_size}: raise --max-size or lower --min-size")
    factor = (min_size / min(top_h, top_w)) ** (1 / stop_scale)
    sizes = tuple((_ceil(top_h * factor ** (stop_scale - i)), _ceil(top_w * factor ** (stop_scale - i)))
                  for i in range(stop_scale + 1))
    return Pyramid(factor, sizes)


def resize(image: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Antialiased bicubic resize of (N, C, H, W) to size (H', W')."""
    if tuple(image.shape[-2:]) == tuple(size):
        return image
    return F.interpolate(image, size=size, mode="bicubic", align_corners=False, antialias=True)


def build_reals(image: torch.Tensor, pyramid: Pyramid) -> list[torch.Tensor]:
    """The training image at every scale, coarse to fine; image is (1, 3, H, W) in [-1, 1]."""
    finest = resize(image, pyramid.sizes[-1])
    return [resize(finest, size).clamp(-1, 1) for size in pyramid.sizes]
