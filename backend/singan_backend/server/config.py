"""The backend's options: one frozen dataclass, filled from the command line."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from singan_protocol import DEFAULT_MAX_PIXELS, default_connection_file


@dataclass(frozen=True)
class ServerConfig:
    host: str = "127.0.0.1"  # loopback: nothing off this machine can reach the backend
    port: int = 0  # 0 lets the OS pick a free port (written to the connection file)
    connection_file: str = ""  # "" = singan_protocol.default_connection_file()
    models_dir: str = ""  # "" = the store's default (platformdirs user data folder)
    device: str | None = None  # "cpu", "cuda", "mps"; None picks the best present
    max_pixels: int = DEFAULT_MAX_PIXELS  # per input image, checked before any allocation
    max_images: int = 4  # image frames per request (edit needs 2)
    max_output_pixels: int = 4 * DEFAULT_MAX_PIXELS  # all images of one result together
    replay_window_s: float = 300.0  # accepted distance of a message's date from our clock
    heartbeat_s: float = 5.0  # unsolicited heartbeat period
    peer_timeout_s: float = 120.0  # a client heard from this recently gets heartbeats
    max_queued: int = 64  # waiting jobs per lane
    max_kept_results: int = 64  # finished jobs whose final event fetch_result can return
    max_kept_bytes: int = 1 << 30  # and at most this many bytes of their images
    progress_hz: float = 4.0  # progress events per second per job (plus one per new scale)
    shutdown_grace_s: float = 20.0  # how long SIGTERM waits for workers to stop

    @property
    def max_frame_bytes(self) -> int:
        # ZMQ_MAXMSGSIZE: the largest frame is one f32 RGBA image of max_pixels
        return self.max_pixels * 16 + (1 << 20)

    def resolved(self) -> ServerConfig:
        """Absolute paths with the defaults filled in."""
        from ..store import default_models_dir  # imports torch: not needed for --help

        conn = self.connection_file or default_connection_file()
        models = self.models_dir or str(default_models_dir())
        return ServerConfig(**{**self.__dict__,
                               "connection_file": os.path.abspath(os.path.expanduser(conn)),
                               "models_dir": str(Path(models).expanduser().resolve())})
