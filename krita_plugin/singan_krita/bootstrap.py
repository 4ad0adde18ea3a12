"""Puts the wheels the installer vendored (pyzmq, msgpack, platformdirs for this Python,
and singan_protocol) first on sys.path, before anything imports zmq."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

log = logging.getLogger(__name__)

VENDOR = Path(__file__).with_name("vendor")


def abi_folder(version: tuple[int, int] = sys.version_info[:2]) -> str:
    return f"cp{version[0]}{version[1]}"


def activate(vendor: Path = VENDOR, version: tuple[int, int] = sys.version_info[:2],
             path: list[str] = sys.path) -> str | None:
    """Prepend the vendor folders to `path`; return a problem to show the painter, or None."""
    folders = [vendor / abi_folder(version), vendor / "common"]
    for folder in reversed(folders):
        if folder.is_dir() and str(folder) not in path:
            path.insert(0, str(folder))
    if not vendor.is_dir() or folders[0].is_dir():
        return None  # a developer's checkout, or the wheels for this Python are there
    others = sorted(p.name for p in vendor.glob("cp*") if p.is_dir())
    if not others:
        return None
    installed = ", ".join(f"{p[2]}.{p[3:]}" for p in others)
    here = f"{version[0]}.{version[1]}"
    return (f"The SinGAN plugin was installed for Python {installed}, but this Krita runs "
            f"Python {here}. Run `singan install-krita --krita-python {here}` and restart Krita.")


def missing_modules() -> str | None:
    """A painter-readable problem when zmq or msgpack cannot be imported, else None."""
    try:
        import msgpack  # noqa: F401
        import zmq  # noqa: F401
    except ImportError as exc:
        log.warning("cannot import the plugin's libraries: %s", exc)
        return ("The SinGAN plugin is missing its libraries (" + str(exc) + "). "
                "Run `singan install-krita` again and restart Krita.")
    return None
