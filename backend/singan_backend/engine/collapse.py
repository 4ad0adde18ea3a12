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
# The usual collapse starts at a border (the zero padding): a band along one edge. In a strip
# of 1/12 of the side along each edge, more than EDGE_SHARE of the pixels further than
# EDGE_FAR from every image colour is a collapse too, at scales whose longer side is at
# least EDGE_MIN_SIDE (coarser samples are blurred, and their in-between colours count as
# far). Measured at every scale of 250 px models (4 samples each): moss.jpg's collapsed
# one, a purple band along the bottom that is only 1.3% of all its pixels far by
# FAR_COLOUR, 0.14 to 0.18 at its last three scales; healthy models at 100 px and more at
# most 0.083 (mountains3), below 100 px up to 0.24 (cups).
EDGE_STRIP = 12
EDGE_FAR = 0.2
EDGE_SHARE = 0.12
EDGE_MIN_SIDE = 100
# Local contrast (the standard deviation in 5 x 5 windows, median over the image) of the
# samples must stay within this factor of the image's.
CONTRAST_FACTOR = 3.0
MAX_PIXELS = 4096  # pixels drawn from the image and from the samples for the colour test


def _flat(images: torch.Tensor) -> torch.Tensor:
    """Every pixel (N * H * W, 3) of (N, 3, H, W) images, as float on the CPU."""
    return images.permute(0, 2, 3, 1).reshape(-1, 3).float().cpu()


def _pixels(images: torch.Tensor, count: int, gen: torch.Generator) -> torch.Tensor:
    """Up to `count` random pixels (count, 3) of (N, 3, H, W) images."""
    flat = _flat(images)
    if flat.shape[0] <= count:
        return flat
    return flat[torch.randperm(flat.shape[0], generator=gen)[:count]]


def _far_share(pixels: torch.Tensor, palette: torch.Tensor, far: float) -> float:
    """Share of `pixels` (n, 3) further than `far` from every colour of `palette` (m, 3)."""
    nearest = torch.cdist(pixels, palette).min(dim=1).values
    return float((nearest > far).float().mean())


def far_colour_share(samples: torch.Tensor, real: torch.Tensor) -> float:
    """Share of the samples' pixels whose nearest colour in the real image is far."""
    gen = torch.Generator().manual_seed(0)
    palette = _pixels(real, MAX_PIXELS, gen)
    return _far_share(_pixels(samples, MAX_PIXELS, gen), palette, FAR_COLOUR)


def far_edge_share(samples: torch.Tensor, real: torch.Tensor) -> float:
    """The largest share, over the four border strips, of the samples' pixels further than
    EDGE_FAR from every colour of the real image (the same palette as far_colour_share's)."""
    palette = _pixels(real, MAX_PIXELS, torch.Generator().manual_seed(0))
    h, w = samples.shape[-2:]
    bh, bw = max(1, h // EDGE_STRIP), max(1, w // EDGE_STRIP)
    strips = [samples[..., :bh, :], samples[..., -bh:, :], samples[..., :, :bw],
              samples[..., :, -bw:]]
    return max(_far_share(_flat(strip), palette, EDGE_FAR) for strip in strips)


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
    edge = far_edge_share(samples, real) if max(real.shape[-2:]) >= EDGE_MIN_SIDE else 0.0
    if edge > EDGE_SHARE:
        return f"a band along an edge has colours the image lacks ({edge:.0%} of its pixels)"
    if min(real.shape[-2:]) >= 5:
        mine, theirs = local_contrast(samples), local_contrast(real)
        if theirs > 1e-3 and not theirs / CONTRAST_FACTOR <= mine <= theirs * CONTRAST_FACTOR:
            return (f"the samples' local contrast is {mine / theirs:.2g}x the image's "
                    f"(outside 1/{CONTRAST_FACTOR:g}..{CONTRAST_FACTOR:g})")
    return None
