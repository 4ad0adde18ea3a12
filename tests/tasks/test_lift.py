"""Results at the source's resolution (issue 13): the kept source, sizes in its pixels, the
lift, --no-lift, masked tasks exact outside the dilated mask, animation frames, instant
variations, and models from before (no kept source) working as they did.

A 80 x 48 source and a 40 px model (finest scale 40 x 24): every lift doubles the model's
scale, which is what a 1600 px photo and a 250 px model do at 6.4 times the cost.
"""

import json
import shutil

import numpy as np
import pytest
import torch
from PIL import Image

from singan_backend import actions
from singan_backend.demo import demo_image
from singan_backend.engine import inject as inject_engine
from singan_backend.engine.config import preset
from singan_backend.engine.pyramid import resize
from singan_backend.engine.sample import sample as sample_model
from singan_backend.engine.sample import sample_sizes
from singan_backend.errors import CorruptModel
from singan_backend.images import save_image, to_array, to_tensor

from .conftest import TINY

SOURCE_HW = (48, 80)
FINEST_HW = (24, 40)
BOX = (slice(18, 30), slice(34, 46))  # the pasted block, rows and columns


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    """An 8-bit picture (48, 80, 3), as a PNG, a JPEG or an 8-bit Krita layer gives."""
    return (np.round(demo_image(80, 48, seed=7) * 255) / 255).astype(np.float32)


@pytest.fixture(scope="module")
def big_id(store, photo) -> str:
    return actions.train(store, photo, name="big", config=preset("quick", **TINY), device="cpu")


@pytest.fixture(scope="module")
def old_id(store, big_id) -> str:
    """big_id as a model trained before sources were kept: no source file, no manifest entry."""
    old = "old-big-000000"
    shutil.copytree(store.root / big_id, store.root / old)
    (store.root / old / "source.png").unlink()
    path = store.root / old / "manifest.json"
    manifest = json.loads(path.read_text())
    del manifest["source_file"]
    manifest.update(id=old, name="old-big")
    path.write_text(json.dumps(manifest))
    return old


@pytest.fixture(scope="module")
def composite(photo) -> tuple[np.ndarray, np.ndarray]:
    """(the photo with a flat block pasted in, the block's mask)."""
    image = photo.copy()
    image[BOX] = (0.9, 0.2, 0.1)
    mask = np.zeros(SOURCE_HW, np.float32)
    mask[BOX] = 1
    return image, mask


# -- the kept source -------------------------------------------------------------------------
def test_train_keeps_the_source_at_its_own_size(store, big_id, photo):
    assert (store.root / big_id / "source.png").exists()
    assert store.source_size(big_id) == SOURCE_HW
    assert tuple(store.info(big_id).finest) == FINEST_HW
    source = store.load_source(big_id)
    assert source.shape == (1, 3, *SOURCE_HW) and source.dtype == torch.float32
    assert np.abs(to_array(source) - photo).max() < 1e-6  # 8-bit values: a lossless PNG


def test_a_source_that_is_not_8_bit_is_kept_as_float16(store, big_id):
    copy = "f16-copy-000000"
    shutil.copytree(store.root / big_id, store.root / copy)
    fine = to_tensor(demo_image(30, 20, seed=2))  # float values between the 8-bit levels
    store.save_source(copy, fine)
    assert (store.root / copy / "source.pt").exists()
    assert store.source_size(copy) == (20, 30)
    assert (store.load_source(copy) - fine).abs().max() < 2e-3  # float16: 11 bits


def test_a_damaged_source_is_a_clear_error(store, big_id):
    copy = "damaged-copy-000000"
    shutil.copytree(store.root / big_id, store.root / copy)
    (store.root / copy / "source.png").write_bytes(b"not a png")
    with pytest.raises(CorruptModel, match="source.png cannot be read"):
        actions.sample(store, copy, seed=1, device="cpu")
    path = store.root / copy / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest["source_file"]["file"] = "../../elsewhere.png"  # never a path the manifest picks
    path.write_text(json.dumps(manifest))
    with pytest.raises(CorruptModel, match="source file"):
        store.load_source(copy)


def test_a_source_over_8192_px_is_shrunk_with_a_warning(caplog):
    wide = torch.zeros(1, 3, 4, 9000)
    assert actions.kept_source(wide).shape == (1, 3, 4, 8192)
    assert "8192" in caplog.text
    assert actions.kept_source(torch.zeros(1, 3, 4, 8192)).shape[-1] == 8192


# -- samples -----------------------------------------------------------------------------------
def test_a_sample_has_the_source_size_by_default(store, big_id):
    a, b = actions.sample(store, big_id, n=2, seed=3, device="cpu")
    assert a.shape == b.shape == (*SOURCE_HW, 3)
    assert not np.array_equal(a, b)
    again = actions.sample(store, big_id, n=1, seed=3, device="cpu")[0]
    assert np.array_equal(a, again)  # deterministic for a seed


def test_sample_sizes_are_the_source_pixels(store, big_id):
    def shape(**size):
        return actions.sample(store, big_id, seed=1, device="cpu", **size)[0].shape[:2]

    assert shape(width=120, height=40) == (40, 120)
    assert shape(width=40) == (24, 40)  # one side alone keeps the source's aspect
    assert shape(scale_h=1.5) == (48, 120)  # multiples of the training size, as before


def test_no_lift_is_the_model_scale_sample_of_before(store, big_id):
    model = actions.load(store, big_id, "cpu")
    for width in (None, 50):
        before = to_array(sample_model(model, 1, sample_sizes(model, None, width), 0, 5)[0])
        now = actions.sample(store, big_id, seed=5, width=width, lift=False, layout="model",
                             device="cpu")[0]  # the model's own layout, as before
        assert np.array_equal(now, before)
    assert before.shape == (30, 50, 3)  # --width in the model's pixels, as before


def test_the_lift_keeps_the_model_sample_it_starts_from(store, big_id):
    def at_model_scale(image):
        return to_array(resize(to_tensor(image), FINEST_HW))

    lifted = at_model_scale(actions.sample(store, big_id, seed=8, device="cpu")[0])
    same = actions.sample(store, big_id, seed=8, lift=False, device="cpu")[0]
    other = actions.sample(store, big_id, seed=9, lift=False, device="cpu")[0]
    assert np.abs(lifted - same).mean() < np.abs(lifted - other).mean()


def test_a_source_no_larger_than_the_model_changes_nothing(store, model_id, scene,
                                                           square_mask):
    # the shared tiny model trained on a 40 x 32 scene at max_size 40: nothing to lift
    a = actions.sample(store, model_id, seed=2, device="cpu")[0]
    assert np.array_equal(a, actions.sample(store, model_id, seed=2, lift=False, device="cpu")[0])
    h = actions.harmonize(store, model_id, scene, square_mask, seed=2, device="cpu")
    assert np.array_equal(h, actions.harmonize(store, model_id, scene, square_mask, seed=2,
                                               lift=False, device="cpu"))


def test_models_without_a_kept_source_work_as_before(store, big_id, old_id, composite):
    assert store.load_source(old_id) is None and store.source_size(old_id) is None
    old = actions.sample(store, old_id, seed=4, device="cpu")[0]
    assert old.shape == (*FINEST_HW, 3)
    assert np.array_equal(old, actions.sample(store, big_id, seed=4, lift=False, device="cpu")[0])
    image, mask = composite
    assert np.array_equal(
        actions.harmonize(store, old_id, image, mask, seed=4, device="cpu"),
        actions.harmonize(store, big_id, image, mask, seed=4, lift=False, device="cpu"))


# -- the masked tasks and paint ----------------------------------------------------------------
def far_from_the_box(task: str, model) -> np.ndarray:
    """(H, W) True where a pixel lies beyond the soft mask's reach from BOX, at full size."""
    work = inject_engine.working_sizes(model, *SOURCE_HW)[-1]
    radius, sigma = inject_engine.mask_params(task, work)
    scale = SOURCE_HW[0] / work[0]
    reach = int(np.ceil((inject_engine.mask_reach(radius, sigma) + 1) * scale)) + 2
    rows, cols = np.arange(SOURCE_HW[0])[:, None], np.arange(SOURCE_HW[1])[None, :]
    near = ((rows >= BOX[0].start - reach) & (rows < BOX[0].stop + reach)
            & (cols >= BOX[1].start - reach) & (cols < BOX[1].stop + reach))
    return ~near


@pytest.mark.parametrize("task", ["harmonize", "edit"])
def test_masked_tasks_are_exact_outside_the_dilated_mask_at_full_resolution(
        store, big_id, composite, task):
    image, mask = composite
    result = actions.inject(store, big_id, task, image, mask, seed=1, device="cpu")[0]
    flat = actions.inject(store, big_id, task, image, mask, seed=1, lift=False,
                          device="cpu")[0]
    assert result.image.shape == result.unmasked.shape == (*SOURCE_HW, 3)
    far = far_from_the_box(task, actions.load(store, big_id, "cpu"))
    assert far.sum() > 200  # the test looks at enough pixels
    assert np.array_equal(result.image[far], image[far])
    assert not np.array_equal(result.image[BOX], image[BOX])  # the block was redrawn
    assert not np.array_equal(result.image[BOX], flat.image[BOX])  # and lifted
    assert np.array_equal(flat.image[far], image[far])


def test_harmonize_keeps_the_pastes_own_detail_at_full_resolution(store, big_id, photo):
    # A paste finer than the model can see (1 px stripes): the model gives its tone, the
    # composite its detail, which the upscaled model-scale result (no lift) has lost.
    image = photo.copy()
    stripes = np.where(np.arange(BOX[1].stop - BOX[1].start) % 2 == 0, 0.9, 0.3)
    image[BOX] = stripes[None, :, None] * np.array([1.0, 0.5, 0.3])
    mask = np.zeros(SOURCE_HW, np.float32)
    mask[BOX] = 1
    inner = (slice(BOX[0].start + 3, BOX[0].stop - 3), slice(BOX[1].start + 3, BOX[1].stop - 3))

    def stripe_contrast(result):
        return float(np.abs(np.diff(result[inner], axis=1)).mean())

    lifted = actions.harmonize(store, big_id, image, mask, seed=3, device="cpu")
    flat = actions.harmonize(store, big_id, image, mask, seed=3, lift=False, device="cpu")
    assert stripe_contrast(lifted) > 0.5 * stripe_contrast(image)
    assert stripe_contrast(flat) < 0.25 * stripe_contrast(image)


def test_paint_is_lifted_to_the_painting_size(store, big_id, composite):
    painting = composite[0]
    lifted = actions.paint(store, big_id, painting, seed=2, device="cpu")
    flat = actions.paint(store, big_id, painting, seed=2, lift=False, device="cpu")
    assert lifted.shape == flat.shape == (*SOURCE_HW, 3)
    assert not np.array_equal(lifted, flat)


def test_animation_frames_are_lifted_only_when_asked(store, big_id):
    frames = actions.animate(store, big_id, frames=2, seed=1, device="cpu")
    assert [f.shape for f in frames] == [(*FINEST_HW, 3)] * 2
    lifted = actions.animate(store, big_id, frames=2, seed=1, lift=True, device="cpu")
    assert [f.shape for f in lifted] == [(*SOURCE_HW, 3)] * 2


# -- the CLI -------------------------------------------------------------------------------------
def sizes(folder) -> list[tuple[int, int]]:
    return [Image.open(p).size for p in sorted(folder.glob("*.png"))]


def test_cli_sample_sizes_and_no_lift(cli, big_id, tmp_path):
    code, _, err = cli("sample", big_id, "--out", str(tmp_path / "a"), "--seed", "1")
    assert code == 0, err
    assert sizes(tmp_path / "a") == [(80, 48)]
    code, _, err = cli("sample", big_id, "--out", str(tmp_path / "b"), "--seed", "1",
                       "--width", "50", "--no-lift")
    assert code == 0, err
    assert sizes(tmp_path / "b") == [(50, 30)]


def test_cli_harmonize_at_full_resolution(cli, big_id, composite, tmp_path):
    save_image(tmp_path / "composite.png", composite[0])
    save_image(tmp_path / "mask.png", composite[1])
    for extra in ([], ["--no-lift"]):
        out = tmp_path / f"out{len(extra)}.png"
        code, _, err = cli("harmonize", big_id, "--reference", str(tmp_path / "composite.png"),
                           "--mask", str(tmp_path / "mask.png"), "--out", str(out), "--seed",
                           "1", *extra)
        assert code == 0, err
        assert Image.open(out).size == (80, 48)


def test_cli_instant_variations(cli, photo, tmp_path):
    save_image(tmp_path / "photo.png", photo)
    args = ["instant", str(tmp_path / "photo.png"), "--n", "2", "--width", "60", "--height",
            "40", "--seed", "3"]
    code, out, err = cli(*args, "--out", str(tmp_path / "a"))
    assert code == 0, err
    assert sizes(tmp_path / "a") == [(60, 40)] * 2 and len(out.split()) == 2
    assert cli(*args, "--out", str(tmp_path / "b"))[0] == 0
    a, b = (np.asarray(Image.open(tmp_path / d / "001.png")) for d in ("a", "b"))
    assert np.array_equal(a, b)  # deterministic for a seed
    code, _, err = cli("instant", str(tmp_path / "photo.png"), "--out", str(tmp_path / "c"))
    assert code == 0, err
    assert sizes(tmp_path / "c") == [(80, 48)]  # default: the image's size


def test_cli_instant_bad_size_is_one_line(cli, photo, tmp_path):
    save_image(tmp_path / "photo.png", photo)
    code, _, err = cli("instant", str(tmp_path / "photo.png"), "--out", str(tmp_path),
                       "--width", "9000")
    assert code == 2 and "8192" in cli.one_line_error(err)
