"""The job manager's queue logic with a fake job function (no engine, no sockets)."""

import threading
import time

import pytest

from singan_backend.engine.progress import Progress
from singan_backend.errors import BadImage, Cancelled
from singan_backend.server.jobs import Job, JobManager, ResultStore
from singan_protocol import ImagePayload, ProtocolError


class Fake:
    """run_job that blocks each job until the test releases it, and records every event."""

    def __init__(self):
        self.events: list[tuple[str, str, dict]] = []
        self.release: dict[str, threading.Event] = {}
        self.started: list[str] = []
        self.lock = threading.Lock()

    def run_job(self, job: Job):
        with self.lock:
            self.started.append(job.body["name"])
        gate = self.release.setdefault(job.body["name"], threading.Event())
        while not gate.wait(0.01):
            if job.should_stop():
                raise Cancelled("stop")
        if job.body.get("fail"):
            raise job.body["fail"]
        return {"name": job.body["name"]}, []

    def emit(self, job, msg_type, body, images):
        with self.lock:
            self.events.append((job.body["name"], msg_type, body))

    def finals(self, name):
        return [t for n, t, _ in self.events if n == name and t != "progress"]


@pytest.fixture
def fake():
    f = Fake()
    f.manager = JobManager(f.run_job, f.emit, max_queued=3)
    yield f
    for gate in f.release.values():
        gate.set()
    f.manager.shutdown()
    assert f.manager.join(5)


def job(name, lane="train", **body):
    return Job("train" if lane == "train" else "generate", {"name": name, **body}, lane)


def until(cond, timeout=5.0):
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_one_job_per_lane_fifo_and_lanes_run_side_by_side(fake):
    m = fake.manager
    assert [m.submit(job(n)) for n in ("t1", "t2", "t3")] == [0, 1, 2]
    assert m.submit(job("i1", "infer")) == 0
    until(lambda: sorted(fake.started) == ["i1", "t1"])
    time.sleep(0.05)
    assert sorted(fake.started) == ["i1", "t1"]  # t2 waits for t1; i1 did not wait
    fake.release.setdefault("i1", threading.Event()).set()
    until(lambda: fake.finals("i1") == ["result"])
    for n in ("t1", "t2", "t3"):
        fake.release.setdefault(n, threading.Event()).set()
    until(lambda: fake.finals("t3") == ["result"])
    assert [n for n in fake.started if n.startswith("t")] == ["t1", "t2", "t3"]
    assert m.status() == []


def test_queue_full(fake):
    fake.manager.submit(job("t0"))
    until(lambda: fake.started == ["t0"])
    for n in range(1, 4):  # one running + 3 queued
        fake.manager.submit(job(f"t{n}"))
    with pytest.raises(ProtocolError) as e:
        fake.manager.submit(job("too many"))
    assert e.value.code == "queue_full"


def test_cancel_queued_and_running(fake):
    m = fake.manager
    a, b = job("a"), job("b")
    m.submit(a)
    m.submit(b)
    until(lambda: fake.started == ["a"])
    assert m.cancel(b.job_id) == "queued"
    assert fake.finals("b") == ["cancelled"]
    t = time.monotonic()
    assert m.cancel(a.job_id) == "running"
    until(lambda: fake.finals("a") == ["cancelled"])
    assert time.monotonic() - t < 1.0
    assert m.cancel(a.job_id) == "done" and m.cancel("unknown") is None
    assert m.results.get(a.job_id)[0] == "cancelled"
    assert "b" not in fake.started


def test_errors_become_error_events_and_the_lane_goes_on(fake):
    m = fake.manager
    m.submit(job("bad", fail=BadImage("no pixels")))
    m.submit(job("bug", fail=ZeroDivisionError("oops")))
    m.submit(job("ok"))
    for n in ("bad", "bug", "ok"):
        fake.release.setdefault(n, threading.Event()).set()
    until(lambda: fake.finals("ok") == ["result"])
    bodies = {n: b for n, t, b in fake.events if t == "error"}
    assert bodies["bad"]["code"] == "bad_image" and bodies["bad"]["message"] == "no pixels"
    assert bodies["bug"]["code"] == "internal" and "ZeroDivisionError" in bodies["bug"]["message"]


def test_shutdown_stops_running_and_drops_queued(fake):
    m = fake.manager
    running, queued = job("r"), job("q")
    m.submit(running)
    m.submit(queued)
    until(lambda: fake.started == ["r"])
    m.shutdown()
    assert m.join(5)
    assert running.for_shutdown
    codes = {n: b["code"] for n, t, b in fake.events if t == "error"}
    assert codes == {"r": "shutting_down", "q": "shutting_down"}
    with pytest.raises(ProtocolError) as e:
        m.submit(job("late"))
    assert e.value.code == "shutting_down"


def test_progress_is_throttled_but_every_scale_is_reported(fake):
    j = job("p")
    for scale in range(3):
        for it in range(1, 101):
            fake.manager.report(j, Progress("train", f"scale {scale + 1}/3", scale, 3, it, 100,
                                            0.0, None))
    progress = [b for n, t, b in fake.events if t == "progress"]
    assert [p["scale"] for p in progress] == [0, 1, 2]  # 300 reports in a few ms: one per scale
    assert progress[1]["fraction"] == pytest.approx(1 / 3 + 1 / 300, abs=1e-3)


def test_result_store_is_bounded_in_count_and_bytes():
    store = ResultStore(max_count=3, max_bytes=100)
    img = ImagePayload.of(5, 5, "GRAY", "u8", bytes(25))
    for i in range(5):
        store.put(f"j{i}", "result", {}, [img])
    assert [store.get(f"j{i}") is not None for i in range(5)] == [False, False, True, True, True]
    store.put("big", "result", {}, [ImagePayload.of(10, 10, "GRAY", "u8", bytes(100))])
    assert store.get("big") is not None and store.get("j4") is None  # the newest always stays
