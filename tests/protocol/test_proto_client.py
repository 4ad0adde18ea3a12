"""The client against a scripted ROUTER: non-blocking polls, waits, dropped forgeries."""

import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
import zmq

from singan_protocol import (
    PROTOCOL_VERSION,
    Client,
    ConnectionInfo,
    ImagePayload,
    ProtocolError,
    RemoteError,
    Signer,
    decode,
    encode,
    new_key,
)


class FakeBackend:
    """A ROUTER on loopback that answers with events chosen by each test."""

    def __init__(self):
        self.ctx = zmq.Context()
        self.sock = self.ctx.socket(zmq.ROUTER)
        self.port = self.sock.bind_to_random_port("tcp://127.0.0.1")
        self.key = new_key()
        self.signer = Signer(self.key)
        self.info = ConnectionInfo("tcp", "127.0.0.1", self.port, self.key, 1, PROTOCOL_VERSION,
                                   "/m")

    def recv(self, timeout_ms=5000):
        assert self.sock.poll(timeout_ms), "the client sent nothing"
        frames = self.sock.recv_multipart(copy=False)
        return frames[0].bytes, decode(self.signer, frames[1:])

    def send(self, peer, msg_type, body, parent_id=None, images=(), signer=None):
        _, frames = encode(signer or self.signer, msg_type, body, images, parent_id)
        self.sock.send_multipart([peer] + frames)

    def close(self):
        self.sock.close(0)
        self.ctx.term()


@pytest.fixture
def backend():
    b = FakeBackend()
    yield b
    b.close()


@pytest.fixture
def client(backend):
    c = Client(backend.info, zmq.Context())
    yield c
    c.close()
    c.context.term()


def wait_for(client, n, timeout=5.0):
    events, deadline = [], time.monotonic() + timeout
    while len(events) < n and time.monotonic() < deadline:
        client.socket.poll(100)
        events += client.poll_events()
    return events


def test_request_returns_id_and_poll_never_blocks(backend, client):
    assert isinstance(client.fd, int)
    t = time.perf_counter()
    assert client.poll_events() == []
    assert time.perf_counter() - t < 0.05
    img = ImagePayload.of(2, 2, "GRAY", "u8", b"\x01\x02\x03\x04")
    msg_id = client.request("echo", {"a": 1}, [img])
    peer, msg = backend.recv()
    assert (msg.msg_id, msg.msg_type, msg.body) == (msg_id, "echo", {"a": 1})
    backend.send(peer, "reply", {}, msg_id, msg.images)
    (event,) = wait_for(client, 1)
    assert (event.msg_type, event.parent_id, event.is_final) == ("reply", msg_id, True)
    assert bytes(event.images[0].data) == b"\x01\x02\x03\x04"


def test_forged_events_are_dropped(backend, client):
    msg_id = client.request("status")
    peer, _ = backend.recv()
    backend.send(peer, "reply", {"forged": True}, msg_id, signer=Signer(new_key()))
    backend.sock.send_multipart([peer, b"garbage"])
    backend.send(peer, "reply", {"real": True}, msg_id)
    events = wait_for(client, 1)
    assert [e.body for e in events] == [{"real": True}]
    assert client.dropped == 2


def test_wait_keeps_other_requests_events_for_poll(backend, client):
    first = client.request("status")
    second = client.request("generate", {"model_id": "m"})
    peer, _ = backend.recv()
    backend.recv()

    def answer():
        backend.send(peer, "reply", {"for": "first"}, first)
        backend.send(peer, "accepted", {"job_id": "j", "position": 0}, second)
        backend.send(peer, "heartbeat", {"time": 1.0})
        time.sleep(0.2)
        backend.send(peer, "progress", {"fraction": 0.5}, second)
        backend.send(peer, "result", {"job_id": "j"}, second)

    threading.Thread(target=answer).start()
    seen = []
    events = client.wait(second, timeout_s=5, on_event=seen.append)
    assert [e.msg_type for e in events] == ["accepted", "progress", "result"] == \
        [e.msg_type for e in seen]
    rest = client.poll_events()
    assert [(e.msg_type, e.parent_id) for e in rest] == [("reply", first), ("heartbeat", None)]


def test_wait_times_out_and_call_raises_remote_errors(backend, client):
    with pytest.raises(TimeoutError):
        client.wait(client.request("status"), timeout_s=0.2)

    def answer():
        peer, msg = backend.recv()
        backend.send(peer, "error", {"code": "model_not_found", "message": "no model",
                                     "job_id": None}, msg.msg_id)

    backend.recv()  # the timed-out status
    threading.Thread(target=answer).start()
    with pytest.raises(RemoteError) as e:
        client.call("generate", {"model_id": "x"}, timeout_s=5)
    assert e.value.code == "model_not_found" and str(e.value) == "no model"


def test_request_checks_payloads_before_sending(client):
    with pytest.raises(ProtocolError):
        client.request("echo", {}, [ImagePayload.of(2, 2, "RGBA", "u8", b"short")])


def test_protocol_package_needs_no_numpy_or_torch(tmp_path):
    # Krita's Python has neither: importing them must fail the import of singan_protocol.
    script = textwrap.dedent("""
        import sys
        class Block:
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in ("numpy", "torch", "PIL", "singan_backend"):
                    raise ImportError("blocked " + name)
        sys.meta_path.insert(0, Block())
        import singan_protocol
        from singan_protocol import Client, Event, ImagePayload, read_connection_file
        print("ok")
    """)
    shared = Path(__file__).resolve().parents[2] / "shared"
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         env={"PYTHONPATH": str(shared), "PATH": ""}, timeout=60)
    assert out.stdout.strip() == "ok", out.stderr
