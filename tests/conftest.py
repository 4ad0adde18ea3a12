"""Shared test settings: small thread count so parallel CI jobs stay predictable."""

import os
from pathlib import Path

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
