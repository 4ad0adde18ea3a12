"""Runs real Krita under Xvfb for the end-to-end tests: builds a template profile once
(plugin installed by the installer, the test runner plugin beside it, resource database
warmed up), then runs each scenario in a fresh copy of it with timeouts around everything."""

from __future__ import annotations

import json
import logging
import os
import select
import shutil
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
SOURCE_DIRS = [REPO / d for d in ("backend", "shared", "krita_plugin", "installer")]
SCENARIOS = HERE / "scenarios"
HARNESS = HERE / "harness"
SCREEN = ["-screen", "0", "1600x1000x24"]
KEEP_ENV = ("LANG", "LC_ALL", "TZ", "TMPDIR")
# Krita's embedded Python takes its prefix from the first python3 on PATH: a pyenv or venv
# python3 there hides Debian's PyQt5 and Krita's scripting fails. Krita gets the system PATH.
KRITA_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

log = logging.getLogger(__name__)


def missing_tools() -> str | None:
    missing = [tool for tool in ("krita", "Xvfb") if shutil.which(tool) is None]
    if missing:
        return f"needs {', '.join(missing)} (apt-get install krita python3-pyqt5 xvfb)"
    return None


def python_path() -> str:
    """PYTHONPATH that makes the project importable when it is not pip-installed."""
    parts = [str(d) for d in SOURCE_DIRS]
    if os.environ.get("PYTHONPATH"):
        parts.append(os.environ["PYTHONPATH"])
    return os.pathsep.join(parts)


def base_env(home: Path) -> dict:
    env = {k: os.environ[k] for k in KEEP_ENV if k in os.environ}
    env.update(PATH=KRITA_PATH, HOME=str(home), XDG_RUNTIME_DIR=str(home / "runtime"),
               QT_LOGGING_RULES="*.debug=false", LANG=env.get("LANG", "C.UTF-8"))
    (home / "runtime").mkdir(parents=True, exist_ok=True, mode=0o700)
    return env


def install_plugin(home: Path, wheels: str | None, cache: Path) -> str:
    """`python -m singan_installer` into `home`, as a painter would run it."""
    env = base_env(home)
    env.update(PATH=os.environ.get("PATH", KRITA_PATH), PYTHONPATH=python_path(),
               XDG_CACHE_HOME=str(cache))
    cmd = [sys.executable, "-m", "singan_installer"]
    if wheels:
        cmd += ["--wheels", wheels]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        raise RuntimeError(f"install-krita failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def install_harness(home: Path) -> None:
    sys.path[:0] = [str(d) for d in SOURCE_DIRS if str(d) not in sys.path]
    from singan_installer import kritarc

    pykrita = home / ".local/share/krita/pykrita"
    shutil.copytree(HARNESS / "singan_e2e", pykrita / "singan_e2e",
                    ignore=shutil.ignore_patterns("__pycache__"), dirs_exist_ok=True)
    shutil.copy(HARNESS / "singan_e2e.desktop", pykrita / "singan_e2e.desktop")
    rc = home / ".config/kritarc"
    rc.write_text(kritarc.set_value(rc.read_text(), "python", "enable_singan_e2e", "true"))


@dataclass
class KritaRun:
    rc: int
    results: dict
    log: str
    seconds: float
    home: Path
    artifacts: Path
    leftovers: list = field(default_factory=list)  # backend pids still alive after Krita quit

    def failures(self) -> list[str]:
        out = []
        if self.rc != 0:
            out.append(f"Krita exited with {self.rc}")
        if not self.results:
            out.append("no results file: the scenario never finished")
        if self.results.get("failure"):
            out.append(f"scenario failed: {self.results['failure']}")
        out += [f"check failed: {c['name']} ({c['detail']})"
                for c in self.results.get("checks", []) if not c["ok"]]
        out += [f"modal dialog: {d}" for d in self.results.get("dialogs", [])]
        out += [f"uncaught exception: {e}" for e in self.results.get("exceptions", [])]
        out += [f"backend still running after Krita quit: pid {p}" for p in self.leftovers]
        return out

    def explain(self) -> str:
        tail = "\n".join(self.log.splitlines()[-60:])
        return "\n".join(self.failures()) + f"\n--- Krita log (tail) ---\n{tail}"


def run_scenario(template: Path, workdir: Path, scenario: str, params: dict | None = None,
                 timeout_s: float = 240.0, artifacts: Path | None = None,
                 extra_env: dict | None = None) -> KritaRun:
    """Copy the template profile, run `scenarios/<scenario>.py` inside Krita, collect.
    `extra_env` is added to Krita's environment (the backend it starts inherits it)."""
    home = workdir / "home"
    shutil.copytree(template, home, symlinks=True)
    install_harness(home)  # the runner as it is now, also when the template is older
    artifacts = artifacts or workdir / "artifacts"
    artifacts.mkdir(parents=True, exist_ok=True)
    result_file = workdir / "result.json"
    connection_file = workdir / "backend" / "backend.json"
    env = base_env(home)
    env.update(SINGAN_E2E_SCENARIO=str(SCENARIOS / f"{scenario}.py"),
               SINGAN_E2E_RESULT=str(result_file), SINGAN_E2E_ARTIFACTS=str(artifacts),
               SINGAN_E2E_PARAMS=json.dumps(params or {}),
               SINGAN_E2E_DEADLINE=str(max(10.0, timeout_s - 30.0)),
               SINGAN_CONNECTION_FILE=str(connection_file))
    env.update(extra_env or {})
    log_path = workdir / "krita.log"
    start = time.monotonic()
    rc = _run_krita(env, workdir, log_path, timeout_s)
    if rc != 0 and NO_DISPLAY in log_path.read_text(errors="replace"):
        # a display lost before Krita started is not a failure of the plugin: once more,
        # on a fresh server
        log.warning("Krita found no X display (%s); starting it once more", rc)
        rc = _run_krita(env, workdir, log_path, timeout_s)
    seconds = time.monotonic() - start
    results = json.loads(result_file.read_text()) if result_file.exists() else {}
    run = KritaRun(rc, results, log_path.read_text(errors="replace"), seconds, home, artifacts)
    run.leftovers = _stop_leftover_backend(connection_file)
    return run


NO_DISPLAY = "could not connect to display"


@contextmanager
def xvfb(log_path: Path, timeout_s: float = 60.0):
    """A private Xvfb for one Krita run; yields its DISPLAY. Xvfb picks a free display
    number itself and writes it to -displayfd only once it accepts connections. xvfb-run -a
    did neither: it guessed a number from lock files and did not wait for the last run's
    server to go, and CI once saw Krita abort twice with 'could not connect to display'."""
    read_fd, write_fd = os.pipe()
    with open(log_path, "ab") as server_log:
        proc = subprocess.Popen(["Xvfb", "-displayfd", str(write_fd), *SCREEN, "-nolisten", "tcp"],
                                pass_fds=(write_fd,), stdout=server_log, stderr=subprocess.STDOUT,
                                start_new_session=True)
    os.close(write_fd)
    try:
        number = b""
        deadline = time.monotonic() + timeout_s
        while not number.endswith(b"\n"):
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([read_fd], [], [], left)[0]:
                raise RuntimeError(f"Xvfb did not start in {timeout_s:.0f} s (see {log_path})")
            chunk = os.read(read_fd, 16)
            if not chunk:
                raise RuntimeError(f"Xvfb exited with {proc.wait()} (see {log_path})")
            number += chunk
        yield f":{int(number)}"
    finally:
        os.close(read_fd)
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _run_krita(env: dict, workdir: Path, log_path: Path, timeout_s: float) -> int:
    with xvfb(workdir / "xvfb.log") as display, open(log_path, "wb") as out:
        proc = subprocess.Popen(["krita", "--nosplash"], env=dict(env, DISPLAY=display),
                                stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True, cwd=workdir)
        try:
            rc = proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            rc = proc.wait()
            rc = rc if rc not in (0, None) else -9
    return rc


def _stop_leftover_backend(connection_file: Path) -> list[int]:
    """A backend that outlived Krita is a failure; stop it so it never outlives the test."""
    if not connection_file.exists():
        return []
    try:
        pid = int(json.loads(connection_file.read_text())["pid"])
    except (ValueError, KeyError, OSError):
        return []
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return []
        time.sleep(0.2)
    os.kill(pid, signal.SIGKILL)
    return [pid]


def build_template(root: Path, wheels: str | None, cache: Path) -> Path:
    """A profile with the plugin installed and Krita's resource database built (~15 s)."""
    home = root / "template-home"
    home.mkdir(parents=True)
    install_plugin(home, wheels, cache)
    install_harness(home)
    run = run_scenario(home, root / "warmup", "warmup", timeout_s=120)
    if run.failures():
        raise RuntimeError("Krita did not start cleanly with the plugin:\n" + run.explain())
    for name in ("home/.local/share/krita", "home/.config/kritarc", "home/.local/share/kritarc"):
        src = root / "warmup" / name
        if src.exists():  # keep what Krita built on its first start (resource database)
            dst = home / Path(name).relative_to("home")
            if src.is_dir():
                shutil.copytree(src, dst, dirs_exist_ok=True, symlinks=True)
            else:
                shutil.copy(src, dst)
    for leftover in home.glob(".krita-*-autosave.kra"):
        leftover.unlink()
    return home


if __name__ == "__main__":  # manual runs: python tests/krita/kritarun.py SCENARIO [WORKDIR]
    logging.basicConfig(level=logging.INFO)
    name = sys.argv[1]
    work = Path(sys.argv[2] if len(sys.argv) > 2 else f"/tmp/singan-e2e-{name}")
    shutil.rmtree(work, ignore_errors=True)
    template_root = Path("/tmp/singan-e2e-template")
    if not (template_root / "template-home").exists():
        shutil.rmtree(template_root, ignore_errors=True)
        build_template(template_root, os.environ.get("SINGAN_TEST_WHEELS"),
                       Path("/tmp/singan-e2e-cache"))
    result = run_scenario(template_root / "template-home", work, name)
    print(json.dumps(result.results, indent=2))
    print(f"rc={result.rc} seconds={result.seconds:.1f}")
    print(result.explain())
