import numpy as np
import pytest

from singan_backend import actions
from singan_backend.demo import demo_image
from singan_backend.engine.config import preset
from singan_backend.store import ModelStore

# A tiny but real run: 3 scales (18 x 24 up to 24 x 32 px), 30 iterations each.
TINY = dict(max_size=32, min_size=18, iters=30, seed=1)


@pytest.fixture(scope="session")
def tiny_image() -> np.ndarray:
    return demo_image(40, 30, seed=3)


@pytest.fixture(scope="session")
def trained(tmp_path_factory, tiny_image):
    """(store, model_id) of a tiny model trained once per test session."""
    store = ModelStore(tmp_path_factory.mktemp("models"))
    model_id = actions.train(store, tiny_image, name="tiny", config=preset("paper", **TINY),
                             device="cpu")
    return store, model_id
