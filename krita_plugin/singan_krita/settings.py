"""PluginSettings: what the installer recorded (backend command, connection file) plus the
plugin's timing constants. Read once when Krita loads the plugin."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

SETTINGS_FILE = Path(__file__).with_name("settings.json")


@dataclass(frozen=True)
class PluginSettings:
    backend_command: tuple[str, ...] = ()  # argv that starts the backend; () = not installed
    backend_env: tuple[tuple[str, str], ...] = ()  # extra environment for that command
    connection_file: str = ""  # "" = $SINGAN_CONNECTION_FILE or singan_protocol's default
    tick_interval_s: float = 0.5  # how often the plugin checks state (timers, documents)
    reconnect_interval_s: float = 2.0  # between attempts to find a backend when none is connected
    hello_timeout_s: float = 5.0  # a backend that does not answer hello in this time is not there
    heartbeat_interval_s: float = 5.0  # send a heartbeat after this much silence
    heartbeat_timeout_s: float = 20.0  # silence longer than this: the backend is gone
    start_timeout_s: float = 180.0  # a started backend must answer within this (imports torch)
    poll_interval_s: float = 2.0  # fetch_result polling of jobs whose events were lost

    @classmethod
    def from_dict(cls, data: Mapping) -> PluginSettings:
        command = data.get("backend_command") or ()
        env = data.get("backend_env") or {}
        if not (isinstance(command, (list, tuple)) and all(isinstance(a, str) for a in command)):
            raise ValueError("backend_command must be a list of strings")
        if not (isinstance(env, Mapping) and all(isinstance(v, str) for v in env.values())):
            raise ValueError("backend_env must map names to strings")
        return cls(backend_command=tuple(command),
                   backend_env=tuple(sorted((str(k), v) for k, v in env.items())),
                   connection_file=str(data.get("connection_file") or ""))


def load_settings(path: Path = SETTINGS_FILE) -> PluginSettings:
    """Settings from the installer's JSON; defaults (no backend command) when it is missing
    or unreadable, so the docker still opens and says what to do."""
    try:
        return PluginSettings.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        log.info("no %s: the plugin was not installed by `singan install-krita`", path)
    except (OSError, ValueError) as exc:
        log.warning("ignoring unreadable plugin settings %s: %s", path, exc)
    return PluginSettings()


def connection_file(settings: PluginSettings, environ: Mapping[str, str] = os.environ,
                    default: Callable[[], str] | None = None) -> str:
    """$SINGAN_CONNECTION_FILE, else what the installer recorded, else the protocol default."""
    if environ.get("SINGAN_CONNECTION_FILE"):
        return environ["SINGAN_CONNECTION_FILE"]
    if settings.connection_file:
        return settings.connection_file
    if default is None:
        from singan_protocol import default_connection_file as default
    return default()
