"""The task commands end to end in this process: files written, sizes, one-line errors."""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image


def save(path: Path, array: np.ndarray) -> Path:
    Image.fromarray((np.clip(array, 0, 1) * 255 + 0.5).astype(np.uint8)).save(path)
    return path


@pytest.fixture
def files(tmp_path, scene, square_mask):
    composite = scene.copy()
    composite[12:20, 16:24] = (1.0, 0.0, 1.0)
    paste = np.zeros((*scene.shape[:2], 4), np.float32)
    paste[12:20, 16:24] = (1.0, 0.0, 1.0, 1.0)
    return {"composite": save(tmp_path / "composite.png", composite),
            "mask": save(tmp_path / "mask.png", square_mask[::2, ::2]),  # another size
            "paste": save(tmp_path / "paste.png", paste),
            "scene": save(tmp_path / "scene.png", scene)}


def size_of(path: Path) -> tuple[int, int]:
    with Image.open(path) as im:
        return im.size


def test_harmonize_with_mask_or_paste_layer(cli, model_id, files, tmp_path):
    out = tmp_path / "res" / "harmonized.png"
    code, stdout, err = cli("harmonize", model_id, "--reference",
                            str(files["composite"]), "--mask", str(files["mask"]), "--seed", "1",
                            "--n", "2", "--out", str(out))
    assert code == 0, err
    assert stdout.split() == [str(out), str(tmp_path / "res" / "harmonized_1.png")]
    assert size_of(out) == (40, 32)
    # The PNG round trip keeps the untouched pixels' bytes (mask on rows 12..20, cols 16..24).
    before, after = (np.asarray(Image.open(p).convert("RGB")) for p in (files["composite"], out))
    assert np.array_equal(before[:, 33:], after[:, 33:]) and not np.array_equal(before, after)
    code, _, err = cli("harmonize", model_id, "--reference",
                       str(files["composite"]), "--paste", str(files["paste"]), "--out", str(out))
    assert code == 0, err
    code, _, err = cli("harmonize", model_id, "--reference",
                       str(files["composite"]), "--out", str(out))
    assert code == 2 and "--mask MASK.png or as --paste" in cli.one_line_error(err)
    code, _, err = cli("harmonize", model_id, "--reference",
                       str(files["composite"]), "--paste", str(files["scene"]), "--out", str(out))
    assert code == 2 and "no alpha channel" in cli.one_line_error(err)


def test_edit_writes_the_blended_and_unmasked_results(cli, model_id, files, tmp_path):
    out = tmp_path / "edited.png"
    code, stdout, err = cli("edit", model_id, "--reference", str(files["composite"]),
                            "--mask", str(files["mask"]), "--out", str(out))
    assert code == 0, err
    assert stdout.split() == [str(out), str(tmp_path / "edited_unmasked.png")]
    assert size_of(out) == size_of(tmp_path / "edited_unmasked.png") == (40, 32)


def test_paint_and_its_start_scale_range(cli, store, model_id, files, tmp_path):
    out = tmp_path / "painted.png"
    code, _, err = cli("paint", model_id, "--reference", str(files["scene"]),
                       "--quantize", "--start-scale", "1", "--out", str(out))
    assert code == 0 and size_of(out) == (40, 32), err
    last = store.info(model_id).num_scales - 1
    code, _, err = cli("paint", model_id, "--reference", str(files["scene"]),
                       "--start-scale", str(last + 1), "--out", str(out))
    assert code == 2 and f"between 1 and {last}" in cli.one_line_error(err)
    code, _, err = cli("edit", model_id, "--reference", str(files["scene"]),
                       "--mask", str(tmp_path / "missing.png"), "--out", str(out))
    assert code == 2 and "no such file" in cli.one_line_error(err)


def test_paint_says_what_to_do_with_colours_the_image_lacks(cli, model_id, scene, files,
                                                           tmp_path):
    sketch = scene.copy()
    sketch[:8] = (1.0, 0.0, 1.0)  # magenta: not in the scene
    out = tmp_path / "painted.png"
    code, _, err = cli("paint", model_id, "--reference", str(save(tmp_path / "sketch.png", sketch)),
                       "--out", str(out))
    assert code == 0 and "of the painting is in colours" in err and "--quantize" in err, err
    code, _, err = cli("paint", model_id, "--reference", str(files["scene"]), "--out", str(out))
    assert code == 0 and "of the painting is in colours" not in err, err


def test_upscale_trains_or_reuses_a_model(cli, sr_id, files, tmp_path):
    out = tmp_path / "x3.5.png"
    code, _, err = cli("upscale", str(files["scene"]), "--factor", "3.5",
                       "--model", sr_id, "--out", str(out))
    assert code == 0 and size_of(out) == (140, 112), err
    code, _, err = cli("upscale", str(files["scene"]), "--factor", "2", "--method", "singan",
                       "--preset", "quick", "--iters", "2", "--max-size", "24",
                       "--out", str(tmp_path / "x2.png"))
    assert code == 0 and size_of(tmp_path / "x2.png") == (80, 64), err
    assert "trained super-resolution model sr-scene-" in err and "upscale" in err  # progress
    code, _, err = cli("upscale", str(files["scene"]), "--factor", "1",
                       "--model", sr_id, "--out", str(out))
    assert code == 2 and "greater than 1" in cli.one_line_error(err)


def test_animate_writes_a_looping_gif_and_frames(cli, anim_id, tmp_path):
    gif = tmp_path / "anim.gif"
    code, stdout, err = cli("animate", anim_id, "--out", str(gif), "--frames", "6",
                            "--fps", "5", "--seed", "0", "--frames-dir", str(tmp_path / "frames"))
    assert code == 0, err
    with Image.open(gif) as im:
        assert im.n_frames == 6 and im.info["loop"] == 0 and im.info["duration"] == 200
    assert len(list((tmp_path / "frames").glob("frame_*.png"))) == 6
    code, _, err = cli("animate", anim_id, "--out", str(tmp_path / "a.jpg"))
    assert code == 2 and ".gif" in cli.one_line_error(err)
    code, _, err = cli("animate", anim_id, "--out", str(gif), "--frames", "2",
                       "--start-scale", "9")
    assert code == 2 and "start scale must be between 0 and" in cli.one_line_error(err)
