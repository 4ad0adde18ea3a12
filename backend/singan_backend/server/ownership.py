"""Who owns a models folder and a connection file, so two backends never share either.

A live backend holds an OS lock on `<models_dir>/.server/backend.lock` for its whole life;
the OS drops it when the process dies, even by kill -9, so a crashed backend never blocks
the next start. The connection file names a pid and a models folder; only that folder's lock
says whether a backend still serves it (a pid can be reused by any process after a reboot or
a crash), so a file whose folder nobody holds is stale and is taken over.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

from singan_protocol import (
    ConnectionInfo,
    ProtocolError,
    pid_alive,
    read_connection_file,
    write_connection_file,
)

log = logging.getLogger(__name__)


class AlreadyRunning(RuntimeError):
    """Another live backend owns the models folder or the connection file."""


def server_dir(models_dir: str | Path) -> Path:
    """The backend's own files inside the models folder (ModelStore skips dot folders)."""
    path = Path(models_dir) / ".server"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _try_lock(f) -> bool:
    try:
        if sys.platform == "win32":
            import msvcrt

            msvcrt.locking(f.fileno(), msvcrt.LK_NBLCK, 1)
        else:
            import fcntl

            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except OSError:
        return False


def _held(models_dir: str) -> bool:
    """Whether a live backend holds the lock of `models_dir` (tried without creating it)."""
    path = Path(models_dir) / ".server" / "backend.lock"
    try:
        f = open(path, "r+")  # noqa: SIM115 - closed below, which drops a lock we got
    except (OSError, ValueError):  # no lock file, no folder: no backend holds it there
        return False
    with f:
        return not _try_lock(f)


class Ownership:
    """Claim the models folder and the connection file; release both on a clean exit."""

    def __init__(self, models_dir: str, connection_file: str):
        self.models_dir = models_dir
        self.connection_file = connection_file
        self.lock_path = server_dir(models_dir) / "backend.lock"
        self._lock_file = None

    def claim(self) -> None:
        f = open(self.lock_path, "a+")  # noqa: SIM115 - held open for the process's life
        f.seek(0)  # Windows locks bytes from the current position
        if not _try_lock(f):
            f.seek(0)
            other = f.read().strip() or "?"
            f.close()
            raise AlreadyRunning(f"the models folder {self.models_dir} is in use by the backend "
                                 f"with pid {other}; stop it first or pass another --models-dir")
        f.seek(0)
        f.truncate()
        f.write(str(os.getpid()))
        f.flush()
        self._lock_file = f
        self._check_connection_file()

    def _check_connection_file(self) -> None:
        try:
            other = read_connection_file(self.connection_file)
        except FileNotFoundError:
            return
        except (OSError, ProtocolError) as e:  # unreadable: nobody can use it; ours to replace
            log.warning("replacing unreadable connection file %s (%s)", self.connection_file, e)
            return
        try:
            ours = Path(other.models_dir).resolve() == Path(self.models_dir).resolve()
        except (OSError, ValueError):  # a path no folder can have
            ours = False
        if (other.pid != os.getpid() and pid_alive(other.pid) and not ours  # we hold that lock
                and _held(other.models_dir)):
            self.release()
            raise AlreadyRunning(
                f"the connection file {self.connection_file} belongs to the running backend "
                f"with pid {other.pid} (models folder {other.models_dir}); stop it or pass "
                f"another --connection-file")
        log.info("taking over stale connection file %s (no backend holds the lock of %s; "
                 "pid %d is gone or another program's)", self.connection_file,
                 other.models_dir, other.pid)

    def publish(self, info: ConnectionInfo) -> None:
        write_connection_file(self.connection_file, info)
        log.info("connection file: %s", self.connection_file)

    def release(self) -> None:
        """Remove our connection file (only if it is still ours) and drop the lock."""
        try:
            if read_connection_file(self.connection_file).pid == os.getpid():
                os.unlink(self.connection_file)
        except (OSError, ProtocolError):
            pass  # already gone or unreadable: nothing of ours to remove
        if self._lock_file is not None:
            self._lock_file.close()  # closing drops the lock
            self._lock_file = None
