"""The real backend through the real protocol: hello, status, train, generate, tasks, cancel,
two clients, results kept for a client that went away."""

import time

import numpy as np
import pytest
from server_harness import TINY, gray, tiny_image

from singan_backend import dispatch
from singan_protocol import PROTOCOL_VERSION, ImagePayload, RemoteError


def test_hello_and_version_mismatch(backend):
    c = backend.client()
    reply = c.hello("pytest")
    assert reply["version"] == PROTOCOL_VERSION and reply["device"] == "cpu"
    assert reply["server"].startswith("singan-backend ")
    with pytest.raises(RemoteError) as e:
        c.call("hello", {"client": "old plugin", "version": "0.3"})
    assert e.value.code == "version_mismatch" and "update" in str(e.value)


def test_status(backend, trained_store):
    body = backend.client().call("status").body
    assert body["protocol"] == PROTOCOL_VERSION and body["device"] == "cpu"
    assert body["torch"] and body["version"] and body["pid"] == backend.proc.pid
    assert body["queue"] == [] and body["models"] >= 1


def test_train_reports_increasing_progress_then_the_model(trained_store):
    _, model_id, events, seconds = trained_store
    kinds = [e.msg_type for e in events]
    assert kinds[0] == "accepted" and kinds[-1] == "result" and "progress" in kinds
    progress = [e.body for e in events if e.msg_type == "progress"]
    fractions = [p["fraction"] for p in progress]
    assert fractions == sorted(fractions) and 0 <= fractions[0] and fractions[-1] <= 1
    assert [p["scale"] for p in progress] == sorted(p["scale"] for p in progress)
    num_scales = progress[0]["num_scales"]
    assert {p["scale"] for p in progress} == set(range(num_scales))  # every scale is reported
    assert all(p["total"] == TINY["iters"] and p["num_scales"] == num_scales for p in progress)
    # throttled: about 4 a second plus one per scale, never one per iteration at this speed
    assert len(progress) <= 4 * seconds + 2 + 2
    result = events[-1].body
    assert result["model_id"] == model_id and result["name"] == "tiny"
    assert result["job_id"] == events[0].body["job_id"]


def test_generate_any_size_any_format(backend, trained_store):
    c, model_id = backend.client(), trained_store[1]
    r = c.call("generate", {"model_id": model_id, "n": 2, "width": 40, "seed": 5}, timeout_s=60)
    assert r.msg_type == "result" and r.body["seed"] == 5 and len(r.images) == 2
    img = r.images[0]
    assert (img.width, img.height, img.channel_order, img.sample_type) == (40, 30, "RGBA", "u8")
    alpha = np.frombuffer(img.data, np.uint8).reshape(30, 40, 4)[..., 3]
    assert (alpha == 255).all()
    again = c.call("generate", {"model_id": model_id, "n": 2, "width": 40, "seed": 5})
    assert bytes(again.images[1].data) == bytes(r.images[1].data)  # seeded: deterministic
    f = c.call("generate", {"model_id": model_id, "sample_type": "f32", "channel_order": "BGRA"})
    (img,) = f.images
    pixels = np.frombuffer(img.data, "<f4")
    assert img.nbytes == 32 * 24 * 4 * 4 and 0 <= pixels.min() and pixels.max() <= 1
    assert isinstance(f.body["seed"], int)  # drawn by the backend and reported


@pytest.mark.parametrize("body, images, code", [
    ({"model_id": "no-such-model"}, 0, "model_not_found"),
    ({"model_id": "M", "n": 64, "width": 8192, "height": 8192}, 0, "too_large"),
    ({"model_id": "M", "n": "2"}, 0, "bad_request"),
    ({"model_id": "M", "frames": 3}, 0, "bad_request"),
    ({"model_id": "M"}, 1, "bad_request"),
])
def test_generate_errors_come_before_accepted(backend, trained_store, body, images, code):
    c = backend.client()
    body = {k: trained_store[1] if v == "M" else v for k, v in body.items()}
    events = c.wait(c.request("generate", body, [tiny_image()] * images), 30)
    assert [e.msg_type for e in events] == ["error"] and events[0].body["code"] == code


TASKS = {
    "harmonize": ({}, lambda: [tiny_image(), gray(32, 24)], 1),
    "edit": ({}, lambda: [tiny_image(order="BGRA"), gray(32, 24)], 2),
    "paint": ({"quantize": False}, lambda: [tiny_image()], 1),
    "animate": ({"frames": 3, "fps": 5.0}, lambda: [], 3),
}


@pytest.mark.parametrize("task", sorted(TASKS))
def test_every_task_through_the_protocol(backend, trained_store, task):
    # a request type the protocol lists but dispatch lacks is a failure, never a skip
    assert task in dispatch.HANDLERS, f"the engine's dispatch has no {task!r} handler"
    body, images, count = TASKS[task]
    c = backend.client()
    r = c.call(task, {"model_id": trained_store[1], "seed": 1, **body}, images(), timeout_s=120)
    assert r.msg_type == "result" and len(r.images) == count and r.body["seed"] == 1
    first = images()[0] if images() else None
    if first is not None:  # results come back in the input's format
        assert (r.images[0].channel_order, r.images[0].width) == (first.channel_order,
                                                                  first.width)
    if task == "animate":
        assert r.body["fps"] == 5.0


def test_upscale_trains_an_sr_model_on_the_train_lane_then_reuses_it(backend):
    c = backend.client()
    image = tiny_image(24, 18, order="BGRA")
    msg_id = c.request("upscale", {"factor": 2.0, "method": "singan", "preset": "quick",
                                   "iters": 5, "seed": 1, "name": "sr-test"}, [image])
    events = c.wait(msg_id, 180)
    assert events[0].body["lane"] == "train" and events[-1].msg_type == "result", events[-1].body
    (out,) = events[-1].images
    assert (out.width, out.height, out.channel_order) == (48, 36, "BGRA")
    sr_model = events[-1].body["model_id"]
    again = c.call("upscale", {"factor": 2.0, "model_id": sr_model, "seed": 1}, [image],
                   timeout_s=60)
    assert bytes(again.images[0].data) == bytes(out.data)  # same model, same seed
    c.call("delete_model", {"model_id": sr_model})


def test_task_limits_are_checked_before_accepting(backend, trained_store):
    c, model = backend.client(), trained_store[1]
    big = ImagePayload.of(1024, 1024, "RGBA", "u8", bytes(1024 * 1024 * 4))
    for task, body, images, code in (
            ("harmonize", {}, [tiny_image()], "bad_request"),  # the mask is missing
            ("edit", {"n": 65}, [tiny_image(), gray(32, 24)], "bad_option"),
            ("upscale", {"factor": 16.0}, [big], "too_large"),  # 268 Mpx out
            ("animate", {"frames": 1000, "fps": 60.0}, [], "bad_option")):
        with pytest.raises(RemoteError) as e:
            c.call(task, {"model_id": model, **body}, images)
        assert e.value.code == code, (task, e.value)


def test_two_clients_at_once_get_only_their_own_events(backend, trained_store):
    a, b = backend.client(), backend.client()
    ids_a = [a.request("generate", {"model_id": trained_store[1], "seed": i}) for i in range(2)]
    ids_b = [b.request("status"), b.request("generate", {"model_id": trained_store[1]})]
    got_a = [a.wait(i, 60)[-1] for i in ids_a]
    got_b = [b.wait(i, 60)[-1] for i in ids_b]
    assert [e.msg_type for e in got_a] == ["result", "result"]
    assert [e.msg_type for e in got_b] == ["reply", "result"]
    assert all(e.parent_id in ids_a for e in a.poll_events() if e.parent_id)
    assert all(e.parent_id in ids_b for e in b.poll_events() if e.parent_id)


def test_results_are_kept_for_a_client_that_went_away(backend, trained_store):
    gone = backend.client()
    msg_id = gone.request("generate", {"model_id": trained_store[1], "n": 3, "seed": 2})
    job_id = gone.wait(msg_id, 30)[0].body["job_id"]  # accepted
    gone.close()
    other = backend.client()
    deadline = time.monotonic() + 60
    while (r := other.call("fetch_result", {"job_id": job_id})).msg_type == "reply":
        assert r.body["state"] in ("queued", "running") and time.monotonic() < deadline
        time.sleep(0.2)
    assert r.msg_type == "result" and r.body["job_id"] == job_id and len(r.images) == 3
    with pytest.raises(RemoteError) as e:
        other.call("fetch_result", {"job_id": "unknown"})
    assert e.value.code == "job_not_found"


def test_inference_beside_training_and_cancel_within_a_second(backend, trained_store):
    trainer, sampler = backend.client(), backend.client()
    msg_id = trainer.request("train", {"name": "long", **TINY, "iters": 100_000}, [tiny_image()])
    events = _some(trainer, msg_id)
    while not any(e.msg_type == "progress" for e in events):
        events += _some(trainer, msg_id)
    job_id = events[0].body["job_id"]
    # a sample is answered while the training job runs: it has its own lane
    r = sampler.call("generate", {"model_id": trained_store[1]}, timeout_s=60)
    assert r.msg_type == "result"
    queue = sampler.call("status").body["queue"]
    assert [(j["job_id"], j["state"]) for j in queue] == [(job_id, "running")]
    t = time.monotonic()
    sampler.call("cancel", {"job_id": job_id})  # any client may cancel
    final = trainer.wait(msg_id, 30)[-1]
    took = time.monotonic() - t
    assert final.msg_type == "cancelled" and final.body["job_id"] == job_id
    long_model = final.body["model_id"]
    assert took < 3.0, f"cancel took {took:.2f} s"
    journal = (backend.models_dir / ".server" / "jobs.json").read_text()
    assert job_id not in journal  # a cancelled job is not resumed
    # the unfinished model is kept (resumable with `resume`) and can be deleted
    unfinished = [m for m in sampler.call("list_models").body["models"] if not m["complete"]]
    assert [(m["name"], m["id"]) for m in unfinished] == [("long", long_model)]
    sampler.call("delete_model", {"model_id": unfinished[0]["id"]})
    ids = [m["id"] for m in sampler.call("list_models").body["models"]]
    assert unfinished[0]["id"] not in ids and trained_store[1] in ids


def _some(client, msg_id, timeout=60):
    """Events of one request that have arrived, waiting for at least one."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        client.socket.poll(200)
        mine = [e for e in client.poll_events() if e.parent_id == msg_id]
        if mine:
            return mine
    raise TimeoutError


def test_cancel_a_queued_job_and_unknown_ids(backend, trained_store):
    c, c2 = backend.client(), backend.client()
    first = c.request("train", {"name": "q1", **TINY, "iters": 100_000}, [tiny_image()])
    job1 = _some(c, first)[0].body["job_id"]
    second = c2.request("train", {"name": "q2", **TINY}, [tiny_image()])
    acc2 = _some(c2, second)[0]
    assert acc2.msg_type == "accepted" and acc2.body["position"] == 1
    c.call("cancel", {"job_id": acc2.body["job_id"]})
    assert c2.wait(second, 10)[-1].msg_type == "cancelled"
    assert acc2.body["job_id"] not in (backend.models_dir / ".server" / "jobs.json").read_text()
    c.call("cancel", {"job_id": job1})
    assert c.wait(first, 30)[-1].msg_type == "cancelled"
    with pytest.raises(RemoteError) as e:
        c.call("cancel", {"job_id": "nope"})
    assert e.value.code == "job_not_found"
    for m in c.call("list_models").body["models"]:
        if not m["complete"]:
            c.call("delete_model", {"model_id": m["id"]})
