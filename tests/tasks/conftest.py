"""One tiny model per kind, trained once per test run and shared by every task test.

Package-scoped, so one thread is set before they train: on a shared 2-core machine two
OpenMP threads per process spin against the other processes and run up to 10x slower.
"""

import numpy as np
import pytest
import torch

from singan_backend import actions
from singan_backend.demo import demo_image
from singan_backend.engine import superres
from singan_backend.engine.config import preset
from singan_backend.store import ModelStore

# Six scales from 12 x 15 to 32 x 40 px, 10 iterations each: seconds, not minutes.
TINY = dict(max_size=40, min_size=12, iters=10, seed=1)


@pytest.fixture(scope="package", autouse=True)
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="package")
def store(tmp_path_factory, _one_thread) -> ModelStore:
    return ModelStore(tmp_path_factory.mktemp("task-models"))


@pytest.fixture
def cli_args(store) -> list[str]:
    """The task commands of tests/tasks run against the shared tiny models."""
    return ["--models-dir", str(store.root)]


@pytest.fixture(scope="package")
def scene() -> np.ndarray:
    return demo_image(40, 32, seed=5)  # (32, 40, 3)


@pytest.fixture(scope="package")
def model_id(store, scene) -> str:
    return actions.train(store, scene, name="tiny", config=preset("quick", **TINY), device="cpu")


@pytest.fixture(scope="package")
def anim_id(store, scene) -> str:
    config = preset("quick", max_size=40, min_size=20, iters=10, seed=2, noise_padding=True)
    return actions.train(store, scene, name="tiny-anim", config=config, device="cpu")


@pytest.fixture(scope="package")
def sr_image() -> np.ndarray:
    return demo_image(32, 24, seed=9)  # (24, 32, 3)


@pytest.fixture(scope="package")
def sr_id(store, sr_image) -> str:
    return actions.train_sr(store, sr_image, 4, config=superres.sr_preset("quick", iters=10, seed=3),
                            name="tiny-sr", device="cpu")


@pytest.fixture
def square_mask(scene) -> np.ndarray:
    """An 8 x 8 white square in the middle of the scene."""
    mask = np.zeros(scene.shape[:2], np.float32)
    mask[12:20, 16:24] = 1
    return mask
