"""Jobs, the two lanes that run them, and the results kept for clients that come back.

Two lanes, each a FIFO queue with one worker thread: "train" (one training job at a time)
and "infer" (samples and the other tasks). Inference runs beside a long training job rather
than between its iterations: PyTorch releases the GIL in its kernels, so both threads make
progress, and the engine needs no hook for interleaving. The manager knows nothing of
sockets or the engine: it gets a `run_job` function and an `emit` function, so its queue
logic is unit-tested with fakes.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from singan_protocol import ImagePayload, ProtocolError
from singan_protocol.messages import Body

from ..engine.progress import Progress
from ..errors import Cancelled, SinGANError

log = logging.getLogger(__name__)
LANES = ("train", "infer")


@dataclass(eq=False)
class Job:
    msg_type: str  # the request type, e.g. "train"
    body: dict  # request body as the engine's dispatch takes it (and the journal keeps)
    lane: str  # "train" | "infer"
    images: list = field(default_factory=list)  # input ImagePayloads
    peer: bytes | None = None  # ROUTER id of the client that asked; None for a resumed job
    request_id: str | None = None  # msg_id of the request: parent_id of every event
    output: tuple[str, str] = ("u8", "RGBA")  # sample type and channel order of results
    job_id: str = field(default_factory=lambda: uuid.uuid4().hex[:16])
    resumed: bool = False
    model_id: str | None = None  # train: the model being trained, once the store has it
    state: str = "queued"  # queued -> running -> done
    fraction: float = 0.0
    cancel: threading.Event = field(default_factory=threading.Event)
    for_shutdown: bool = False  # cancelled because the backend stops, not by a user
    last_report: float = -1e9
    last_scale: int = -1
    # `body` as the request the socket thread's from_dict made, so the worker does not check
    # it again; None for a job resumed from the journal, whose body dispatch checks
    request: Body | None = None

    def should_stop(self) -> bool:
        return self.cancel.is_set()

    def uses_model(self, model_id: str) -> bool:
        return model_id in (self.body.get("model_id"), self.body.get("resume"))


class ResultStore:
    """The final event of the most recent jobs, bounded in count and in image bytes."""

    def __init__(self, max_count: int, max_bytes: int):
        self.max_count, self.max_bytes = max_count, max_bytes
        self._items: OrderedDict[str, tuple[str, dict, list]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def put(self, job_id: str, msg_type: str, body: dict, images: list[ImagePayload]) -> None:
        size = sum(img.nbytes for img in images)
        with self._lock:
            self._items[job_id] = (msg_type, body, images)
            self._bytes += size
            while len(self._items) > self.max_count or (self._bytes > self.max_bytes
                                                         and len(self._items) > 1):
                _, (_, _, old) = self._items.popitem(last=False)
                self._bytes -= sum(img.nbytes for img in old)

    def get(self, job_id: str) -> tuple[str, dict, list] | None:
        with self._lock:
            return self._items.get(job_id)


RunJob = Callable[[Job], tuple[dict, list]]
Emit = Callable[[Job, str, dict, list], None]


class JobManager:
    def __init__(self, run_job: RunJob, emit: Emit, max_queued: int = 64,
                 progress_hz: float = 4.0, max_kept_results: int = 64,
                 max_kept_bytes: int = 1 << 30):
        self.run_job, self.emit = run_job, emit
        self.max_queued = max_queued
        self.min_interval = 1.0 / progress_hz
        self.results = ResultStore(max_kept_results, max_kept_bytes)
        self.queues: dict[str, list[Job]] = {lane: [] for lane in LANES}
        self.running: dict[str, Job | None] = {lane: None for lane in LANES}
        self.stopping = False
        self._cond = threading.Condition()
        self.workers = [threading.Thread(target=self._work, args=(lane,), daemon=True,
                                         name=f"singan-{lane}") for lane in LANES]
        for w in self.workers:
            w.start()

    # -- called from the socket thread ---------------------------------------------------
    def submit(self, job: Job) -> int:
        """Queue a job; returns its position in its lane (0: starts now)."""
        with self._cond:
            if self.stopping:
                raise ProtocolError("the backend is shutting down", "shutting_down")
            queue = self.queues[job.lane]
            if len(queue) >= self.max_queued:
                raise ProtocolError(f"{len(queue)} jobs already wait in the {job.lane} lane: "
                                    f"try again later", "queue_full")
            position = len(queue) + (self.running[job.lane] is not None)
            queue.append(job)
            self._cond.notify_all()
            return position

    def find(self, job_id: str) -> Job | None:
        with self._cond:
            for job in self._live():
                if job.job_id == job_id:
                    return job
        return None

    def cancel(self, job_id: str) -> str | None:
        """Cancel a job; returns its state before ("queued", "running", "done") or None."""
        with self._cond:
            for queue in self.queues.values():
                for job in queue:
                    if job.job_id == job_id:
                        queue.remove(job)
                        job.state = "done"
                        break
                else:
                    continue
                break
            else:
                job = None
            running = next((j for j in self.running.values() if j and j.job_id == job_id), None)
        if job is not None:
            self._finish(job, "cancelled", {"job_id": job_id}, [])
            return "queued"
        if running is not None:
            running.cancel.set()  # the engine polls should_stop every iteration
            return "running"
        return "done" if self.results.get(job_id) else None

    def status(self) -> list[dict]:
        out = []
        with self._cond:
            for lane in LANES:
                jobs = [j for j in [self.running[lane]] if j] + self.queues[lane]
                for position, job in enumerate(jobs):
                    out.append({"job_id": job.job_id, "task": job.msg_type, "lane": lane,
                                "state": job.state, "position": position,
                                "fraction": round(job.fraction, 4), "resumed": job.resumed})
        return out

    def uses_model(self, model_id: str) -> bool:
        with self._cond:
            return any(job.uses_model(model_id) for job in self._live())

    def shutdown(self) -> None:
        """Stop taking jobs, stop the running ones at their next iteration, drop the queued.

        Queued train jobs stay in the journal (the caller's run_job owns it) and resume on
        the next start.
        """
        with self._cond:
            self.stopping = True
            queued = [j for q in self.queues.values() for j in q]
            for q in self.queues.values():
                q.clear()
            for job in self.running.values():
                if job is not None:
                    job.for_shutdown = True
                    job.cancel.set()
            self._cond.notify_all()
        for job in queued:
            self._finish(job, "error", _shutdown_error(job), [])

    def join(self, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        for w in self.workers:
            w.join(max(0.0, deadline - time.monotonic()))
        return not any(w.is_alive() for w in self.workers)

    # -- called from the worker threads --------------------------------------------------
    def report(self, job: Job, p: Progress, preview: tuple | None = None) -> None:
        """on_progress for the engine: throttled, but every new scale is reported, and so is
        a training preview (image payload, scales in it: server/preview.py)."""
        job.fraction = p.fraction
        now = time.monotonic()
        if (preview is None and p.scale == job.last_scale
                and now - job.last_report < self.min_interval):
            return
        job.last_report, job.last_scale = now, p.scale
        body = {"job_id": job.job_id, "task": p.task, "stage": p.stage, "scale": p.scale,
                "num_scales": p.num_scales, "iteration": p.iteration, "total": p.total,
                "fraction": round(p.fraction, 4), "eta_s": p.eta_s, "elapsed_s": p.elapsed_s}
        if preview is not None:
            body["preview_scale"] = preview[1]
        self.emit(job, "progress", body, [preview[0]] if preview is not None else [])

    def _live(self) -> list[Job]:
        return [j for j in self.running.values() if j] + [j for q in self.queues.values()
                                                           for j in q]

    def _next(self, lane: str) -> Job | None:
        with self._cond:
            while not self.queues[lane] and not self.stopping:
                self._cond.wait()
            if self.stopping:
                return None
            job = self.queues[lane].pop(0)
            job.state = "running"
            self.running[lane] = job
            return job

    def _work(self, lane: str) -> None:
        while (job := self._next(lane)) is not None:
            try:
                self._run(job)
            except Exception:  # a bug in _finish or emit must not end the lane
                log.exception("job %s: failure while reporting its end", job.job_id)
            finally:
                with self._cond:
                    if self.running[lane] is job:
                        self.running[lane] = None

    def _run(self, job: Job) -> None:
        log.info("job %s (%s) started", job.job_id, job.msg_type)
        try:
            body, images = self.run_job(job)
        except Cancelled:
            if job.for_shutdown:
                self._finish(job, "error", _shutdown_error(job), [])
            else:  # a cancelled training keeps its finished scales: say where, to resume
                extra = {"model_id": job.model_id} if job.model_id else {}
                self._finish(job, "cancelled", {"job_id": job.job_id, **extra}, [])
        except (SinGANError, ProtocolError) as e:
            self._finish(job, "error", {"code": e.code, "message": e.message,
                                        "job_id": job.job_id}, [])
        except MemoryError:
            self._finish(job, "error", {"code": "too_large", "job_id": job.job_id,
                                        "message": "out of memory: use a smaller image or size"},
                         [])
        except Exception as e:
            log.exception("job %s (%s) failed", job.job_id, job.msg_type)
            self._finish(job, "error", {"code": "internal", "job_id": job.job_id,
                                        "message": f"internal error ({type(e).__name__}: {e}); "
                                                   f"the backend log has the details"}, [])
        else:
            self._finish(job, "result", {**body, "job_id": job.job_id}, images)

    def _finish(self, job: Job, msg_type: str, body: dict, images: list) -> None:
        # Store the result and free the lane before the client hears of it, so that a
        # status or fetch_result sent on receipt already sees the job as done.
        if msg_type == "result":
            job.fraction = 1.0
        self.results.put(job.job_id, msg_type, body, images)
        with self._cond:
            job.state = "done"
            if self.running.get(job.lane) is job:
                self.running[job.lane] = None
        log.info("job %s (%s) ended: %s %s", job.job_id, job.msg_type, msg_type,
                 body.get("code", ""))
        self.emit(job, msg_type, body, images)


def _shutdown_error(job: Job) -> dict:
    again = " it resumes when the backend starts again" if job.msg_type == "train" else ""
    return {"code": "shutting_down", "job_id": job.job_id,
            "message": f"the backend is shutting down;{again or ' send the request again later'}"}
