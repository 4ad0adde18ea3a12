"""A trained SinGAN in memory, and the coarse-to-fine chain every task runs through."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from .config import TrainConfig
from .models import Discriminator, Generator
from .pyramid import Pyramid, resize

# Largest output tile (pixels) one generator call works on at inference; beyond it the
# scale is generated in overlapping tiles, so a 4096 x 4096 sample fits in a few GB.
TILE_PIXELS = 512 * 512


@dataclass
class SinGAN:
    config: TrainConfig
    pyramid: Pyramid  # sizes of all planned scales, trained or not
    reals: list[torch.Tensor]  # (1, 3, H_n, W_n) in [-1, 1], every planned scale
    z_rec: torch.Tensor  # (1, 1, H_0 + 2p, W_0 + 2p) fixed reconstruction noise, scale 0
    generators: list[Generator] = field(default_factory=list)  # trained scales, frozen, eval
    noise_amps: list[float] = field(default_factory=list)  # one per trained scale
    discriminators: list[Discriminator] = field(default_factory=list)  # kept for warm starts
    train_seconds: list[float] = field(default_factory=list)  # wall time of each scale
    # scales found collapsed and trained again: {"scale", "attempt", "reason", "kept"}
    collapses: list[dict] = field(default_factory=list)
    # per start scale: per-channel gain and offset of its samples (engine/sample.py), [] = none
    colour_calibration: list[list[float]] = field(default_factory=list)
    # where samples' layout comes from (engine/layout.py): 0, the model's own coarse scales
    # (the paper), or the scale a patch synthesis of the image is injected at; and the swd
    # of each kind measured to choose ([] when not measured)
    layout_scale: int = 0
    layout_swd: list[float] = field(default_factory=list)
    # per start scale: injection's own gain and offset (engine/inject.py), measured on first
    # use and kept while the model is loaded; not stored, and a copy (replace) starts empty
    injection_calibration: dict[int, list[float]] = field(
        default_factory=dict, init=False, repr=False, compare=False)

    @property
    def num_scales(self) -> int:
        return len(self.generators)

    @property
    def complete(self) -> bool:
        return self.num_scales == self.pyramid.num_scales

    @property
    def device(self) -> torch.device:
        return self.reals[0].device

    @property
    def pad(self) -> int:
        return self.config.num_layers  # 5 px of padding for five 3x3 convs


# (scale, (H, W)) -> padded noise (1, 3, H+2p, W+2p) for that scale
NoiseFn = Callable[[int, tuple[int, int]], torch.Tensor]


def random_noise(model: SinGAN, scale: int, size: tuple[int, int],
                 gen: torch.Generator | None = None) -> torch.Tensor:
    """Padded N(0, 1) noise (1, 3, H+2p, W+2p) for a scale of output `size`.

    One channel broadcast to three at scale 0, three channels above it (the paper). The
    border is zeros, or noise too when the model was trained with noise padding (animation).
    """
    p = model.pad
    channels = 1 if scale == 0 else 3
    h, w = size
    if model.config.noise_padding:
        h, w = h + 2 * p, w + 2 * p
    device = gen.device if gen is not None else model.device
    z = torch.randn((1, channels, h, w), generator=gen, device=device).to(model.device)
    z = z.expand(1, 3, h, w)
    return z if model.config.noise_padding else F.pad(z, [p] * 4)


def reconstruction_noise(model: SinGAN, scale: int, size: tuple[int, int]) -> torch.Tensor:
    """Padded z_opt: the fixed draw at scale 0 (resized if `size` differs), zeros above it."""
    p = model.pad
    padded = (size[0] + 2 * p, size[1] + 2 * p)
    if scale > 0:
        return torch.zeros((1, 3, *padded), device=model.device)
    z = model.z_rec  # (1, 1, H_0 + 2p, W_0 + 2p)
    if tuple(z.shape[-2:]) != padded:
        if model.config.noise_padding:
            z = F.interpolate(z, size=padded, mode="bilinear", align_corners=False)
        else:
            inner = F.interpolate(z[..., p:-p, p:-p], size=size, mode="bilinear", align_corners=False)
            z = F.pad(inner, [p] * 4)
    return z.expand(1, 3, *padded)


def apply_generator(gen: Generator, z_in: torch.Tensor, prev: torch.Tensor,
                    tile_pixels: int = TILE_PIXELS,
                    check: Callable[[], None] | None = None) -> torch.Tensor:
    """G(z_in, prev), in tiles when the output is larger than tile_pixels.

    Each output pixel sees an 11 x 11 window of the padded input and batch norm runs on its
    stored statistics (eval mode), so tiles read with a 5 px margin give the untiled result.
    `check()` runs before each tile and may raise (Cancelled): a 4096^2 scale takes a minute.
    """
    h, w = prev.shape[-2:]
    if h * w <= tile_pixels:
        return gen(z_in, prev)
    side, p = int(tile_pixels ** 0.5), gen.pad
    x_in = z_in + F.pad(prev, [p] * 4)  # (1, 3, H+2p, W+2p): small next to the activations
    out = torch.empty_like(prev)
    for y0 in range(0, h, side):
        for x0 in range(0, w, side):
            if check is not None:
                check()
            y1, x1 = min(y0 + side, h), min(x0 + side, w)
            tile = gen.net(x_in[..., y0:y1 + 2 * p, x0:x1 + 2 * p])
            out[..., y0:y1, x0:x1] = torch.tanh(tile) + prev[..., y0:y1, x0:x1]
    return out


def run_chain(model: SinGAN, sizes: list[tuple[int, int]], noise: NoiseFn, first: int = 0,
              last: int | None = None, prev: torch.Tensor | None = None,
              noise_amps: list[float] | None = None,
              check: Callable[[], None] | None = None) -> torch.Tensor:
    """Generate from scale `first` to scale `last` (inclusive, default the finest trained).

    sizes[n] is the output size of scale n; `noise(n, size)` gives its padded noise; `prev` is the image fed to scale `first` (upsampled to its size; zeros if None).
    `check()` runs before each scale and each tile; it raises to stop (a cancelled job).
    """
    last = model.num_scales - 1 if last is None else last
    amps = model.noise_amps if noise_amps is None else noise_amps
    if prev is None:
        prev = torch.zeros((1, 3, *sizes[first]), device=model.device)
    for n in range(first, last + 1):
        if check is not None:
            check()
        prev = resize(prev, sizes[n])
        z_in = amps[n] * noise(n, sizes[n])
        prev = apply_generator(model.generators[n], z_in, prev, check=check)
    return prev
