"""Helpers for the service tests: a real backend subprocess, tiny images, tiny training."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from singan_protocol import Client, ImagePayload, pid_alive, read_connection_file

# 32 x 24 px, 3 scales (from 20 px high), 10 iterations each: seconds on 2 CPU cores.
TINY = {"preset": "quick", "max_size": 32, "min_size": 20, "iters": 10}


def tiny_image(width: int = 32, height: int = 24, order: str = "RGBA") -> ImagePayload:
    from singan_backend.demo import demo_image

    rgb = (demo_image(width, height) * 255 + 0.5).astype(np.uint8)
    if order == "BGRA":
        rgb = rgb[..., ::-1]
    if order in ("RGBA", "BGRA"):
        rgb = np.dstack([rgb, np.full((height, width), 255, np.uint8)])
    return ImagePayload.of(width, height, order, "u8", np.ascontiguousarray(rgb).tobytes())


def gray(width: int, height: int, value: int = 255, box: bool = True) -> ImagePayload:
    m = np.zeros((height, width), np.uint8)
    if box:
        m[height // 4: 3 * height // 4, width // 4: 3 * width // 4] = value
    else:
        m[:] = value
    return ImagePayload.of(width, height, "GRAY", "u8", m.tobytes())


class Backend:
    """One `singan-backend serve` subprocess with its own models folder and connection file."""

    def __init__(self, root: Path, models_dir: Path | None = None):
        self.root = root
        self.models_dir = models_dir or root / "models"
        self.connection_file = root / "backend.json"
        self.log_path = root / "backend.log"
        self.proc: subprocess.Popen | None = None
        self.clients: list[Client] = []

    def command(self, *extra: str) -> list[str]:
        return [sys.executable, "-m", "singan_backend.server", "serve", "--models-dir",
                str(self.models_dir), "--connection-file", str(self.connection_file), *extra]

    def spawn(self, *extra: str) -> subprocess.Popen:
        env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
        log = open(self.log_path, "a")  # noqa: SIM115 - the child owns it
        return subprocess.Popen(self.command(*extra), stdout=log, stderr=subprocess.STDOUT,
                                env=env)

    def start(self, *extra: str, timeout: float = 90.0) -> Backend:
        self.proc = self.spawn(*extra)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"backend exited with {self.proc.returncode}:\n{self.log()}")
            try:
                if read_connection_file(self.connection_file).pid == self.proc.pid:
                    return self
            except (FileNotFoundError, ValueError):
                pass
            time.sleep(0.1)
        raise TimeoutError(f"backend did not start:\n{self.log()}")

    @property
    def info(self):
        return read_connection_file(self.connection_file)

    def client(self) -> Client:
        c = Client(self.info)
        self.clients.append(c)
        return c

    def log(self) -> str:
        return self.log_path.read_text() if self.log_path.exists() else ""

    def stop(self, timeout: float = 60.0) -> int:
        """SIGTERM and wait; returns the exit status."""
        for c in self.clients:
            c.close()
        self.clients.clear()
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()  # reaped, so its pid reads as dead
        assert not pid_alive(self.proc.pid)


def train_events(client: Client, name: str = "tiny", image: ImagePayload | None = None,
                 timeout: float = 300.0, **options) -> list:
    msg_id = client.request("train", {"name": name, **TINY, **options}, [image or tiny_image()])
    return client.wait(msg_id, timeout)


def copy_store(trained_store, dest: Path) -> Path:
    models_dir = dest / "models"
    shutil.copytree(trained_store[0], models_dir, ignore=shutil.ignore_patterns(".server"))
    return models_dir
