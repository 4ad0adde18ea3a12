"""Installs, upgrades and uninstalls the plugin in a Krita resource folder, keeping a
manifest of every file and setting it added so that `--uninstall` removes exactly those.

Layout inside the resource folder:
    pykrita/singan_krita.desktop            Krita finds the plugin by this
    pykrita/singan_krita/                   the plugin package (+ settings.json)
    pykrita/singan_krita/vendor/common/     singan_protocol (pure Python)
    pykrita/singan_krita/vendor/cpXY/       pyzmq, msgpack, platformdirs for Krita's Python
    actions/singan_krita.action             menu texts and shortcuts
    pykrita/singan_krita.install.json       this manifest
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import kritarc, wheels
from .locations import Target

log = logging.getLogger(__name__)

PLUGIN = "singan_krita"
PROTOCOL = "singan_protocol"
MANIFEST = f"pykrita/{PLUGIN}.install.json"
SETTINGS = f"pykrita/{PLUGIN}/settings.json"
KRITARC_GROUP, KRITARC_KEY = "python", f"enable_{PLUGIN}"
MANIFEST_FORMAT = 1

DESKTOP_ENTRY = """\
[Desktop Entry]
Type=Service
ServiceTypes=Krita/PythonPlugin
X-KDE-Library=singan_krita
X-Python-2-Compatible=false
Name=SinGAN
Comment=Train a SinGAN on one picture and generate variations, harmonize pastes and upscale layers
"""


class InstallError(Exception):
    """The install cannot go on; the message says why and what to do."""


@dataclass(frozen=True)
class InstallOptions:
    resource_dir: Path  # Krita's resource folder (holds pykrita/)
    kritarc: Path  # Krita's settings file
    target: Target  # the Python inside Krita
    wheels_dir: Path | None  # offline wheel folder; None = pip download into cache_dir
    cache_dir: Path  # where pip download keeps wheels between runs
    backend_command: tuple[str, ...]  # argv that starts the backend
    backend_env: dict = field(default_factory=dict)  # extra environment for that command
    connection_file: str | None = None  # None: the plugin asks singan_protocol


def package_dir(name: str) -> Path:
    """The folder of an importable package, found without importing it."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise InstallError(f"The package {name!r} is not installed in {sys.executable}: "
                           "install singan-krita with pip first (pip install singan-krita).")
    return Path(list(spec.submodule_search_locations)[0])


def package_files(root: Path) -> list[Path]:
    """Files of a source package worth copying (no caches, no local settings)."""
    files = []
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if path.is_dir() or "__pycache__" in rel.parts or path.suffix in (".pyc", ".pyo"):
            continue
        if rel.parts[0] == "vendor" or rel.as_posix() == "settings.json":
            continue
        if path.suffix == ".action":
            continue  # goes to <resource>/actions/ only: Krita reads every copy it finds
        files.append(path)
    return files


def read_manifest(resource_dir: Path) -> dict | None:
    path = resource_dir / MANIFEST
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InstallError(f"The install record {path} cannot be read ({exc}); "
                           "remove the pykrita/singan_krita folder by hand.") from exc


def _write_file(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    os.replace(tmp, path)


class _Recorder:
    """Writes files under the resource folder and remembers what it wrote and created."""

    def __init__(self, root: Path, created_before: list[str]):
        self.root = root
        self.files: list[str] = []
        self.created_dirs: list[str] = list(created_before)

    def ensure_dir(self, rel: str) -> None:
        if not self.root.exists():
            self.root.mkdir(parents=True)
            self.created_dirs.append(".")  # Krita never ran here yet
        path = self.root / rel
        missing = []
        while not path.exists():
            missing.append(path)
            path = path.parent
        for folder in reversed(missing):
            folder.mkdir()
            self.created_dirs.append(folder.relative_to(self.root).as_posix())

    def write(self, rel: str, data: bytes) -> None:
        self.ensure_dir(str(Path(rel).parent))
        _write_file(self.root / rel, data)
        self.files.append(rel)

    def copy_tree(self, src: Path, rel_dest: str) -> None:
        for path in package_files(src):
            self.write(f"{rel_dest}/{path.relative_to(src).as_posix()}", path.read_bytes())

    def adopt(self, folder: Path, written: list[Path]) -> None:
        """Record files that something else (the wheel unpacker) wrote."""
        for path in written:
            rel = path.relative_to(self.root).as_posix()
            self.files.append(rel)
            parent = Path(rel).parent
            while self.root / parent != folder and parent.as_posix() not in self.created_dirs:
                self.created_dirs.append(parent.as_posix())
                parent = parent.parent


def _wheels_for(options: InstallOptions) -> list[wheels.Wheel]:
    if options.wheels_dir is not None:
        return wheels.select(options.wheels_dir, options.target)
    folder = options.cache_dir / f"cp{options.target.python[0]}{options.target.python[1]}-{options.target.platforms[0]}"
    try:
        wheels.download(folder, options.target)
    except wheels.WheelError as exc:
        try:
            found = wheels.select(folder, options.target)
        except wheels.WheelError:
            raise exc from None
        log.warning("download failed, using wheels cached earlier in %s", folder)
        return found
    return wheels.select(folder, options.target)


def install(options: InstallOptions) -> dict:
    """Install or upgrade in place; returns the new manifest."""
    root = options.resource_dir
    old = read_manifest(root) or {}
    chosen = _wheels_for(options)  # before touching anything: a failed download changes nothing
    plugin_src, protocol_src = package_dir(PLUGIN), package_dir(PROTOCOL)

    rec = _Recorder(root, old.get("created_dirs", []))
    rec.ensure_dir("pykrita")
    rec.ensure_dir("actions")
    rec.write(f"pykrita/{PLUGIN}.desktop", DESKTOP_ENTRY.encode())
    rec.copy_tree(plugin_src, f"pykrita/{PLUGIN}")
    action = plugin_src / f"{PLUGIN}.action"
    if action.exists():
        rec.write(f"actions/{PLUGIN}.action", action.read_bytes())
    rec.copy_tree(protocol_src, f"pykrita/{PLUGIN}/vendor/common/{PROTOCOL}")

    abi_dir = f"pykrita/{PLUGIN}/vendor/cp{options.target.python[0]}{options.target.python[1]}"
    stale_vendor = [f for f in old.get("files", []) if f.startswith(abi_dir + "/")]
    _remove_files(root, stale_vendor)  # a new pyzmq must not mix with the old one's files
    rec.ensure_dir(abi_dir)
    for wheel in chosen:
        rec.adopt(root / abi_dir, wheels.unpack(wheel, root / abi_dir))

    settings = {
        "backend_command": list(options.backend_command),
        "backend_env": dict(options.backend_env),
        "connection_file": options.connection_file,
        "krita_python": options.target.python_tag,
        "installed": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }
    rec.write(SETTINGS, (json.dumps(settings, indent=2) + "\n").encode())

    enabled = _enable_in_kritarc(options.kritarc)
    kritarc_record = old.get("kritarc") or enabled  # the value before the first install

    leftovers = sorted(set(old.get("files", [])) - set(rec.files))
    _remove_files(root, leftovers)
    manifest = {
        "format": MANIFEST_FORMAT,
        "plugin": PLUGIN,
        "files": sorted(set(rec.files)),
        "created_dirs": _unique(rec.created_dirs),
        "kritarc": kritarc_record,
        "krita_python": options.target.python_tag,
        "platforms": list(options.target.platforms[:1]),
        "wheels": [w.path.name for w in chosen],
    }
    _remove_empty_dirs(root, manifest["created_dirs"], keep_roots=True)
    _write_file(root / MANIFEST, (json.dumps(manifest, indent=2) + "\n").encode())
    return manifest


def _enable_in_kritarc(path: Path) -> dict:
    existed = path.exists()
    text = path.read_text(encoding="utf-8") if existed else ""
    previous = kritarc.get_value(text, KRITARC_GROUP, KRITARC_KEY)
    group_added = f"[{KRITARC_GROUP}]" not in (line.strip() for line in text.splitlines())
    path.parent.mkdir(parents=True, exist_ok=True)
    _write_file(path, kritarc.set_value(text, KRITARC_GROUP, KRITARC_KEY, "true").encode())
    return {"path": str(path), "previous": previous, "group_added": group_added,
            "file_created": not existed}


def uninstall(resource_dir: Path) -> dict | None:
    """Remove what the manifest lists; None when nothing was installed here."""
    manifest = read_manifest(resource_dir)
    if manifest is None:
        return None
    _remove_files(resource_dir, manifest.get("files", []))
    record = manifest.get("kritarc")
    if record:
        path = Path(record["path"])
        if path.exists():
            text = path.read_text(encoding="utf-8")
            if record.get("previous") is None:
                text = kritarc.remove_key(text, KRITARC_GROUP, KRITARC_KEY)
                if record.get("group_added"):
                    text = kritarc.remove_group_if_empty(text, KRITARC_GROUP)
            else:
                text = kritarc.set_value(text, KRITARC_GROUP, KRITARC_KEY, record["previous"])
            if record.get("file_created") and not text.strip():
                path.unlink()
            else:
                _write_file(path, text.encode())
    (resource_dir / MANIFEST).unlink()
    manifest["left_behind"] = _remove_empty_dirs(resource_dir, manifest.get("created_dirs", []))
    return manifest


def _remove_files(root: Path, rel_files: list[str]) -> None:
    for rel in rel_files:
        path = root / rel
        if path.is_file() or path.is_symlink():
            path.unlink()


def _remove_empty_dirs(root: Path, rel_dirs: list[str], keep_roots: bool = False) -> list[str]:
    """rmdir the folders we created, deepest first, with Python's caches of our modules;
    returns the ones left because they hold files we did not put there."""
    left = []
    # deepest first, the resource folder itself (".") last
    for rel in sorted(_unique(rel_dirs), key=lambda r: (r == ".", -r.count("/"))):
        folder = root / rel
        if not folder.is_dir() or (keep_roots and rel in ("pykrita", "actions")):
            continue
        cache = folder / "__pycache__"
        if cache.is_dir() and all(p.suffix == ".pyc" for p in cache.iterdir()):
            shutil.rmtree(cache)
        try:
            folder.rmdir()
        except OSError:
            if not keep_roots:
                left.append(rel)
    return left


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))
