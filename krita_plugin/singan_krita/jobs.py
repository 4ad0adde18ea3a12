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
