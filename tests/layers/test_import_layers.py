"""The layers of STYLE.md, checked by walking the imports: the engine works on tensors alone
(no ZeroMQ, msgpack, protocol or Qt) and the server never loads Qt or Krita. The plugin's
own boundaries are checked in tests/krita/test_krita_plugin_misc.py."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import singan_backend

BACKEND = Path(singan_backend.__file__).parent
ENGINE_FORBIDDEN = {"zmq", "msgpack", "singan_protocol", "PyQt5", "krita"}
SERVER_FORBIDDEN = {"PyQt5", "krita"}
# backend modules above the engine: it never reaches up into them
ABOVE_ENGINE = {"server", "cli", "dispatch", "actions", "store", "remote", "demo", "images"}


def imported(path: Path) -> tuple[set[str], set[str]]:
    """(top-level packages imported, backend modules imported relatively from `..`)."""
    absolute, relative = set(), set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            absolute |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            absolute.add(node.module.split(".")[0])
        elif isinstance(node, ast.ImportFrom) and node.level == 2:
            relative |= ({node.module.split(".")[0]} if node.module
                         else {a.name for a in node.names})
    return absolute, relative


@pytest.mark.parametrize("path", sorted((BACKEND / "engine").glob("*.py")), ids=lambda p: p.name)
def test_engine_modules_import_neither_the_protocol_nor_the_layers_above(path):
    absolute, relative = imported(path)
    assert not absolute & ENGINE_FORBIDDEN, f"engine/{path.name} imports {absolute & ENGINE_FORBIDDEN}"
    assert not relative & ABOVE_ENGINE, f"engine/{path.name} imports {relative & ABOVE_ENGINE}"


@pytest.mark.parametrize("path", sorted((BACKEND / "server").glob("*.py")), ids=lambda p: p.name)
def test_server_modules_import_no_qt_or_krita(path):
    absolute, _ = imported(path)
    assert not absolute & SERVER_FORBIDDEN, f"server/{path.name} imports {absolute & SERVER_FORBIDDEN}"


def loaded_after_importing(package: str, forbidden: set[str]) -> set[str]:
    """The forbidden top-level modules in sys.modules after importing every module of
    `package` in a fresh interpreter: catches what comes in through other modules too."""
    code = (f"import importlib, pkgutil, sys\nimport {package} as p\n"
            f"for m in pkgutil.iter_modules(p.__path__):\n"
            f"    importlib.import_module(p.__name__ + '.' + m.name)\n"
            f"print(' '.join(sorted({{n.split('.')[0] for n in sys.modules}} & {forbidden!r})))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    return set(out.stdout.split())


def test_importing_the_whole_engine_loads_no_protocol_or_qt():
    assert loaded_after_importing("singan_backend.engine", ENGINE_FORBIDDEN) == set()


def test_importing_the_whole_server_loads_no_qt_or_krita():
    assert loaded_after_importing("singan_backend.server", SERVER_FORBIDDEN) == set()
