"""Framing and signing: round trips, tampering, truncation, replay (PROTOCOL.md section 2)."""

import time

import msgpack
import pytest
import zmq

from singan_protocol import (
    ImagePayload,
    ProtocolError,
    ReplayGuard,
    Signer,
    decode,
    encode,
    new_key,
)
from singan_protocol.wire import MAX_BODY_BYTES, pack

KEY = "ab" * 32


@pytest.fixture
def signer():
    return Signer(KEY)


def rgba(w=4, h=3, fill=7):
    return ImagePayload.of(w, h, "RGBA", "u8", bytes([fill]) * (w * h * 4))


def test_round_trip_with_images(signer):
    img, mask = rgba(), ImagePayload.of(4, 3, "GRAY", "u8", bytes(range(12)))
    msg_id, frames = encode(signer, "harmonize", {"model_id": "m"}, [img, mask], parent_id="p1")
    assert len(frames) == 5 and len(frames[0]) == 64
    msg = decode(signer, frames)
    assert (msg.msg_id, msg.msg_type, msg.parent_id, msg.body) == (msg_id, "harmonize", "p1",
                                                                  {"model_id": "m"})
    assert [bytes(i.data) for i in msg.images] == [bytes(img.data), bytes(mask.data)]
    assert msg.images[1].channel_order == "GRAY"
    assert abs(msg.date - time.time()) < 5


def test_every_frame_is_signed(signer):
    _, frames = encode(signer, "train", {"name": "x"}, [rgba()])
    for i in range(1, len(frames)):
        bad = list(frames)
        b = bytearray(bad[i])
        b[len(b) // 2] ^= 1
        bad[i] = bytes(b)
        with pytest.raises(ProtocolError) as e:
            decode(signer, bad)
        assert e.value.code == "bad_signature" and e.value.msg_id is None


def test_bytes_moved_between_frames_break_the_signature(signer):
    # Without length prefixes, header+body concatenated would hash the same.
    _, frames = encode(signer, "echo", {}, [rgba(), rgba(fill=9)])
    shifted = list(frames)
    shifted[3] = frames[3] + frames[4][:4]
    shifted[4] = frames[4][4:]
    assert not signer.verify(frames[0], shifted[1:])


def test_wrong_key_missing_and_malformed_signatures(signer):
    _, frames = encode(Signer("cd" * 32), "status", {})
    for sig in (frames[0], b"", b"0" * 64, b"x" * 200):
        with pytest.raises(ProtocolError) as e:
            decode(signer, [sig] + frames[1:])
        assert e.value.code == "bad_signature"


def test_truncated_messages(signer):
    _, frames = encode(signer, "echo", {}, [rgba()])
    for n in range(3):
        with pytest.raises(ProtocolError):
            decode(signer, frames[:n])
    # a dropped image frame: the signature no longer covers what came
    with pytest.raises(ProtocolError):
        decode(signer, frames[:3])
    # truncated msgpack, re-signed (an authentic sender with a bug): answered, not dropped
    header = frames[1][:-3]
    with pytest.raises(ProtocolError) as e:
        decode(signer, [signer.sign([header, frames[2]]), header, frames[2]])
    assert e.value.msg_id is None  # no readable msg_id: dropped


def resign(signer, header, body=b"\x80", images=()):
    frames = [pack(header), body if isinstance(body, bytes) else pack(body), *images]
    return [signer.sign(frames)] + frames


GOOD = {"msg_id": "abc", "msg_type": "status", "version": "1.0", "date": 1.0, "parent_id": None,
        "images": []}


@pytest.mark.parametrize("change", [
    {"msg_id": 5}, {"msg_id": "has space"}, {"msg_id": "x" * 65}, {"msg_type": None},
    {"version": 1.0}, {"version": "one"}, {"date": "now"}, {"date": True}, {"images": {}},
    {"parent_id": 3},
])
def test_bad_header_fields(signer, change):
    with pytest.raises(ProtocolError) as e:
        decode(signer, resign(signer, {**GOOD, **change}))
    assert e.value.code == "bad_request"


def test_image_count_and_descriptors_must_match_frames(signer):
    desc = rgba().descriptor()
    with pytest.raises(ProtocolError, match="lists 1 images but 0"):
        decode(signer, resign(signer, {**GOOD, "images": [desc]}))
    with pytest.raises(ProtocolError) as e:
        decode(signer, resign(signer, {**GOOD, "images": [desc]}, images=[b"short"]))
    assert e.value.code == "bad_image" and e.value.msg_id == "abc"


def test_declared_size_is_checked_against_max_pixels_before_reading(signer):
    huge = {**rgba().descriptor(), "width": 100_000, "height": 100_000}
    with pytest.raises(ProtocolError) as e:
        decode(signer, resign(signer, {**GOOD, "images": [huge]}, images=[b""]), max_pixels=10**6)
    assert e.value.code == "too_large"


@pytest.mark.parametrize("body", [
    b"\xc1", msgpack.packb([1, 2]), msgpack.packb({1: 2}), msgpack.packb("s"),
    msgpack.packb({"a": msgpack.ExtType(5, b"x")}),
    msgpack.packb({"t": msgpack.Timestamp(1, 0)}, datetime=False),
    b"\x81\xa1a" + b"\xdd\xff\xff\xff\xff",  # declares a 4-billion-item array in 9 bytes
])
def test_bad_bodies(signer, body):
    with pytest.raises(ProtocolError) as e:
        decode(signer, resign(signer, GOOD, body))
    assert e.value.code == "bad_request" and e.value.msg_id == "abc"


def test_oversized_body(signer):
    body = pack({"x": "y" * (MAX_BODY_BYTES + 1)})
    with pytest.raises(ProtocolError) as e:
        decode(signer, resign(signer, GOOD, body))
    assert e.value.code == "too_large"


def test_replay_guard(signer):
    guard = ReplayGuard(window_s=300)
    _, frames = encode(signer, "status", {})
    msg = decode(signer, frames)
    guard.check(msg)
    with pytest.raises(ProtocolError) as e:
        guard.check(decode(signer, frames))
    assert e.value.code == "replayed" and e.value.msg_id is None  # dropped, not answered
    _, old = encode(signer, "status", {})
    stale = decode(signer, old)
    stale.date -= 1000
    with pytest.raises(ProtocolError) as e:
        guard.check(stale)
    assert e.value.code == "stale" and e.value.msg_id == stale.msg_id


def test_replay_guard_forgets_old_ids_but_keeps_memory_bounded(signer):
    guard = ReplayGuard(window_s=10, max_ids=100)
    for _ in range(500):
        _, frames = encode(signer, "status", {})
        guard.check(decode(signer, frames), now=time.time())
    assert len(guard.seen) <= 101


def test_round_trip_over_inproc_sockets(signer):
    ctx = zmq.Context()
    router, dealer = ctx.socket(zmq.ROUTER), ctx.socket(zmq.DEALER)
    router.bind("inproc://proto-test")
    dealer.connect("inproc://proto-test")
    img = rgba(64, 64)
    msg_id, frames = encode(signer, "echo", {"k": [1, 2.5, "s", None, True]}, [img])
    dealer.send_multipart(frames, copy=False)
    got = router.recv_multipart(copy=False)
    msg = decode(signer, got[1:])
    assert msg.body == {"k": [1, 2.5, "s", None, True]}
    _, back = encode(signer, "reply", {}, msg.images, parent_id=msg.msg_id)
    router.send_multipart([got[0]] + back, copy=False)
    reply = decode(signer, dealer.recv_multipart(copy=False))
    assert reply.parent_id == msg_id and bytes(reply.images[0].data) == bytes(img.data)
    dealer.close(0)
    router.close(0)
    ctx.term()


@pytest.mark.parametrize("date", [float("nan"), float("inf"), float("-inf")])
def test_a_date_that_is_not_a_finite_time_is_stale(date):
    signer = Signer(new_key())
    _, frames = encode(signer, "status", {})
    msg = decode(signer, frames)
    msg.date = date
    with pytest.raises(ProtocolError) as e:
        ReplayGuard(300).check(msg)
    assert e.value.code == "stale"
