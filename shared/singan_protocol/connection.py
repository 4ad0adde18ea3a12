"""The connection file: how a client finds the backend and its key (PROTOCOL.md section 1)."""

from __future__ import annotations

import json
import os
import secrets
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from .wire import SIGNATURE_SCHEME, ProtocolError

ENV_CONNECTION_FILE = "SINGAN_CONNECTION_FILE"
APP_NAME = "singan"


@dataclass(frozen=True)
class ConnectionInfo:
    transport: str  # "tcp"
    ip: str  # "127.0.0.1" unless the backend was told otherwise
    port: int
    key: str  # HMAC key, 64 hex digits; its UTF-8 bytes key the MAC
    pid: int  # the backend process
    version: str  # protocol version the backend speaks
    models_dir: str  # absolute path of the model store it serves
    signature_scheme: str = SIGNATURE_SCHEME
    # The backend's CURVE public key (Z85, 40 characters) when it listens beyond loopback and
    # encrypts; "" on loopback, where traffic never leaves the machine.
    curve_server_key: str = ""

    @property
    def url(self) -> str:
        return f"{self.transport}://{self.ip}:{self.port}"

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: Any) -> ConnectionInfo:
        if not isinstance(d, dict):
            raise ProtocolError("connection file must hold a JSON object")
        want = {"transport": str, "ip": str, "port": int, "key": str, "pid": int,
                "version": str, "models_dir": str, "signature_scheme": str}
        for name, tp in want.items():
            value = d.get(name, SIGNATURE_SCHEME if name == "signature_scheme" else None)
            if not isinstance(value, tp) or isinstance(value, bool):
                raise ProtocolError(f"connection file: {name!r} missing or not a {tp.__name__}")
        if d.get("signature_scheme", SIGNATURE_SCHEME) != SIGNATURE_SCHEME:
            raise ProtocolError(f"connection file: unsupported signature scheme "
                                f"{d['signature_scheme']!r}")
        if not 0 < d["port"] < 65536 or not d["key"]:
            raise ProtocolError("connection file: bad port or empty key")
        curve = d.get("curve_server_key", "")
        if not isinstance(curve, str) or len(curve) not in (0, 40):
            raise ProtocolError("connection file: 'curve_server_key' is not a Z85 CURVE key")
        return cls(**{name: d.get(name, SIGNATURE_SCHEME) for name in want},
                   curve_server_key=curve)


def read_connection_file(path: str | os.PathLike) -> ConnectionInfo:
    """Parse a connection file. FileNotFoundError when there is none (no backend running)."""
    text = Path(path).read_text(encoding="utf-8")
    try:
        data = json.loads(text)
    except ValueError as e:
        raise ProtocolError(f"connection file {path} is not JSON: {e}") from None
    return ConnectionInfo.from_dict(data)


def write_connection_file(path: str | os.PathLike, info: ConnectionInfo) -> None:
    """Write atomically (temp file + rename) with owner-only permissions from the start."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # mkstemp creates the file 0600, so the key is never readable by others, not even briefly
    fd, tmp = tempfile.mkstemp(prefix=".backend-", suffix=".json.tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(info.to_dict(), f, indent=2)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def new_key() -> str:
    return secrets.token_hex(32)


def user_data_dir() -> str:
    """platformdirs.user_data_dir("singan", appauthor=False), without needing platformdirs.

    Krita's embedded Python may lack platformdirs; this fallback gives the same folder, so
    the plugin and the backend always agree on where the connection file lives.
    """
    try:
        import platformdirs
    except ImportError:
        platformdirs = None
    if platformdirs is not None:
        return platformdirs.user_data_dir(APP_NAME, appauthor=False)
    home = Path.home()
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or str(home / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = str(home / "Library" / "Application Support")
    else:
        base = os.environ.get("XDG_DATA_HOME", "").strip() or str(home / ".local" / "share")
    return os.path.join(base, APP_NAME)


def default_connection_file() -> str:
    return os.environ.get(ENV_CONNECTION_FILE) or os.path.join(user_data_dir(), "backend.json")


def pid_alive(pid: int) -> bool:
    """Is a process with this id running? (A stale connection file names a dead one.)"""
    if pid <= 0:
        return False
    if sys.platform == "win32":
        import ctypes  # os.kill(pid, 0) would terminate the process on Windows

        kernel32 = ctypes.windll.kernel32
        handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
        if not handle:
            return False
        code = ctypes.c_ulong()
        ok = kernel32.GetExitCodeProcess(handle, ctypes.byref(code))
        kernel32.CloseHandle(handle)
        return bool(ok) and code.value == 259  # STILL_ACTIVE
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    try:  # a zombie (killed, not yet reaped) is not a live backend
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True
