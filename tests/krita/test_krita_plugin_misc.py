"""Settings, vendoring, the backend process, and the plugin's import boundaries."""

import ast
import json
import sys
from pathlib import Path

import pytest

import singan_krita
from singan_krita import bootstrap
from singan_krita.backend_process import BackendProcess, backend_env
from singan_krita.errors import UserFacingError, guarded
from singan_krita.jobs import format_duration, progress_detail
from singan_krita.settings import PluginSettings, connection_file, load_settings

PLUGIN = Path(singan_krita.__file__).parent
# modules that may talk to Krita or Qt; everything else is plain logic
KRITA_MODULES = {"__init__.py", "extension.py", "krita_adapter.py", "ui/docker.py"}
QT_MODULES = KRITA_MODULES | {"ui/panel.py", "ui/pages.py", "ui/eventloop.py"}


def imported(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("path", sorted(PLUGIN.rglob("*.py")), ids=lambda p: p.name)
def test_only_the_adapter_layer_imports_krita_and_qt(path):
    rel = path.relative_to(PLUGIN).as_posix()
    names = imported(path)
    if rel not in KRITA_MODULES:
        assert "krita" not in names, f"{rel} imports krita"
    if rel not in QT_MODULES:
        assert "PyQt5" not in names, f"{rel} imports Qt"


def test_settings_from_the_installer_file(tmp_path):
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"backend_command": ["/py", "-m", "singan_backend.server", "serve"],
                                "backend_env": {"PYTHONPATH": "/src"}, "connection_file": "/c.json"}))
    settings = load_settings(path)
    assert settings.backend_command == ("/py", "-m", "singan_backend.server", "serve")
    assert dict(settings.backend_env) == {"PYTHONPATH": "/src"}
    assert connection_file(settings, {}) == "/c.json"
    assert connection_file(settings, {"SINGAN_CONNECTION_FILE": "/env.json"}) == "/env.json"
    assert connection_file(PluginSettings(), {}, default=lambda: "/default.json") == "/default.json"


def test_missing_or_broken_settings_fall_back_to_defaults(tmp_path):
    assert load_settings(tmp_path / "none.json") == PluginSettings()
    (tmp_path / "bad.json").write_text('{"backend_command": "not a list"}')
    assert load_settings(tmp_path / "bad.json") == PluginSettings()


def test_vendor_folders_go_first_on_sys_path(tmp_path):
    (tmp_path / "cp311").mkdir()
    (tmp_path / "common").mkdir()
    path = ["/usr/lib/python3/dist-packages"]
    assert bootstrap.activate(tmp_path, (3, 11), path) is None
    assert path[:2] == [str(tmp_path / "cp311"), str(tmp_path / "common")]


def test_wheels_for_another_python_are_explained(tmp_path):
    (tmp_path / "cp310").mkdir()
    problem = bootstrap.activate(tmp_path, (3, 13), [])
    assert "installed for Python 3.10" in problem and "--krita-python 3.13" in problem


def test_backend_environment_drops_kritas_python_variables():
    env = backend_env({"PYTHONPATH": "/src"}, {"PYTHONHOME": "/krita", "PYTHONPATH": "/krita/lib",
                                                "HOME": "/home/ann"})
    assert env == {"PYTHONPATH": "/src", "HOME": "/home/ann"}


def test_backend_process_start_and_stop(tmp_path):
    script = "import time, sys; print('up', sys.argv[1:], flush=True); time.sleep(60)"
    process = BackendProcess((sys.executable, "-c", script), {}, str(tmp_path / "c.json"),
                             tmp_path / "backend.log")
    process.start()
    assert process.running
    process.stop(timeout_s=5)
    assert not process.running and process.exit_code() is not None


def test_backend_process_without_a_command_says_what_to_do(tmp_path):
    with pytest.raises(UserFacingError, match="singan install-krita"):
        BackendProcess((), {}, "c.json", tmp_path / "log").start()


def test_a_backend_that_dies_at_once_leaves_its_words(tmp_path):
    process = BackendProcess((sys.executable, "-c", "import sys; print('no torch here'); sys.exit(3)"),
                             {}, "c.json", tmp_path / "log")
    process.start()
    process.popen.wait(10)
    assert process.exit_code() == 3 and "no torch here" in process.last_output()


def test_guarded_slots_report_instead_of_raising():
    seen = []

    @guarded(seen.append)
    def slot(kind):
        raise kind("boom")

    slot(UserFacingError)
    slot(KeyError)
    assert seen[0] == "boom" and "went wrong inside the SinGAN plugin" in seen[1]


def test_progress_words():
    assert format_duration(None) == "estimating time"
    assert format_duration(42) == "42 s left"
    assert format_duration(3725) == "1 h 02 min left"
    assert progress_detail({"task": "sample", "total": 4, "iteration": 2, "eta_s": 1}) == \
        "step 2/4 · 1 s left"
