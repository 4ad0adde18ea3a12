"""Hundreds of malformed messages at a real backend; afterwards it still serves, and no model
is lost. Every kind the issue lists: random frames, truncated msgpack, wrong types, forged and
missing signatures, oversized declared images, unknown types (plus replays, deep nesting,
too many frames and a frame over ZMQ_MAXMSGSIZE)."""

from collections import Counter

import msgpack
import pytest
import zmq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from server_harness import Backend, copy_store

from singan_protocol import REQUESTS, Signer, encode, new_key
from singan_protocol.wire import pack

SENT: Counter = Counter()  # kind -> malformed messages sent
ANSWERED: Counter = Counter()  # error code -> error events the backend sent back
FUZZ = settings(max_examples=60, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow])
MAX_PIXELS = 256 * 256  # so ZMQ_MAXMSGSIZE is about 2 MiB and cheap to exceed


@pytest.fixture(scope="module")
def fuzz(trained_store, tmp_path_factory):
    root = tmp_path_factory.mktemp("fuzz")
    backend = Backend(root, copy_store(trained_store, root)).start("--max-pixels",
                                                                   str(MAX_PIXELS))
    sock = zmq.Context.instance().socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.connect(backend.info.url)
    yield backend, sock, Signer(backend.info.key)
    sock.close()
    assert backend.stop() == 0, backend.log()
    assert "Traceback" not in backend.log(), backend.log()


def send(fuzz, kind, frames):
    """Send one bad message, then a good heartbeat on the same socket, and wait for that
    heartbeat's reply: a pipe is FIFO, so the bad one has been handled by then."""
    backend, sock, signer = fuzz
    SENT[kind] += 1
    sock.send_multipart(frames)
    msg_id, ping = encode(signer, "heartbeat", {})
    sock.send_multipart(ping)
    while True:
        assert sock.poll(20_000), f"the backend stopped answering after a {kind} message"
        reply = sock.recv_multipart()
        header = msgpack.unpackb(reply[1])
        if header["parent_id"] == msg_id:
            return
        # a random header or body can be valid by chance (msg_id "a", parent_id nil): a reply
        kind = msgpack.unpackb(reply[2]).get("code") or f"valid by chance ({header['msg_type']})"
        ANSWERED[kind] += 1


def signed(signer, header, body, images=()):
    frames = [header if isinstance(header, bytes) else pack(header),
              body if isinstance(body, bytes) else pack(body), *images]
    return [signer.sign(frames)] + frames


def header(msg_type="status", n_images=0, **extra):
    import time
    import uuid

    return {"msg_id": uuid.uuid4().hex, "msg_type": msg_type, "version": "1.0",
            "date": time.time(), "parent_id": None, "images": [], **extra}


values = st.recursive(
    st.none() | st.booleans() | st.integers(-2**63, 2**64 - 1) | st.floats() | st.text(max_size=30)
    | st.binary(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=4),
    max_leaves=8)


@FUZZ
@given(st.lists(st.binary(max_size=300), min_size=1, max_size=8))
def test_random_frames(fuzz, frames):
    send(fuzz, "random frames", frames)


@FUZZ
@given(st.sampled_from(sorted(REQUESTS)), st.integers(0, 200), st.booleans())
def test_truncated_msgpack(fuzz, msg_type, cut, in_header):
    h, b = pack(header(msg_type)), pack({"name": "x" * 50, "model_id": "m", "n": 2})
    if in_header:
        h = h[: min(cut, len(h) - 1)]
    else:
        b = b[: min(cut, len(b) - 1)]
    send(fuzz, "truncated msgpack", signed(fuzz[2], h, b))


@FUZZ
@given(st.sampled_from(sorted(REQUESTS)), st.dictionaries(
    st.sampled_from(["name", "model_id", "job_id", "n", "seed", "factor", "width", "height",
                     "frames", "beta", "client", "version", "preset", "iters", "resume"]),
    values, min_size=1, max_size=5))
def test_wrong_types(fuzz, msg_type, body):
    # never a valid job: a wrong body must not start training or delete a model
    body = {**body, "model_id": 12345} if msg_type in ("delete_model", "generate") else body
    if msg_type in ("train", "shutdown"):
        body = {**body, "bogus_field": True}
    send(fuzz, "wrong types", signed(fuzz[2], header(msg_type), body))


@FUZZ
@given(st.sampled_from(sorted(REQUESTS)), st.binary(min_size=0, max_size=100))
def test_forged_and_missing_signatures(fuzz, msg_type, sig):
    h, b = pack(header(msg_type)), pack({})
    forged = Signer(new_key()).sign([h, b])
    send(fuzz, "forged signature", [forged, h, b])
    send(fuzz, "missing signature", [sig if len(sig) != 64 else b"", h, b])


@FUZZ
@given(st.integers(1, 2**40), st.integers(1, 2**40),
       st.sampled_from(["train", "paint", "upscale", "echo"]))
def test_oversized_declared_images(fuzz, width, height, msg_type):
    desc = {"width": width, "height": height, "channels": 4, "sample_type": "u8",
            "channel_order": "RGBA"}
    send(fuzz, "oversized image", signed(fuzz[2], header(msg_type, images=[desc]),
                                         {"name": "x", "model_id": "m", "factor": 2.0},
                                         [b"\0" * 64]))


@FUZZ
@given(st.text(min_size=0, max_size=60))
def test_unknown_message_types(fuzz, msg_type):
    if msg_type in REQUESTS:
        msg_type += "?"
    send(fuzz, "unknown type", signed(fuzz[2], header(msg_type), {}))


@FUZZ
@given(st.dictionaries(st.sampled_from(["msg_id", "msg_type", "version", "date", "parent_id",
                                        "images"]), values, min_size=1, max_size=3))
def test_wrong_header_types(fuzz, changes):
    send(fuzz, "bad header", signed(fuzz[2], {**header(), **changes}, {}))


def test_replays_deep_nesting_too_many_frames_and_huge_frames(fuzz):
    backend, sock, signer = fuzz
    _, status = encode(signer, "status", {})
    sock.send_multipart(status)
    assert sock.poll(10_000)
    sock.recv_multipart()
    for _ in range(20):
        send(fuzz, "replay", status)
    send(fuzz, "deep nesting", signed(signer, header(), b"\x81\xa1a" + b"\x91" * 100_000 + b"\xc0"))
    send(fuzz, "too many frames", signed(signer, header(), {}, [b"x"] * 60))
    send(fuzz, "bad image frame", signed(signer, header("echo", images=[{
        "width": 2, "height": 2, "channels": 4, "sample_type": "u8",
        "channel_order": "RGBA"}]), {}, [b"\0" * 15]))
    # over ZMQ_MAXMSGSIZE: libzmq drops the connection before the frame is allocated
    huge = zmq.Context.instance().socket(zmq.DEALER)
    huge.setsockopt(zmq.LINGER, 0)
    huge.connect(backend.info.url)
    huge.send_multipart([b"x" * 64, b"h", b"b", b"\0" * (MAX_PIXELS * 16 + (2 << 20))])
    SENT["frame over ZMQ_MAXMSGSIZE"] += 1
    assert huge.poll(1000) == 0  # no answer
    huge.close()


def burst(fuzz, count: int = 300) -> None:
    """`count` malformed messages of its own (seeded, so a failure reruns the same), so the
    test below checks "at least 300" even when it runs alone, without the tests above."""
    import random

    rng = random.Random(12)
    signer = fuzz[2]
    for i in range(count):
        kind = i % 3
        if kind == 0:
            send(fuzz, "random frames", [rng.randbytes(rng.randint(0, 200))
                                         for _ in range(rng.randint(1, 6))])
        elif kind == 1:
            h = pack(header(rng.choice(sorted(REQUESTS))))
            send(fuzz, "truncated msgpack", signed(signer, h[:rng.randint(0, len(h) - 1)], {}))
        else:
            body = {"model_id": rng.choice(["../x", "/etc", "a\\b", "", 7, None]),
                    "n": rng.choice([-1, "2", 2.5, None])}
            send(fuzz, "wrong types", signed(signer, header(rng.choice(["generate",
                                                                        "delete_model"])), body))


def test_afterwards_the_backend_serves_and_no_model_is_lost(fuzz, trained_store, capsys):
    backend = fuzz[0]
    burst(fuzz)
    client = backend.client()
    assert client.hello("after fuzz")["version"] == "1.0"
    ids = [m["id"] for m in client.call("list_models").body["models"]]
    assert ids == [trained_store[1]]
    assert client.call("status").body["queue"] == []
    r = client.call("generate", {"model_id": trained_store[1], "seed": 1}, timeout_s=60)
    assert r.msg_type == "result" and len(r.images) == 1
    total = sum(SENT.values())
    assert total >= 300
    with capsys.disabled():
        print(f"\nfuzz: {total} malformed messages sent ("
              + ", ".join(f"{k} {v}" for k, v in sorted(SENT.items())) + "); "
              f"{sum(ANSWERED.values())} answered with an error ("
              + ", ".join(f"{k} {v}" for k, v in sorted(ANSWERED.items())) + "), "
              f"the rest dropped; the backend still serves, {len(ids)} model(s) intact")
