"""The plugin's logic: turns docker clicks into requests, and backend events into progress,
messages and new layers. Knows neither Qt nor `krita`: documents are reached through an
adapter (krita_adapter.KritaAdapter in Krita, a fake in the tests)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from . import options as opt
from .actions import Actions
from .availability import ACTIONS, DocState, reasons
from .backend_process import BackendProcess
from .connection import Connection, State
from .errors import UserFacingError, guarded
from .jobs import Job, queued_detail
from .settings import PluginSettings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class JobView:
    request_id: str
    label: str
    detail: str
    fraction: float
    preview: object = None  # ImagePayload or None
    preview_caption: str = ""


@dataclass(frozen=True)
class View:
    """Everything the docker shows, as one immutable snapshot."""

    state: State
    status: str
    can_start: bool
    models: tuple = ()  # generative models, newest first
    sr_models: tuple = ()  # super-resolution models: listed apart, never used to generate
    selected: str | None = None
    jobs: tuple = ()
    message: str = ""
    level: str = "info"  # "info" | "warning" | "error"
    reasons: dict = field(default_factory=dict)
    doc: DocState = DocState()
    keep_backend: bool = False  # the painter wants the backend to outlive Krita
    history: tuple = ()  # history.Entry of the results kept, newest first
    animated_layer_problem: str | None = None  # why Animate cannot make an animated layer here


class Controller(Actions):
    def __init__(self, settings: PluginSettings, adapter, connection: Connection,
                 process: BackendProcess, clock: Callable[[], float] = time.monotonic,
                 history=None):
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
        self.models: list[dict] = []  # every model the backend listed, newest first
        self.selected: str | None = None  # a generative model's id
        # else any backend we talk to stops when Krita quits; kept in Krita's settings
        self.keep_backend = adapter.read_setting("keep_backend") == "true"
        self.history = history  # history.History, or None: results are not kept
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
        (log.info if level == "info" else log.warning)("docker message: %s", text)
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
            models=tuple(self.generative_models()),
            sr_models=tuple(m for m in self.models if opt.is_sr(m)), selected=self.selected,
            jobs=tuple(JobView(j.request_id, j.label, j.detail, j.fraction, j.preview,
                               j.preview_caption) for j in self.jobs.values()),
            message=self.message, level=self.level,
            reasons=reasons(self.doc, self.connection.connected, self.selected_model() is not None),
            doc=self.doc, keep_backend=self.keep_backend,
            history=tuple(self.history.entries) if self.history is not None else (),
            animated_layer_problem=self.adapter.animated_layer_problem())

    def generative_models(self) -> list[dict]:
        return [m for m in self.models if not opt.is_sr(m)]

    def selected_model(self) -> dict | None:
        """The generative model the actions use; never a super-resolution one."""
        return next((m for m in self.generative_models() if m.get("id") == self.selected), None)

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

    def set_keep_backend(self, keep: bool) -> None:
        self.keep_backend = bool(keep)
        self.adapter.write_setting("keep_backend", "true" if keep else "false")
        self.changed()

    def shutdown(self, wait_s: float = 3.0) -> None:
        """Krita is quitting: stop the backend, whoever started it (a backend left by a
        crashed Krita is adopted by the next one), unless the painter chose to keep it."""
        if not self.keep_backend:
            if self.connection.connected:
                self._ask_to_stop(wait_s)
            self.process.stop()  # what we started: SIGTERM if it did not stop by itself
        self.connection.close()

    def _ask_to_stop(self, wait_s: float) -> None:
        """`shutdown`, then wait for its reply: closing the socket at once could drop it."""
        answered: list = []
        try:
            self._quick_request("shutdown", {}, answered.append)
        except UserFacingError:
            return
        deadline = time.monotonic() + wait_s
        while not answered and self.connection.connected and time.monotonic() < deadline:
            time.sleep(0.05)
            self.connection.on_readable()
        if not answered:
            log.warning("the backend did not answer shutdown within %.0f s", wait_s)

    # ---- requests ----------------------------------------------------------------------

    # Every request is registered by the `register` callback, before its answers are
    # drained: a reply that comes back during the send must find its handler.

    def _quick_request(self, msg_type: str, body: dict, handler: Callable) -> None:
        self.connection.request(msg_type, body,
                                register=lambda rid: self._quick.__setitem__(rid, handler))

    def _job(self, kind: str, label: str, msg_type: str, body: dict, images, context,
             on_result: Callable) -> Job:
        job = Job(kind, label, "", context=context, on_result=on_result, started=self.clock())

        def register(rid: str) -> None:
            job.request_id = rid
            self.jobs[rid] = job

        self.message = ""  # before sending: a result that arrives at once sets its own
        self.connection.request(msg_type, body, images, register=register)
        self.changed()
        return job

    @guarded("report")
    def refresh_models(self) -> None:
        self._quick_request("list_models", {}, self._models_listed)

    def _models_listed(self, event) -> None:
        self.models = sorted(event.body.get("models", []), key=lambda m: str(m.get("created", "")),
                             reverse=True)
        if self.selected_model() is None:  # the newest finished generative model
            usable = self.generative_models()
            finished = [m for m in usable if m.get("complete", True)]
            self.selected = (finished or usable or [{}])[0].get("id")
        self.changed()

    def select_model(self, model_id: str | None) -> None:
        if model_id is not None and not any(m.get("id") == model_id
                                            for m in self.generative_models()):
            return  # a super-resolution model only upscales
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
            job.advance(event.body)
            if event.images:  # a sample of the scale just trained (PROTOCOL.md, progress)
                job.preview = event.images[0]
                job.preview_caption = f"A sample after {event.body.get('preview_scale', '?')} " \
                    f"of {event.body.get('num_scales', '?')} scales"
        elif kind == "reply":  # fetch_result of a job still queued or running
            # the backend's fraction of the phase it runs: the bar never moves back
            job.fraction = max(job.fraction, job.phase_base + job.phase_span
                               * float(event.body.get("fraction", job.phase_raw)))
            job.detail = f"{event.body.get('state', 'running')} (reconnected)"
            self._polls.pop(event.parent_id, None)
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
        for job in list(self.jobs.values()):  # a reply during the send may finish a job
            if job.lost and job.poll_id is None and job.job_id:
                self.connection.request("fetch_result", {"job_id": job.job_id},
                                        register=lambda rid, job=job: self._register_poll(rid, job))

    def _register_poll(self, rid: str, job: Job) -> None:
        job.poll_id = rid
        self._polls[rid] = job

    def set_options(self, **changes) -> None:
        """Replace option objects from the docker: set_options(train_options=...)."""
        for name, value in changes.items():
            if not hasattr(self, name) or not name.endswith("_options"):
                raise AttributeError(name)
            setattr(self, name, value)

