"""Image payloads: raw interleaved pixels plus the few numbers that say how to read them.

Pure Python (no numpy): the Krita plugin builds these straight from `Node.pixelData()` bytes.
The layout is PROTOCOL.md section 2.3.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .wire import ProtocolError

BYTES_PER_SAMPLE = {"u8": 1, "u16": 2, "f16": 2, "f32": 4}
CHANNELS = {"RGBA": 4, "BGRA": 4, "RGB": 3, "GRAY": 1}
DEFAULT_MAX_PIXELS = 8192 * 8192  # the backend's default limit; PROTOCOL.md 2.3


def _is_int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


@dataclass(frozen=True)
class ImagePayload:
    width: int
    height: int
    channels: int  # 4 for RGBA/BGRA, 3 for RGB, 1 for GRAY
    sample_type: str  # "u8" | "u16" | "f16" | "f32", little-endian
    channel_order: str  # "RGBA" | "BGRA" | "RGB" | "GRAY"
    data: Any  # bytes, bytearray or memoryview (a received one views the ZeroMQ frame: no copy)

    @property
    def nbytes(self) -> int:
        """Size of `data` in bytes (not the expected size: see expected_nbytes)."""
        return memoryview(self.data).nbytes

    @property
    def pixels(self) -> int:
        return self.width * self.height

    @property
    def expected_nbytes(self) -> int:
        return self.width * self.height * self.channels * BYTES_PER_SAMPLE[self.sample_type]

    def validate(self, max_pixels: int | None = DEFAULT_MAX_PIXELS) -> ImagePayload:
        """Check every field and the data length; raise ProtocolError. Returns self.

        Reads only the numbers, never the pixels, so it is safe to call on a declared size
        before anything is allocated for it.
        """
        check_descriptor(self.descriptor(), max_pixels)
        try:
            n = self.nbytes
        except TypeError:
            raise ProtocolError("image data must be bytes, bytearray or memoryview",
                                "bad_image") from None
        if n != self.expected_nbytes:
            raise ProtocolError(
                f"image data has {n} bytes; {self.width}x{self.height} {self.channel_order} "
                f"{self.sample_type} needs {self.expected_nbytes}", "bad_image")
        return self

    def descriptor(self) -> dict:
        """The header entry for this image (PROTOCOL.md 2.3)."""
        return {"width": self.width, "height": self.height, "channels": self.channels,
                "sample_type": self.sample_type, "channel_order": self.channel_order}

    @classmethod
    def from_descriptor(cls, desc: Any, data: Any,
                        max_pixels: int | None = DEFAULT_MAX_PIXELS) -> ImagePayload:
        check_descriptor(desc, max_pixels)
        return cls(desc["width"], desc["height"], desc["channels"], desc["sample_type"],
                   desc["channel_order"], data).validate(max_pixels)

    @classmethod
    def of(cls, width: int, height: int, channel_order: str, sample_type: str,
           data: Any) -> ImagePayload:
        """Build one with the channel count implied by channel_order."""
        if channel_order not in CHANNELS:
            raise ProtocolError(f"unknown channel order {channel_order!r}", "bad_image")
        return cls(width, height, CHANNELS[channel_order], sample_type, channel_order, data)

    def __repr__(self) -> str:  # never print megabytes of pixels
        return (f"ImagePayload({self.width}x{self.height} {self.channel_order} "
                f"{self.sample_type}, {self.nbytes} bytes)")


def check_descriptor(desc: Any, max_pixels: int | None = DEFAULT_MAX_PIXELS) -> None:
    """Type- and range-check a descriptor map; raise ProtocolError (bad_image / too_large)."""
    if not isinstance(desc, dict):
        raise ProtocolError("image descriptor must be a map", "bad_image")
    for key in ("width", "height", "channels"):
        if not _is_int(desc.get(key)):
            raise ProtocolError(f"image {key} must be an int", "bad_image")
    for key in ("sample_type", "channel_order"):
        if not isinstance(desc.get(key), str):
            raise ProtocolError(f"image {key} must be a string", "bad_image")
    w, h, c = desc["width"], desc["height"], desc["channels"]
    if w < 1 or h < 1:
        raise ProtocolError(f"image size {w}x{h} is empty", "bad_image")
    if max_pixels is not None and w * h > max_pixels:
        raise ProtocolError(f"image {w}x{h} has {w * h} pixels; the limit is {max_pixels}",
                            "too_large")
    if desc["sample_type"] not in BYTES_PER_SAMPLE:
        raise ProtocolError(f"unknown sample type {desc['sample_type']!r} "
                            f"(use one of {', '.join(BYTES_PER_SAMPLE)})", "bad_image")
    order = desc["channel_order"]
    if order not in CHANNELS:
        raise ProtocolError(f"unknown channel order {order!r} "
                            f"(use one of {', '.join(CHANNELS)})", "bad_image")
    if c != CHANNELS[order]:
        raise ProtocolError(f"{order} has {CHANNELS[order]} channels, not {c}", "bad_image")
