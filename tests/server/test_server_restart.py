"""Processes coming and going: the connection file, one backend per models folder, SIGTERM,
restarts that find the models, and kill -9 in training followed by an automatic resume."""

import json
import os
import signal
import stat
import subprocess
import sys
import time

import pytest
from server_harness import TINY, Backend, copy_store, tiny_image

from singan_protocol import ConnectionInfo, new_key, write_connection_file


def wait_final(client, job_id, timeout=180.0):
    """fetch_result until the job has a final event (the client that asked may be gone)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r = client.call("fetch_result", {"job_id": job_id})
        if r.msg_type != "reply":
            return r
        time.sleep(0.3)
    raise TimeoutError(job_id)


def progress_until_scale(client, msg_id, scale, timeout=180.0):
    """Events of a train request until its progress reaches `scale` (earlier ones saved)."""
    events, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        client.socket.poll(100)
        events += [e for e in client.poll_events() if e.parent_id == msg_id]
        assert not any(e.is_final for e in events), events[-1].body
        if any(e.msg_type == "progress" and e.body["scale"] >= scale for e in events):
            return events
    raise TimeoutError


def manifest(models_dir, model_id):
    return json.loads((models_dir / model_id / "manifest.json").read_text())


def test_connection_file_and_one_backend_per_models_folder(trained_store, tmp_path):
    models = copy_store(trained_store, tmp_path)
    first = Backend(tmp_path / "a", models)
    (tmp_path / "a").mkdir()
    first.start()
    info = first.info
    assert (info.transport, info.ip, info.pid, info.models_dir) == ("tcp", "127.0.0.1",
                                                                    first.proc.pid, str(models))
    assert len(info.key) == 64 and info.port > 0
    assert stat.S_IMODE(os.stat(first.connection_file).st_mode) == 0o600
    # a second backend on the same models folder refuses, naming the first one's pid
    (tmp_path / "b").mkdir()
    second = Backend(tmp_path / "b", models)
    proc = second.spawn()
    assert proc.wait(120) == 1
    assert f"pid {first.proc.pid}" in second.log()
    # and so does one that would overwrite the live backend's connection file
    (tmp_path / "c").mkdir()
    third = Backend(tmp_path / "c")
    third.connection_file = first.connection_file
    assert third.spawn().wait(120) == 1
    assert f"running backend with pid {first.proc.pid}" in third.log()
    # the restart finds the model
    assert first.stop() == 0
    assert not first.connection_file.exists()  # removed on a clean exit
    first.start()
    ids = [m["id"] for m in first.client().call("list_models").body["models"]]
    assert trained_store[1] in ids
    c = first.client()
    c.call("shutdown")
    assert first.proc.wait(60) == 0 and not first.connection_file.exists()


def test_a_stale_connection_file_is_taken_over(tmp_path):
    backend = Backend(tmp_path)
    dead = backend.spawn("--help")  # any process that has exited: its pid is free
    dead.wait()
    write_connection_file(backend.connection_file, ConnectionInfo(
        "tcp", "127.0.0.1", 1, new_key(), dead.pid, "1.0", str(tmp_path / "elsewhere")))
    backend.start()
    assert backend.info.pid == backend.proc.pid
    assert backend.client().hello()["version"] == "1.0"
    assert backend.stop() == 0


def test_sigterm_in_training_exits_0_and_the_next_start_resumes(tmp_path):
    backend = Backend(tmp_path).start()
    c = backend.client()
    msg_id = c.request("train", {"name": "term", **TINY, "iters": 20}, [tiny_image()])
    events = progress_until_scale(c, msg_id, 1)
    job_id = events[0].body["job_id"]
    t = time.monotonic()
    backend.proc.send_signal(signal.SIGTERM)
    assert backend.proc.wait(60) == 0
    assert time.monotonic() - t < 10
    final = c.wait(msg_id, 5)[-1]
    assert final.body["code"] == "shutting_down" and "resumes" in final.body["message"]
    journal = json.loads((backend.models_dir / ".server" / "jobs.json").read_text())
    model_id = journal[job_id]["model_id"]
    assert manifest(backend.models_dir, model_id)["trained_scales"] >= 1  # checkpoint kept
    backend.stop()
    backend.start()
    c = backend.client()
    queue = c.call("status").body["queue"]
    assert [(j["job_id"], j["resumed"]) for j in queue] == [(job_id, True)]
    result = wait_final(c, job_id)
    assert result.msg_type == "result" and result.body["model_id"] == model_id
    assert json.loads((backend.models_dir / ".server" / "jobs.json").read_text()) == {}
    assert backend.stop() == 0


def test_kill_9_in_training_then_the_job_finishes_from_its_checkpoint(tmp_path):
    backend = Backend(tmp_path).start()
    c = backend.client()
    msg_id = c.request("train", {"name": "killed", **TINY, "iters": 20}, [tiny_image()])
    events = progress_until_scale(c, msg_id, 2)
    job_id = events[0].body["job_id"]
    backend.kill()
    assert backend.connection_file.exists()  # left behind: stale from now on
    (model_id,) = [p.name for p in backend.models_dir.iterdir() if not p.name.startswith(".")]
    before = manifest(backend.models_dir, model_id)
    assert before["trained_scales"] >= 2
    backend.start()  # takes over the stale connection file
    result = wait_final(backend.client(), job_id)
    assert result.msg_type == "result" and result.body["model_id"] == model_id
    after = manifest(backend.models_dir, model_id)
    assert after["trained_scales"] == len(after["sizes"])
    # the scales finished before the kill were kept, not trained again
    n = before["trained_scales"]
    assert after["train_seconds"][:n] == before["train_seconds"][:n]
    assert f"resuming train job {job_id} (model {model_id})" in backend.log()
    assert backend.stop() == 0


@pytest.mark.parametrize("args, words", [(["--port", "70000"], "--port"),
                                         (["--device", "tpu"], "unknown device")])
def test_bad_command_lines_exit_nonzero(tmp_path, args, words):
    backend = Backend(tmp_path)
    assert backend.spawn(*args).wait(120) != 0
    assert words in backend.log()


def test_damaged_journal_entries_are_set_aside_and_the_backend_starts(tmp_path):
    backend = Backend(tmp_path)
    server = backend.models_dir / ".server"
    server.mkdir(parents=True)
    bad = {"abc": {"job_id": 5, "body": "x", "started": "soon", "model_id": [1]},
           "def": {"job_id": "def", "msg_type": "train", "body": {}, "started": 1.0,
                   "image": None, "model_id": {"a": 1}},
           "ghi": "not an entry"}
    (server / "jobs.json").write_text(json.dumps(bad))
    backend.start()
    assert backend.client().call("status").body["queue"] == []
    assert json.loads((server / "jobs.json").read_text()) == {}
    assert json.loads((server / "jobs.bad.json").read_text()) == bad
    assert "entry 'abc' is damaged" in backend.log()
    assert backend.stop() == 0


def test_a_connection_file_naming_an_unrelated_live_pid_is_taken_over(tmp_path):
    """After a crash and a reboot the file's pid may be any program's: only the models
    folder's lock says whether a backend still serves it."""
    backend = Backend(tmp_path)
    unrelated = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        for models_dir in (backend.models_dir, tmp_path / "elsewhere"):
            write_connection_file(backend.connection_file, ConnectionInfo(
                "tcp", "127.0.0.1", 1, new_key(), unrelated.pid, "1.0", str(models_dir)))
            backend.start()
            assert backend.info.pid == backend.proc.pid
            assert backend.stop() == 0
    finally:
        unrelated.kill()
        unrelated.wait()


@pytest.fixture
def small_disk(tmp_path):
    """An 8 MB file system (tmpfs) to fill up; skipped where mounting one is not allowed."""
    import shutil
    import subprocess as sp

    disk = tmp_path / "disk"
    disk.mkdir()
    if shutil.which("mount") is None or sp.run(
            ["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(disk)],
            capture_output=True).returncode != 0:
        pytest.skip("mounting a small tmpfs needs root (CI runs as root)")
    yield disk
    sp.run(["umount", "-l", str(disk)], check=False)


def fill(disk) -> None:
    with open(disk / "filler", "wb", buffering=0) as f:
        try:
            while True:
                f.write(b"\0" * 4096)
        except OSError:
            pass


def test_disk_full_in_training_says_so_and_the_job_resumes(tmp_path, small_disk):
    backend = Backend(tmp_path, small_disk / "models").start()
    c = backend.client()
    msg_id = c.request("train", {"name": "full", **TINY, "iters": 30}, [tiny_image()])
    job_id = progress_until_scale(c, msg_id, 1)[0].body["job_id"]
    fill(small_disk)
    final = c.wait(msg_id, 120)[-1]
    assert final.msg_type == "error" and final.body["code"] == "disk_full", final.body
    assert "the disk is full" in final.body["message"]
    assert str(backend.models_dir) in final.body["message"]
    journal = json.loads((backend.models_dir / ".server" / "jobs.json").read_text())
    model_id = journal[job_id]["model_id"]  # kept, so that the job resumes
    assert 1 <= manifest(backend.models_dir, model_id)["trained_scales"] < 3
    assert backend.stop() == 0
    (small_disk / "filler").unlink()
    backend.start()
    result = wait_final(backend.client(), job_id)
    assert result.msg_type == "result" and result.body["model_id"] == model_id
    assert backend.stop() == 0
