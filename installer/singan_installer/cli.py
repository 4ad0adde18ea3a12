"""Command line: `singan install-krita [...]` or `python -m singan_installer [...]`."""

from __future__ import annotations

import argparse
import importlib.util
import logging
import os
import sys
from pathlib import Path

import platformdirs

from . import install as inst
from . import locations, wheels

log = logging.getLogger("singan_installer")


def build_parser(prog: str = "singan install-krita") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Install the SinGAN plugin into Krita (run it again to upgrade).")
    parser.add_argument("--resource-dir", type=Path,
                        help="Krita's resource folder (default: the one Krita uses on this system)")
    parser.add_argument("--kritarc", type=Path,
                        help="Krita's settings file where the plugin is enabled (default: Krita's)")
    parser.add_argument("--krita-python", metavar="X.Y",
                        help="the Python version inside Krita: 3.10 for Krita 5.2 on Windows/macOS, "
                             "3.13 for Krita 5.3+; found automatically for Linux distro packages")
    parser.add_argument("--platform", metavar="TAG",
                        help="wheel platform tag of the machine running Krita, e.g. win_amd64, "
                             "macosx_11_0_arm64, manylinux_2_28_x86_64 (default: this machine)")
    parser.add_argument("--wheels", type=Path, metavar="DIR",
                        help="take pyzmq/msgpack/platformdirs wheels from DIR (offline install)")
    parser.add_argument("--uninstall", action="store_true",
                        help="remove exactly what an earlier install added")
    parser.add_argument("--backend-python", default=sys.executable, metavar="EXE",
                        help="Python that runs the backend when the docker starts it (default: this one)")
    parser.add_argument("-v", "--verbose", action="store_true")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _log_to_terminal(args.verbose)
    system = locations.system_of(args.platform)
    resource_dir = (args.resource_dir or locations.resource_dir(system)).expanduser().resolve()
    try:
        if args.uninstall:
            return _uninstall(resource_dir)
        return _install(args, system, resource_dir)
    except (inst.InstallError, wheels.WheelError, ValueError, OSError) as exc:
        print(f"install-krita failed: {exc}", file=sys.stderr)
        return 1


def _log_to_terminal(verbose: bool) -> None:
    """The installer's report goes to stdout whoever configured logging before: `singan`
    sets the root logger to warnings only, which hid every line of it."""
    log.setLevel(logging.DEBUG if verbose else logging.INFO)
    if not any(isinstance(h, _Stdout) for h in log.handlers):
        handler = _Stdout()
        handler.setFormatter(logging.Formatter("%(message)s"))
        log.addHandler(handler)
    log.propagate = False


class _Stdout(logging.StreamHandler):
    """Writes to whatever sys.stdout is now (a test's capture, a redirected shell)."""

    @property
    def stream(self):
        return sys.stdout

    @stream.setter
    def stream(self, _value) -> None:
        pass


def _uninstall(resource_dir: Path) -> int:
    manifest = inst.uninstall(resource_dir)
    if manifest is None:
        log.info("Nothing to uninstall: no SinGAN install record in %s", resource_dir / "pykrita")
        return 0
    log.info("Removed the SinGAN plugin from %s (%d files).", resource_dir, len(manifest["files"]))
    for rel in manifest["left_behind"]:
        log.info("Kept %s: it holds files the installer did not put there.", resource_dir / rel)
    return 0


def _install(args: argparse.Namespace, system: str, resource_dir: Path) -> int:
    target = locations.make_target(args.krita_python, args.platform)
    log.info("Krita's Python: %s (%s); wheels for %s", target.python_tag, target.source,
             target.platforms[0])
    if importlib.util.find_spec("singan_backend") is None:
        log.warning("The backend (singan_backend) is not importable here: the docker's "
                    "'Start backend' button will not work until it is installed in %s.",
                    args.backend_python)
    options = inst.InstallOptions(
        resource_dir=resource_dir,
        kritarc=(args.kritarc or locations.kritarc_path(system)).expanduser().resolve(),
        target=target,
        wheels_dir=args.wheels.expanduser().resolve() if args.wheels else None,
        cache_dir=Path(platformdirs.user_cache_dir("singan", appauthor=False)) / "wheels",
        backend_command=(args.backend_python, "-m", "singan_backend.server", "serve"),
        backend_env={"PYTHONPATH": os.environ["PYTHONPATH"]} if os.environ.get("PYTHONPATH") else {},
        connection_file=_connection_file(),
    )
    manifest = inst.install(options)
    for line in report_lines(manifest, options):
        log.info("%s", line)
    return 0


def report_lines(manifest: dict, options: inst.InstallOptions) -> list[str]:
    """What the install did and what the painter does next, one line each."""
    pykrita = options.resource_dir / "pykrita"
    vendor = pykrita / inst.PLUGIN / "vendor" / f"cp{options.target.python[0]}{options.target.python[1]}"
    return [
        f"Installed the SinGAN plugin ({len(manifest['files'])} files):",
        f"  plugin:  {pykrita / inst.PLUGIN} (and {pykrita / (inst.PLUGIN + '.desktop')})",
        f"  wheels:  {', '.join(manifest['wheels']) or 'none'}",
        f"           unpacked for Krita's Python {options.target.python_tag} into {vendor}",
        f"  enabled: [python] enable_{inst.PLUGIN}=true in {options.kritarc}",
        f"  backend: the docker's Start backend runs `{' '.join(options.backend_command)}`",
        "Next: restart Krita (quit it first if it is open), open Settings > Dockers > SinGAN "
        "and press Start backend. To remove it: singan install-krita --uninstall"
        + (f" --resource-dir {options.resource_dir}" if options.resource_dir else "") + ".",
    ]


def _connection_file() -> str | None:
    try:
        from singan_protocol import default_connection_file
    except ImportError:
        return None
    if os.environ.get("SINGAN_CONNECTION_FILE"):
        return None  # a per-shell override is not the user's lasting choice
    return str(default_connection_file())
