"""Wires the plugin into Krita: one controller, a Tools > SinGAN menu, the docker, and
stopping the backend it started when Krita quits."""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

from krita import DockWidgetFactory, DockWidgetFactoryBase, Extension, Krita

from .availability import ACTIONS
from .ui.docker import DOCKER_ID, SinGANDocker

log = logging.getLogger("singan_krita")
MENU = "tools/singan"


class SinGANExtension(Extension):
    def __init__(self, parent, controller):
        super().__init__(parent)
        self.controller = controller
        self.loop = None

    def setup(self) -> None:
        if self.controller is None:
            return
        from .ui.eventloop import EventLoop
        self.loop = EventLoop(self.controller, self)
        Krita.instance().notifier().applicationClosing.connect(self._closing)

    def createActions(self, window) -> None:
        if self.controller is None:
            return
        for action, text in ACTIONS.items():
            item = window.createAction(f"singan_{action}", text, MENU)
            item.triggered.connect(lambda _checked=False, a=action: self.controller.run(a))
        start = window.createAction("singan_start_backend", "Start SinGAN backend", MENU)
        start.triggered.connect(lambda _checked=False: self.controller.start_backend())

    def _closing(self) -> None:
        try:
            self.loop.stop()
            self.controller.shutdown()
            self.controller.adapter.close()
        except Exception:  # noqa: BLE001 - Krita is quitting; log, never raise
            log.exception("stopping the SinGAN backend")


def _setup_logging() -> None:
    if log.handlers:
        return
    log.setLevel(logging.INFO)
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("singan_krita %(levelname)s %(name)s: %(message)s"))
    log.addHandler(handler)


def _make_controller():
    from singan_protocol import Client

    from .backend_process import BackendProcess
    from .connection import Connection
    from .controller import Controller
    from .history import History, default_folder
    from .krita_adapter import KritaAdapter
    from .settings import connection_file, load_settings

    settings = load_settings()
    path = connection_file(settings)
    log_path = Path(os.path.dirname(path) or tempfile.gettempdir()) / "backend.log"
    process = BackendProcess(settings.backend_command, dict(settings.backend_env), path, log_path)
    return Controller(settings, KritaAdapter(), Connection(settings, path, Client), process,
                      history=History(default_folder()))


def register(problem: str | None) -> None:
    """Called once from the package's __init__ when Krita imports the plugin."""
    _setup_logging()
    controller = None
    if problem is None:
        from .bootstrap import missing_modules
        problem = missing_modules()
    if problem is None:
        try:
            controller = _make_controller()
        except Exception as exc:  # noqa: BLE001 - the docker must still open and say why
            log.exception("the SinGAN plugin could not start")
            problem = f"The SinGAN plugin could not start: {exc}"
    SinGANDocker.controller, SinGANDocker.problem = controller, problem or ""
    app = Krita.instance()
    app.addExtension(SinGANExtension(app, controller))
    app.addDockWidgetFactory(DockWidgetFactory(DOCKER_ID, DockWidgetFactoryBase.DockRight,
                                               SinGANDocker))
