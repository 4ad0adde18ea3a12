"""The journal of unfinished train jobs: what lets a restart resume them after kill -9.

    <models_dir>/.server/jobs.json           {job_id: entry}, rewritten atomically
    <models_dir>/.server/<job_id>.pixels     the training image exactly as it arrived

An entry lives from the moment a train job is accepted until it finishes, fails or is
cancelled by a user. A SIGTERM leaves it in place on purpose: the next start resumes it.
"""

from __future__ import annotations

import json
import logging
import math
import os
import threading
import time
from pathlib import Path

from singan_protocol import ImagePayload, ProtocolError

from ..store import atomic_write
from .ownership import server_dir

log = logging.getLogger(__name__)


BAD_NAME = "jobs.bad.json"  # damaged entries, set aside


def entry_problem(job_id: object, entry: object) -> str | None:
    """What makes a journal entry unusable (a wrong type anywhere), or None."""
    if not isinstance(entry, dict):
        return f"an entry is an object, not {type(entry).__name__}"
    expected = {"job_id": (str,), "msg_type": (str,), "body": (dict,), "started": (int, float),
                "image": (dict, type(None)), "model_id": (str, type(None))}
    for name, kinds in expected.items():
        value = entry.get(name)
        if not isinstance(value, kinds) or isinstance(value, bool):
            return f"{name} is {type(value).__name__}"
    if entry["job_id"] != job_id or not job_id.isalnum() or len(job_id) > 64:
        return "its job_id is not the key it is filed under"  # the id names a .pixels file
    if not math.isfinite(entry["started"]):
        return "started is not a finite time"
    return None


def _atomic_write(path: Path, chunks) -> None:
    def write(f) -> None:
        for chunk in chunks:
            f.write(chunk)  # a memoryview of a received frame is written without a copy
    atomic_write(path, write)


class Journal:
    def __init__(self, models_dir: str | Path):
        self.dir = server_dir(models_dir)
        self.path = self.dir / "jobs.json"
        self._lock = threading.Lock()  # workers and the socket thread both write it
        self.entries: dict[str, dict] = self._load()
        for pixels in self.dir.glob("*.pixels"):  # images of jobs a kill left unrecorded
            if pixels.stem not in self.entries:
                pixels.unlink(missing_ok=True)

    def _load(self) -> dict[str, dict]:
        try:
            data = json.loads(self.path.read_text())
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as e:
            bad = self.path.with_suffix(".json.bad")
            log.error("journal %s is unreadable (%s); moved to %s, its jobs are not resumed",
                      self.path, e, bad)
            os.replace(self.path, bad)
            return {}
        if not isinstance(data, dict):
            data = {"": data}  # set aside whole below
        entries, damaged = {}, {}
        for job_id, entry in data.items():
            problem = entry_problem(job_id, entry)
            if problem is None:
                entries[job_id] = entry
            else:
                damaged[job_id] = entry
                log.warning("journal %s: entry %r is damaged (%s); set aside in %s, its job is "
                            "not resumed", self.path, job_id[:40], problem, BAD_NAME)
        if damaged:
            self._set_aside(damaged)
            self.entries = entries
            self._save()
        return entries

    def _set_aside(self, damaged: dict) -> None:
        """Add damaged entries to jobs.bad.json, to be read by a person, never resumed."""
        path = self.dir / BAD_NAME
        try:
            kept = json.loads(path.read_text())
            kept = kept if isinstance(kept, dict) else {}
        except (OSError, ValueError, RecursionError):
            kept = {}
        atomic_write(path, json.dumps({**kept, **damaged}, indent=1).encode())

    def _save(self) -> None:
        _atomic_write(self.path, [json.dumps(self.entries, indent=1).encode()])

    def add(self, job_id: str, msg_type: str, body: dict, image: ImagePayload | None) -> None:
        if image is not None:
            _atomic_write(self.dir / f"{job_id}.pixels", [image.data])
        with self._lock:
            self.entries[job_id] = {
                "job_id": job_id, "msg_type": msg_type, "body": body, "started": time.time(),
                "image": image.descriptor() if image is not None else None, "model_id": None}
            self._save()

    def set_model(self, job_id: str, model_id: str) -> None:
        with self._lock:
            if job_id in self.entries:
                self.entries[job_id]["model_id"] = model_id
                self._save()

    def remove(self, job_id: str) -> None:
        with self._lock:
            if self.entries.pop(job_id, None) is not None:
                self._save()
        (self.dir / f"{job_id}.pixels").unlink(missing_ok=True)

    def pending(self) -> list[dict]:
        with self._lock:
            return sorted(self.entries.values(), key=lambda e: e.get("started", 0))

    def model_ids(self) -> set[str]:
        with self._lock:
            return {e["model_id"] for e in self.entries.values() if e.get("model_id")}

    def image(self, entry: dict) -> ImagePayload | None:
        """The saved training image of an entry; None if it had none or it is damaged."""
        if entry.get("image") is None:
            return None
        try:
            data = (self.dir / f"{entry['job_id']}.pixels").read_bytes()
            return ImagePayload.from_descriptor(entry["image"], data, max_pixels=None)
        except (OSError, ProtocolError, KeyError, TypeError, ValueError) as e:
            log.error("journal: the image of job %s is unusable (%s)", entry["job_id"], e)
            return None
