"""`actions.train` without a config trains the `default` preset, the one every entry point
(CLI, protocol, docker) names: stopped at its first step, the stored model says so."""

import numpy as np
import pytest

from singan_backend import actions
from singan_backend.engine.config import PRESETS
from singan_backend.errors import Cancelled
from singan_backend.store import ModelStore


def test_train_without_a_config_uses_the_default_preset(tmp_path):
    store = ModelStore(tmp_path)
    image = np.random.default_rng(0).random((40, 48, 3), dtype=np.float32)
    with pytest.raises(Cancelled):
        actions.train(store, image, name="plain", device="cpu", should_stop=lambda: True)
    (model,) = store.list()
    config = store.load(model.id, "cpu").config
    assert config.preset == "default"
    assert (config.iters, config.d_norm) == (PRESETS["default"].iters, PRESETS["default"].d_norm)
