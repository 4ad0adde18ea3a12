"""The socket thread's checks and the worker's run, in one process with a fake task: the
request a job was accepted with is the one its worker runs (no sockets, no engine)."""

import torch

from singan_backend import dispatch
from singan_backend.server.config import ServerConfig
from singan_backend.server.handlers import Handlers
from singan_backend.server.journal import Journal
from singan_backend.store import ModelStore
from singan_protocol import ImagePayload
from singan_protocol.messages import Instant
from singan_protocol.wire import Message


def test_a_job_body_is_checked_once_and_its_worker_gets_the_typed_request(tmp_path, monkeypatch):
    parsed = []
    real = Instant.from_dict.__func__
    monkeypatch.setattr(Instant, "from_dict",
                        classmethod(lambda cls, d: parsed.append(d) or real(cls, d)))
    seen = []

    def fake_instant(store, req, images, **ctx):
        seen.append(req)
        return {"count": 1}, images[:1]

    monkeypatch.setitem(dispatch.HANDLERS, "instant", fake_instant)
    handlers = Handlers(ServerConfig(), ModelStore(tmp_path), torch.device("cpu"),
                        Journal(tmp_path))
    image = ImagePayload(4, 3, 4, "u8", "RGBA", bytes(4 * 3 * 4))
    msg = Message("m1", "instant", "1.0", 0.0, None, {"n": 2}, [image])
    req = Instant.from_dict(msg.body)  # what the service's socket thread does
    job = handlers.prepare(msg, req, b"peer")
    body, images = handlers.run_job(job)
    assert len(parsed) == 1  # not again in the worker
    (ran,) = seen
    assert ran.n == 2 and ran.seed == job.body["seed"] == body["seed"]  # the seed drawn
    assert len(images) == 1 and (images[0].width, images[0].height) == (4, 3)
