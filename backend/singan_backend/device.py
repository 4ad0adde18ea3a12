"""Which device the engine runs on: CUDA if present, else Apple MPS, else CPU."""

from __future__ import annotations

import torch

from .errors import BadOption


def pick_device(name: str | None = None) -> torch.device:
    """The named device ("cpu", "cuda", "cuda:1", "mps"), or the best one present."""
    if name in (None, "", "auto"):
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise BadOption(f"unknown device {name!r}: use cpu, cuda, cuda:N or mps") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise BadOption("--device cuda was asked for, but this torch sees no CUDA GPU: "
                        "leave --device out to use the CPU")
    if device.type == "mps" and not (getattr(torch.backends, "mps", None)
                                     and torch.backends.mps.is_available()):
        raise BadOption("--device mps was asked for, but Apple MPS is not available here")
    return device
