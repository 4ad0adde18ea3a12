"""Image payloads <-> the engine's numpy arrays: (H, W, 3) float32 in [0, 1], masks (H, W).

The only place where the server reads pixels. Each direction makes one array of the result
and nothing more: a received payload is viewed in place with np.frombuffer, and an outgoing
array is handed to ZeroMQ as a memoryview.
"""

from __future__ import annotations

import numpy as np

from singan_protocol import CHANNELS, ImagePayload

from ..errors import BadImage

DTYPES = {"u8": np.dtype("<u1"), "u16": np.dtype("<u2"), "f16": np.dtype("<f2"),
          "f32": np.dtype("<f4")}
INT_MAX = {"u8": 255.0, "u16": 65535.0}


def _view(p: ImagePayload) -> np.ndarray:
    """The payload as an (H, W, C) array over its own bytes (no copy). Assumes validate()."""
    return np.frombuffer(p.data, DTYPES[p.sample_type]).reshape(p.height, p.width, p.channels)


def _to_unit(a: np.ndarray, sample_type: str) -> np.ndarray:
    if sample_type in INT_MAX:
        out = a.astype(np.float32)
        out *= 1.0 / INT_MAX[sample_type]
        return out
    out = np.nan_to_num(a.astype(np.float32), nan=0.0, posinf=1.0, neginf=0.0)
    return np.clip(out, 0.0, 1.0, out=out)


def to_rgb(p: ImagePayload) -> np.ndarray:
    """(H, W, 3) float32 in [0, 1]; alpha is dropped, grey repeated."""
    a = _view(p)
    if p.channel_order == "GRAY":
        return np.repeat(_to_unit(a, p.sample_type), 3, axis=2)
    rgb = a[..., 2::-1] if p.channel_order == "BGRA" else a[..., :3]
    return _to_unit(rgb, p.sample_type)


def to_mask(p: ImagePayload) -> np.ndarray:
    """(H, W) float32 in [0, 1] from a GRAY payload."""
    if p.channel_order != "GRAY":
        raise BadImage(f"a mask must be a GRAY image (one channel), not {p.channel_order}")
    return _to_unit(_view(p)[..., 0], p.sample_type)


def from_rgb(image: np.ndarray, sample_type: str = "u8",
             channel_order: str = "RGBA") -> ImagePayload:
    """An (H, W, 3) float array in [0, 1] as a payload; alpha, if any, is opaque."""
    h, w = image.shape[:2]
    c = CHANNELS[channel_order]
    dtype = DTYPES[sample_type]
    out = np.empty((h, w, c), dtype)  # the one copy of the pixels this direction makes
    src = np.clip(image, 0.0, 1.0)
    if channel_order == "GRAY":
        src = src.mean(axis=2, keepdims=True)
    elif channel_order == "BGRA":
        src = src[..., ::-1]
    scale = INT_MAX.get(sample_type)
    if scale is not None:
        src = src * scale + 0.5  # round to nearest; astype truncates
    out[..., :src.shape[2]] = src  # numpy casts on assignment
    if c == 4:
        out[..., 3] = scale if scale is not None else 1.0
    return ImagePayload(w, h, c, sample_type, channel_order, memoryview(out).cast("B"))
