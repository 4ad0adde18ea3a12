"""Real Krita under Xvfb with the plugin installed by the installer (vendored wheels) and
the real backend started from the docker. `pytest -m krita tests` runs these alone; they
are skipped, with the reason, where krita / xvfb-run / xauth are missing."""

import os
import shutil

import pytest

pytestmark = pytest.mark.krita

# Tiny training: 2-3 scales of a few iterations, seconds on 2 idle cores.
TINY = {"max_size": 40, "iters": 6, "train_timeout": 300}
UPDATE_SCREENSHOT = os.environ.get("SINGAN_UPDATE_SCREENSHOTS") == "1"


def test_plugin_loads_and_says_the_backend_is_not_running(run_in_krita):
    run = run_in_krita("smoke", timeout_s=120)
    names = [c["name"] for c in run.results["checks"]]
    assert "zmq comes from the plugin's vendored wheels" in names
    assert run.results["finished"]


def test_train_generate_harmonize_upscale_on_the_demo_picture(run_in_krita, demo_image):
    run = run_in_krita("workflow", dict(TINY, image=str(demo_image), model_name=demo_image.stem),
                       timeout_s=600)
    assert run.results["finished"]
    docs = os.path.join(os.path.dirname(__file__), "..", "..", "docs")
    for name in ("krita-docker.png", "krita-docker-training.png"):
        shot = run.artifacts / name
        assert shot.exists() and shot.stat().st_size > 10_000
        if UPDATE_SCREENSHOT or not os.path.exists(os.path.join(docs, name)):
            os.makedirs(docs, exist_ok=True)
            shutil.copy(shot, os.path.join(docs, name))


def test_sixteen_bit_document_with_a_selection(run_in_krita):
    run = run_in_krita("deep_selection", TINY, timeout_s=600)
    assert run.results["finished"]
