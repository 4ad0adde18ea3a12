"""Shared test settings: one torch thread, an isolated SINGAN_HOME, ../shared/images."""

import os
from pathlib import Path

# Tests train tiny models, where one thread is as fast as two, and two OpenMP threads on two
# busy cores can run 10-30x slower (README, measured figures). Set before torch is imported;
# backends and Krita started by the tests inherit it.
os.environ.setdefault("OMP_NUM_THREADS", "1")

import pytest

SHARED = Path(__file__).resolve().parents[1].parent / "shared"


@pytest.fixture(scope="session")
def shared_images() -> Path:
    """../shared/images beside the checkout; tests that need it skip where it is absent."""
    path = SHARED / "images"
    if not path.is_dir():
        pytest.skip("../shared/images is not present")
    return path


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory, monkeypatch):
    # Never touch the user's real model store or connection file from a test.
    home = tmp_path_factory.getbasetemp() / "singan-home"
    monkeypatch.setenv("SINGAN_HOME", os.fspath(home))
