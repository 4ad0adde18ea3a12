"""Super-resolution sizes for any factor, and animation frames that loop without a jump."""

import numpy as np
import pytest

from singan_backend import actions, dispatch
from singan_backend.engine import superres
from singan_backend.engine.config import preset
from singan_backend.errors import BadOption


def test_sr_steps_follow_the_paper():
    k, step = superres.sr_steps(4)
    assert k == 6 and step == pytest.approx(1.26, abs=0.001)
    assert superres.sr_steps(2)[0] == 3 and superres.sr_steps(1.05)[0] == 1
    config = superres.sr_config(superres.sr_preset("quick"), 4)
    assert (config.min_size, config.alpha, config.iters) == (18, 100, preset("quick").iters)
    assert config.rec_per_g_step and not preset("quick").rec_per_g_step
    assert config.scale_factor == pytest.approx(1 / step)
    assert superres.sr_config(preset("quick"), 1.01).scale_factor == superres.MAX_SCALE_FACTOR


@pytest.mark.parametrize("given", [{}, {"alpha": 5.0}, {"min_size": 25}, {"min_size": 25,
                                                                            "alpha": 10.0}])
def test_sr_defaults_fill_only_what_the_user_left_unset(given):
    expected = {**superres.SR_DEFAULTS, **given}
    config = superres.sr_preset("quick", **given, iters=None)
    assert (config.min_size, config.alpha) == (expected["min_size"], expected["alpha"])
    # The service's upscale request reads its options the same way (a preset's own value
    # given explicitly, like --min-size 25, is kept).
    config = dispatch.train_config({"preset": "quick", **given}, superres.SR_DEFAULTS)
    assert (config.min_size, config.alpha) == (expected["min_size"], expected["alpha"])


def test_sr_model_is_kind_sr(store, sr_id):
    info = store.info(sr_id)
    assert info.kind == "sr" and info.complete
    assert store.manifest(sr_id)["meta"]["sr_steps"] == 6


@pytest.mark.parametrize("factor", [2, 4, 3.5, 1.3])
def test_upscale_gives_exactly_round_factor_times_the_size(store, sr_id, sr_image, factor):
    out = actions.upscale(store, sr_image, factor, model_id=sr_id, seed=0)
    assert out.shape == (round(factor * 24), round(factor * 32), 3)
    odd = np.ascontiguousarray(sr_image[:17, :21])  # not the training image: any image goes
    assert actions.upscale(store, odd, factor, model_id=sr_id, seed=0).shape == (
        round(factor * 17), round(factor * 21), 3)


def test_upscale_same_seed_same_pixels(store, sr_id, sr_image):
    a = actions.upscale(store, sr_image, 2, model_id=sr_id, seed=4)
    assert np.array_equal(a, actions.upscale(store, sr_image, 2, model_id=sr_id, seed=4))


def test_upscale_bad_input(store, sr_id, model_id, sr_image):
    for factor in (1, 0.5, -2, float("nan")):
        with pytest.raises(BadOption, match="greater than 1"):
            actions.upscale(store, sr_image, factor, model_id=sr_id)
    with pytest.raises(BadOption, match="within 8192 px"):
        actions.upscale(store, sr_image, 400, model_id=sr_id)
    with pytest.raises(BadOption, match="not trained for super-resolution"):
        actions.upscale(store, sr_image, 2, model_id=model_id)


def test_animation_frame_count_size_and_loop(store, anim_id):
    frames = actions.animate(store, anim_id, frames=20, beta=0.9, seed=1)
    h, w = store.info(anim_id).finest
    assert len(frames) == 20 and all(f.shape == (h, w, 3) for f in frames)
    steps = [np.abs(a - b).mean() for a, b in zip(frames, frames[1:])]
    loop_gap = np.abs(frames[-1] - frames[0]).mean()
    assert min(steps) > 0  # it moves
    assert loop_gap <= 2 * np.median(steps)  # and the jump back to frame 0 is one more step
    again = actions.animate(store, anim_id, frames=20, beta=0.9, seed=1)
    assert all(np.array_equal(a, b) for a, b in zip(frames, again))


def test_animation_bad_input(store, anim_id):
    num_scales = store.info(anim_id).num_scales
    with pytest.raises(BadOption, match=f"between 0 and {num_scales - 1}"):
        actions.animate(store, anim_id, frames=3, start_scale=num_scales)
    with pytest.raises(BadOption, match="beta must be between 0 and 1"):
        actions.animate(store, anim_id, frames=3, beta=1.5)
    with pytest.raises(BadOption, match="between 1 and 1000"):
        actions.animate(store, anim_id, frames=0)
    with pytest.raises(BadOption, match="fps must be between 1 and 50"):
        dispatch.run(store, "animate", {"model_id": anim_id, "frames": 2, "fps": 0})


def test_dispatch_upscale_and_animate(store, sr_id, anim_id, sr_image):
    reply, images = dispatch.run(store, "upscale", {"factor": 2.5, "model_id": sr_id, "seed": 0},
                                 [sr_image])
    assert reply == {"model_id": sr_id, "width": 80, "height": 60}
    assert images[0].shape == (60, 80, 3)
    reply, frames = dispatch.run(store, "animate", {"model_id": anim_id, "frames": 4, "fps": 12})
    assert reply == {"fps": 12.0, "count": 4} and len(frames) == 4
