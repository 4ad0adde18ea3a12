"""One generator and one discriminator per scale: five 3x3 convs, no padding inside the nets."""

from __future__ import annotations

import torch
import torch.nn as nn

from .config import TrainConfig


def width_at(scale: int, nfc: int = 32, max_nfc: int = 128) -> int:
    """Conv width at a scale: 32, 32, 32, 32, 64, 64, 64, 64, 128, ..."""
    return min(nfc * 2 ** (scale // 4), max_nfc)


def layer_widths(width: int, num_layers: int = 5, min_width: int = 32) -> list[int]:
    """Output channels of the head and each body block.

    The authors' nets halve the width in every body block, down to min_nfc (32): a 128-wide
    scale runs 128, 64, 32, 32, which makes the fine scales about 4x cheaper than 128 all
    through. min_width >= width keeps the width constant (models stored before min_nfc).
    """
    floor = min(min_width, width)
    return [width] + [max(width // 2 ** (i + 1), floor) for i in range(num_layers - 2)]


def conv_block(in_ch: int, out_ch: int, norm: bool = True) -> nn.Sequential:
    norm_layer = nn.BatchNorm2d(out_ch) if norm else nn.Identity()
    return nn.Sequential(nn.Conv2d(in_ch, out_ch, 3, 1, 0), norm_layer,
                         nn.LeakyReLU(0.2, inplace=True))


def _body(widths: list[int], out_ch: int, norm: bool = True) -> nn.Sequential:
    ins = [3] + widths[:-1]
    blocks = [conv_block(i, o, norm) for i, o in zip(ins, widths)]
    return nn.Sequential(*blocks, nn.Conv2d(widths[-1], out_ch, 3, 1, 0))


def conv_cost(width: int, num_layers: int = 5, min_width: int = 32) -> int:
    """Multiply-adds per output pixel of one net (for progress estimates)."""
    widths = layer_widths(width, num_layers, min_width)
    chans = [3] + widths + [3]
    return 9 * sum(a * b for a, b in zip(chans, chans[1:]))


def place(net: nn.Module, device: torch.device) -> nn.Module:
    """Move a net to `device`; on the CPU its conv weights go channels_last, which made the
    convolutions about 10% faster here (benchmarks/cpu_threads.py). Every net, trained or
    loaded, goes through here, so a resumed run computes exactly what an unbroken one does."""
    net = net.to(device)
    if device.type == "cpu":
        net = net.to(memory_format=torch.channels_last)
    return net


def nets_for_scale(config: TrainConfig, scale: int) -> tuple[Generator, Discriminator]:
    """Fresh (uninitialised) G and D of a scale, shaped by the training options."""
    width = width_at(scale, config.nfc, config.max_nfc)
    return (Generator(width, config.num_layers, config.min_nfc),
            Discriminator(width, config.num_layers, config.min_nfc, config.d_norm != "none"))


def init_weights(module: nn.Module) -> None:
    # The authors' init: conv N(0, 0.02); batch-norm weight N(1, 0.02), bias 0.
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.normal_(m.weight, 0.0, 0.02)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)


class Generator(nn.Module):
    """G_n(z, x_up) = tanh(body(noise_amp * z + pad(x_up))) + x_up.

    The caller passes the already scaled and padded noise `z_in` (1, 3, H+2p, W+2p), with
    p = 5 for five layers, and the upsampled coarser image `prev` (1, 3, H, W).
    """

    def __init__(self, width: int, num_layers: int = 5, min_width: int = 32):
        super().__init__()
        self.pad = num_layers  # (kernel - 1) / 2 * num_layers
        self.net = _body(layer_widths(width, num_layers, min_width), 3)

    def forward(self, z_in: torch.Tensor, prev: torch.Tensor) -> torch.Tensor:
        x = z_in + nn.functional.pad(prev, [self.pad] * 4)
        return torch.tanh(self.net(x)) + prev


class Discriminator(nn.Module):
    """A patch critic: (1, 3, H, W) -> (1, 1, H-10, W-10) scores, receptive field 11 x 11."""

    def __init__(self, width: int, num_layers: int = 5, min_width: int = 32, norm: bool = True):
        super().__init__()
        self.net = _body(layer_widths(width, num_layers, min_width), 1, norm)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)
