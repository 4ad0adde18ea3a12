import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from singan_backend import actions
from singan_backend.engine.config import preset
from singan_backend.engine.pyramid import resize
from singan_backend.engine.sample import noise_generator, sample, sample_sizes
from singan_backend.engine.singan import (
    apply_generator,
    random_noise,
    reconstruction_noise,
    run_chain,
)
from singan_backend.errors import BadOption, Cancelled
from singan_backend.store import ModelStore

TINY = dict(max_size=32, min_size=18, iters=30, seed=1)  # as in conftest.py


def test_tiny_training_produces_a_complete_model(trained):
    store, model_id = trained
    model = store.load(model_id)
    assert model.complete and model.num_scales == 3
    assert model.noise_amps[0] == 1.0
    info = store.info(model_id)
    assert info.trained_scales == info.num_scales == 3


def test_noise_amplitude_is_a_tenth_of_the_reconstruction_rmse(trained):
    store, model_id = trained
    model = store.load(model_id)
    for n in (1, 2):
        rec = run_chain(model, list(model.pyramid.sizes),
                        lambda k, s: reconstruction_noise(model, k, s), last=n - 1)
        rmse = math.sqrt(F.mse_loss(resize(rec, model.pyramid.sizes[n]), model.reals[n]).item())
        assert model.noise_amps[n] == pytest.approx(0.1 * rmse, rel=1e-4)


def reconstruction_error(model) -> float:
    """MSE of z_opt's image through every scale against the real, over the real's variance
    (1: no better than a flat grey image)."""
    with torch.no_grad():
        rec = run_chain(model, list(model.pyramid.sizes),
                        lambda k, s: reconstruction_noise(model, k, s))
    return F.mse_loss(rec, model.reals[-1]).item() / model.reals[-1].var().item()


def test_reconstruction_is_close_to_the_real_image(trained):
    store, model_id = trained
    # 30 iterations already learn the reconstruction far better than a grey image would
    assert reconstruction_error(store.load(model_id)) < 0.5


def test_default_preset_learns_the_reconstruction_from_one_g_step_in_three(tmp_path,
                                                                           tiny_image):
    """`default` puts the reconstruction loss in the first G step of each iteration only
    (and scores D without batch norm, one coarser chain per iteration): still learned."""
    config = preset("default", **TINY)
    assert not config.rec_per_g_step and not config.prev_per_d_step
    store = ModelStore(tmp_path)
    model_id = actions.train(store, tiny_image, config=config, device="cpu")
    assert reconstruction_error(store.load(model_id)) < 0.5


def test_same_seed_same_pixels_other_seed_other_pixels(trained):
    store, model_id = trained
    a = actions.sample(store, model_id, n=2, seed=5)
    b = actions.sample(store, model_id, n=2, seed=5)
    c = actions.sample(store, model_id, n=1, seed=6)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert np.array_equal(a[1], c[0])  # sample i uses seed + i
    assert not np.array_equal(a[0], a[1])


def test_no_sample_seed_draws_the_reconstruction_noise(trained):
    """z_opt is drawn with seed x 1000 (train._seed): a sample seeded the same way drew it
    too and gave the training image's layout as a "random" sample."""
    store, model_id = trained
    model = store.load(model_id)
    size = model.pyramid.sizes[0]
    z_opt = reconstruction_noise(model, 0, size)
    for seed in (0, model.config.seed, model.config.seed * 1000):
        drawn = random_noise(model, 0, size, noise_generator(model, seed))
        assert not torch.allclose(drawn, z_opt), seed


def test_samples_at_any_size_and_start_scale(trained):
    store, model_id = trained
    (wide,) = actions.sample(store, model_id, width=70, height=20, seed=0)
    assert wide.shape == (20, 70, 3)
    # scale factors are multiples of the source's size (the kept full-resolution image) ...
    (scaled,) = actions.sample(store, model_id, scale_h=1.5, scale_v=0.5, seed=0)
    h, w = store.source_size(model_id)
    assert scaled.shape == (round(h * 0.5), round(w * 1.5), 3)
    # ... and of the finest scale's size with lift=False (the model's own pixels)
    (scaled,) = actions.sample(store, model_id, scale_h=1.5, scale_v=0.5, seed=0, lift=False)
    h, w = store.info(model_id).finest
    assert scaled.shape == (round(h * 0.5), round(w * 1.5), 3)
    # a higher start scale keeps the layout: closer to the training image than scale 0
    real = store.load(model_id).reals[-1]
    real = ((real[0].permute(1, 2, 0) + 1) / 2).numpy()
    free = np.mean([np.abs(s - real).mean()
                    for s in actions.sample(store, model_id, n=4, seed=1, lift=False)])
    kept = np.mean([np.abs(s - real).mean()
                    for s in actions.sample(store, model_id, n=4, seed=1, start_scale=2,
                                            lift=False)])
    assert kept < free
    with pytest.raises(BadOption, match="between 0 and 2"):
        actions.sample(store, model_id, start_scale=3)


def test_tiled_generation_equals_untiled(trained):
    store, model_id = trained
    model = store.load(model_id)
    gen = model.generators[-1]
    prev = torch.rand(1, 3, 45, 61) * 2 - 1
    z = torch.randn(1, 3, 55, 71) * 0.1
    with torch.no_grad():
        whole = apply_generator(gen, z, prev)
        tiled = apply_generator(gen, z, prev, tile_pixels=16 * 16)
    assert torch.allclose(whole, tiled, atol=1e-5)


def test_large_sample_is_generated_in_tiles(trained, monkeypatch):
    store, model_id = trained
    model = store.load(model_id)
    sizes = sample_sizes(model, height=300, width=500)
    monkeypatch.setattr("singan_backend.engine.singan.TILE_PIXELS", 64 * 64)
    (out,) = sample(model, 1, sizes, seed=0)
    assert out.shape == (1, 3, 300, 500)
    assert out.abs().max() <= 1


@pytest.mark.parametrize("width,height", [(0, 10), (-5, 10), (10, 9000)])
def test_impossible_sizes_are_refused(trained, width, height):
    store, model_id = trained
    with pytest.raises(BadOption, match="between 1 and 8192"):
        actions.sample(store, model_id, width=width, height=height)


@pytest.mark.parametrize("d_norm", ["batch", "none"])
def test_interrupted_training_resumes_to_the_same_model(tmp_path, tiny_image, d_norm):
    store = ModelStore(tmp_path)
    config = preset("paper", **{**TINY, "iters": 8, "d_norm": d_norm})
    # cancel in the middle of the second scale
    calls = []

    def stop() -> bool:
        calls.append(1)
        return len(calls) > 8 + 4

    with pytest.raises(Cancelled):
        actions.train(store, tiny_image, name="cut", config=config, device="cpu",
                      should_stop=stop)
    (cut,) = store.list()
    assert cut.trained_scales == 1 and not cut.complete
    assert store.unfinished() == [cut.id]
    with pytest.raises(BadOption, match="--resume"):
        actions.sample(store, cut.id)
    actions.train(store, None, resume=cut.id, device="cpu")
    whole = actions.train(store, tiny_image, name="whole", config=config, device="cpu")
    resumed_sample = actions.sample(store, cut.id, seed=3)[0]
    whole_sample = actions.sample(store, whole, seed=3)[0]
    assert np.allclose(resumed_sample, whole_sample, atol=1e-5)
    with pytest.raises(BadOption, match="already fully trained"):
        actions.train(store, None, resume=cut.id, device="cpu")


def test_progress_reports_increase_and_end_at_the_last_scale(tmp_path, tiny_image):
    seen = []
    actions.train(ModelStore(tmp_path), tiny_image, config=preset("quick", **{**TINY, "iters": 5}),
                  device="cpu", on_progress=seen.append)
    fractions = [p.fraction for p in seen]
    assert fractions == sorted(fractions)
    assert seen[-1].scale == seen[-1].num_scales - 1 and seen[-1].iteration == 5
    assert seen[-1].eta_s == pytest.approx(0.0)


def test_authors_z_opt_redraw_keeps_the_last_draw(tmp_path, tiny_image):
    store = ModelStore(tmp_path)
    config = preset("paper", **{**TINY, "iters": 3, "fixed_z_opt": False})
    model_id = actions.train(store, tiny_image, config=config, device="cpu")
    model = store.load(model_id)
    fixed = store.load(actions.train(store, tiny_image, config=preset("paper", **{**TINY, "iters": 3}),
                                     device="cpu"))
    assert model.z_rec.shape == fixed.z_rec.shape
    assert not torch.equal(model.z_rec, fixed.z_rec)  # the saved z_opt is a later draw
    (out,) = actions.sample(store, model_id, seed=0, lift=False)
    assert out.shape == (24, 32, 3)


def test_weight_average_is_the_trained_generator(tiny_image):
    """g_ema > 0: a scale's trained G is the moving average of its weights, which after a few
    iterations sits much nearer the initial weights than the live G does."""
    from singan_backend.engine import train as engine_train
    from singan_backend.images import to_tensor

    def moved_from_start(**options) -> float:
        config = preset("paper", **{**TINY, "iters": 5, **options})
        model = engine_train.new_model(to_tensor(tiny_image), config, torch.device("cpu"))
        start = engine_train._nets_for_scale(model, 0)[0]  # seeded: the same initial weights
        trained, _, _ = engine_train.train_scale(model, 0, lambda it: None)
        return sum(float((a - b).detach().pow(2).sum())
                   for a, b in zip(start.parameters(), trained.parameters()))

    live, average = moved_from_start(), moved_from_start(g_ema=0.9)
    assert live > 0
    assert average < 0.5 * live


def test_training_can_stop_after_the_coarse_scales_and_go_on(tiny_image):
    from singan_backend.engine import train as engine_train
    from singan_backend.images import to_tensor

    config = preset("paper", **{**TINY, "iters": 2})
    model = engine_train.new_model(to_tensor(tiny_image), config, torch.device("cpu"))
    engine_train.train(model, scales=2)
    assert model.num_scales == 2 and not model.complete and len(model.train_seconds) == 2
    engine_train.train(model)
    assert model.complete and model.num_scales == model.pyramid.num_scales == 3
