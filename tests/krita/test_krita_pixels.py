"""Krita pixel bytes <-> protocol payloads, for every depth Krita offers for RGBA and gray."""

import struct

import pytest
from krita_fakes import image

from singan_krita.errors import UserFacingError
from singan_krita.pixels import (
    PixelFormat,
    alpha_payload,
    convert_samples,
    from_payload,
    is_blank,
    pixel_format,
    to_payload,
)
from singan_protocol import ImagePayload


@pytest.mark.parametrize("depth, sample, order", [("U8", "u8", "BGRA"), ("U16", "u16", "BGRA"),
                                                  ("F16", "f16", "RGBA"), ("F32", "f32", "RGBA")])
def test_rgba_layers_travel_as_they_are(depth, sample, order):
    fmt = pixel_format("RGBA", depth)
    data = bytes(range(2 * 1 * fmt.pixel_bytes))
    payload = to_payload(fmt, 2, 1, data)
    assert (payload.sample_type, payload.channel_order) == (sample, order)
    assert payload.data is data  # zero copy
    assert from_payload(fmt, payload) == data


def test_red_u8_pixel_reads_as_bgra():
    fmt = pixel_format("RGBA", "U8")
    red = bytes([0, 0, 255, 255])  # what Krita's pixelData gives for pure red
    assert from_payload(fmt, ImagePayload.of(1, 1, "RGBA", "u8", bytes([255, 0, 0, 255]))) == red


def test_rgb_results_get_an_opaque_alpha_in_each_depth():
    rgb = ImagePayload.of(1, 1, "RGB", "u8", bytes([10, 20, 30]))
    assert from_payload(PixelFormat("RGBA", "U8"), rgb) == bytes([30, 20, 10, 255])
    u16 = from_payload(PixelFormat("RGBA", "U16"), rgb)
    assert struct.unpack("<4H", u16) == (30 * 257, 20 * 257, 10 * 257, 65535)
    f32 = struct.unpack("<4f", from_payload(PixelFormat("RGBA", "F32"), rgb))
    assert f32 == pytest.approx((10 / 255, 20 / 255, 30 / 255, 1.0), abs=1e-6)
    f16 = struct.unpack("<4e", from_payload(PixelFormat("RGBA", "F16"), rgb))
    assert f16 == pytest.approx((10 / 255, 20 / 255, 30 / 255, 1.0), abs=2e-3)


def test_gray_layers_send_gray_and_get_alpha_back():
    fmt = pixel_format("GRAYA", "U16")
    data = struct.pack("<4H", 100, 65535, 200, 0)  # (gray, alpha) x 2
    payload = to_payload(fmt, 2, 1, data)
    assert (payload.channel_order, payload.sample_type) == ("GRAY", "u16")
    assert struct.unpack("<2H", payload.data) == (100, 200)
    back = from_payload(fmt, payload)
    assert struct.unpack("<4H", back) == (100, 65535, 200, 65535)


def test_a_colour_result_into_a_gray_layer_keeps_green():
    fmt = pixel_format("GRAYA", "U8")
    assert from_payload(fmt, ImagePayload.of(1, 1, "BGRA", "u8", bytes([1, 2, 3, 4]))) == bytes([2, 4])


@pytest.mark.parametrize("model, words", [("CMYKA", "CMYK"), ("LABA", "L*a*b*"), ("XYZA", "XYZ"),
                                          ("YCbCrA", "YCbCr")])
def test_other_colour_models_are_refused_with_how_to_convert(model, words):
    with pytest.raises(UserFacingError) as err:
        pixel_format(model, "U8")
    assert words in str(err.value) and "Convert Image Color Space" in str(err.value)


def test_unknown_depth_is_refused():
    with pytest.raises(UserFacingError, match="colour depth"):
        pixel_format("RGBA", "F64")


def test_alpha_becomes_a_gray_mask_of_the_same_type():
    fmt = pixel_format("RGBA", "U8")
    mask = alpha_payload(fmt, 2, 1, bytes([1, 2, 3, 0, 4, 5, 6, 200]))
    assert (mask.channel_order, mask.sample_type, mask.data) == ("GRAY", "u8", bytes([0, 200]))
    f32 = pixel_format("RGBA", "F32")
    mask = alpha_payload(f32, 1, 1, struct.pack("<4f", 0.1, 0.2, 0.3, 0.5))
    assert struct.unpack("<f", mask.data) == (0.5,)


@pytest.mark.parametrize("source, target, values, expected", [
    ("u8", "u16", bytes([0, 128, 255]), struct.pack("<3H", 0, 128 * 257, 65535)),
    ("u16", "u8", struct.pack("<3H", 0, 32896, 65535), bytes([0, 128, 255])),
    ("f32", "u8", struct.pack("<3f", -1.0, 0.5, 2.0), bytes([0, 128, 255])),
    ("f32", "u16", struct.pack("<2f", float("nan"), 1.0), struct.pack("<2H", 0, 65535)),
])
def test_sample_conversions_clip_and_round(source, target, values, expected):
    assert convert_samples(values, source, target) == expected


def test_is_blank():
    assert is_blank(bytes(16)) and not is_blank(bytes(15) + b"\x01")
    assert is_blank(memoryview(bytearray(4)))


def test_payload_sizes_match_the_protocol():
    fmt = pixel_format("RGBA", "U16")
    to_payload(fmt, 3, 2, bytes(3 * 2 * 8)).validate()
    assert from_payload(fmt, image(3, 2, "RGBA", "f32")) == from_payload(fmt, image(3, 2, "RGBA", "f32"))
