import math

import pytest
import torch

from singan_backend.engine.config import TrainConfig, preset
from singan_backend.engine.models import (
    Discriminator,
    Generator,
    init_weights,
    layer_widths,
    nets_for_scale,
    width_at,
)
from singan_backend.engine.pyramid import build_reals, plan_pyramid
from singan_backend.engine.train import critic_scores
from singan_backend.errors import BadImage, BadOption


def test_balloons_pyramid_matches_the_paper():
    # balloons.png is 248 x 186: 9 scales, factor 0.7781, 34 x 25 up to 248 x 186.
    p = plan_pyramid(186, 248, max_size=250, min_size=25, scale_factor=0.75)
    assert p.num_scales == 9
    assert p.scale_factor == pytest.approx(0.7781, abs=1e-4)
    assert p.sizes[0] == (25, 34)
    assert p.sizes[-1] == (186, 248)
    assert all(a[0] < b[0] and a[1] < b[1] for a, b in zip(p.sizes, p.sizes[1:]))


def test_max_size_64_gives_the_benchmark_pyramid():
    p = plan_pyramid(186, 248, max_size=64, min_size=25, scale_factor=0.75)
    assert p.sizes[-1] == (48, 64)
    assert p.sizes[0] == (25, 34)
    assert p.num_scales == 4


def test_too_small_image_is_refused_with_the_limit():
    with pytest.raises(BadImage, match="at least min_size = 25"):
        plan_pyramid(20, 40, max_size=250, min_size=25, scale_factor=0.75)


def test_widths_double_every_four_scales():
    assert [width_at(n) for n in range(10)] == [32, 32, 32, 32, 64, 64, 64, 64, 128, 128]


def test_body_narrows_to_min_nfc_as_the_authors_nets():
    assert layer_widths(32) == [32, 32, 32, 32]
    assert layer_widths(64) == [64, 32, 32, 32]
    assert layer_widths(128) == [128, 64, 32, 32]
    g, d = Generator(128), Discriminator(128)
    convs = [m for m in g.net.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [(c.in_channels, c.out_channels) for c in convs] == [
        (3, 128), (128, 64), (64, 32), (32, 32), (32, 3)]
    assert [m.out_channels for m in d.net.modules() if isinstance(m, torch.nn.Conv2d)] == [
        128, 64, 32, 32, 1]


def test_options_stored_before_min_nfc_keep_the_constant_width():
    old = TrainConfig.from_dict({"nfc": 32, "max_nfc": 128})  # no min_nfc in the manifest
    assert old.min_nfc == 128 and layer_widths(128, 5, old.min_nfc) == [128] * 4
    assert layer_widths(64, 5, old.min_nfc) == [64] * 4
    assert TrainConfig.from_dict(preset("paper").to_dict()).min_nfc == 32


def test_generator_and_discriminator_shapes():
    g, d = Generator(32), Discriminator(32)
    prev = torch.randn(1, 3, 20, 27)
    z = torch.randn(1, 3, 30, 37)  # padded by 5 px on each side
    out = g(z, prev)
    assert out.shape == prev.shape
    assert d(out).shape == (1, 1, 10, 17)  # receptive field 11: H - 10, W - 10
    # residual: the output is prev plus tanh of the body
    body = torch.tanh(g.net(z + torch.nn.functional.pad(prev, [5] * 4)))
    assert torch.allclose(g(z, prev) - prev, body, atol=1e-6)


def test_reals_are_resized_to_every_scale():
    image = torch.rand(1, 3, 60, 80) * 2 - 1
    p = plan_pyramid(60, 80, max_size=40, min_size=12, scale_factor=0.75)
    reals = build_reals(image, p)
    assert [tuple(r.shape[-2:]) for r in reals] == list(p.sizes)
    assert all(r.abs().max() <= 1 for r in reals)


def test_joint_critic_sees_a_contrast_difference_that_separate_batches_hide():
    """D's batch norm on a batch of one rescales each image by its own statistics, so a
    fake that is the real at lower contrast scores like the real; scored in one batch it
    does not. Without batch norm ("none") D has no BatchNorm2d at all."""
    torch.manual_seed(0)
    d = Discriminator(32)
    init_weights(d)
    d.train()
    real = torch.rand(1, 3, 25, 34) * 2 - 1
    faded = 0.7 * real
    with torch.no_grad():
        apart = critic_scores(d, real, faded, together=False)
        joint = critic_scores(d, real, faded, together=True)
    assert torch.allclose(apart[0], apart[1], atol=1e-4)
    assert not torch.allclose(joint[0], joint[1], atol=1e-3)
    plain = nets_for_scale(preset("default", d_norm="none"), 0)[1]
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in plain.modules())
    with torch.no_grad():  # so scoring in one batch (the faster) changes nothing without it
        one_batch = critic_scores(plain, real, faded, together=True)
        apart = critic_scores(plain, real, faded, together=False)
    assert torch.allclose(torch.stack(one_batch), torch.stack(apart), atol=1e-5)
    with pytest.raises(BadOption, match="d_norm"):
        preset("default", d_norm="layer")


def test_schedule_options_are_checked():
    assert preset("default", lr_gamma=0.01, g_ema=0.99).g_ema == 0.99
    for bad in ({"lr_gamma": 0.0}, {"lr_gamma": 1.5}, {"g_ema": 1.0}, {"g_ema": -0.1}):
        with pytest.raises(BadOption):
            preset("default", **bad)


def test_presets_and_overrides():
    assert preset("paper").iters == 2000 and preset("paper").d_steps == 3
    assert preset("paper", iters=10).iters == 10
    with pytest.raises(BadOption, match="unknown preset"):
        preset("fast")
    with pytest.raises(BadOption, match="iters"):
        preset("quick", iters=0)
    assert math.isclose(preset("paper").lr_drop * 2000, 1600)
