"""Injection (paper section 4): a reference image enters the chain at scale n, and fresh noise
carries it to the finest scale. Harmonization, editing and paint-to-image all run through it,
the first two blended back into the reference through a dilated, blurred mask.
"""

from __future__ import annotations

import math
from dataclasses import replace

import torch
import torch.nn.functional as F

from ..errors import BadImage
from .config import hashed_seed
from .progress import Tracker
from .pyramid import resize
from .quantize import quantize
from .sample import (
    apply_gain_and_offset,
    check_start_scale,
    gain_and_offset,
    noise_generator,
    sample_sizes,
)
from .singan import SinGAN, random_noise, run_chain

MASK_RADIUS = {"harmonize": 7, "edit": 20}  # px at PAPER_SIZE: disk dilation of the mask
MASK_SIGMA = 5.0  # px at PAPER_SIZE: Gaussian blur of the dilated mask
PAPER_SIZE = 250  # px, the longest side the paper's radii were chosen at (its max_size)
BLUR_TRUNCATE = 3.0  # the blur kernel ends at 3 sigma, so the mask is exactly 0 beyond it
CALIBRATION_RUNS = 4  # injections of the training image that measure the chain's cast

# Default injection scale per task, counted from the coarsest scale. Every pyramid starts
# at min_size and grows by about 1 / 0.75 a scale whatever its max_size, so scale n is
# about 25 / 0.75 ** n px on its short side in every model, and injecting there keeps the
# structures larger than the 11 px receptive field at that size: the same share of the
# picture for a 96 px and a 250 px model. Chosen on the shared examples (benchmarks/tasks.py
# sweeps every scale): harmonization at 3 (~60 px) keeps the pasted object's shape and
# gives it the painting's strokes; editing at 1 (~33 px) redraws the pasted blocks so that
# their seams vanish (2 and up leave them blocky); paint-to-image at 1 turns flat strokes
# into trees and a path (2 and up stay painterly).
DEFAULT_START_SCALE = {"harmonize": 3, "edit": 1, "paint": 1}


def default_start_scale(task: str, num_scales: int) -> int:
    return max(1, min(DEFAULT_START_SCALE[task], num_scales - 1))


def working_sizes(model: SinGAN, height: int, width: int) -> list[tuple[int, int]]:
    """Scale sizes for a reference of (height, width): the model's pyramid when the aspects
    agree within 1 %, else the pyramid stretched to the reference's aspect at the same
    pixel count, so the model sees its own texture scale."""
    top_h, top_w = model.pyramid.sizes[model.num_scales - 1]
    if abs(math.log((height / width) / (top_h / top_w))) < 0.01:
        return list(model.pyramid.sizes[:model.num_scales])
    s = math.sqrt(top_h * top_w / (height * width))
    return sample_sizes(model, height=max(1, round(height * s)), width=max(1, round(width * s)))


def injected_input(reference: torch.Tensor, sizes: list[tuple[int, int]], start_scale: int,
                   centres: torch.Tensor | None = None) -> torch.Tensor:
    """What G_n receives as `prev`: (1, 3, H_n, W_n) in [-1, 1].

    The paper: the reference at the finest size, down to scale n-1, up to scale n. With
    colour centres (paint-to-image with quantisation) the reference is resized to scale n
    and snapped to the centres, the input a refined G_n was trained on.
    """
    n = start_scale
    finest = resize(reference, sizes[-1]).clamp(-1, 1)
    if centres is not None:
        return quantize(resize(finest, sizes[n]).clamp(-1, 1), centres)
    return resize(resize(finest, sizes[n - 1]).clamp(-1, 1), sizes[n]).clamp(-1, 1)


@torch.inference_mode()
def inject(model: SinGAN, prev: torch.Tensor, start_scale: int, sizes: list[tuple[int, int]],
           n: int = 1, seed: int | None = None, tracker: Tracker | None = None
           ) -> list[torch.Tensor]:
    """n results (1, 3, H, W) at sizes[-1]: `prev` fed to G_start_scale, random noise from
    there up; result i is drawn with seed + i. With the colour calibration measured for
    injection (injection_calibration) where the model calibrates."""
    check_start_scale(model, start_scale, low=1)
    calibration = injection_calibration(model, start_scale, tracker)
    out = []
    for i in range(n):
        if tracker:
            tracker.step(0, 1, i, n, i, n, stage=f"result {i + 1}/{n}")
        gen = noise_generator(model, None if seed is None else seed + i)
        result = _chain_from(model, prev, start_scale, sizes, gen,
                             tracker.check if tracker else None)
        out.append(apply_gain_and_offset(result, calibration) if calibration else result)
    if tracker:
        tracker.step(0, 1, n, n, n, n, force=True, stage="done")
    return out


def injection_calibration(model: SinGAN, start_scale: int, tracker: Tracker | None = None
                          ) -> list[float] | None:
    """The colour gain and offset that take away the cast the chain from `start_scale` up
    adds, for a model that calibrates (None for one that does not): measured by injecting
    the training image itself, CALIBRATION_RUNS times. The model's stored row for that start
    scale was measured on samples whose coarser scales came from the reconstruction, and it
    took away the reconstruction's cast as well, which an injected image does not have: on
    tiny models it made the cast larger (0.27 -> 0.32 of [-1, 1]) rather than smaller."""
    if not model.colour_calibration:
        return None
    if start_scale in model.injection_calibration:  # a painter harmonizes again and again
        return model.injection_calibration[start_scale]
    real, sizes = model.reals[model.num_scales - 1], sample_sizes(model)
    prev = injected_input(real, sizes, start_scale)
    check = tracker.check if tracker else None
    results = []
    for i in range(CALIBRATION_RUNS):
        gen = torch.Generator(model.device)
        gen.manual_seed(hashed_seed(f"singan-inject-calibration {i}"))  # apart from samples'
        results.append(_chain_from(model, prev, start_scale, sizes, gen, check))
    calibration = gain_and_offset(torch.cat(results), real)
    model.injection_calibration[start_scale] = calibration
    return calibration


def _chain_from(model: SinGAN, prev: torch.Tensor, start_scale: int,
                sizes: list[tuple[int, int]], gen: torch.Generator, check) -> torch.Tensor:
    """`prev` through G_start_scale .. G_N with random noise from `gen`, in [-1, 1]."""
    return run_chain(model, sizes, lambda k, s: random_noise(model, k, s, gen),
                     first=start_scale, prev=prev, check=check).clamp(-1, 1)


def refine(model: SinGAN, start_scale: int, centres: torch.Tensor,
           tracker: Tracker | None = None) -> SinGAN:
    """A copy of `model` whose G_n is retrained on quantised inputs (the authors' train_paint).

    Needs the model's discriminators (the warm start reads D_{n-1}). Costs one scale of
    training at the model's own iterations; the stored model is not changed.
    """
    from .train import train_scale  # training is only needed by this option

    n = start_scale
    iters = model.config.at_scale(model.pyramid.sizes[n]).iters  # fine scales: fewer

    def report(it: int) -> None:
        if tracker:
            tracker.step(0, 1, it, iters, it, iters, force=it == iters,
                         stage=f"refine scale {n}")

    generator, _, _ = train_scale(model, n, report, prev_transform=lambda x: quantize(x, centres))
    generators = list(model.generators)
    generators[n] = generator
    return replace(model, generators=generators, colour_calibration=[])  # it measured the old G


def smooth_colour_change(result: torch.Tensor, reference: torch.Tensor, sigma: float
                         ) -> torch.Tensor:
    """`result` (1, 3, h, w) with its change of colour from `reference` (the same size)
    blurred by `sigma` px, its change of brightness (the channels' mean) kept as it is.

    A quick model injected with a bright paste gives it violet and green fringes along its
    edges, finer than the injection scale; the colour cast it gives the whole paste, and its
    shading, are what harmonization is for (actions.inject, at the canvas's size).
    """
    change = result - reference
    brightness = change.mean(dim=1, keepdim=True)
    colour = (change - brightness).transpose(0, 1)  # (3, 1, h, w): one blur per channel
    return reference + brightness + gaussian_blur(colour, sigma).transpose(0, 1)


# -- masks ---------------------------------------------------------------------------------
def mask_params(task: str, work_size: tuple[int, int]) -> tuple[int, float]:
    """(disk radius, blur sigma) in px at the working size: the paper's values at 250 px,
    scaled with the model's resolution so a small model feathers the same share of it."""
    scale = max(work_size) / PAPER_SIZE
    return max(1, round(MASK_RADIUS[task] * scale)), max(0.5, MASK_SIGMA * scale)


def mask_reach(radius: int, sigma: float) -> int:
    """Distance (px, working size) beyond which the soft mask is exactly 0: the disk, then
    the blur's square kernel, whose corner lies sqrt(2) times its half-width away."""
    return radius + math.ceil(math.sqrt(2) * max(1, math.ceil(BLUR_TRUNCATE * sigma)))


def disk(radius: int, device: torch.device | None = None) -> torch.Tensor:
    """A disk structuring element (1, 1, 2r+1, 2r+1) of ones and zeros."""
    r = torch.arange(-radius, radius + 1, device=device, dtype=torch.float32)
    return ((r[:, None] ** 2 + r[None, :] ** 2) <= radius**2).float()[None, None]


def dilate(mask: torch.Tensor, radius: int) -> torch.Tensor:
    """Binary dilation of (1, 1, H, W) {0, 1} by a disk; sums of ones are exact in float."""
    if radius <= 0:
        return mask
    return (F.conv2d(mask, disk(radius, mask.device), padding=radius) > 0.5).float()


def gaussian_blur(mask: torch.Tensor, sigma: float, truncate: float = BLUR_TRUNCATE
                  ) -> torch.Tensor:
    """Separable Gaussian blur of (1, 1, H, W), edges replicated (skimage's 'nearest')."""
    radius = max(1, math.ceil(truncate * sigma))
    x = torch.arange(-radius, radius + 1, device=mask.device, dtype=torch.float32)
    kernel = torch.exp(-(x**2) / (2 * sigma**2))
    kernel = kernel / kernel.sum()
    out = F.conv2d(F.pad(mask, [radius, radius, 0, 0], mode="replicate"), kernel.view(1, 1, 1, -1))
    return F.conv2d(F.pad(out, [0, 0, radius, radius], mode="replicate"), kernel.view(1, 1, -1, 1))


def soft_mask(mask: torch.Tensor, work_size: tuple[int, int], radius: int,
              sigma: float) -> torch.Tensor:
    """The paper's blending mask (1, 1, h, w) in [0, 1] for a mask (1, 1, h, w) in [0, 1].

    Pixels above 0.5 are the region; it is dilated by a disk of `radius` and blurred with
    `sigma`, both in pixels at the model's resolution `work_size`, normalised to [0, 1], and
    brought back to (h, w). It is exactly 0 beyond mask_reach(radius, sigma) of the region.
    """
    h, w = mask.shape[-2:]
    binary = (mask > 0.5).float()
    if not binary.any():
        raise BadImage("the mask is empty: white (above 50 % grey) must mark the region to "
                       "change")
    work = binary
    if (h, w) != tuple(work_size):  # any coverage counts, so thin strokes survive
        work = (F.interpolate(binary, size=work_size, mode="bilinear", antialias=True,
                              align_corners=False) > 0.01).float()
    m = gaussian_blur(dilate(work, radius), sigma)
    lo, hi = m.min(), m.max()
    m = (m - lo) / (hi - lo) if hi > lo else torch.ones_like(m)
    if (h, w) != tuple(work_size):  # linear weights are >= 0: zeros stay exactly zero
        m = F.interpolate(m, size=(h, w), mode="bilinear", antialias=True, align_corners=False)
    return m.clamp(0, 1)


def blend(base: torch.Tensor, generated: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
    """(1 - m) * base + m * generated, and `base` bit for bit wherever m == 0."""
    return torch.where(m > 0, base + m * (generated - base), base)
