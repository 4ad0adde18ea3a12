"""Converts between Krita's pixel bytes and protocol image payloads, without numpy.

Krita's `pixelData()` for RGBA layers is B,G,R,A at U8/U16 and R,G,B,A at F16/F32; GRAYA
layers are gray,alpha. The backend answers in the sample type and channel order we send,
so the usual path is zero-copy; channel shuffles use strided memoryview copies (C speed),
and only a sample-type change between integers and floats touches pixels one by one.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from singan_protocol import CHANNELS, ImagePayload

from .errors import UserFacingError

DEPTHS = {"U8": ("u8", 1), "U16": ("u16", 2), "F16": ("f16", 2), "F32": ("f32", 4)}
MODEL_NAMES = {"CMYKA": "CMYK", "LABA": "L*a*b*", "XYZA": "XYZ", "YCbCrA": "YCbCr", "A": "alpha-only"}
DEPTHS_BY_SAMPLE = dict(DEPTHS.values())  # "u8" -> 1, ...
_CODE = {1: "B", 2: "H", 4: "I"}  # a raw sample of this many bytes, moved without reading it
_ONE = {"u8": b"\xff", "u16": b"\xff\xff", "f16": struct.pack("<e", 1.0), "f32": struct.pack("<f", 1.0)}


@dataclass(frozen=True)
class PixelFormat:
    """A layer's colour model and depth as Krita names them."""

    model: str  # "RGBA" or "GRAYA"
    depth: str  # "U8", "U16", "F16" or "F32"

    @property
    def sample_type(self) -> str:
        return DEPTHS[self.depth][0]

    @property
    def sample_bytes(self) -> int:
        return DEPTHS[self.depth][1]

    @property
    def krita_order(self) -> str:
        """Channel order of pixelData(): what setPixelData() wants back."""
        if self.model == "GRAYA":
            return "GA"
        return "BGRA" if self.depth in ("U8", "U16") else "RGBA"

    @property
    def wire_order(self) -> str:
        """Channel order we send, so results come back in it (gray goes without its alpha)."""
        return "GRAY" if self.model == "GRAYA" else self.krita_order

    @property
    def pixel_bytes(self) -> int:
        return len(self.krita_order) * self.sample_bytes


def pixel_format(model: str, depth: str) -> PixelFormat:
    """The format for a Krita colour model and depth; UserFacingError for those we refuse."""
    if model not in ("RGBA", "GRAYA"):
        name = MODEL_NAMES.get(model, model)
        raise UserFacingError(
            f"This layer uses {name} colour, and SinGAN works on RGB or grayscale pictures. "
            "Convert it with Image > Convert Image Color Space (choose RGB/Alpha), then try again.")
    if depth not in DEPTHS:
        raise UserFacingError(
            f"This layer's colour depth ({depth}) is not supported. Convert it to 8-bit, 16-bit "
            "or 32-bit float with Image > Convert Image Color Space, then try again.")
    return PixelFormat(model, depth)


def channel_views(data, sample_bytes: int, count: int) -> list[memoryview]:
    """Strided views of each channel of interleaved `data` (no copy)."""
    samples = memoryview(data).cast("B").cast(_CODE[sample_bytes])
    return [samples[i::count] for i in range(count)]


def interleave(channels: list, sample_bytes: int) -> bytearray:
    """Interleave equally long per-channel buffers of raw samples into one pixel buffer."""
    views = [_samples(c, _CODE[sample_bytes]) for c in channels]
    out = bytearray(len(views[0]) * len(views) * sample_bytes)
    samples = memoryview(out).cast(_CODE[sample_bytes])
    for i, view in enumerate(views):
        samples[i::len(views)] = view
    return out


def _samples(buffer, code: str) -> memoryview:
    view = memoryview(buffer)
    if view.format == code and view.ndim == 1:
        return view  # already samples, maybe strided (a channel_views() entry)
    return view.cast("B").cast(code)


def constant_channel(sample_type: str, count: int) -> bytes:
    """`count` samples at full intensity (opaque alpha)."""
    return _ONE[sample_type] * count


def convert_samples(data, source: str, target: str) -> bytes:
    """Raw little-endian samples from one sample type to another (clipped, rounded)."""
    if source == target:
        return data
    raw = memoryview(data).cast("B")
    if (source, target) == ("u8", "u16"):
        return bytes(interleave([raw, raw], 1))  # v * 257: the byte in both halves
    if (source, target) == ("u16", "u8"):
        return raw[1::2].tobytes()  # the high byte
    values = _decode(raw, source)
    return _encode(values, target)


def _decode(raw: memoryview, sample_type: str) -> list[float]:
    n = len(raw) // DEPTHS_BY_SAMPLE[sample_type]
    if sample_type == "u8":
        return [v / 255.0 for v in raw]
    if sample_type == "u16":
        return [v / 65535.0 for v in struct.unpack(f"<{n}H", raw)]
    return list(struct.unpack(f"<{n}{'e' if sample_type == 'f16' else 'f'}", raw))


def _encode(values: list[float], sample_type: str) -> bytes:
    clipped = [0.0 if v != v else min(1.0, max(0.0, v)) for v in values]  # NaN -> 0
    if sample_type == "u8":
        return bytes(int(v * 255.0 + 0.5) for v in clipped)
    if sample_type == "u16":
        return struct.pack(f"<{len(clipped)}H", *(int(v * 65535.0 + 0.5) for v in clipped))
    return struct.pack(f"<{len(clipped)}{'e' if sample_type == 'f16' else 'f'}", *clipped)


def to_payload(fmt: PixelFormat, width: int, height: int, data) -> ImagePayload:
    """Layer bytes (as pixelData() returned them) -> the image we send."""
    if fmt.model == "GRAYA":
        gray = channel_views(data, fmt.sample_bytes, 2)[0].tobytes()
        return ImagePayload.of(width, height, "GRAY", fmt.sample_type, gray)
    return ImagePayload.of(width, height, fmt.wire_order, fmt.sample_type, data)


def alpha_payload(fmt: PixelFormat, width: int, height: int, data) -> ImagePayload:
    """The layer's alpha channel as a GRAY image of the same sample type (a paste mask)."""
    count = len(fmt.krita_order)
    alpha = channel_views(data, fmt.sample_bytes, count)[count - 1].tobytes()
    return ImagePayload.of(width, height, "GRAY", fmt.sample_type, alpha)


def from_payload(fmt: PixelFormat, image: ImagePayload) -> bytes:
    """An image from the backend -> bytes for setPixelData() on a layer of `fmt`, opaque
    where the image has no alpha."""
    data = convert_samples(image.data, image.sample_type, fmt.sample_type)
    size = fmt.sample_bytes
    views = channel_views(data, size, CHANNELS[image.channel_order])
    if image.channel_order == "GRAY":
        source = {"R": views[0], "G": views[0], "B": views[0]}
    else:
        source = dict(zip(image.channel_order, views))
    one = constant_channel(fmt.sample_type, image.width * image.height)
    if fmt.model == "GRAYA":
        # a colour result into a gray layer: green is the channel closest to luma
        return bytes(interleave([source["G"], source.get("A", one)], size))
    if image.channel_order == fmt.krita_order:
        return bytes(data)
    return bytes(interleave([source.get(c, one) for c in fmt.krita_order], size))


def is_blank(data) -> bool:
    """True when every byte is zero (an empty mask, a fully transparent alpha)."""
    return not memoryview(data).cast("B").tobytes().strip(b"\x00")

