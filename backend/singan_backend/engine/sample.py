"""Random samples of any size and aspect ratio, from any start scale."""

from __future__ import annotations

import torch

from ..errors import BadOption
from .progress import Tracker
from .singan import SinGAN, random_noise, reconstruction_noise, run_chain

MAX_SIDE = 8192  # px, the largest sample side we promise to generate (tiled, on CPU too)


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
    gen = torch.Generator(model.device)
    if seed is None:
        gen.seed()
    else:
        gen.manual_seed(seed)
    return gen


@torch.inference_mode()
def sample(model: SinGAN, n: int = 1, sizes: list[tuple[int, int]] | None = None,
           start_scale: int = 0, seed: int | None = None,
           tracker: Tracker | None = None) -> list[torch.Tensor]:
    """n samples (1, 3, H, W) in [-1, 1]; sample i is drawn with seed + i.

    Scales below start_scale use the reconstruction noise (the training image's layout);
    fresh noise from start_scale up (the paper's gen_start_scale).
    """
    sizes = sizes or sample_sizes(model)
    check_start_scale(model, start_scale)
    out = []
    for i in range(n):
        if tracker:
            tracker.step(0, 1, i, n, i, n, stage=f"sample {i + 1}/{n}")
        gen = noise_generator(model, None if seed is None else seed + i)

        def noise(k: int, size: tuple[int, int], gen=gen) -> torch.Tensor:
            if k < start_scale:
                return reconstruction_noise(model, k, size)
            return random_noise(model, k, size, gen)

        out.append(run_chain(model, sizes, noise,
                             check=tracker.check if tracker else None).clamp(-1, 1))
    if tracker:
        tracker.step(0, 1, n, n, n, n, force=True, stage="done")
    return out
