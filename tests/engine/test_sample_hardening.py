"""Sampling stops between tiles and scales when cancelled, and gives the same bytes for the
same seed whatever the number of threads."""

import pytest
import torch

from singan_backend.engine.progress import Tracker
from singan_backend.engine.sample import sample, sample_sizes
from singan_backend.errors import BadOption, Cancelled


def test_cancel_reaches_a_large_sample_between_tiles(trained, monkeypatch):
    store, model_id = trained
    model = store.load(model_id)
    sizes = sample_sizes(model, height=300, width=500)
    monkeypatch.setattr("singan_backend.engine.singan.TILE_PIXELS", 64 * 64)  # 40 tiles a scale
    asked = []

    def should_stop() -> bool:
        asked.append(1)
        return len(asked) > 3  # cancelled just after the sample began

    with pytest.raises(Cancelled):
        sample(model, 1, sizes, seed=0, tracker=Tracker("sample", should_stop=should_stop))
    assert len(asked) == 4  # stopped at the first check after the cancel, not at the end


def test_8192_a_side_for_a_model_that_is_not_square(trained):
    store, model_id = trained
    model = store.load(model_id)
    top_h, top_w = model.pyramid.sizes[model.num_scales - 1]
    assert top_h != top_w
    assert sample_sizes(model, height=8192, width=8192)[-1] == (8192, 8192)
    assert sample_sizes(model, scale_v=8192 / top_h, scale_h=8192 / top_w)[-1] == (8192, 8192)
    with pytest.raises(BadOption, match="8192"):
        sample_sizes(model, scale_v=8200 / top_h)


def test_same_seed_same_bytes_whatever_the_thread_count(trained, monkeypatch):
    """The README's promise with the thread count varied (the backend's thread policy changes
    it with the load): every kernel on the sampling path (oneDNN convs, antialiased resize,
    batch norm, tanh) must reduce in an order that does not depend on it."""
    from singan_backend import actions

    store, model_id = trained
    monkeypatch.setattr("singan_backend.engine.singan.TILE_PIXELS", 96 * 96)  # tiled, too
    threads = torch.get_num_threads()
    results = []
    try:
        for n in (1, 2, 3, 1):
            torch.set_num_threads(n)
            results.append([(s * 255 + 0.5).astype("uint8").tobytes() for s in
                            actions.sample(store, model_id, n=2, width=200, height=150,
                                           seed=7)])
    finally:
        torch.set_num_threads(threads)
    assert all(r == results[0] for r in results)
