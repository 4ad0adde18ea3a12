"""Starts the backend with the command the installer recorded, and stops what it started.

Krita's own environment is not the backend's: PYTHONHOME/PYTHONPATH set for Krita's
embedded Python would break another interpreter, so they are dropped.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from .errors import UserFacingError

log = logging.getLogger(__name__)

DROPPED_ENV = ("PYTHONHOME", "PYTHONPATH", "PYTHONEXECUTABLE", "PYTHONNOUSERSITE")


def backend_env(extra: Mapping[str, str], base: Mapping[str, str] = os.environ) -> dict:
    env = {k: v for k, v in base.items() if k not in DROPPED_ENV}
    env.update(extra)
    return env


class BackendProcess:
    """One backend process this plugin started (at most one at a time)."""

    def __init__(self, command: tuple[str, ...], extra_env: Mapping[str, str],
                 connection_file: str, log_path: Path):
        self.command = tuple(command)
        self.extra_env = dict(extra_env)
        self.connection_file = connection_file
        self.log_path = log_path
        self.popen: subprocess.Popen | None = None

    @property
    def argv(self) -> list[str]:
        return [*self.command, "--connection-file", self.connection_file]

    def start(self) -> None:
        if not self.command:
            raise UserFacingError("The plugin does not know how to start the backend. In a "
                                  "terminal run `singan install-krita`, then restart Krita.")
        if self.running:
            return
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        flags = {"creationflags": 0x08000000} if sys.platform == "win32" else {"start_new_session": True}
        log.info("starting the backend: %s (log: %s)", " ".join(self.argv), self.log_path)
        with open(self.log_path, "ab") as out:
            try:
                self.popen = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=out,
                                              stderr=subprocess.STDOUT,
                                              env=backend_env(self.extra_env), **flags)
            except OSError as exc:
                raise UserFacingError(f"The backend could not be started ({exc.strerror}: "
                                      f"{self.command[0]}). Run `singan install-krita` again.") from exc

    @property
    def running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def exit_code(self) -> int | None:
        return None if self.popen is None else self.popen.poll()

    def last_output(self, lines: int = 3) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.strip().splitlines()[-lines:])

    def stop(self, timeout_s: float = 5.0) -> None:
        """Ask it to stop (SIGTERM keeps checkpoints) and wait; kill it if it will not."""
        if not self.running:
            return
        self.popen.terminate()
        try:
            self.popen.wait(timeout_s)
        except subprocess.TimeoutExpired:
            log.warning("the backend did not stop in %.0f s: killing it", timeout_s)
            self.popen.kill()
            self.popen.wait(timeout_s)
