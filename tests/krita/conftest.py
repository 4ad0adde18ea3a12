"""Fixtures for the Krita plugin's tests: the project's sources on sys.path when it is not
pip-installed, and for the end-to-end suite (`-m krita`) a template Krita profile built once
per session with the plugin installed by the installer."""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
import warnings
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import kritarun  # noqa: E402

for source in kritarun.SOURCE_DIRS:
    package = {"backend": "singan_backend", "shared": "singan_protocol",
               "krita_plugin": "singan_krita", "installer": "singan_installer"}[source.name]
    if importlib.util.find_spec(package) is None:
        sys.path.insert(0, str(source))


@pytest.fixture(scope="session")
def krita_template(tmp_path_factory, request) -> Path:
    """A Krita profile with the plugin and the test runner installed, resources built."""
    problem = kritarun.missing_tools()
    if problem:
        pytest.skip(problem)
    root = tmp_path_factory.mktemp("krita")
    store = getattr(request.config, "cache", None)  # pytest's cache keeps wheels between runs
    cache = Path(store.mkdir("singan-wheel-cache")) if store else root / "wheel-cache"
    return kritarun.build_template(root, os.environ.get("SINGAN_TEST_WHEELS"), cache)


@pytest.fixture
def run_in_krita(krita_template, tmp_path):
    """run_in_krita("scenario", params) -> KritaRun, asserting a clean run."""

    def run(scenario: str, params: dict | None = None, timeout_s: float = 240.0,
            artifacts: Path | None = None, extra_env: dict | None = None) -> kritarun.KritaRun:
        result = kritarun.run_scenario(krita_template, tmp_path / scenario, scenario, params,
                                       timeout_s, artifacts, extra_env)
        if result.rc == 139:
            # Krita 5.1.5 itself segfaults now and then (its importAnimation, which the
            # plugin no longer calls there; KRITA_NOTES.md). One retry in a fresh profile; a
            # second crash fails the test.
            warnings.warn(f"Krita crashed (rc 139) in {scenario}; retrying once", stacklevel=2)
            result = kritarun.run_scenario(krita_template, tmp_path / f"{scenario}-retry",
                                           scenario, params, timeout_s, artifacts, extra_env)
        assert not result.failures(), result.explain()
        shutil.rmtree(result.home, ignore_errors=True)  # ~90 MB of Krita profile per run
        return result

    return run


def pytest_collection_modifyitems(config, items):
    problem = kritarun.missing_tools()
    if problem is None:
        return
    skip = pytest.mark.skip(reason=f"real-Krita tests skipped: {problem}")
    for item in items:
        if "krita" in item.keywords and item.get_closest_marker("krita") is not None:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def demo_image(tmp_path_factory) -> Path:
    """The project's own demo picture (singan_backend.demo), saved as a PNG for Krita."""
    import numpy as np
    from PIL import Image

    from singan_backend.demo import demo_image as make

    path = tmp_path_factory.mktemp("demo") / "balloons-demo.png"
    pixels = np.clip(make(160, 120) * 255.0 + 0.5, 0, 255).astype(np.uint8)
    Image.fromarray(pixels, "RGB").save(path)
    return path
