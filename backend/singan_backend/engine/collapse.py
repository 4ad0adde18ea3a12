"""Has a scale collapsed? A few of its samples against the real image at that scale.

A collapsed scale (issue 14: seascape.png, seed 0, a saturated magenta band along the top
edge) paints colours the image does not have, or a texture whose local contrast is far from
the image's. Both show in a handful of samples, at a cost far below a scale's training.
The thresholds are loose on purpose: a retry costs a scale's training, so only a sample
plainly unlike the image counts (healthy runs at 64 and 250 px stay well inside them).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

# A sample pixel whose nearest colour in the image is further than this (RGB in [-1, 1],
# Euclidean: about a sixth of the full range) has a colour the image lacks ...
FAR_COLOUR = 0.35
# ... and a scale collapsed when more than this share of its samples' pixels do.
FAR_COLOUR_SHARE = 0.04
# Local contrast (the standard deviation in 5 x 5 windows, median over the image) of the
# samples must stay within this factor of the image's.
CONTRAST_FACTOR = 3.0
MAX_PIXELS = 4096  # pixels drawn from the image and from the samples for the colour test


def _pixels(images: torch.Tensor, count: int, gen: torch.Generator) -> torch.Tensor:
    """Up to `count` random pixels (count, 3) of (N, 3, H, W) images."""
    flat = images.permute(0, 2, 3, 1).reshape(-1, 3).float().cpu()
    if flat.shape[0] <= count:
        return flat
    return flat[torch.randperm(flat.shape[0], generator=gen)[:count]]


def far_colour_share(samples: torch.Tensor, real: torch.Tensor) -> float:
    """Share of the samples' pixels whose nearest colour in the real image is far."""
    gen = torch.Generator().manual_seed(0)
    palette = _pixels(real, MAX_PIXELS, gen)
    drawn = _pixels(samples, MAX_PIXELS, gen)
    nearest = torch.cdist(drawn, palette).min(dim=1).values
    return float((nearest > FAR_COLOUR).float().mean())


def local_contrast(images: torch.Tensor) -> float:
    """Median over pixels of the colour's standard deviation in 5 x 5 windows."""
    x = images.float().cpu()
    mean = F.avg_pool2d(x, 5, 1)
    var = (F.avg_pool2d(x * x, 5, 1) - mean * mean).clamp_min(0).mean(dim=1)
    return float(var.sqrt().median())


def collapse_reason(samples: torch.Tensor, real: torch.Tensor) -> str | None:
    """Why `samples` (N, 3, H, W) in [-1, 1] look collapsed next to `real` (1, 3, H, W),
    in words for the progress and the manifest; None when they look like the image."""
    share = far_colour_share(samples, real)
    if share > FAR_COLOUR_SHARE:
        return f"{share:.0%} of the samples' pixels have colours the image lacks"
    if min(real.shape[-2:]) >= 5:
        mine, theirs = local_contrast(samples), local_contrast(real)
        if theirs > 1e-3 and not theirs / CONTRAST_FACTOR <= mine <= theirs * CONTRAST_FACTOR:
            return (f"the samples' local contrast is {mine / theirs:.2g}x the image's "
                    f"(outside 1/{CONTRAST_FACTOR:g}..{CONTRAST_FACTOR:g})")
    return None
