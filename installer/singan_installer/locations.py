"""Where Krita keeps its resources and settings, and which Python it embeds, per platform.

Krita's Python decides which pyzmq/msgpack wheels can load inside it: distro builds on
Linux link the system libpython; the official Windows and macOS builds bundle their own
(Krita 5.2: 3.10, Krita 5.3 and later: 3.13).
"""

from __future__ import annotations

import glob
import logging
import os
import platform
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import platformdirs

log = logging.getLogger(__name__)

BUNDLED_PYTHON = (3, 10)  # Krita 5.2's Windows/macOS builds; 5.3+ bundle 3.13
MIN_GLIBC_MINOR = 17  # oldest manylinux (2014 = glibc 2.17) we accept
MACOS_VERSIONS = [(10, m) for m in range(9, 16)] + [(v, 0) for v in range(11, 16)]


@dataclass(frozen=True)
class Target:
    """The Python inside Krita that the vendored wheels must load in."""

    python: tuple[int, int]  # (major, minor), e.g. (3, 11)
    platforms: tuple[str, ...]  # wheel platform tags it accepts, best first
    source: str  # how `python` was found, said to the user

    @property
    def python_tag(self) -> str:
        return f"{self.python[0]}.{self.python[1]}"


def system_of(platform_tag: str | None = None) -> str:
    """'linux', 'win32' or 'darwin' for a wheel platform tag (or for this machine)."""
    if platform_tag is None:
        return "win32" if sys.platform.startswith("win") else sys.platform
    if platform_tag.startswith("win"):
        return "win32"
    if platform_tag.startswith("macosx"):
        return "darwin"
    return "linux"


def resource_dir(system: str) -> Path:
    """Krita's per-user resource folder (the one holding pykrita/)."""
    if system == "linux":
        return Path(platformdirs.user_data_dir("krita", appauthor=False))
    if system == "win32":
        appdata = os.environ.get("APPDATA") or str(Path.home() / "AppData" / "Roaming")
        return Path(appdata) / "krita"
    return Path.home() / "Library" / "Application Support" / "krita"


def kritarc_path(system: str) -> Path:
    """Krita's main settings file, where plugins are switched on."""
    if system == "linux":
        return Path(platformdirs.user_config_dir(appauthor=False)) / "kritarc"
    if system == "win32":
        local = os.environ.get("LOCALAPPDATA") or str(Path.home() / "AppData" / "Local")
        return Path(local) / "kritarc"
    return Path.home() / "Library" / "Preferences" / "kritarc"


def parse_python_version(text: str) -> tuple[int, int]:
    m = re.fullmatch(r"\s*(\d+)\.(\d+)\s*", text)
    if not m:
        raise ValueError(f"expected a Python version like 3.11, got {text!r}")
    return int(m.group(1)), int(m.group(2))


def detect_krita_python(system: str) -> tuple[tuple[int, int], str]:
    """Best guess of the Python that this machine's Krita embeds, with how it was found."""
    if system == "linux":
        for lib in _linux_pykrita_libraries():
            found = re.search(rb"libpython(\d)\.(\d+)", Path(lib).read_bytes())
            if found:
                return (int(found.group(1)), int(found.group(2))), f"linked by {lib}"
        system_python = Path("/usr/bin/python3")
        if system_python.exists():
            out = subprocess.run(
                [str(system_python), "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                capture_output=True, text=True, timeout=30)
            if out.returncode == 0:
                return parse_python_version(out.stdout), f"system Python {system_python}"
        return sys.version_info[:2], "this Python (no Krita found)"
    for pattern in _bundled_python_patterns(system):
        for hit in sorted(glob.glob(pattern)):
            found = re.search(r"python3\.?(\d+)", os.path.basename(hit.rstrip("/\\")))
            if found:
                return (3, int(found.group(1))), f"bundled with Krita at {hit}"
    return BUNDLED_PYTHON, "Krita 5.2's bundled Python (use --krita-python 3.13 for Krita 5.3+)"


def _linux_pykrita_libraries() -> list[str]:
    patterns = ["/usr/lib/*/kritaplugins/kritapykrita.so", "/usr/lib*/kritaplugins/kritapykrita.so",
                "/usr/local/lib*/kritaplugins/kritapykrita.so"]
    return [hit for pattern in patterns for hit in sorted(glob.glob(pattern))]


def _bundled_python_patterns(system: str) -> list[str]:
    if system == "win32":
        roots = [os.environ.get("ProgramFiles", r"C:\Program Files")]
        return [os.path.join(root, "Krita (x64)", "bin", "python3*.dll") for root in roots]
    return ["/Applications/krita.app/Contents/Frameworks/Python.framework/Versions/3.*",
            "/Applications/krita.app/Contents/Frameworks/python3*"]


def default_platform_tag(system: str) -> str:
    machine = platform.machine().lower()
    if system == "win32":
        return "win_arm64" if machine in ("arm64", "aarch64") else "win_amd64"
    if system == "darwin":
        return "macosx_11_0_arm64" if machine in ("arm64", "aarch64") else "macosx_10_15_x86_64"
    arch = {"amd64": "x86_64", "arm64": "aarch64"}.get(machine, machine)
    glibc = os.confstr("CS_GNU_LIBC_VERSION") if hasattr(os, "confstr") else None
    minor = int(glibc.split()[-1].split(".")[1]) if glibc and glibc.startswith("glibc") else 28
    return f"manylinux_2_{minor}_{arch}"


def expand_platform(tag: str) -> tuple[str, ...]:
    """Every wheel platform tag that a Python on `tag` can load, best first."""
    many = re.fullmatch(r"manylinux_(\d+)_(\d+)_(\w+)", tag)
    if many:
        major, minor, arch = int(many.group(1)), int(many.group(2)), many.group(3)
        tags = [f"manylinux_{major}_{m}_{arch}" for m in range(minor, MIN_GLIBC_MINOR - 1, -1)]
        legacy = [f"manylinux2014_{arch}"]
        if arch in ("x86_64", "i686"):
            legacy += [f"manylinux2010_{arch}", f"manylinux1_{arch}"]
        return tuple(tags + legacy + [f"linux_{arch}"])
    mac = re.fullmatch(r"macosx_(\d+)_(\d+)_(\w+)", tag)
    if mac:
        version, arch = (int(mac.group(1)), int(mac.group(2))), mac.group(3)
        tags = []
        for v in sorted((v for v in MACOS_VERSIONS if v <= version), reverse=True):
            tags += [f"macosx_{v[0]}_{v[1]}_{arch}", f"macosx_{v[0]}_{v[1]}_universal2"]
        return tuple(tags)
    return (tag,)


def make_target(krita_python: str | None, platform_tag: str | None) -> Target:
    system = system_of(platform_tag)
    if krita_python:
        python, source = parse_python_version(krita_python), "--krita-python"
    elif platform_tag and system != system_of():
        python, source = BUNDLED_PYTHON, "Krita 5.2's bundled Python (use --krita-python to change)"
    else:
        python, source = detect_krita_python(system)
    tag = platform_tag or default_platform_tag(system)
    return Target(python=python, platforms=expand_platform(tag), source=source)
