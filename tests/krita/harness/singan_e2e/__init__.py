"""Test-only Krita plugin: runs the scenario file named by $SINGAN_E2E_SCENARIO inside Krita,
writes what it saw to $SINGAN_E2E_RESULT (JSON) and quits Krita.

A scenario is a module with `run(t)`, a generator driven by QTimers: it yields a delay in
seconds whenever it waits, so Krita's event loop (and the plugin under test) keep running.
A watchdog rejects any modal dialog (and records it), uncaught exceptions are recorded
instead of reaching Krita's dialog, and a deadline ends a stuck scenario so Krita exits.
"""

import gc
import importlib.util
import json
import os
import sys
import time
import traceback

from krita import Extension, Krita
from PyQt5.QtCore import QObject, QTimer
from PyQt5.QtWidgets import QApplication, QDialog, QMessageBox

from .context import Context, ScenarioFailure


class Runner(QObject):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.results = {"checks": [], "dialogs": [], "exceptions": [], "notes": [],
                        "failure": None, "finished": False, "max_gui_gap_ms": 0.0}
        self.started = False
        self.finishing = False
        self.context = None
        self.generator = None
        self.watchdog = QTimer(self)
        self.watchdog.timeout.connect(self._reject_dialogs)
        self.watchdog.start(500)
        self.pulse = QTimer(self)  # measures how long the GUI thread ever stalls
        self.pulse.timeout.connect(self._beat)
        self.last_beat = None
        sys.excepthook = self._excepthook

    def _beat(self):
        now = time.monotonic()
        if self.last_beat is not None:
            gap = (now - self.last_beat) * 1000.0 - 50.0
            self.results["max_gui_gap_ms"] = max(self.results["max_gui_gap_ms"], round(gap, 1))
        self.last_beat = now

    def _excepthook(self, kind, value, tb):
        self.results["exceptions"].append("".join(traceback.format_exception(kind, value, tb)))

    def _reject_dialogs(self):
        for widget in QApplication.topLevelWidgets():
            if isinstance(widget, QDialog) and widget.isVisible():
                text = widget.text() if isinstance(widget, QMessageBox) else ""
                self.results["dialogs"].append(f"{widget.windowTitle()}: {text}".strip())
                widget.reject()

    def start(self):
        if self.started:
            return
        self.started = True
        deadline = float(os.environ.get("SINGAN_E2E_DEADLINE", "150"))
        QTimer.singleShot(int(deadline * 1000), self._deadline)
        self.pulse.start(50)
        try:
            spec = importlib.util.spec_from_file_location("singan_e2e_scenario",
                                                          os.environ["SINGAN_E2E_SCENARIO"])
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            self.context = Context(self.results)
            self.generator = module.run(self.context)
        except Exception:
            self.results["failure"] = traceback.format_exc()
            self.finish()
            return
        self._step()

    def _step(self):
        if self.finishing:
            return
        try:
            delay = next(self.generator)
        except StopIteration:
            self.results["finished"] = True
            self.finish()
        except ScenarioFailure as failure:
            self.results["failure"] = str(failure)
            self.finish()
        except Exception:
            self.results["failure"] = traceback.format_exc()
            self.finish()
        else:
            QTimer.singleShot(int(1000 * float(delay or 0)), self._step)

    def _deadline(self):
        if not self.finishing:
            self.results["failure"] = "the scenario ran past SINGAN_E2E_DEADLINE"
            self.finish()

    def finish(self):
        if self.finishing:
            return
        self.finishing = True
        if self.generator is not None:
            self.generator.close()  # its frames hold Krita nodes: let go before closing documents
            self.generator = None
        gc.collect()
        try:
            if self.context is not None:
                self.context.cleanup()
        except Exception:
            self.results["notes"].append("cleanup: " + traceback.format_exc())
        for doc in Krita.instance().documents():
            doc.setModified(False)
            doc.close()
        with open(os.environ["SINGAN_E2E_RESULT"], "w", encoding="utf-8") as out:
            json.dump(self.results, out, indent=2)
        QTimer.singleShot(300, lambda: Krita.instance().action("file_quit").trigger())


class RunnerExtension(Extension):
    def __init__(self, parent):
        super().__init__(parent)
        self.runner = None

    def setup(self):
        if not os.environ.get("SINGAN_E2E_SCENARIO"):
            return
        self.runner = Runner(self)
        Krita.instance().notifier().windowCreated.connect(
            lambda: QTimer.singleShot(800, self.runner.start))

    def createActions(self, window):
        pass


Krita.instance().addExtension(RunnerExtension(Krita.instance()))
