"""The plugin's logic: turns docker clicks into requests, and backend events into progress,
messages and new layers. Knows neither Qt nor `krita`: documents are reached through an
adapter (krita_adapter.KritaAdapter in Krita, a fake in the tests)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from . import options as opt
from .availability import ACTIONS, DocState, reasons
from .backend_process import BackendProcess
from .connection import Connection, State
from .errors import UserFacingError, guarded
from .jobs import Job, progress_detail, queued_detail
from .layers import Placement
from .pixels import PixelFormat
from .settings import PluginSettings

log = logging.getLogger(__name__)
ANIMATION_FORMAT = PixelFormat("RGBA", "U8")


@dataclass(frozen=True)
class JobView:
    request_id: str
    label: str
    detail: str
    fraction: float


@dataclass(frozen=True)
class View:
    """Everything the docker shows, as one immutable snapshot."""

    state: State
    status: str
    can_start: bool
    models: tuple = ()
    selected: str | None = None
    jobs: tuple = ()
    message: str = ""
    level: str = "info"  # "info" | "error"
    reasons: dict = field(default_factory=dict)
    doc: DocState = DocState()


class Controller:
    def __init__(self, settings: PluginSettings, adapter, connection: Connection,
                 process: BackendProcess, clock: Callable[[], float] = time.monotonic):
        self.settings = settings
        self.adapter = adapter
        self.connection = connection
        self.process = process
        self.clock = clock
        self.train_options = opt.TrainOptions()
        self.variation_options = opt.VariationOptions()
        self.task_options = opt.TaskOptions()
        self.upscale_options = opt.UpscaleOptions()
        self.animate_options = opt.AnimateOptions()
        self.models: list[dict] = []
        self.selected: str | None = None
        self.jobs: dict[str, Job] = {}  # by request msg_id
        self.message, self.level = "", "info"
        self.doc = DocState()
        self._quick: dict[str, Callable] = {}  # request msg_id -> reply handler
        self._polls: dict[str, Job] = {}  # fetch_result msg_id -> job
        self._doc_models: dict[str, str] = {}  # document key -> model trained on it
        self._next_poll = 0.0
        self._listeners: list[Callable[[], None]] = []
        self._was_connected = False
        connection.on_event = self._on_event
        connection.on_state = self._on_state

    # ---- what the docker reads -------------------------------------------------------

    def subscribe(self, listener: Callable[[], None]) -> None:
        self._listeners.append(listener)

    def unsubscribe(self, listener: Callable[[], None]) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    def changed(self) -> None:
        for listener in list(self._listeners):
            try:
                listener()
            except Exception:  # noqa: BLE001 - one broken docker must not stop the others
                log.exception("docker update failed")

    def report(self, text: str, level: str = "error") -> None:
        (log.warning if level == "error" else log.info)("docker message: %s", text)
        self.message, self.level = text, level
        self.changed()

    def view(self) -> View:
        state = self.connection.state
        status = self.connection.message
        if state is State.NOT_RUNNING and not self.settings.backend_command:
            status += " Install it with `singan install-krita` in a terminal."
        return View(
            state=state, status=status,
            can_start=state in (State.NOT_RUNNING, State.VERSION_MISMATCH)
            and bool(self.settings.backend_command) and not self.process.running,
            models=tuple(self.models), selected=self.selected,
            jobs=tuple(JobView(j.request_id, j.label, j.detail, j.fraction)
                       for j in self.jobs.values()),
            message=self.message, level=self.level,
            reasons=reasons(self.doc, self.connection.connected, self.selected_model() is not None),
            doc=self.doc)

    def selected_model(self) -> dict | None:
        return next((m for m in self.models if m.get("id") == self.selected), None)

    # ---- the clock ---------------------------------------------------------------------

    @guarded("report")
    def tick(self) -> None:
        self.connection.tick()
        code = self.process.exit_code()
        if self.connection.state is State.STARTING and code is not None:
            output = self.process.last_output()
            self.connection.start_failed(f"The backend stopped while starting (exit code {code})."
                                         + (f" It said: {output}" if output else ""))
        if self.connection.connected and self.clock() >= self._next_poll:
            self._next_poll = self.clock() + self.settings.poll_interval_s
            self._poll_lost_jobs()
        doc = self.adapter.doc_state()
        if doc != self.doc:
            self.doc = doc
            self.changed()

    def _on_state(self) -> None:
        connected = self.connection.connected
        if connected and not self._was_connected:
            self.refresh_models()
        if not connected and self._was_connected:
            for rid, job in list(self.jobs.items()):
                if job.job_id is None:
                    del self.jobs[rid]
                    self.report(f"{job.label} was lost: the backend stopped before taking it. "
                                "Try again.")
                else:
                    job.lost, job.poll_id, job.detail = True, None, "waiting for the backend"
            self._quick.clear()
            self._polls.clear()
        self._was_connected = connected
        self.changed()

    # ---- backend process ---------------------------------------------------------------

    @guarded("report")
    def start_backend(self) -> None:
        self.process.start()
        self.connection.expect_start()
        self.message = ""
        self.changed()

    def shutdown(self) -> None:
        """Krita is quitting: stop the backend if this plugin started it."""
        if self.process.running:
            if self.connection.connected:
                try:
                    self.connection.request("shutdown", {})
                except UserFacingError:
                    pass
            self.process.stop()
        self.connection.close()

    # ---- requests ----------------------------------------------------------------------

    def _quick_request(self, msg_type: str, body: dict, handler: Callable) -> None:
        self._quick[self.connection.request(msg_type, body)] = handler

    def _job(self, kind: str, label: str, msg_type: str, body: dict, images, context,
             on_result: Callable) -> Job:
        rid = self.connection.request(msg_type, body, images)
        job = Job(kind, label, rid, context=context, on_result=on_result, started=self.clock())
        self.jobs[rid] = job
        self.message = ""
        self.changed()
        return job

    @guarded("report")
    def refresh_models(self) -> None:
        self._quick_request("list_models", {}, self._models_listed)

    def _models_listed(self, event) -> None:
        self.models = sorted(event.body.get("models", []), key=lambda m: str(m.get("created", "")),
                             reverse=True)
        if self.selected_model() is None:
            self.selected = self.models[0]["id"] if self.models else None
        self.changed()

    def select_model(self, model_id: str | None) -> None:
        self.selected = model_id
        self.changed()

    @guarded("report")
    def delete_model(self, model_id: str) -> None:
        def deleted(event) -> None:
            if self.selected == model_id:
                self.selected = None
            self._doc_models = {k: v for k, v in self._doc_models.items() if v != model_id}
            self.refresh_models()

        self._quick_request("delete_model", {"model_id": model_id}, deleted)

    @guarded("report")
    def cancel(self, request_id: str) -> None:
        job = self.jobs.get(request_id)
        if job is None:
            return
        job.cancel_requested, job.detail = True, "cancelling…"
        if job.job_id is not None:  # else it is sent once the backend accepts the job
            self._quick_request("cancel", {"job_id": job.job_id}, lambda event: None)
        self.changed()

    def _need_model(self) -> dict:
        model = self.selected_model()
        if model is None:
            raise UserFacingError("Train a model first, or pick one in the model list.")
        return model

    # ---- the actions -------------------------------------------------------------------

    @guarded("report")
    def train(self) -> None:
        read = self.adapter.read_layer(use_selection=True)
        name = opt.model_name(read.place.doc_name, read.layer)
        body = self.train_options.validate().body(name)
        self._job("train", f"Training “{name}”", "train", body, [read.image], read.place,
                  lambda job, event: self._trained(job, event, name))

    def _trained(self, job: Job, event, name: str, then: Callable | None = None) -> None:
        model_id = event.body["model_id"]
        self._doc_models[job.context.doc_key] = model_id
        self.selected = model_id
        self.refresh_models()
        if then is None:
            self.report(f"The model “{name}” is ready. Try Generate variations.", "info")
        else:
            then(model_id)

    @guarded("report")
    def generate(self) -> None:
        model = self._need_model()
        place = self.adapter.placement()
        canvas = self.adapter.doc_state().canvas
        body = self.variation_options.validate(canvas, int(model.get("num_scales", 1))).body(
            model["id"], canvas, place.fmt.sample_type, place.fmt.wire_order)

        def done(job: Job, event) -> None:
            count = len(event.images)
            self.adapter.add_layers(place, event.images,
                                    [f"variation {i + 1}" for i in range(count)],
                                    group=opt.variations_group_name(model["name"], event.body["seed"]))
            self.report(f"Added {count} variation{'s' if count > 1 else ''} of “{model['name']}” "
                        f"(seed {event.body['seed']}).", "info")

        self._job("generate", f"Generating {body['n']} × “{model['name']}”", "generate", body, [],
                  place, done)

    @guarded("report")
    def harmonize(self) -> None:
        paste = self.adapter.read_paste()
        model_id = self._model_for(paste.place)
        if model_id is not None:
            self._harmonize(paste, model_id)
            return
        name = opt.model_name(paste.place.doc_name, "background")
        body = self.train_options.validate().body(name)
        self._job("train", f"Training “{name}” on the background, for Harmonize", "train", body,
                  [paste.background], paste.place,
                  lambda job, event: self._trained(job, event, name,
                                                   then=lambda mid: self._harmonize(paste, mid)))
        self.report("No model for this picture yet: training one on the background first, "
                    "then harmonizing.", "info")

    @guarded("report")
    def _harmonize(self, paste, model_id: str) -> None:
        def done(job: Job, event) -> None:
            self.adapter.add_layers(paste.place, event.images[:1], [f"{paste.layer} harmonized"])
            self.report(f"Added “{paste.layer} harmonized” above the pasted layer.", "info")

        self._job("harmonize", f"Harmonizing “{paste.layer}”", "harmonize",
                  self.task_options.body(model_id, "harmonize"), [paste.composite, paste.mask],
                  paste.place, done)

    def _model_for(self, place: Placement) -> str | None:
        """The model trained on this document: this session's, else one named after it."""
        ids = {m.get("id") for m in self.models}
        if self._doc_models.get(place.doc_key) in ids:
            return self._doc_models[place.doc_key]
        names = {opt.model_name(place.doc_name, "background"), opt.model_name(place.doc_name, "")}
        matches = [m for m in self.models if m.get("name") in names]
        return matches[0]["id"] if matches else None

    @guarded("report")
    def edit(self) -> None:
        model = self._need_model()
        # the whole layer: the model knows the picture, the mask says what to redo
        read = self.adapter.read_layer(use_selection=False, with_mask=True)

        def done(job: Job, event) -> None:
            names = [f"{read.layer} edited", f"{read.layer} edited (unmasked)"]
            self.adapter.add_layers(read.place, event.images[:2], names[:len(event.images)],
                                    hidden=(1,))
            self.report(f"Added “{names[0]}” above “{read.layer}”.", "info")

        self._job("edit", f"Editing “{read.layer}”", "edit",
                  self.task_options.body(model["id"], "edit"), [read.image, read.mask],
                  read.place, done)

    @guarded("report")
    def paint(self) -> None:
        model = self._need_model()
        read = self.adapter.read_layer(use_selection=False)

        def done(job: Job, event) -> None:
            self.adapter.add_layers(read.place, event.images[:1], [f"{read.layer} as image"])
            self.report(f"Added “{read.layer} as image” above the sketch.", "info")

        self._job("paint", f"Painting “{read.layer}” to an image", "paint",
                  self.task_options.body(model["id"], "paint"), [read.image], read.place, done)

    @guarded("report")
    def upscale(self) -> None:
        read = self.adapter.read_layer(use_selection=True)
        factor = self.upscale_options.validate((read.image.width, read.image.height)).factor
        body = {"factor": float(factor), "preset": self.train_options.preset}
        if self.train_options.iters:
            body["iters"] = self.train_options.iters
        name = f"{opt.model_name(read.place.doc_name, read.layer)} x{factor:g}"

        def done(job: Job, event) -> None:
            self.adapter.new_document(name, event.images[0], read.place.fmt)
            self.report(f"Opened “{name}” ({event.images[0].width} × {event.images[0].height}).",
                        "info")

        self._job("upscale", f"Super-resolving “{read.layer}” x{factor:g}", "upscale", body,
                  [read.image], read.place, done)

    @guarded("report")
    def animate(self) -> None:
        model = self._need_model()
        options = self.animate_options.validate()
        fmt = ANIMATION_FORMAT
        body = options.body(model["id"], fmt.sample_type, fmt.wire_order, self.task_options.seed)
        name = f"{model['name']} animation"

        def done(job: Job, event) -> None:
            how = self.adapter.new_animation(name, event.images, float(event.body.get("fps", options.fps)),
                                             fmt, options.as_layers)
            self.report(f"Opened “{name}”: {len(event.images)} frames {how}.", "info")

        self._job("animate", f"Animating “{model['name']}”", "animate", body, [], None, done)

    def run(self, action: str) -> None:
        """Run an action by its id (menu entries and buttons)."""
        if action not in ACTIONS:
            raise KeyError(action)
        getattr(self, action)()

    # ---- events ------------------------------------------------------------------------

    @guarded("report")
    def _on_event(self, event) -> None:
        handler = self._quick.pop(event.parent_id, None)
        if handler is not None:
            if event.msg_type == "error":
                self.report(event.body.get("message", "The backend refused the request."))
            else:
                handler(event)
            return
        job = self.jobs.get(event.parent_id) or self._polls.get(event.parent_id)
        if job is None:
            log.debug("event for no known request: %s %s", event.msg_type, event.parent_id)
            return
        kind = event.msg_type
        if kind == "accepted":
            job.job_id = event.body.get("job_id")
            job.detail = queued_detail(int(event.body.get("position", 0)))
            if job.cancel_requested:
                self.cancel(job.request_id)
        elif kind == "progress":
            job.fraction = float(event.body.get("fraction", 0.0))
            job.detail = progress_detail(event.body)
        elif kind == "reply":  # fetch_result of a job still queued or running
            job.fraction = float(event.body.get("fraction", job.fraction))
            job.detail = f"{event.body.get('state', 'running')} (reconnected)"
            job.poll_id = None
        else:
            self._finish(job, event)
        self.changed()

    def _finish(self, job: Job, event) -> None:
        self._polls.pop(event.parent_id, None)
        kind = event.msg_type
        if kind == "result":
            # Krita's calls may spin a nested event loop: the job stays listed until its
            # layers are in, so nothing (a docker, a test) sees it done too early
            job.detail, job.fraction = "adding the result…", 1.0
            try:
                job.on_result(job, event)
            except UserFacingError as exc:
                self.report(str(exc))
            except Exception as exc:  # noqa: BLE001 - a bad result must not kill the plugin
                log.exception("placing the result of %s failed", job.label)
                self.report(f"{job.label} finished, but its result could not be added: {exc}")
            finally:
                self.jobs.pop(job.request_id, None)
            return
        self.jobs.pop(job.request_id, None)
        if kind == "cancelled":
            self.report(f"{job.label}: cancelled.", "info")
        elif kind == "error":
            code = event.body.get("code")
            if code == "job_not_found" and job.lost:
                self.report(f"{job.label} was lost when the backend restarted. Run it again.")
            else:
                self.report(f"{job.label} failed: {event.body.get('message', code)}")

    def _poll_lost_jobs(self) -> None:
        for job in self.jobs.values():
            if job.lost and job.poll_id is None and job.job_id:
                rid = self.connection.request("fetch_result", {"job_id": job.job_id})
                job.poll_id = rid
                self._polls[rid] = job

    def set_options(self, **changes) -> None:
        """Replace option objects from the docker: set_options(train_options=...)."""
        for name, value in changes.items():
            if not hasattr(self, name) or not name.endswith("_options"):
                raise AttributeError(name)
            setattr(self, name, value)

