"""Super-resolution (paper section 4): a model trained on the low-resolution image itself, with
a pyramid step of r ** (1/k); its finest generator is applied k times, once after each
upsampling by that step, and the result lands exactly on round(r * H) x round(r * W).
"""

from __future__ import annotations

import math
from dataclasses import replace

import torch

from ..errors import BadOption
from .config import TrainConfig, preset
from .progress import Tracker
from .pyramid import resize
from .sample import noise_generator
from .singan import SinGAN, apply_generator, random_noise

# Training options SR uses where the caller leaves them unset (the authors' SR settings): a
# coarsest scale of 18 px, and reconstruction weight 100 in every G step (the default
# preset's one-step-in-three is for samples) so SR stays faithful to the input.
SR_DEFAULTS = {"min_size": 18, "alpha": 100.0, "rec_per_g_step": True,
               # every scale its full iterations, and no collapse check, colour
               # calibration or layout choice: SR reads the reconstruction, not samples
               "fine_size": 0, "collapse_retries": 0, "calibrate_colour": False,
               "choose_layout": False}
# Factors just above 1 give a step near 1 and would plan a hundred scales; the training
# pyramid never steps by less than 1 / 0.85 = 1.18 (the inference steps are unaffected).
MAX_SCALE_FACTOR = 0.85
# "patch": internal-patch SR (engine.patch_sr), sharper than bicubic without training;
# "singan": the paper's procedure below, kept for comparison (see the README's table).
METHODS = ("patch", "singan")
DEFAULT_METHOD = "patch"


def pick_method(method: str | None, model_id: str | None = None) -> str:
    """"patch" or "singan"; None means "singan" when an SR model is named, else "patch"."""
    if method is None:
        return "singan" if model_id is not None else DEFAULT_METHOD
    if method not in METHODS:
        raise BadOption(f"unknown super-resolution method {method!r}: use one of "
                        f"{', '.join(METHODS)}")
    if method == "patch" and model_id is not None:
        raise BadOption("the patch method uses no model: leave out the model, or choose "
                        "the singan method")
    return method


def sr_steps(factor: float) -> tuple[int, float]:
    """(k, step): k = round(log(1/r) / log(2 ** (-1/3))), at least 1, and step = r ** (1/k)."""
    k = max(1, round(math.log(1 / factor) / math.log(2 ** (-1 / 3))))
    return k, factor ** (1 / k)


def sr_preset(name: str = "default", **overrides) -> TrainConfig:
    """The named preset for SR training: SR_DEFAULTS wherever `overrides` leaves an option
    unset (absent or None), so an explicit --min-size 25 stays 25."""
    return preset(name, SR_DEFAULTS, **overrides)


def sr_config(config: TrainConfig, factor: float) -> TrainConfig:
    """`config` with the pyramid stepping by 1 / step, the step SR upsamples by at `factor`."""
    _, step = sr_steps(factor)
    return replace(config, scale_factor=min(1 / step, MAX_SCALE_FACTOR)).validate()


def output_size(height: int, width: int, factor: float) -> tuple[int, int]:
    return round(factor * height), round(factor * width)


@torch.inference_mode()
def upscale(model: SinGAN, image: torch.Tensor, factor: float, seed: int | None = None,
            tracker: Tracker | None = None) -> torch.Tensor:
    """(1, 3, H, W) in [-1, 1] -> (1, 3, round(r H), round(r W)).

    Each step upsamples (antialiased bicubic) and adds the finest generator's detail with
    its noise amplitude; large images go through the generator in tiles.
    """
    k, _ = sr_steps(factor)
    h, w = image.shape[-2:]
    last = model.num_scales - 1
    generator, amp = model.generators[last], model.noise_amps[last]
    gen = noise_generator(model, seed)
    x = image.to(model.device)
    for j in range(1, k + 1):
        if tracker:
            tracker.step(j - 1, k, 0, 1, j - 1, k, stage=f"step {j}/{k}")
        size = output_size(h, w, factor ** (j / k))
        x = resize(x, size)
        x = apply_generator(generator, amp * random_noise(model, last, size, gen), x,
                            check=tracker.check if tracker else None)
    if tracker:
        tracker.step(k - 1, k, 1, 1, k, k, force=True, stage=f"step {k}/{k}")
    return x.clamp(-1, 1)
