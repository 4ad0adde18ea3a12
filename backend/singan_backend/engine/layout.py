"""Samples whose layout comes from the training image's patches, and the choice of it.

SinGAN's coarsest scale learns the layout of the whole picture from one image of about
25 x 40 px. On a photo of many large, alike objects (cups.jpg: a lattice of 5 px cups
there) it draws speckled stripes, with the paper's settings too, and the scales above round
them into merged blobs (README: the coarsest-scale table). A patch synthesis of the
training image at the model's size (engine.patch.instant) lays out whole objects instead;
fed to the model at LAYOUT_SCALE (the paper's injection, as in paint-to-image), the
model's own scales draw every detail from there up with fresh noise.

Which of the two draws a model's samples closer to its image differs from model to model:
on cups, forest and moss models (seed 0 and 1) the patches' layout won on some and lost on
others at 1600 x 1000 (README, the layout table). So it is measured once, after training
(choose_layout), at the model's size with the patch sliced-Wasserstein distance of
../shared/tools/quality.py --pyramid, and a model keeps the patches' layout only when it
is plainly closer.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from . import inject, patch
from .config import hashed_seed
from .progress import Tracker
from .pyramid import resize
from .sample import sample, sample_sizes
from .singan import SinGAN

LAYOUT_SCALE = 2  # the scale the patches' layout is injected at (1 and 3 measured worse
#                   on 250 px models); a model of 3 scales takes it at 1
MIN_SCALES = 3  # a scale to inject at above the coarsest, and one above it
CHOICE_SAMPLES = 4  # samples of each kind drawn to choose
CHOICE_GAIN = 0.9  # the patches' layout is kept when its swd is at most this share of the
#                    model's own: the two sets' swd vary by about 5% from seed to seed
SWD_PATCH = 7
SWD_PROJECTIONS = 64
SWD_QUANTILES = 128
SWD_MIN_SIDE = 48  # halvings while the shorter side stays this long (quality.py --pyramid)
SWD_MAX_PATCHES = 8192


def layout_scale(model: SinGAN) -> int:
    """The scale the model takes the patches' layout at: LAYOUT_SCALE with at least one
    scale above it, lower on a small model; 0 when it has fewer than MIN_SCALES."""
    return min(LAYOUT_SCALE, model.num_scales - 2) if model.num_scales >= MIN_SCALES else 0


def layout_samples(model: SinGAN, n: int, sizes: list[tuple[int, int]], seed: int,
                   tracker: Tracker | None = None) -> list[torch.Tensor]:
    """n samples (1, 3, H, W) at sizes[-1]: sample i is a patch synthesis of the training
    image (seed + i) injected at layout_scale(model), with the model's noise from seed + i."""
    real, scale = model.reals[model.num_scales - 1], layout_scale(model)
    quiet = tracker.quiet() if tracker else None
    out = []
    for i in range(n):
        if tracker:
            tracker.step(0, 1, i, n, i, n, stage=f"sample {i + 1}/{n}")
        layout = patch.instant(real, sizes[-1], seed=seed + i, tracker=quiet)
        prev = inject.injected_input(layout.to(model.device), sizes, scale)
        out += inject.inject(model, prev, scale, sizes, seed=seed + i, tracker=quiet)
    if tracker:
        tracker.step(0, 1, n, n, n, n, force=True, stage="done")
    return out


def patch_swd(images: list[torch.Tensor], real: torch.Tensor) -> float:
    """Mean over `images` of the sliced Wasserstein distance between their 7 x 7 patches and
    those of `real`, averaged over the full size and halvings while real's shorter side
    stays at least SWD_MIN_SIDE: quality.py's --pyramid measure, in torch (x100, for
    images in [-1, 1])."""
    gen = torch.Generator().manual_seed(0)
    dims = 3 * SWD_PATCH * SWD_PATCH
    directions = F.normalize(torch.randn(dims, SWD_PROJECTIONS, generator=gen), dim=0)
    levels = torch.linspace(0, 1, SWD_QUANTILES)

    def quantiles(image: torch.Tensor, scale: float) -> torch.Tensor:
        h, w = image.shape[-2:]
        small = resize(image.float().cpu(), (max(SWD_PATCH, round(h * scale)),
                                             max(SWD_PATCH, round(w * scale))))
        patches = F.unfold(small, SWD_PATCH)[0].T  # (count, dims)
        if len(patches) > SWD_MAX_PATCHES:
            patches = patches[torch.randperm(len(patches), generator=gen)[:SWD_MAX_PATCHES]]
        return torch.quantile(patches @ directions, levels, dim=0)

    scales, s = [], 1.0
    while min(real.shape[-2:]) * s >= SWD_MIN_SIDE or not scales:
        scales.append(s)
        s /= 2
    total = 0.0
    for scale in scales:
        target = quantiles(real, scale)
        total += sum(float((quantiles(im, scale) - target).abs().mean()) for im in images)
    return 100.0 * total / (len(scales) * len(images))


@torch.inference_mode()
def choose_layout(model: SinGAN, tracker: Tracker | None = None) -> tuple[int, list[float]]:
    """(layout_scale(model) or 0, [swd of the model's own samples, of the patches'
    layout]): the patches' layout when its samples are plainly closer to the training image.
    `tracker` only checks for cancellation: the caller says what is going on."""
    if not layout_scale(model):
        return 0, []
    tracker = tracker.quiet() if tracker else None
    real, sizes = model.reals[model.num_scales - 1], sample_sizes(model)
    seed = hashed_seed("singan-layout-choice") % 2**31  # a stream of its own, not a sample's
    own = sample(model, CHOICE_SAMPLES, sizes, 0, seed, tracker)
    drawn = layout_samples(model, CHOICE_SAMPLES, sizes, seed, tracker)
    scores = [round(patch_swd(own, real), 4), round(patch_swd(drawn, real), 4)]
    return (layout_scale(model) if scores[1] <= CHOICE_GAIN * scores[0] else 0), scores
