"""Colour quantisation for paint-to-image: k-means over the training image's colours (k = 5).

The authors use scikit-learn's KMeans; this is plain Lloyd iterations with a seeded
k-means++ start, in torch, so it runs on whatever device the model lives on.
"""

from __future__ import annotations

import torch

NUM_COLOURS = 5  # k of the paper's k-means


def kmeans(pixels: torch.Tensor, k: int = NUM_COLOURS, iters: int = 50,
           seed: int = 0) -> torch.Tensor:
    """Centres (k', 3) of the colours `pixels` (P, 3); k' < k only when fewer colours exist."""
    colours = torch.unique(pixels, dim=0)
    if len(colours) <= k:
        return colours
    gen = torch.Generator().manual_seed(seed)
    # k-means++: each new centre drawn with probability ~ squared distance to the nearest one.
    centres = pixels[torch.randint(len(pixels), (1,), generator=gen)]
    for _ in range(k - 1):
        d2 = torch.cdist(pixels, centres).min(dim=1).values.square()
        pick = torch.multinomial((d2 / d2.sum()).cpu(), 1, generator=gen)
        centres = torch.cat([centres, pixels[pick.to(pixels.device)]])
    for _ in range(iters):
        label = torch.cdist(pixels, centres).argmin(dim=1)  # (P,)
        sums = torch.zeros_like(centres).index_add_(0, label, pixels)
        counts = torch.bincount(label, minlength=k).unsqueeze(1)  # (k, 1)
        # An emptied cluster keeps its old centre rather than dividing by zero.
        moved = torch.where(counts > 0, sums / counts.clamp(min=1), centres)
        if torch.equal(moved, centres):
            break
        centres = moved
    return centres


def image_centres(image: torch.Tensor, k: int = NUM_COLOURS, seed: int = 0) -> torch.Tensor:
    """k-means centres (k, 3) of an image (1, 3, H, W)."""
    return kmeans(image[0].flatten(1).T.contiguous(), k, seed=seed)


def quantize(image: torch.Tensor, centres: torch.Tensor) -> torch.Tensor:
    """Every pixel of (N, 3, H, W) replaced by its nearest centre (the authors' quant2centers)."""
    n, c, h, w = image.shape
    flat = image.permute(0, 2, 3, 1).reshape(-1, c)  # (N*H*W, 3)
    nearest = centres[torch.cdist(flat, centres).argmin(dim=1)]
    return nearest.reshape(n, h, w, c).permute(0, 3, 1, 2).contiguous()
