"""Progress reports and cancellation, shared by every long-running engine function."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from ..errors import Cancelled


@dataclass(frozen=True)
class Progress:
    task: str  # "train", "sample", "harmonize", ...
    stage: str  # human words for the current step, e.g. "scale 3/9"
    scale: int  # 0-based index of the scale being worked on
    num_scales: int
    iteration: int  # 1-based iteration within the scale (or item within the task)
    total: int  # iterations in this scale (or items in the task)
    elapsed_s: float  # since the task began
    eta_s: float | None  # estimated seconds left for the whole task, None when unknown

    @property
    def fraction(self) -> float:
        """Share of the whole task done, 0..1 (scales weighted equally)."""
        if self.num_scales <= 0 or self.total <= 0:
            return 0.0
        return min(1.0, (self.scale + self.iteration / self.total) / self.num_scales)


ProgressFn = Callable[[Progress], None]
StopFn = Callable[[], bool]


class Tracker:
    """Builds Progress reports for a task and checks for cancellation.

    `step()` is cheap: it reports at most `rate_hz` times a second so that a callback
    (a progress bar, a socket) never slows the loop it watches.
    """

    def __init__(self, task: str, on_progress: ProgressFn | None = None,
                 should_stop: StopFn | None = None, rate_hz: float = 5.0):
        self.task = task
        self.on_progress = on_progress
        self.should_stop = should_stop
        self.min_interval = 1.0 / rate_hz
        self.start = time.perf_counter()
        self.last_report = -1e9

    def quiet(self) -> Tracker:
        """One that checks for cancellation as this one does and reports nothing: for work
        inside a step that this tracker reports in its own words."""
        return Tracker(self.task, should_stop=self.should_stop)

    def check(self) -> None:
        if self.should_stop is not None and self.should_stop():
            raise Cancelled(f"{self.task} was cancelled")

    def step(self, scale: int, num_scales: int, iteration: int, total: int,
             work_done: float, work_total: float, force: bool = False,
             stage: str | None = None) -> None:
        """Report progress; work_done/work_total (any unit) drive the ETA."""
        self.check()
        now = time.perf_counter()
        if self.on_progress is None or (not force and now - self.last_report < self.min_interval):
            return
        self.last_report = now
        elapsed = now - self.start
        eta = elapsed * (work_total - work_done) / work_done if work_done > 0 else None
        stage = stage or f"scale {scale + 1}/{num_scales}"
        self.on_progress(Progress(self.task, stage, scale, num_scales,
                                  iteration, total, elapsed, eta))
