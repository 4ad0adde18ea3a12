"""Finds, downloads and unpacks the binary wheels the plugin needs inside Krita's Python.

`pip download` fills a cache folder (or the user names one with --wheels for offline use);
the best compatible wheel of each project is then picked by its file name's tags (PEP 427)
and unpacked with zipfile, so no pip runs inside Krita.
"""

from __future__ import annotations

import logging
import re
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

from .locations import Target

log = logging.getLogger(__name__)

# What the plugin imports inside Krita, with the oldest versions known to work there.
REQUIREMENTS = {"pyzmq": ">=25", "msgpack": ">=1.0", "platformdirs": ">=3.0"}


class WheelError(Exception):
    """No usable wheel: the message says what to do."""


@dataclass(frozen=True)
class Wheel:
    path: Path
    project: str  # normalized, e.g. "pyzmq"
    version: tuple[int, ...]
    python_tags: tuple[str, ...]
    abi_tags: tuple[str, ...]
    platform_tags: tuple[str, ...]

    @classmethod
    def parse(cls, path: Path) -> Wheel | None:
        parts = path.name[:-len(".whl")].split("-") if path.name.endswith(".whl") else []
        if len(parts) not in (5, 6):
            return None
        name, version, python, abi, plat = parts[0], parts[1], parts[-3], parts[-2], parts[-1]
        return cls(path, normalize(name), version_key(version), tuple(python.split(".")),
                   tuple(abi.split(".")), tuple(plat.split(".")))

    def specificity(self, target: Target) -> int | None:
        """None when the wheel cannot load in `target`; higher is a better match."""
        platforms = set(target.platforms)
        if "any" not in self.platform_tags and not platforms.intersection(self.platform_tags):
            return None
        major, minor = target.python
        best = None
        for py in self.python_tags:
            for abi in self.abi_tags:
                score = _tag_score(py, abi, major, minor)
                if score is not None and (best is None or score > best):
                    best = score
        return best


def _tag_score(py: str, abi: str, major: int, minor: int) -> int | None:
    cp = f"cp{major}{minor}"
    if py == cp and abi in (cp, "none"):
        return 3
    m = re.fullmatch(rf"cp{major}(\d+)", py)
    if m and abi == "abi3" and int(m.group(1)) <= minor:
        return 2
    m = re.fullmatch(rf"py{major}(\d*)", py)
    if m and abi == "none" and (not m.group(1) or int(m.group(1)) <= minor):
        return 1
    return None


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def version_key(version: str) -> tuple[int, ...]:
    """Numeric release parts; pre-releases sort below the release they precede."""
    release = re.match(r"\d+(?:\.\d+)*", version)
    if not release:
        return (0,)
    numbers = tuple(int(p) for p in release.group(0).split("."))
    return numbers + ((-1,) if re.match(r"[.-]?(a|b|rc|dev)", version[release.end():]) else (0,))


def select(folder: Path, target: Target, projects=tuple(REQUIREMENTS)) -> list[Wheel]:
    """The newest compatible wheel of each project in `folder` (most specific on ties)."""
    chosen = []
    for project in projects:
        candidates = []
        for path in sorted(folder.glob("*.whl")):
            wheel = Wheel.parse(path)
            if wheel is None or wheel.project != normalize(project):
                continue
            score = wheel.specificity(target)
            if score is not None:
                candidates.append(((wheel.version, score), wheel))
        if not candidates:
            raise WheelError(
                f"No {project} wheel in {folder} fits Python {target.python_tag} on "
                f"{target.platforms[0]}. Download one with: pip download --only-binary=:all: "
                f"--python-version {target.python_tag} --platform {target.platforms[0]} "
                f"--dest {folder} {project}")
        chosen.append(max(candidates, key=lambda c: c[0])[1])
    return chosen


def download(cache: Path, target: Target, projects=tuple(REQUIREMENTS)) -> None:
    """Fill `cache` with wheels for `target` using `pip download` (needs the network)."""
    cache.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "pip", "download", "--disable-pip-version-check",
           "--only-binary=:all:", "--no-deps", "--implementation", "cp",
           "--python-version", target.python_tag, "--dest", str(cache)]
    for tag in target.platforms:
        cmd += ["--platform", tag]
    cmd += [f"{p}{REQUIREMENTS.get(p, '')}" for p in projects]
    log.info("Downloading %s wheels for Python %s on %s with pip into %s", ", ".join(projects),
             target.python_tag, target.platforms[0], cache)
    log.debug("%s", " ".join(cmd))  # -v shows the whole pip command
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise WheelError(
            f"pip could not download {', '.join(projects)} for Python {target.python_tag} on "
            f"{target.platforms[0]}:\n{done.stderr.strip()[-2000:]}\n"
            "Without a network, download the wheels elsewhere and pass --wheels DIR.")


def unpack(wheel: Wheel, dest: Path) -> list[Path]:
    """Extract a wheel's importable files into `dest`; returns the files written."""
    written = []
    root = dest.resolve()
    with zipfile.ZipFile(wheel.path) as archive:
        for info in archive.infolist():
            name = info.filename
            if info.is_dir() or name.split("/", 1)[0].endswith(".data"):
                continue  # headers and scripts: nothing Krita imports
            target = (dest / name).resolve()
            if root not in target.parents:
                raise WheelError(f"{wheel.path.name} holds an unsafe path: {name}")
            target.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(info) as src, open(target, "wb") as out:
                out.write(src.read())
            mode = (info.external_attr >> 16) & 0o777
            if mode:
                target.chmod(mode | 0o600)
            written.append(dest / name)
    return written
