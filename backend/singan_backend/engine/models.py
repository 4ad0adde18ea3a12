"""One generator and one discriminator per scale: five 3x3 convs, no padding inside the nets."""

from __future__ import annotations

import torch
import torch.nn as nn


def width_at(scale: int, nfc: int = 32, max_nfc: int = 128) -> int:
    """Conv width at a scale: 32, 32, 32, 32, 64, 64, 64, 64, 128, ..."""
    return min(nfc * 2 ** (scale // 4), max_nfc)


def conv_block(in_ch: int, out_ch: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(in_ch, out_ch, 3, 1, 0), nn.BatchNorm2d(out_ch),
                         nn.LeakyReLU(0.2, inplace=True))


def _body(width: int, num_layers: int, out_ch: int) -> nn.Sequential:
    blocks = [conv_block(3, width)] + [conv_block(width, width) for _ in range(num_layers - 2)]
    return nn.Sequential(*blocks, nn.Conv2d(width, out_ch, 3, 1, 0))


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

    def __init__(self, width: int, num_layers: int = 5):
        super().__init__()
        self.pad = num_layers  # (kernel - 1) / 2 * num_layers
        self.net = _body(width, num_layers, 3)

    def forward(self, z_in: torch.Tensor, prev: torch.Tensor) -> torch.Tensor:
        x = z_in + nn.functional.pad(prev, [self.pad] * 4)
        return torch.tanh(self.net(x)) + prev


class Discriminator(nn.Module):
    """A patch critic: (1, 3, H, W) -> (1, 1, H-10, W-10) scores, receptive field 11 x 11."""

    def __init__(self, width: int, num_layers: int = 5):
        super().__init__()
        self.net = _body(width, num_layers, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)
