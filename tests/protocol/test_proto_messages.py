"""Typed bodies and image payloads: every field type-checked, nothing but ProtocolError escapes."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from singan_protocol import REQUESTS, ImagePayload, ProtocolError
from singan_protocol.messages import EVENTS, Animate, Generate, Train, Upscale

# ---- bodies --------------------------------------------------------------------------------


def test_missing_required_field():
    with pytest.raises(ProtocolError, match="missing field 'model_id'"):
        Generate.from_dict({"n": 2})


def test_defaults_and_to_dict_round_trip():
    t = Train.from_dict({"name": "balloons"})
    assert (t.preset, t.iters, t.for_animation) == ("default", None, False)
    assert Train.from_dict(t.to_dict()) == t
    assert Generate.from_dict({"model_id": "m"}).n == 1


def test_int_is_accepted_as_float_but_bool_is_not_an_int():
    assert Upscale.from_dict({"factor": 2}).factor == 2.0
    assert isinstance(Upscale.from_dict({"factor": 2}).factor, float)
    with pytest.raises(ProtocolError, match="'n' must be int"):
        Generate.from_dict({"model_id": "m", "n": True})
    with pytest.raises(ProtocolError, match="'factor' must be float"):
        Upscale.from_dict({"factor": False})


@pytest.mark.parametrize("body, words", [
    ({"preset": None}, "'preset' must be str"),
    ({"name": "x", "itters": 5}, "unknown field 'itters'"),
    ({"name": 3}, "'name' must be str"),
    ({"name": "x", "iters": "5"}, "'iters' must be int or nil"),
    ({"name": "x", "for_animation": 1}, "'for_animation' must be bool"),
    ([], "must be a map"),
])
def test_type_errors_name_the_field(body, words):
    with pytest.raises(ProtocolError, match=words) as e:
        Train.from_dict(body)
    assert e.value.code == "bad_request"


@pytest.mark.parametrize("cls, body", [
    (Train, {"name": ""}), (Train, {"name": "x", "preset": "fast"}),
    (Train, {"name": "x", "scale_factor": 1.5}), (Train, {"name": "x", "iters": 0}),
    (Train, {"name": "x", "seed": -1}), (Generate, {"model_id": "m", "n": 0}),
    (Generate, {"model_id": "m", "n": 65}), (Generate, {"model_id": "m", "width": 0}),
    (Generate, {"model_id": "m", "sample_type": "u32"}),
    (Generate, {"model_id": "m", "channel_order": "ARGB"}),
    (Animate, {"model_id": "m", "beta": 1.5}), (Animate, {"model_id": "m", "frames": 0}),
    (Upscale, {"factor": 1.0}), (Upscale, {"factor": 100.0}),
])
def test_range_errors(cls, body):
    with pytest.raises(ProtocolError) as e:
        cls.from_dict(body)
    assert e.value.code == "bad_option"


def test_train_needs_an_image_unless_it_resumes():
    assert Train.from_dict({"name": "x"}).image_count() == 1
    assert Train.from_dict({"name": "x", "resume": "m"}).image_count() == 0


values = st.recursive(
    st.none() | st.booleans() | st.integers(-2**64, 2**64) | st.floats() | st.text(max_size=20)
    | st.binary(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=4),
    max_leaves=10)


@settings(max_examples=300, deadline=None, database=None)
@given(st.sampled_from(sorted(REQUESTS) + sorted(EVENTS)),
       st.dictionaries(st.sampled_from(["name", "model_id", "n", "seed", "factor", "width",
                                        "job_id", "frames", "beta", "client", "version", "x"]),
                       values, max_size=6))
def test_arbitrary_bodies_only_raise_protocol_error(msg_type, body):
    cls = {**REQUESTS, **EVENTS}[msg_type]
    try:
        cls.from_dict(body)
    except ProtocolError:
        pass


# ---- payloads ------------------------------------------------------------------------------


def test_payload_sizes_and_validation():
    p = ImagePayload.of(5, 4, "BGRA", "u16", bytes(5 * 4 * 4 * 2))
    assert (p.channels, p.nbytes, p.expected_nbytes) == (4, 160, 160)
    assert p.validate() is p
    assert "160 bytes" in repr(p)
    with pytest.raises(ProtocolError, match="needs 160"):
        ImagePayload.of(5, 4, "BGRA", "u16", bytes(159)).validate()


@pytest.mark.parametrize("fields, code", [
    ((0, 4, 4, "u8", "RGBA"), "bad_image"), ((4, 4, 3, "u8", "RGBA"), "bad_image"),
    ((4, 4, 4, "u32", "RGBA"), "bad_image"), ((4, 4, 4, "u8", "ARGB"), "bad_image"),
    ((4.0, 4, 4, "u8", "RGBA"), "bad_image"), ((True, 4, 4, "u8", "RGBA"), "bad_image"),
    ((5000, 5000, 4, "u8", "RGBA"), "too_large"),
])
def test_bad_payloads(fields, code):
    with pytest.raises(ProtocolError) as e:
        ImagePayload(*fields, data=b"").validate(max_pixels=1000 * 1000)
    assert e.value.code == code


def test_data_may_be_any_buffer():
    for data in (bytes(12), bytearray(12), memoryview(bytes(12))):
        ImagePayload.of(3, 1, "RGBA", "u8", data).validate()
    with pytest.raises(ProtocolError):
        ImagePayload.of(3, 1, "RGBA", "u8", [0] * 12).validate()


@settings(max_examples=200, deadline=None, database=None)
@given(st.dictionaries(st.sampled_from(["width", "height", "channels", "sample_type",
                                        "channel_order", "extra"]), values, max_size=6),
       st.binary(max_size=64))
def test_arbitrary_descriptors_only_raise_protocol_error(desc, data):
    try:
        ImagePayload.from_descriptor(desc, data, max_pixels=10_000)
    except ProtocolError:
        pass
