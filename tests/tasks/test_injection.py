"""Harmonization, editing and paint-to-image: sizes, the untouched background, seeds, errors."""

import numpy as np
import pytest
import torch

from singan_backend import actions, dispatch
from singan_backend.engine import inject
from singan_backend.engine.quantize import kmeans, quantize
from singan_backend.errors import BadImage, BadOption


def untouched_zone(mask: np.ndarray, task: str) -> np.ndarray:
    """Pixels farther from the mask than the dilation plus the blur can reach."""
    h, w = mask.shape
    radius, sigma = inject.mask_params(task, (h, w))
    reach = inject.mask_reach(radius, sigma)
    near = inject.dilate(torch.from_numpy(mask > 0.5).float()[None, None], reach)
    return near[0, 0].numpy() == 0


@pytest.mark.parametrize("task", ["harmonize", "edit"])
def test_pixels_outside_the_dilated_mask_equal_the_reference_exactly(store, model_id, scene,
                                                                     square_mask, task):
    composite = scene.copy()
    composite[12:20, 16:24] = (1.0, 0.0, 1.0)  # a magenta patch "pasted" in
    result = actions.inject(store, model_id, task, composite, square_mask, seed=0)[0]
    far = untouched_zone(square_mask, task)
    assert far.sum() > 200  # the test means something: most of the picture is far away
    assert result.image.shape == composite.shape and result.image.dtype == np.float32
    assert np.array_equal(result.image[far], composite[far])
    assert not np.array_equal(result.image[12:20, 16:24], composite[12:20, 16:24])


def test_soft_mask_is_zero_beyond_its_reach_and_one_inside():
    mask = torch.zeros(1, 1, 80, 100)
    mask[..., 30:40, 40:50] = 1
    radius, sigma = 4, 2.0
    m = inject.soft_mask(mask, (80, 100), radius, sigma)
    assert m.min() == 0 and m.max() == 1
    assert m[..., 33:37, 43:47].min() > 0.99
    near = inject.dilate((mask > 0.5).float(), inject.mask_reach(radius, sigma))
    assert torch.all(m[near == 0] == 0)
    assert (m > 0).sum() > (mask > 0).sum()  # dilated


def test_other_sizes_give_results_of_the_reference_size(store, model_id, scene, square_mask):
    wide = np.ascontiguousarray(np.concatenate([scene, scene[:, :20]], axis=1))  # (32, 60, 3)
    small_mask = square_mask[::2, ::2]  # another size: resized, not an error
    out = actions.harmonize(store, model_id, wide, small_mask, seed=1)
    assert out.shape == wide.shape
    # The mask lands on columns 24..36; the mask's reach at this size is under 8 px.
    assert np.array_equal(out[:, 48:], wide[:, 48:]) and np.array_equal(out[:, :16], wide[:, :16])
    blended, unmasked = actions.edit(store, model_id, wide, small_mask[..., None].repeat(3, 2),
                                     seed=1)
    assert blended.shape == unmasked.shape == wide.shape
    assert actions.paint(store, model_id, scene[:17, :23].copy(), seed=1).shape == (17, 23, 3)


def test_same_seed_same_pixels_and_n_results_differ(store, model_id, scene, square_mask):
    a = actions.harmonize(store, model_id, scene, square_mask, seed=7)
    b = actions.harmonize(store, model_id, scene, square_mask, seed=7)
    assert np.array_equal(a, b)
    results = actions.inject(store, model_id, "paint", scene, n=2, seed=7)
    assert len(results) == 2 and not np.array_equal(results[0].image, results[1].image)
    assert np.array_equal(results[0].image, actions.paint(store, model_id, scene, seed=7))


def test_default_start_scales_fit_every_model(store, model_id, scene, square_mask):
    num_scales = store.info(model_id).num_scales
    for task in ("harmonize", "edit", "paint"):
        result = actions.inject(store, model_id, task, scene, square_mask, seed=0)[0]
        assert result.start_scale == min(inject.DEFAULT_START_SCALE[task], num_scales - 1)
    assert inject.default_start_scale("harmonize", 3) == 2  # a small model: its top scale
    assert inject.default_start_scale("paint", 2) == 1


def test_paint_quantize_and_refine(store, model_id, scene):
    painting = np.zeros_like(scene)
    painting[:16] = (0.4, 0.6, 0.9)
    painting[16:] = (0.3, 0.5, 0.2)
    quantized = actions.paint(store, model_id, painting, start_scale=2, quantize=True, seed=0)
    refined = actions.paint(store, model_id, painting, start_scale=2, refine=True, seed=0)
    assert quantized.shape == refined.shape == painting.shape
    assert not np.array_equal(quantized, refined)  # scale 2 was retrained
    again = actions.paint(store, model_id, painting, start_scale=2, quantize=True, seed=0)
    assert np.array_equal(quantized, again)  # refine left the stored model alone


def test_paint_reports_the_share_of_colours_the_image_lacks(store, model_id, scene):
    own = actions.inject(store, model_id, "paint", scene, seed=0)[0]
    assert own.foreign_colours == 0.0  # the training image itself: every colour is its own
    sketch = scene.copy()
    sketch[:8] = (1.0, 0.0, 1.0)  # a magenta band over a quarter: no such colour in the scene
    foreign = actions.inject(store, model_id, "paint", sketch, seed=0)[0].foreign_colours
    assert 0.2 <= foreign <= 0.3
    quantized = actions.inject(store, model_id, "paint", sketch, seed=0, quantize=True)[0]
    assert quantized.foreign_colours is None  # snapped to the image's colours: nothing to say
    reply, _ = dispatch.run(store, "paint", {"model_id": model_id, "seed": 0}, [sketch])
    assert reply["foreign_colours"] == round(foreign, 3)
    harmonized = actions.inject(store, model_id, "harmonize", sketch,
                                np.ones(sketch.shape[:2], np.float32), seed=0)[0]
    assert harmonized.foreign_colours is None


def test_harmonize_keeps_the_models_brightness_and_cast_but_not_its_colour_fringes():
    gen = torch.Generator().manual_seed(0)
    reference = torch.rand(1, 3, 40, 60, generator=gen) * 2 - 1
    shading = torch.linspace(-0.3, 0.3, 60).expand(1, 1, 40, 60)  # a change of brightness
    cast = torch.tensor([0.1, -0.05, -0.05]).view(1, 3, 1, 1)  # a colour cast, mean 0
    fringes = torch.zeros(1, 3, 40, 60)
    fringes[:, 0, :, ::2], fringes[:, 2, :, ::2] = 0.2, -0.2  # violet / green stripes
    fringes[:, 0, :, 1::2], fringes[:, 2, :, 1::2] = -0.2, 0.2
    smoothed = inject.smooth_colour_change(reference + shading + cast + fringes, reference, 2.0)
    change = smoothed - reference
    torch.testing.assert_close(change.mean(dim=1, keepdim=True), shading.expand(1, 1, 40, 60))
    colour = change - change.mean(dim=1, keepdim=True)
    inside = colour[..., 8:-8, 8:-8]  # away from the borders' replicated pixels
    assert (inside - cast).abs().max() < 0.02  # the stripes (0.2) are gone, the cast stays


def test_kmeans_finds_the_colours_and_quantize_snaps_to_them():
    gen = torch.Generator().manual_seed(0)
    colours = torch.tensor([[-1.0, -1, -1], [1, 1, 1], [1, -1, -1], [-1, 1, -1], [-1, -1, 1]])
    pixels = colours.repeat_interleave(50, 0) + 0.01 * torch.randn(250, 3, generator=gen)
    centres = kmeans(pixels)
    assert centres.shape == (5, 3)
    assert torch.cdist(colours, centres).min(dim=1).values.max() < 0.05
    image = pixels.T.reshape(1, 3, 10, 25)
    snapped = quantize(image, centres)
    assert len(torch.unique(snapped[0].flatten(1).T, dim=0)) == 5
    assert len(kmeans(colours[:3])) == 3  # fewer colours than k: those colours


def test_bad_input_says_what_is_valid(store, model_id, scene, square_mask):
    num_scales = store.info(model_id).num_scales
    with pytest.raises(BadOption, match=f"between 1 and {num_scales - 1}"):
        actions.harmonize(store, model_id, scene, square_mask, start_scale=num_scales)
    with pytest.raises(BadOption, match=f"between 1 and {num_scales - 1}"):
        actions.paint(store, model_id, scene, start_scale=0)
    with pytest.raises(BadImage, match="mask is empty"):
        actions.harmonize(store, model_id, scene, np.zeros(scene.shape[:2], np.float32))
    with pytest.raises(BadImage, match="no pixels"):
        actions.paint(store, model_id, np.zeros((0, 10, 3), np.float32))
    with pytest.raises(BadImage, match="needs a mask"):
        actions.edit(store, model_id, scene, None)
    with pytest.raises(BadOption, match="n must be between 1 and 64"):
        actions.inject(store, model_id, "paint", scene, n=0)
    with pytest.raises(BadOption, match="paint-to-image only"):
        actions.inject(store, model_id, "harmonize", scene, square_mask, quantize=True)


def test_dispatch_handlers_take_grey_or_rgb_masks(store, model_id, scene, square_mask):
    body = {"model_id": model_id, "seed": 3, "n": 2}
    reply, images = dispatch.run(store, "edit", body, [scene, square_mask])
    assert reply["count"] == 2 and len(images) == 4  # [blended, unmasked] per result
    reply, images = dispatch.run(store, "harmonize", {"model_id": model_id, "seed": 3},
                                 [scene, np.repeat(square_mask[..., None], 3, axis=2)])
    assert len(images) == 1 and images[0].shape == scene.shape
    assert np.array_equal(images[0], actions.harmonize(store, model_id, scene, square_mask,
                                                       seed=3))
    with pytest.raises(BadImage, match="composite and its mask"):
        dispatch.run(store, "harmonize", {"model_id": model_id}, [scene])
    with pytest.raises(BadOption, match="'quantize' must be bool"):
        dispatch.run(store, "paint", {"model_id": model_id, "quantize": 1}, [scene])
