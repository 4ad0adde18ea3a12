"""Animation (paper section 4): frames from a random walk in noise space around z_opt.

The walk is the authors' (generate_gif): from the start scale up, each scale's noise moves by
    diff = beta (z1 - z2) + (1 - beta) z_new,   z = alpha Z* + (1 - alpha)(z1 + diff)
with Z* the reconstruction noise (z_opt at scale 0, zeros above). To loop without a jump the
walk runs `fade` steps past the last frame, and the first `fade` frames cross-fade from those
extra steps back into the walk's own start, so the frame after the last is one walk step away.
"""

from __future__ import annotations

import math

import torch

from .progress import Tracker
from .sample import calibrated, check_start_scale, noise_generator
from .singan import SinGAN, random_noise, reconstruction_noise, run_chain

ALPHA = 0.1  # pull of each step back towards Z* (the paper's alpha)
FADE_SHARE = 0.2  # share of the frames that cross-fade the loop closed


def _mix(anchor: torch.Tensor, a: torch.Tensor, b: torch.Tensor, t: float) -> torch.Tensor:
    # cos/sin weights keep the variance of independent deviations from the anchor, so the
    # frames in the fade are as lively as the rest (a linear mix would dim them).
    theta = t * math.pi / 2
    return anchor + math.cos(theta) * (a - anchor) + math.sin(theta) * (b - anchor)


@torch.inference_mode()
def animate(model: SinGAN, frames: int, start_scale: int, beta: float,
            seed: int | None = None, tracker: Tracker | None = None, alpha: float = ALPHA,
            loop: bool = True) -> list[torch.Tensor]:
    """`frames` images (1, 3, H, W) in [-1, 1] at the training size; scales below
    start_scale keep Z* (the training image's layout), the walk moves the rest."""
    check_start_scale(model, start_scale)
    sizes = list(model.pyramid.sizes[:model.num_scales])
    walked = range(start_scale, model.num_scales)
    gen = noise_generator(model, seed)
    anchor = {k: reconstruction_noise(model, k, sizes[k]) for k in range(model.num_scales)}
    z1 = {k: 0.95 * anchor[k] + 0.05 * random_noise(model, k, sizes[k], gen) for k in walked}
    z2 = {k: anchor[k] for k in walked}
    fade = int(frames * FADE_SHARE) if loop else 0
    saved: dict[int, dict[int, torch.Tensor]] = {}  # the first `fade` walk states
    out: list[torch.Tensor | None] = [None] * frames

    def render(state: dict[int, torch.Tensor]) -> torch.Tensor:
        frame = run_chain(model, sizes, lambda k, s: state.get(k, anchor[k])).clamp(-1, 1)
        return calibrated(model, frame, start_scale)

    total = frames + fade
    for t in range(total):
        if tracker:
            tracker.step(0, 1, t, total, t, total, stage=f"walk step {t + 1}/{total}")
        for k in walked:
            diff = beta * (z1[k] - z2[k]) + (1 - beta) * random_noise(model, k, sizes[k], gen)
            z1[k], z2[k] = alpha * anchor[k] + (1 - alpha) * (z1[k] + diff), z1[k]
        if t < fade:
            saved[t] = dict(z1)
        elif t < frames:
            out[t] = render(z1)
        else:  # frame j blends walk step frames + j (just after the last frame) into step j
            j = t - frames
            mix = (j + 0.5) / fade
            out[j] = render({k: _mix(anchor[k], z1[k], saved[j][k], mix) for k in walked})
    if tracker:
        tracker.step(0, 1, total, total, total, total, force=True, stage="done")
    return out
