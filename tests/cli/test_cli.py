"""Each CLI command once, and each bad input: a one-line message, exit 2, no traceback."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from singan_backend.cli import main
from singan_backend.demo import demo_image

TRAIN = ["--preset", "quick", "--max-size", "32", "--min-size", "18", "--iters", "4"]


@pytest.fixture(scope="module")
def image_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("img") / "scene.png"
    Image.fromarray((demo_image(40, 30) * 255).astype(np.uint8)).save(path)
    return path


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="module")
def model_id(models, image_file) -> str:
    code = main(["--models-dir", str(models), "train", str(image_file), *TRAIN])
    assert code == 0
    return next(p.name for p in models.iterdir() if p.name.startswith("scene-"))


def test_train_prints_the_model_id_last(cli, models, image_file):
    code, out, err = cli("train", str(image_file), "--name", "second", *TRAIN,
                         "--models-dir", str(models))
    assert code == 0
    model_id = out.strip().splitlines()[-1]
    assert model_id.startswith("second-") and (models / model_id / "manifest.json").exists()
    assert "scale 3/3" in err and "ETA" in err  # the progress bar


def test_sample_writes_numbered_pngs(cli, models, model_id, tmp_path):
    code, out, _ = cli("sample", model_id, "--models-dir", str(models), "--out",
                       str(tmp_path), "--n", "2", "--width", "50", "--height", "20", "--seed", "1")
    assert code == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["000.png", "001.png"]
    assert Image.open(tmp_path / "000.png").size == (50, 20)


def test_models_lists_and_delete_removes(cli, models, model_id, image_file):
    code, out, _ = cli("models", "--json", "--models-dir", str(models))
    assert code == 0 and model_id in [m["id"] for m in json.loads(out)]
    main(["--models-dir", str(models), "train", str(image_file), "--name", "doomed", *TRAIN])
    doomed = next(p.name for p in models.iterdir() if p.name.startswith("doomed-"))
    code, out, _ = cli("delete", doomed, "--models-dir", str(models))
    assert code == 0 and not (models / doomed).exists()


@pytest.mark.parametrize("mode", ["L", "P", "RGBA", "LA", "I;16"])
def test_grey_palette_alpha_and_16_bit_pngs_are_accepted(cli, tmp_path, mode):
    rgb = (demo_image(40, 30) * 255).astype(np.uint8)
    if mode == "I;16":
        img = Image.fromarray((rgb.mean(axis=2) * 257).astype(np.uint16))
    else:
        img = Image.fromarray(rgb).convert(mode)
    path = tmp_path / f"in-{mode.replace(';', '')}.png"
    img.save(path)
    code, out, err = cli("train", str(path), *TRAIN, "--iters", "1",
                         "--models-dir", str(tmp_path / "m"))
    assert code == 0, err


def bad(cli, tmp_path, *argv) -> str:
    code, _, err = cli(*argv, "--models-dir", str(tmp_path / "models"))
    assert code == 2
    return cli.one_line_error(err)


def test_missing_file(cli, tmp_path):
    assert "no such file" in bad(cli, tmp_path, "train", str(tmp_path / "nope.png"))


def test_not_an_image(cli, tmp_path):
    text = tmp_path / "notes.png"
    text.write_text("hello")
    assert "not an image" in bad(cli, tmp_path, "train", str(text))


def test_unreadable_file(cli, tmp_path, image_file):
    truncated = tmp_path / "cut.png"
    truncated.write_bytes(image_file.read_bytes()[:200])
    assert "cannot be read" in bad(cli, tmp_path, "train", str(truncated))


def test_folder_instead_of_image(cli, tmp_path):
    assert "folder" in bad(cli, tmp_path, "train", str(tmp_path))


def test_image_smaller_than_min_size(cli, tmp_path):
    small = tmp_path / "small.png"
    Image.new("RGB", (20, 12), (200, 10, 10)).save(small)
    assert "min_size" in bad(cli, tmp_path, "train", str(small))


def test_unknown_model(cli, tmp_path):
    assert "no model 'ghost'" in bad(cli, tmp_path, "sample", "ghost", "--out", str(tmp_path))
    assert "no model" in bad(cli, tmp_path, "delete", "ghost")


def test_corrupt_model_folder_names_the_file(cli, tmp_path, models, model_id):
    import shutil
    broken = tmp_path / "models" / "broken-000000"
    shutil.copytree(models / model_id, broken)
    (broken / "scale_001.pt").write_bytes(b"garbage")
    assert "scale_001.pt" in bad(cli, tmp_path, "sample", "broken-000000", "--out", str(tmp_path))
    (broken / "manifest.json").write_text("{not json")
    assert "manifest.json" in bad(cli, tmp_path, "sample", "broken-000000", "--out", str(tmp_path))


@pytest.mark.parametrize("size", [["--width", "0"], ["--width", "-3"], ["--height", "100000"]])
def test_impossible_sizes(cli, tmp_path, models, model_id, size):
    code, _, err = cli("sample", model_id, "--out", str(tmp_path), *size,
                       "--models-dir", str(models))
    assert code == 2
    assert "positive" in cli.one_line_error(err) or "8192" in err


def test_bad_options(cli, tmp_path, image_file):
    assert "max_size" in bad(cli, tmp_path, "train", str(image_file), "--max-size", "10")
    assert "scale_factor" in bad(cli, tmp_path, "train", str(image_file), "--scale-factor", "1.5")
    assert "--resume" in bad(cli, tmp_path, "train")


def test_console_script_runs(tmp_path):
    result = subprocess.run([sys.executable, "-m", "singan_backend.cli", "models",
                             "--models-dir", str(tmp_path)], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0 and "no models yet" in result.stdout
