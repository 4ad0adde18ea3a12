"""Jobs in flight as the docker shows them: which request, what it is for, how far along."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Job:
    kind: str  # "train", "generate", "harmonize", "edit", "paint", "upscale", "animate"
    label: str  # what the docker says, e.g. "Training “sunset”"
    request_id: str  # msg_id of the request; events carry it as parent_id
    context: Any = None  # where the results go (the adapter's Placement)
    on_result: Callable | None = None  # called with the result Event
    job_id: str | None = None  # from `accepted`
    fraction: float = 0.0  # 0..1
    detail: str = "waiting for the backend"
    lost: bool = False  # the connection dropped: polled with fetch_result
    poll_id: str | None = None  # msg_id of the fetch_result in flight
    cancel_requested: bool = False
    started: float = field(default=0.0)
    phase: str = ""  # the backend's `task` of the progress seen last ("train", "upscale")
    phase_base: float = 0.0  # where the bar stood when that phase began
    phase_span: float = 1.0  # how much of the bar that phase fills
    phase_raw: float = 0.0  # the phase's own fraction, as the backend sent it
    eta: EtaEstimate = field(default_factory=lambda: EtaEstimate())
    preview: Any = None  # ImagePayload: the training's latest sample, from a progress event
    preview_caption: str = ""

    def advance(self, body: dict) -> None:
        """One progress event: the bar moves forward once from 0 to 1 over every phase of
        the job (super-resolve trains, then upscales: two 0..1 runs from the backend)."""
        task, raw = str(body.get("task", "")), float(body.get("fraction", 0.0))
        restarted = raw < self.phase_raw - 0.05 and task != "train"  # a training's retried
        if self.phase and (task != self.phase or restarted):         # scale is no new phase
            # a new phase fills what the earlier ones left (all of it, for the last)
            self.phase_base = self.fraction
            self.phase_span = 1.0 - self.phase_base
            self.eta = EtaEstimate()
        elif not self.phase:
            self.phase_span = FIRST_PHASE_SHARE.get((self.kind, task), 1.0)
        self.phase, self.phase_raw = task, raw
        self.fraction = max(self.fraction, min(1.0, self.phase_base + self.phase_span * raw))
        self.detail = progress_detail({**body, "eta_s": self.eta.update(body)})


# The first phase's share of the bar, for jobs known to have more than one phase.
FIRST_PHASE_SHARE = {("upscale", "train"): 0.9}


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return "estimating time"
    seconds = max(0, int(round(seconds)))
    if seconds < 60:
        return f"{seconds} s left"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s left"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min left"


class EtaEstimate:
    """Seconds left of a training, from what its progress events show.

    The backend's eta_s spreads the time spent so far over its count of convolution work,
    and the coarse scales cost more time per unit of work than the fine ones (a fixed
    per-iteration overhead): its first estimates were 3x too long. Here each iteration is
    timed at the scale it runs, and a line time = overhead + rate x work is fitted over the
    scales seen; the backend's work count says how much work each later scale holds. Until
    two scales have been timed there is no honest figure: None ("estimating time").
    Events without scales (sampling, upscaling) keep the backend's eta_s: their steps cost
    the same."""

    def __init__(self):
        # scale -> (iteration, elapsed s, work) at the first and at the latest event seen in it
        self.first: dict[int, tuple[int, float, float]] = {}
        self.latest: dict[int, tuple[int, float, float]] = {}
        # (seconds left, elapsed s) of the last honest estimate: a new scale's first events
        # count it down until that scale has been timed, instead of "estimating time" again
        self.last_estimate: tuple[float, float] | None = None

    def update(self, body: dict) -> float | None:
        eta, elapsed = body.get("eta_s"), body.get("elapsed_s")
        if body.get("task") != "train" or eta is None or elapsed is None:
            return eta
        scale, it = int(body.get("scale", 0)), int(body.get("iteration", 0))
        total, num_scales = int(body.get("total", 0)), int(body.get("num_scales", 0))
        span = float(elapsed) + float(eta)
        work = float(elapsed) / span if span > 0 else 0.0  # the backend's share of work done
        point = (it, float(elapsed), work)
        if scale not in self.first or it < self.latest[scale][0]:  # new, or trained again
            self.first[scale] = point
        self.latest[scale] = point
        left = self.seconds_left(scale, it, total, num_scales, work)
        if left is not None:
            self.last_estimate = (left, float(elapsed))
        elif self.last_estimate is not None:
            before, at = self.last_estimate
            left = max(0.0, before - (float(elapsed) - at))
        return left

    def _per_iteration(self, scale: int) -> tuple[float, float] | None:
        """(seconds, work) per iteration, averaged over what was seen of the scale."""
        (i0, t0, w0), (i1, t1, w1) = self.first[scale], self.latest[scale]
        if i1 - i0 < 2 or t1 <= t0 or w1 <= w0:
            return None
        return (t1 - t0) / (i1 - i0), (w1 - w0) / (i1 - i0)

    def seconds_left(self, scale: int, it: int, total: int, num_scales: int,
                     work: float) -> float | None:
        timed = {n: p for n in self.first if (p := self._per_iteration(n)) is not None}
        if len(timed) < 2 or scale not in timed or total <= 0:
            return None
        (t0, w0), (t1, w1) = timed[min(timed)], timed[max(timed)]  # the widest spread of work
        rate = max(0.0, (t1 - t0) / (w1 - w0)) if w1 > w0 else 0.0  # s per unit of work
        overhead = max(0.0, t1 - rate * w1)  # s per iteration whatever its size
        s_per_it, w_per_it = timed[scale]
        left_here = (total - it) * s_per_it
        later_scales = max(0, num_scales - scale - 1)
        later_work = max(0.0, 1.0 - work - (total - it) * w_per_it)
        return left_here + later_scales * total * overhead + rate * later_work


def progress_detail(body: dict) -> str:
    """'scale 3/9 · iteration 120/2000 · 2 min 10 s left' from a progress event body."""
    parts = []
    if body.get("num_scales"):
        parts.append(f"scale {int(body.get('scale', 0)) + 1}/{body['num_scales']}")
    if body.get("total"):
        parts.append(f"{'iteration' if body.get('task') == 'train' else 'step'} "
                     f"{body.get('iteration', 0)}/{body['total']}")
    parts.append(format_duration(body.get("eta_s")))
    return " · ".join(parts)


def queued_detail(position: int) -> str:
    return "starting" if position <= 0 else f"waiting: {position} job{'s' if position > 1 else ''} ahead"
