"""The patch engine (GPNN lift and instant) on a 200 x 120 picture made here."""

from dataclasses import replace

import pytest
import torch

from singan_backend.demo import demo_image
from singan_backend.engine import patch
from singan_backend.engine.progress import Tracker
from singan_backend.errors import Cancelled
from singan_backend.images import to_tensor


@pytest.fixture(scope="module")
def source() -> torch.Tensor:
    return to_tensor(demo_image(200, 120, seed=5))  # (1, 3, 120, 200)


def _blurred_small(source: torch.Tensor, size=(30, 50)) -> torch.Tensor:
    return patch._resize(source, size)


def _w1(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """The distance between the value distributions of two channels (1-D Wasserstein)."""
    ranks = torch.linspace(0, 1, a.numel())
    return (a.flatten().sort().values - torch.quantile(b.flatten(), ranks)).abs().mean()


@pytest.fixture(scope="module")
def instants(source) -> list[torch.Tensor]:
    """Two instant results at the source's size, seeds 0 and 1 (each run costs seconds)."""
    return [patch.instant(source, (120, 200), seed=seed) for seed in (0, 1)]


@pytest.fixture(scope="module")
def lifted(source) -> torch.Tensor:
    return patch.lift(_blurred_small(source), source, (120, 200), seed=0)


@pytest.mark.parametrize("size", [(57, 133), (131, 71)])
def test_instant_has_the_asked_size(source, size):
    out = patch.instant(source, size, seed=1)
    assert out.shape == (1, 3, *size)
    assert out.min() >= -1 and out.max() <= 1


@pytest.mark.parametrize("size", [(97, 151), (200, 90)])
def test_lift_has_the_asked_size(source, size):
    out = patch.lift(_blurred_small(source), source, size, seed=1)
    assert out.shape == (1, 3, *size)


def test_lift_to_a_smaller_size_only_resizes(source):
    image = _blurred_small(source)
    assert torch.equal(patch.lift(image, source, (20, 40)), patch._resize(image, (20, 40)))


def test_same_seed_same_result(source, instants, lifted):
    assert torch.equal(patch.instant(source, (120, 200), seed=0), instants[0])
    assert torch.equal(patch.lift(_blurred_small(source), source, (120, 200), seed=0), lifted)


def test_chunks_and_bands_do_not_change_the_result(source, instants, lifted):
    # Small chunks / bands bound memory; they must give the very same picture.
    small = patch.PatchConfig(chunk=97, band_pixels=700, feature_bytes=0)
    assert torch.equal(patch.instant(source, (120, 200), seed=1, config=small), instants[1])
    image = _blurred_small(source)
    assert torch.equal(patch.lift(image, source, (120, 200), config=small), lifted)
    nnf = patch.exact_nnf(image, source[..., :40, :60], alpha=0.005)
    assert torch.equal(patch.exact_nnf(image, source[..., :40, :60], alpha=0.005, chunk=33), nnf)
    # Rows shared by two bands are summed in another order: equal to rounding.
    assert torch.allclose(patch.fold_nnf(nnf, source[..., :40, :60], band_rows=5),
                          patch.fold_nnf(nnf, source[..., :40, :60]), atol=1e-6)


def test_exact_search_finds_the_patches_themselves(source):
    nnf = patch.exact_nnf(source[..., :40, :60], source[..., :40, :60], chunk=100)
    assert torch.equal(nnf.view(-1), torch.arange(nnf.numel()))


def test_patchmatch_approaches_the_exact_search(source):
    query = patch._resize(patch._resize(source, (60, 100)), (120, 200))
    grid = patch._grid((120, 200))
    config = patch.PatchConfig()
    field = patch._random_field(grid, grid, torch.Generator().manual_seed(0))
    field = patch.patchmatch(query, source, field, 8, 200, torch.Generator().manual_seed(0),
                             config)
    rebuilt = patch.fold_nnf(field.flat(grid[1]), source)
    assert (rebuilt - source).abs().mean() < 0.5 * (query - source).abs().mean()


def test_lift_beats_bicubic_on_a_blurred_downscale(source, lifted):
    image = _blurred_small(source)  # what a model-scale result looks like: 1/4 of the size
    bicubic = patch._resize(image, (120, 200))
    assert (lifted - source).abs().mean() < 0.5 * (bicubic - source).abs().mean()


def test_lift_keeps_the_samples_tone(source):
    # A sample redder than the source: the source's patches bring detail, but keep_low keeps
    # the sample's colour rather than falling back to the source's (before the tone curve).
    image = _blurred_small(source).clone()
    image[:, 0] = (image[:, 0] + 0.4).clamp(-1, 1)
    out = patch.lift(image, source, (120, 200), seed=0,
                     config=patch.PatchConfig(match_tone=False))
    assert (out.mean((2, 3)) - image.mean((2, 3))).abs().max() < 0.05
    plain = patch.lift(image, source, (120, 200), seed=0,
                       config=patch.PatchConfig(keep_low=0.0, match_tone=False))
    assert (plain.mean((2, 3)) - image.mean((2, 3))).abs().max() > 0.1


def test_lift_spreads_colours_as_the_source_in_the_samples_layout(source):
    # The same redder sample, mirrored so that its layout is not the source's: the tone
    # curve gives each channel the source's spread of values, and leaves where things are
    # (the result's coarse picture) the sample's.
    image = _blurred_small(source).flip(-1).clone()
    image[:, 0] = (image[:, 0] + 0.4).clamp(-1, 1)
    out = patch.lift(image, source, (120, 200), seed=0)
    for c in range(3):
        assert _w1(out[0, c], source[0, c]) < 0.005

    def layout(image):  # where it is light and dark, in an 8 x 12 grey picture
        return patch._resize(image, (8, 12)).mean(1).flatten()

    def likeness(a, b):
        return torch.corrcoef(torch.stack([layout(a), layout(b)]))[0, 1]

    assert likeness(out, image) > 0.9
    assert likeness(out, image) > likeness(out, source) + 0.05


def test_match_histogram_gives_the_reference_values_in_the_images_order(source):
    g = torch.Generator().manual_seed(0)
    image = torch.rand((1, 3, 50, 70), generator=g) * 0.5 - 0.7
    out = patch.match_histogram(image, source)

    for c in range(3):
        assert _w1(image[0, c], source[0, c]) > 0.3
        assert _w1(out[0, c], source[0, c]) < 0.005
        order = torch.argsort(image[0, c].flatten())
        assert (out[0, c].flatten()[order].diff() >= 0).all()  # a monotone curve
    assert torch.equal(patch.match_histogram(source, source), source)
    assert torch.equal(patch.match_histogram(image, source, band=333), out)  # bands alike


def test_lift_rebuilds_a_soft_sample_from_below_its_scale(source):
    # A model's sample is often soft at its own scale: starting the lift a few levels below
    # rebuilds that structure from the source's patches, where starting at the sample's
    # scale keeps the softness and only adds texture on top.
    soft = patch._blur(_blurred_small(source), 2.0)
    below = patch.lift(soft, source, (120, 200), seed=0)
    at_scale = patch.lift(soft, source, (120, 200), seed=0,
                          config=patch.PatchConfig(lift_below=0))
    assert patch.PatchConfig().lift_below > 0
    assert (below - source).abs().mean() < 0.9 * (at_scale - source).abs().mean()


def test_weighted_fold_of_equal_weights_is_the_mean(source):
    nnf = patch.exact_nnf(_blurred_small(source), source[..., :40, :60])
    values = source[..., :40, :60]
    assert torch.allclose(patch.fold_nnf(nnf, values, weights=torch.ones(nnf.shape)),
                          patch.fold_nnf(nnf, values), atol=1e-6)


def test_instant_gives_new_pictures(source, instants):
    first, second = instants
    assert (first - second).abs().mean() > 0.05
    for out in instants:  # not the source, nor its mirror
        assert (out - source).abs().mean() > 0.05
        assert (out - source.flip(-1)).abs().mean() > 0.05


def test_instant_uses_the_source_colours(source, instants):
    for out in instants:  # spread as the source's, by the tone curve (PatchConfig.match_tone)
        assert max(_w1(out[0, c], source[0, c]) for c in range(3)) < 0.005
    raw = patch.instant(source, (120, 200), seed=0, config=patch.PatchConfig(match_tone=False))
    assert (raw.mean((2, 3)) - source.mean((2, 3))).abs().max() < 0.15
    assert torch.equal(patch.match_histogram(raw, source), instants[0])


def test_cancel_raises_cancelled(source):
    stop = Tracker("instant", should_stop=lambda: True)
    with pytest.raises(Cancelled):
        patch.instant(source, (120, 200), tracker=stop)
    with pytest.raises(Cancelled):
        patch.lift(_blurred_small(source), source, (120, 200), tracker=stop)


def test_progress_reaches_the_last_level(source):
    seen = []
    tracker = Tracker("instant", on_progress=seen.append, rate_hz=1e9)
    patch.instant(source, (60, 100), tracker=tracker, config=replace(patch.PatchConfig(),
                                                                     coarse_passes=2))
    assert seen and seen[-1].scale == seen[-1].num_scales - 1
