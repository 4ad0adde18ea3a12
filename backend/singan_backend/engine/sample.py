"""Random samples of any size and aspect ratio, from any start scale."""

from __future__ import annotations

import torch

from ..errors import BadOption
from .config import hashed_seed
from .progress import Tracker
from .singan import SinGAN, random_noise, reconstruction_noise, run_chain

MAX_SIDE = 8192  # px, the largest sample side we promise to generate (tiled, on CPU too)
CALIBRATION_SAMPLES = 8  # samples per start scale that measure a model's colour cast
CALIBRATION_GAIN = (0.5, 2.0)  # bounds of a channel's contrast gain


def sample_scales(finest: tuple[int, int], height: int | None = None, width: int | None = None,
                  scale_v: float | None = None, scale_h: float | None = None
                  ) -> tuple[float, float]:
    """(scale_v, scale_h) of a sample from a model whose finest scale is `finest` (H, W),
    checked to give 1 .. MAX_SIDE px a side. Needs no model, so the backend checks a request
    with it before `accepted`. Width or height alone keeps the aspect ratio."""
    top_h, top_w = finest
    if height is not None or width is not None:
        for name, value in (("height", height), ("width", width)):
            if value is not None and not 1 <= value <= MAX_SIDE:
                raise BadOption(f"{name} must be between 1 and {MAX_SIDE} px (got {value})")
        scale_v = (height or top_h * (width / top_w)) / top_h
        scale_h = (width or top_w * (height / top_h)) / top_w
    scale_v = 1.0 if scale_v is None else scale_v
    scale_h = 1.0 if scale_h is None else scale_h
    # Each side on its own: a 24 x 32 px model may give 8192 x 8192 (scale-v 341, scale-h 256).
    for name, value, side, side_name in (("scale-v", scale_v, top_h, "height"),
                                         ("scale-h", scale_h, top_w, "width")):
        if not 0 < value or round(value * side) > MAX_SIDE:
            raise BadOption(f"{name} must be > 0 and keep the sample's {side_name} within "
                            f"{MAX_SIDE} px: at most {MAX_SIDE / side:.4g} for this model's "
                            f"{side} px (got {value:g})")
    return scale_v, scale_h


def sample_sizes(model: SinGAN, height: int | None = None, width: int | None = None,
                 scale_v: float | None = None, scale_h: float | None = None
                 ) -> list[tuple[int, int]]:
    """Noise/output size at every trained scale: round(H_n * scale_v) x round(W_n * scale_h)."""
    scale_v, scale_h = sample_scales(model.pyramid.sizes[model.num_scales - 1], height, width,
                                     scale_v, scale_h)
    return [(max(1, round(h * scale_v)), max(1, round(w * scale_h)))
            for h, w in model.pyramid.sizes[:model.num_scales]]


def check_start_scale(model: SinGAN, start_scale: int, low: int = 0) -> int:
    if not low <= start_scale <= model.num_scales - 1:
        raise BadOption(f"start scale must be between {low} and {model.num_scales - 1} "
                        f"(got {start_scale})")
    return start_scale


def noise_generator(model: SinGAN, seed: int | None) -> torch.Generator:
    """The generator of a sample's noise: a stream of its own for each seed, apart from
    every stream of the training. Seeded with the seed itself, sample seed 0 of a model
    trained with seed 0 drew the reconstruction's own scale-0 noise (z_opt, drawn with
    seed x 1000, train._seed): a "random" sample with the training image's layout."""
    gen = torch.Generator(model.device)
    if seed is None:
        gen.seed()
    else:
        gen.manual_seed(hashed_seed(f"singan-sample {seed}"))
    return gen


def _draw(model: SinGAN, sizes: list[tuple[int, int]], start_scale: int, seed: int | None,
          check=None) -> torch.Tensor:
    """One sample (1, 3, H, W), uncalibrated: z_rec below start_scale, fresh noise above."""
    gen = noise_generator(model, seed)

    def noise(k: int, size: tuple[int, int]) -> torch.Tensor:
        if k < start_scale:
            return reconstruction_noise(model, k, size)
        return random_noise(model, k, size, gen)

    return run_chain(model, sizes, noise, check=check).clamp(-1, 1)


@torch.inference_mode()
def colour_calibration(model: SinGAN, check=None) -> list[list[float]]:
    """Per start scale, the per-channel gain and offset [g_r, g_g, g_b, o_r, o_g, o_b] that
    map its samples' colour mean and spread onto the training image's.

    A short training leaves every scale a colour cast of its own, which the next scales
    carry and add to (each G adds a residual); the casts hardly vary between samples (at
    250 px on forest_path: green 0.045 low of [0, 1], its mean 0.005 apart from sample to
    sample; benchmarks/calibration.py), so a constant
    correction, measured on CALIBRATION_SAMPLES samples drawn with fixed seeds, removes them
    and leaves what varies from sample to sample alone.
    """
    real = model.reals[model.num_scales - 1]
    sizes = sample_sizes(model)
    return [gain_and_offset(torch.cat([_draw(model, sizes, k, i, check)
                                       for i in range(CALIBRATION_SAMPLES)]), real)
            for k in range(model.num_scales)]


def gain_and_offset(drawn: torch.Tensor, real: torch.Tensor) -> list[float]:
    """[g_r, g_g, g_b, o_r, o_g, o_b] mapping the colour mean and spread of the images
    `drawn` (N, 3, H, W) onto those of `real`."""
    real_mean, real_std = real.mean((0, 2, 3)), real.std((0, 2, 3))
    gain = (real_std / drawn.std((0, 2, 3)).clamp_min(1e-4)).clamp(*CALIBRATION_GAIN)
    offset = real_mean - gain * drawn.mean((0, 2, 3))
    return [round(float(v), 6) for v in (*gain, *offset)]


def apply_gain_and_offset(image: torch.Tensor, values: list[float]) -> torch.Tensor:
    values = torch.tensor(values, device=image.device)
    gain, offset = values[:3].view(1, 3, 1, 1), values[3:].view(1, 3, 1, 1)
    return (image * gain + offset).clamp(-1, 1)


def calibrated(model: SinGAN, image: torch.Tensor, start_scale: int) -> torch.Tensor:
    """`image` (a sample from `start_scale`) with the model's colour calibration, if any."""
    if not model.colour_calibration:
        return image
    return apply_gain_and_offset(image, model.colour_calibration[start_scale])


@torch.inference_mode()
def sample(model: SinGAN, n: int = 1, sizes: list[tuple[int, int]] | None = None,
           start_scale: int = 0, seed: int | None = None,
           tracker: Tracker | None = None) -> list[torch.Tensor]:
    """n samples (1, 3, H, W) in [-1, 1]; sample i is drawn with seed + i.

    Scales below start_scale use the reconstruction noise (the training image's layout);
    fresh noise from start_scale up (the paper's gen_start_scale). A model trained with
    calibrate_colour gets its colour calibration (colour_calibration).
    """
    sizes = sizes or sample_sizes(model)
    check_start_scale(model, start_scale)
    out = []
    for i in range(n):
        if tracker:
            tracker.step(0, 1, i, n, i, n, stage=f"sample {i + 1}/{n}")
        drawn = _draw(model, sizes, start_scale, None if seed is None else seed + i,
                      check=tracker.check if tracker else None)
        out.append(calibrated(model, drawn, start_scale))
    if tracker:
        tracker.step(0, 1, n, n, n, n, force=True, stage="done")
    return out
