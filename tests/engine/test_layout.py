"""Samples laid out by the training image's patches (engine/layout.py): the choice measured
after training, the samples themselves, and Generate's `layout` field."""

import json

import numpy as np
import pytest
import torch

from singan_backend import actions
from singan_backend.engine import layout
from singan_backend.engine.config import preset
from singan_backend.engine.sample import sample, sample_sizes
from singan_backend.errors import BadOption, Cancelled
from singan_backend.store import ModelStore
from singan_protocol.messages import Generate, ProtocolError

# six scales (12 x 15 up to 32 x 40 px): room for LAYOUT_SCALE and scales above it
SIX_SCALES = dict(max_size=40, min_size=12, iters=10, seed=1)


@pytest.fixture(scope="module")
def chosen(tmp_path_factory, tiny_image):
    """(store, model_id) of a tiny default-preset model, which measures its layout."""
    store = ModelStore(tmp_path_factory.mktemp("layout"))
    return store, actions.train(store, tiny_image, config=preset("default", **SIX_SCALES),
                                device="cpu")


def _set_layout_scale(store, model_id, scale):
    path = store.folder(model_id) / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest["layout_scale"] = scale
    path.write_text(json.dumps(manifest))


def test_the_default_preset_measures_its_layout_and_keeps_the_rule(chosen):
    store, model_id = chosen
    model = store.load(model_id)
    own, patches = model.layout_swd
    assert own > 0 and patches > 0
    assert layout.layout_scale(model) == layout.LAYOUT_SCALE  # six scales: the usual one
    expected = layout.LAYOUT_SCALE if patches <= layout.CHOICE_GAIN * own else 0
    assert model.layout_scale == expected
    assert layout.choose_layout(model) == (model.layout_scale, model.layout_swd)  # repeatable
    assert store.info(model_id).layout == ("patches" if expected else "model")


def test_the_paper_preset_keeps_its_own_layout(trained):
    store, model_id = trained
    model = store.load(model_id)
    assert (model.layout_scale, model.layout_swd) == (0, [])
    assert store.info(model_id).to_dict()["layout"] == "model"


def test_a_small_model_takes_the_layout_lower_and_a_tiny_one_says_it_cannot(trained,
                                                                             tiny_image):
    store, model_id = trained  # three scales: injected at 1, one scale above it
    model = store.load(model_id)
    assert layout.layout_scale(model) == 1
    patches = actions.sample(store, model_id, seed=2, lift=False, layout="patches")
    assert not np.allclose(patches[0], actions.sample(store, model_id, seed=2, lift=False)[0])
    two = actions.train(store, tiny_image, config=preset("paper", max_size=24, min_size=18,
                                                           iters=5), device="cpu")
    assert store.info(two).num_scales == 2
    with pytest.raises(BadOption, match="has 2 scales.*use layout model"):
        actions.sample(store, two, lift=False, layout="patches")


def test_layout_samples_are_seeded_new_pictures_at_any_size(chosen):
    store, model_id = chosen
    model = store.load(model_id)
    wide = sample_sizes(model, height=24, width=70)
    first = layout.layout_samples(model, 2, wide, seed=4)
    again = layout.layout_samples(model, 1, wide, seed=5)  # sample i uses seed + i
    assert [tuple(s.shape) for s in first] == [(1, 3, 24, 70)] * 2
    assert torch.equal(first[1], again[0])
    assert not torch.equal(first[0], first[1])
    assert not torch.equal(first[0], sample(model, 1, wide, 0, 4)[0])  # not the own layout
    assert all(s.min() >= -1 and s.max() <= 1 for s in first)


def test_generate_layout_field_picks_the_samples(chosen):
    store, model_id = chosen
    model = store.load(model_id)
    sizes = sample_sizes(model)

    def as_arrays(tensors):
        return [((t[0].permute(1, 2, 0) + 1) / 2).numpy() for t in tensors]

    patches = as_arrays(layout.layout_samples(model, 2, sizes, seed=3))
    own = as_arrays(sample(model, 2, sizes, 0, 3))
    got = {name: actions.sample(store, model_id, n=2, seed=3, lift=False, layout=name)
           for name in ("patches", "model")}
    assert all(np.allclose(a, b, atol=1e-6) for a, b in zip(got["patches"], patches))
    assert all(np.allclose(a, b, atol=1e-6) for a, b in zip(got["model"], own))
    for scale, expected in ((layout.LAYOUT_SCALE, patches), (0, own)):  # nil: the model's
        _set_layout_scale(store, model_id, scale)
        result = actions.sample(store, model_id, n=2, seed=3, lift=False)
        assert all(np.allclose(a, b, atol=1e-6) for a, b in zip(result, expected)), scale
    # a start scale keeps the image's own layout below it: patches do not apply
    kept = actions.sample(store, model_id, seed=3, lift=False, start_scale=2, layout="patches")
    assert np.allclose(kept[0], as_arrays(sample(model, 1, sizes, 2, 3))[0], atol=1e-6)


def test_a_bad_layout_is_refused_with_its_choices(chosen):
    store, model_id = chosen
    with pytest.raises(BadOption, match="layout must be one of model, patches"):
        actions.sample(store, model_id, lift=False, layout="grid")
    with pytest.raises(ProtocolError, match="layout"):
        Generate.from_dict({"model_id": "m", "layout": "grid"})


def test_a_damaged_layout_scale_loads_as_the_models_own(chosen):
    store, model_id = chosen
    _set_layout_scale(store, model_id, 99)
    assert store.load(model_id).layout_scale == 0
    _set_layout_scale(store, model_id, layout.LAYOUT_SCALE)
    assert store.load(model_id).layout_scale == layout.LAYOUT_SCALE


def test_layout_sampling_can_be_cancelled(chosen):
    store, model_id = chosen
    with pytest.raises(Cancelled):
        actions.sample(store, model_id, lift=False, layout="patches", should_stop=lambda: True)


def test_patch_swd_ranks_what_it_is_shown():
    """Zero for the image itself; a shifted copy of the same texture is closer than noise."""
    gen = torch.Generator().manual_seed(0)
    x = torch.linspace(0, 12, 64)
    stripes = torch.sin(x[None, :] + x[:, None]).expand(3, 64, 64)[None] * 0.8
    shifted = torch.roll(stripes, 9, dims=-1)
    noise = torch.rand((1, 3, 64, 64), generator=gen) * 2 - 1
    assert layout.patch_swd([stripes], stripes) == 0
    assert 0 < layout.patch_swd([shifted], stripes) < layout.patch_swd([noise], stripes)
