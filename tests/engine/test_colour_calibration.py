"""The colour calibration of the default and quick presets: after the last scale, each start
scale's samples are mapped by a per-channel gain and offset onto the image's colour mean and
spread; the paper's preset has none."""

import json
import shutil
from dataclasses import replace

import numpy as np
import pytest
import torch

from singan_backend import actions
from singan_backend.engine.config import preset
from singan_backend.engine.inject import inject, injected_input
from singan_backend.engine.sample import (
    CALIBRATION_SAMPLES,
    _draw,
    calibrated,
    sample,
    sample_sizes,
)
from singan_backend.store import ModelStore

from .conftest import TINY


def _stats(images: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    pooled = torch.cat(images)
    return pooled.mean((0, 2, 3)), pooled.std((0, 2, 3))


@pytest.fixture(scope="module")
def quick(tmp_path_factory, tiny_image):
    """(store, model_id) of a tiny model of the quick preset, which calibrates."""
    store = ModelStore(tmp_path_factory.mktemp("quick"))
    return store, actions.train(store, tiny_image, config=preset("quick", **TINY), device="cpu")


def test_calibrated_samples_have_the_images_colour_mean_and_spread(quick):
    store, model_id = quick
    model = store.load(model_id)
    assert len(model.colour_calibration) == model.num_scales  # one row per start scale
    real_mean, real_std = _stats([model.reals[-1]])
    sizes = sample_sizes(model)
    for start_scale in (0, model.num_scales - 1):
        # the draws the calibration measured: their raw colours are off, the mapped ones not
        raw = [_draw(model, sizes, start_scale, i) for i in range(CALIBRATION_SAMPLES)]
        mapped = [sample(model, seed=i, start_scale=start_scale)[0]
                  for i in range(CALIBRATION_SAMPLES)]
        raw_mean, raw_std = _stats(raw)
        mean, std = _stats(mapped)
        # (clipping to [-1, 1] after the gain leaves a little of the cast)
        assert (mean - real_mean).abs().max() < 0.25 * (raw_mean - real_mean).abs().max()
        assert (std / real_std - 1).abs().max() < 0.25 * (raw_std / real_std - 1).abs().max()
    # the calibration is stored with the model: actions (which load it) give the same
    # (layout "model": the engine's sample draws the model's own; quick may choose patches)
    assert np.allclose(actions.sample(store, model_id, seed=5, lift=False, layout="model")[0],
                       ((sample(model, seed=5)[0][0].permute(1, 2, 0) + 1) / 2).numpy(),
                       atol=1e-5)


def test_the_paper_preset_and_older_models_are_not_calibrated(tmp_path, quick, trained):
    store, paper_id = trained
    paper = store.load(paper_id)
    assert paper.config.calibrate_colour is False and paper.colour_calibration == []
    sizes = sample_sizes(paper)
    assert torch.equal(sample(paper, seed=2)[0], _draw(paper, sizes, 0, 2))
    # a quick model stored before the calibration existed samples as it did then
    quick_store, model_id = quick
    shutil.copytree(quick_store.folder(model_id), tmp_path / model_id)
    store = ModelStore(tmp_path)
    manifest_path = tmp_path / model_id / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    del manifest["colour_calibration"], manifest["config"]["calibrate_colour"]
    manifest_path.write_text(json.dumps(manifest))
    old = store.load(model_id)
    assert old.colour_calibration == [] and old.config.calibrate_colour is False
    assert torch.equal(sample(old, seed=2)[0], _draw(old, sample_sizes(old), 0, 2))


def test_injection_results_lose_the_cast_the_chain_adds_to_the_image(quick):
    store, model_id = quick
    model = store.load(model_id)
    sizes = list(model.pyramid.sizes[:model.num_scales])
    real = model.reals[-1]
    # the image mirrored, injected at scale 1: same colours, not the calibration's input
    prev = injected_input(torch.flip(real, dims=(3,)), sizes, 1)
    mapped = inject(model, prev, 1, sizes, seed=0)[0]
    raw = inject(replace(model, colour_calibration=[]), prev, 1, sizes, seed=0)[0]
    real_mean = real.mean((0, 2, 3))
    raw_cast = (raw.mean((0, 2, 3)) - real_mean).abs().max()
    assert raw_cast > 0.01  # the tiny model adds one
    # most of it goes; the stored row of start scale 1, measured on samples whose scale 0
    # is the reconstruction's, took the reconstruction's cast away too and made it larger
    assert (mapped.mean((0, 2, 3)) - real_mean).abs().max() < 0.5 * raw_cast
    stored = calibrated(model, raw, 1)
    assert not torch.allclose(stored, mapped, atol=1e-3)


def test_injection_calibration_is_measured_once_per_model_and_start_scale(quick):
    store, model_id = quick
    model = store.load(model_id)
    sizes = list(model.pyramid.sizes[:model.num_scales])
    prev = injected_input(torch.flip(model.reals[-1], dims=(3,)), sizes, 1)
    first = inject(model, prev, 1, sizes, seed=0)[0]
    measured = model.injection_calibration[1]
    model.injection_calibration[1] = [1.0, 1.0, 1.0, 0.0, 0.0, 0.0]  # identity: the cache is read
    assert torch.equal(inject(model, prev, 1, sizes, seed=0)[0],
                       inject(replace(model, colour_calibration=[]), prev, 1, sizes, seed=0)[0])
    # a copy (a refined model is one) measures its own; a model loaded again measures the same
    assert replace(model).injection_calibration == {}
    again = store.load(model_id)
    assert torch.equal(inject(again, prev, 1, sizes, seed=0)[0], first)
    assert again.injection_calibration[1] == measured
