"""What each request does: quick ones answered at once, jobs checked, queued and run.

Checks that need no pixels (fields, image descriptors, model ids, output sizes, training
options) run on the socket thread so a bad request gets its error before `accepted`.
Everything that touches pixels or torch runs in a worker through `dispatch.run`, the same
mapping the in-process CLI uses.
"""

from __future__ import annotations

import dataclasses
import importlib.metadata
import logging
import os
import secrets
import time
from datetime import datetime

import torch

from singan_protocol import PROTOCOL_VERSION, ImagePayload, Message, ProtocolError
from singan_protocol.messages import Body
from singan_protocol.wire import major

from .. import dispatch
from ..engine.sample import sample_scales
from ..errors import BadOption, Cancelled, DiskFull
from ..store import ModelStore
from .config import ServerConfig
from .jobs import Job, JobManager
from .journal import Journal
from .pixels import from_rgb, to_mask, to_rgb
from .preview import Previews

log = logging.getLogger(__name__)
MASK_INDEX = {"harmonize": 1, "edit": 1}  # which input image is a mask


def backend_version() -> str:
    try:
        return importlib.metadata.version("singan-krita")
    except importlib.metadata.PackageNotFoundError:
        return "0+unknown"


class Handlers:
    def __init__(self, config: ServerConfig, store: ModelStore, device: torch.device,
                 journal: Journal):
        self.config, self.store, self.device, self.journal = config, store, device, journal
        self.jobs: JobManager | None = None  # set by the service once the manager exists

    # -- quick requests (socket thread) ----------------------------------------------------
    def quick(self, msg: Message, req: Body) -> tuple[str, dict, list]:
        """Answer a quick request: returns (event type, body, images)."""
        t = msg.msg_type
        if t == "hello":
            if major(req.version) != major(PROTOCOL_VERSION):
                raise ProtocolError(
                    f"the client ({req.client}) speaks protocol {req.version} but this backend "
                    f"speaks {PROTOCOL_VERSION}: update whichever of the two is older",
                    "version_mismatch")
            return "reply", {"version": PROTOCOL_VERSION, "device": str(self.device),
                             "server": f"singan-backend {backend_version()}"}, []
        if t == "status":
            return "reply", {"device": str(self.device), "torch": torch.__version__,
                             "protocol": PROTOCOL_VERSION, "version": backend_version(),
                             "pid": os.getpid(), "models_dir": str(self.store.root),
                             "queue": self.jobs.status(), "models": len(self.store.list())}, []
        if t == "list_models":
            return "reply", dispatch.run(self.store, "list_models", req)[0], []
        if t == "delete_model":
            model_id = self.store.deletable(req.model_id)
            if self.jobs.uses_model(model_id) or model_id in self.journal.model_ids():
                raise ProtocolError(f"model {model_id} is in use by a job: cancel it first",
                                    "model_busy")
            done = dispatch.run(self.store, "delete_model", dataclasses.replace(req, model_id=model_id))
            return "reply", done[0], []
        if t == "cancel":
            state = self.jobs.cancel(req.job_id)
            if state is None:
                raise ProtocolError(f"no job {req.job_id!r}", "job_not_found")
            if state == "queued":  # never started, so _train will not clear its entry
                self.journal.remove(req.job_id)
            return "reply", {}, []
        if t == "fetch_result":
            stored = self.jobs.results.get(req.job_id)
            if stored is not None:
                return stored
            job = self.jobs.find(req.job_id)
            if job is None:
                raise ProtocolError(f"no job {req.job_id!r} (or its result was forgotten)",
                                    "job_not_found")
            return "reply", {"job_id": job.job_id, "state": job.state,
                             "fraction": round(job.fraction, 4)}, []
        if t == "shutdown":  # the service stops after sending this
            return "reply", {}, []
        if t == "heartbeat":
            return "reply", {"time": time.time()}, []
        if t == "echo":  # benchmarks: the received frames go straight back, not copied
            return "reply", {}, list(msg.images)
        raise AssertionError(f"quick() called for {t}")

    # -- jobs: checks on the socket thread ------------------------------------------------
    def prepare(self, msg: Message, req: Body, peer: bytes) -> Job:
        """The job of a request from_dict checked; the worker gets it with its ids resolved
        and its seed drawn, as a typed request and as the body the journal keeps."""
        t, images = msg.msg_type, msg.images
        lane, changes = "infer", {}
        if t == "train":
            lane = "train"
            if req.resume:
                changes["resume"] = self.store.resolve(req.resume)
            else:
                dispatch.train_config(req)  # a bad option fails now, not after `accepted`
        elif t == "upscale" and req.model_id is None and req.method == "singan":
            lane = "train"  # it trains an SR model on the image first (patch SR does not)
            dispatch.train_config(req)
        if getattr(req, "model_id", None) is not None:
            changes["model_id"] = self.store.resolve(req.model_id)
        if t != "train" and req.seed is None:
            changes["seed"] = secrets.randbelow(2**31)  # drawn here so the result can report it
        req = dataclasses.replace(req, **changes)
        body = {k: v for k, v in req.to_dict().items() if v is not None}
        if "sample_type" in body:  # generate, animate: the client chooses the result format
            output = (body.pop("sample_type"), body.pop("channel_order"))
        else:  # the rest answer in the format of their first image
            output = (images[0].sample_type, images[0].channel_order) if images else ("u8", "RGBA")
        self._check_sizes(t, req, body, images)
        return Job(t, body, lane, list(images), peer, msg.msg_id, output, request=req)

    def _check_sizes(self, t: str, req: Body, body: dict, images: list[ImagePayload]) -> None:
        limit = self.config.max_output_pixels
        if t in ("harmonize", "edit", "paint"):
            count = req.n * (2 if t == "edit" else 1)
            if count * images[0].pixels > limit:
                raise ProtocolError(f"{count} results of {images[0].width}x{images[0].height} "
                                    f"exceed the backend's limit of {limit} output pixels",
                                    "too_large")
        if t == "upscale":
            out = images[0].pixels * req.factor ** 2
            if out > self.config.max_pixels:
                raise ProtocolError(f"x{req.factor:g} of {images[0].width}x{images[0].height} "
                                    f"is {out:.0f} pixels; the limit is {self.config.max_pixels}",
                                    "too_large")
        if t == "instant":
            h, w = images[0].height, images[0].width
            if req.width or req.height:
                h, w = req.height or h * req.width / w, req.width or w * req.height / h
            if req.n * h * w > limit:
                raise ProtocolError(f"{req.n} images of {w:.0f}x{h:.0f} exceed the backend's "
                                    f"limit of {limit} output pixels", "too_large")
        if t in ("generate", "animate"):
            h, w = self._result_base(body["model_id"], req.lift)
            if t == "generate":  # each side within MAX_SIDE, refused before `accepted`
                sample_scales((h, w), req.height, req.width, req.scale_v, req.scale_h)
            count = req.frames if t == "animate" else req.n
            if t == "generate" and (req.width or req.height):  # one alone keeps the aspect
                h, w = req.height or h * req.width / w, req.width or w * req.height / h
            elif t == "generate":
                h, w = h * (req.scale_v or 1.0), w * (req.scale_h or 1.0)
            if count * h * w > limit:
                raise ProtocolError(f"{count} images of {w:.0f}x{h:.0f} exceed the backend's "
                                    f"limit of {limit} output pixels", "too_large")

    def _result_base(self, model_id: str, lift: bool) -> tuple[int, int]:
        """(H, W) that a result's sizes multiply: the kept source when the result is lifted
        from it (it is larger than the model), else the model's finest scale."""
        finest = self.store.info(model_id).finest
        source = self.store.source_size(model_id) if lift else None
        if source is None or (source[0] <= finest[0] and source[1] <= finest[1]):
            return finest
        return source

    # -- jobs: the work (worker threads) ---------------------------------------------------
    def run_job(self, job: Job) -> tuple[dict, list]:
        if job.msg_type == "train":
            return self._train(job), []
        arrays = []
        for i, p in enumerate(job.images):
            # a GRAY mask goes as (H, W); any other is (H, W, 3), which the engine averages
            is_mask = MASK_INDEX.get(job.msg_type) == i and p.channel_order == "GRAY"
            arrays.append(to_mask(p) if is_mask else to_rgb(p))
        body, outputs = dispatch.run(self.store, job.msg_type, job.request or job.body, arrays,
                                     device=self.device, should_stop=job.should_stop,
                                     on_progress=lambda p: self.jobs.report(job, p))
        extra = {k: job.body[k] for k in ("seed", "model_id") if k in job.body}
        return {**body, **extra}, [from_rgb(a, *job.output) for a in outputs]

    def _train(self, job: Job) -> dict:
        """Train (or resume); keeps the journal entry only when the backend is stopping."""
        try:
            resume = job.body.get("resume")
            if resume and self.store.exists(resume) and self.store.info(resume).complete:
                body = {"model_id": resume, "model": self.store.info(resume).to_dict()}
            else:
                body = self._train_watching(job)
        except Cancelled:
            if not job.for_shutdown:
                self.journal.remove(job.job_id)
            raise
        except DiskFull:  # kept: the next start resumes it, once there is room again
            log.error("job %s: the disk is full; its journal entry is kept", job.job_id)
            raise
        except BaseException:
            self.journal.remove(job.job_id)  # a failure would fail again on every restart
            raise
        self.journal.remove(job.job_id)
        return {**body, "name": body.get("model", {}).get("name", job.body.get("name"))}

    def _train_watching(self, job: Job) -> dict:
        """dispatch.run("train"), noting the new model's id in the journal once it exists."""
        before = set() if job.body.get("resume") else {i.id for i in self.store.list()}
        job.model_id = job.body.get("resume")
        previews = Previews(self.store)

        def on_progress(p) -> None:
            if job.model_id is None:  # the store creates the folder before the first report
                new = [i for i in self.store.unfinished() if i not in before]
                if new:
                    job.model_id = new[-1]
                    self.journal.set_model(job.job_id, job.model_id)
            # p.scale scales are saved when scale p.scale reports: a sample of them
            due = job.model_id is not None and p.task == "train" and previews.due(p.scale)
            self.jobs.report(job, p, previews.make(job.model_id, p.scale) if due else None)

        arrays = [to_rgb(p) for p in job.images]
        return dispatch.run(self.store, "train", job.request or job.body, arrays,
                            device=self.device, on_progress=on_progress,
                            should_stop=job.should_stop)[0]

    # -- restart ----------------------------------------------------------------------------
    def resumable_jobs(self) -> list[Job]:
        """Jobs for every journaled train job, resumed from their last finished scale."""
        jobs = []
        for entry in self.journal.pending():
            body = dict(entry.get("body") or {})
            model_id = entry.get("model_id") or self._adopt(entry)
            if model_id and self.store.exists(model_id):
                body["resume"], images = model_id, []
            else:
                body.pop("resume", None)
                image = self.journal.image(entry)
                if image is None:
                    log.error("journal: job %s has neither a model nor an image; dropped",
                              entry.get("job_id"))
                    self.journal.remove(entry["job_id"])
                    continue
                images = [image]
            log.info("resuming train job %s (%s)", entry["job_id"],
                     f"model {model_id}" if images == [] else "from the start")
            jobs.append(Job("train", body, "train", images, job_id=entry["job_id"], resumed=True))
        return jobs

    def _adopt(self, entry: dict) -> str | None:
        """An unfinished model this entry started before the journal could note its id."""
        name = (entry.get("body") or {}).get("name") or "model"  # the engine's default name
        started = float(entry.get("started", 0))
        taken = self.journal.model_ids()
        try:
            candidates = [i for i in self.store.list() if not i.complete and i.name == name
                          and i.id not in taken
                          and datetime.fromisoformat(i.created).timestamp() >= started - 2]
        except (BadOption, ValueError):
            return None
        if not candidates:
            return None
        self.journal.set_model(entry["job_id"], candidates[-1].id)
        return candidates[-1].id
