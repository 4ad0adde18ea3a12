"""`singan --connect`: run a CLI request on a running backend instead of in this process.

The request is the same (msg_type, body, images) that dispatch.run would execute here;
pixels travel as float32 so the backend sees exactly the arrays the CLI read.
"""

from __future__ import annotations

import time

import numpy as np

from singan_protocol import Client, ProtocolError, default_connection_file, read_connection_file
from singan_protocol.client import BackendSilent, RemoteError

from .engine.progress import Progress, ProgressFn
from .errors import Cancelled, SinGANError
from .server.pixels import from_rgb, to_rgb

QUICK_TIMEOUT_S = 30.0
SILENCE_S = 15.0  # three of the backend's 5 s heartbeats missed: it has stopped


class RemoteFailure(SinGANError):
    """An error event from the backend, or no backend at all."""

    def __init__(self, message: str, code: str = "remote"):
        super().__init__(message)
        self.code = code


def _payload(image: np.ndarray):
    if image.ndim == 2:  # a mask travels as one grey channel
        return from_rgb(np.repeat(image[..., None], 3, axis=2), "f32", "GRAY")
    return from_rgb(image, "f32", "RGBA")


def _progress(body: dict) -> Progress:
    return Progress(str(body.get("task", "")), str(body.get("stage", "")),
                    int(body.get("scale", 0)), int(body.get("num_scales", 1)),
                    int(body.get("iteration", 0)), int(body.get("total", 1)),
                    float(body.get("elapsed_s", 0.0)), body.get("eta_s"))


def stopped_message(msg_type: str, job: dict, body: dict, path: str, e: BackendSilent) -> str:
    """What a user whose backend died mid-request can do (the CLI exits non-zero)."""
    head = f"the backend stopped ({e.message}; connection file {path})"
    if job.get("lane") == "train" and not (msg_type == "upscale" and body.get("model_id")):
        return (f"{head}. Training job {job.get('id')} keeps its finished scales and resumes "
                f"by itself when the backend starts again (`singan-backend serve`); "
                f"`singan --connect models` then shows the model, unfinished until it is done")
    if job.get("id"):
        return f"{head}. Job {job['id']} is lost: start the backend again and run this again"
    return f"{head}: start it again (`singan-backend serve`) and run this again"


def execute_remote(connection_file: str, msg_type: str, body: dict, images: list[np.ndarray],
                   on_progress: ProgressFn | None = None) -> tuple[dict, list[np.ndarray]]:
    path = connection_file or default_connection_file()
    try:
        info = read_connection_file(path)
    except (OSError, ValueError, ProtocolError) as e:
        raise RemoteFailure(f"cannot read the backend's connection file {path} ({e}): start "
                            f"one with `singan-backend serve`", "no_backend") from None
    start = time.monotonic()
    with Client(info) as client:
        try:
            client.hello("singan-cli", timeout_s=10)
        except TimeoutError:
            raise RemoteFailure(f"no backend answers at {info.url} (connection file {path}): "
                                f"is `singan-backend serve` running?", "no_backend") from None
        except RemoteError as e:
            raise RemoteFailure(e.message, e.code) from None

        job: dict[str, str] = {}

        def on_event(event) -> None:
            if event.msg_type == "accepted":
                job["id"] = event.body.get("job_id")
                job["lane"] = event.body.get("lane")
            if event.msg_type == "progress" and on_progress is not None:
                p = _progress(event.body)
                on_progress(Progress(p.task, p.stage, p.scale, p.num_scales, p.iteration,
                                     p.total, time.monotonic() - start, p.eta_s))

        body = {k: v for k, v in body.items() if v is not None}
        msg_id = client.request(msg_type, body, [_payload(i) for i in images])
        try:
            events = client.wait(msg_id, None, on_event, silence_s=SILENCE_S)
        except BackendSilent as e:
            raise RemoteFailure(stopped_message(msg_type, job, body, path, e),
                                "backend_stopped") from None
        except KeyboardInterrupt:
            # Ctrl+C stops the job on the backend too (a training keeps its checkpoints).
            if job.get("id"):
                client.request("cancel", {"job_id": job["id"]})
            raise
    final = events[-1]
    if final.msg_type == "error":
        raise RemoteFailure(str(final.body.get("message", "the backend failed")),
                            str(final.body.get("code", "remote")))
    if final.msg_type == "cancelled":
        raise Cancelled(f"{msg_type} was cancelled on the backend")
    return final.body, [to_rgb(p) for p in final.images]
