"""Through the protocol: model ids never leave the models folder, a damaged model never
breaks the others, and no request about one ends as `internal`."""

import json
import signal
import time

import pytest
from server_harness import Backend, copy_store

from singan_protocol import RemoteError


@pytest.fixture(scope="module")
def outside(backend):
    """A folder with a manifest beside the served models folder (the issue's repro)."""
    folder = backend.models_dir.parent / "project"
    folder.mkdir()
    (folder / "manifest.json").write_text("{}")
    return folder


@pytest.mark.parametrize("msg_type, body", [
    ("delete_model", {"model_id": "../project"}),
    ("delete_model", {"model_id": "OUTSIDE"}),
    ("generate", {"model_id": "../project"}),
    ("generate", {"model_id": "OUTSIDE"}),
    ("train", {"resume": "../project"}),
    ("train", {"resume": "OUTSIDE"}),
    ("animate", {"model_id": "..\\project"}),
    ("delete_model", {"model_id": "linked"}),
])
def test_model_ids_outside_the_store_are_refused_before_accepted(backend, outside, msg_type,
                                                                  body):
    link = backend.models_dir / "linked"
    if not link.is_symlink():
        link.symlink_to(outside, target_is_directory=True)
    c = backend.client()
    body = {k: str(outside) if v == "OUTSIDE" else v for k, v in body.items()}
    events = c.wait(c.request(msg_type, body), 30)
    assert [e.msg_type for e in events] == ["error"], events[-1].body
    assert events[0].body["code"] == "model_not_found", events[0].body
    assert "delete" not in events[0].body["message"]
    assert (outside / "manifest.json").exists()


@pytest.mark.parametrize("manifest", [
    {"format": 1, "sizes": [], "config": "x", "created": None},
    {"format": 1, "source": {"width": 1, "height": 1}, "config": {}, "sizes": [[1, 1]],
     "trained_scales": 1, "created": 5},
    "[" * 100_000 + "]" * 100_000])
def test_a_damaged_manifest_leaves_the_other_models_working(backend, trained_store, manifest):
    bad = backend.models_dir / "tiny-bad000"
    bad.mkdir(exist_ok=True)
    (bad / "manifest.json").write_text(manifest if isinstance(manifest, str)
                                       else json.dumps(manifest))
    c, model_id = backend.client(), trained_store[1]
    reply = c.call("list_models").body
    assert [m["id"] for m in reply["models"]] == [model_id]
    damaged = {d["id"]: d for d in reply["damaged"]}  # "linked" too, if the test above ran
    assert damaged["tiny-bad000"]["file"].endswith("manifest.json")
    assert damaged["tiny-bad000"]["problem"]
    assert c.call("status").body["models"] == 1
    r = c.call("generate", {"model_id": model_id[:6], "seed": 1}, timeout_s=60)  # by prefix
    assert r.msg_type == "result"
    with pytest.raises(RemoteError) as e:
        c.call("generate", {"model_id": "tiny-bad000"})
    assert e.value.code == "corrupt_model"
    c.call("delete_model", {"model_id": "tiny-bad000"})
    assert not bad.exists()


def started(client, msg_id, timeout=60):
    """The events of a job up to its first progress report (it is running by then)."""
    events, deadline = [], time.monotonic() + timeout
    while not any(e.msg_type == "progress" for e in events):
        assert time.monotonic() < deadline and not any(e.is_final for e in events), events
        client.socket.poll(100)
        events += [e for e in client.poll_events() if e.parent_id == msg_id]
    return events


BIG = {"width": 2048, "height": 2048, "seed": 1}  # a minute or more on one busy core


def test_cancel_reaches_a_large_sample_within_seconds(backend, trained_store):
    c = backend.client()
    msg_id = c.request("generate", {"model_id": trained_store[1], **BIG})
    job_id = started(c, msg_id)[0].body["job_id"]
    time.sleep(0.5)  # inside the finest scale's tiles by now, or close
    t = time.monotonic()
    c.call("cancel", {"job_id": job_id})
    final = c.wait(msg_id, 60)[-1]
    assert final.msg_type == "cancelled", final.body
    assert time.monotonic() - t < 8.0


def test_sigterm_during_a_large_sample_says_shutting_down_and_exits_0(trained_store, tmp_path):
    b = Backend(tmp_path, copy_store(trained_store, tmp_path)).start()
    c = b.client()
    msg_id = c.request("generate", {"model_id": trained_store[1], **BIG})
    started(c, msg_id)
    time.sleep(0.5)
    t = time.monotonic()
    b.proc.send_signal(signal.SIGTERM)
    assert b.proc.wait(30) == 0, b.log()
    assert time.monotonic() - t < 10.0
    final = c.wait(msg_id, 5)[-1]
    assert final.msg_type == "error" and final.body["code"] == "shutting_down", final.body
    assert "terminate called" not in b.log() and "did not stop" not in b.log()


def test_8192_a_side_is_accepted_and_more_is_refused_before_accepted(backend, trained_store):
    c, model_id = backend.client(), trained_store[1]
    events = c.wait(c.request("generate", {"model_id": model_id, "width": 8192,
                                           "height": 8193}), 30)
    assert [e.msg_type for e in events] == ["error"] and events[0].body["code"] == "bad_option"
    events = c.wait(c.request("generate", {"model_id": model_id, "scale_v": 1000.0}), 30)
    assert [e.msg_type for e in events] == ["error"] and "8192" in events[0].body["message"]
    msg_id = c.request("generate", {"model_id": model_id, "width": 8192, "height": 8192})
    job_id = started(c, msg_id)[0].body["job_id"]  # accepted, and running
    c.call("cancel", {"job_id": job_id})
    assert c.wait(msg_id, 60)[-1].msg_type == "cancelled"


def test_beyond_loopback_the_backend_warns_and_encrypts(tmp_path):
    import zmq

    from singan_protocol import encode
    from singan_protocol.wire import Signer

    b = Backend(tmp_path).start("--host", "0.0.0.0")
    try:
        assert "beyond this machine" in b.log() and "encrypted" in b.log()
        info = b.info
        assert len(info.curve_server_key) == 40
        assert b.client().hello()["version"]  # the Client speaks CURVE from the file
        plain = zmq.Context.instance().socket(zmq.DEALER)  # signed, but not encrypted
        plain.setsockopt(zmq.LINGER, 0)
        plain.connect(info.url)
        plain.send_multipart(encode(Signer(info.key), "status", {})[1])
        assert plain.poll(1500) == 0  # the CURVE handshake fails: never an answer
        plain.close()
    finally:
        assert b.stop() == 0


def test_on_loopback_nothing_changes(backend):
    assert backend.info.curve_server_key == "" and "beyond this machine" not in backend.log()
