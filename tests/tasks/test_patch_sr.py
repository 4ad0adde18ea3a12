"""Internal-patch super-resolution (engine.patch_sr), the default of `singan upscale`: sizes,
determinism, bounded memory, one progress bar, and sharper than bicubic where patches recur."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from singan_backend import actions, dispatch
from singan_backend.engine import patch_sr
from singan_backend.errors import BadOption
from singan_backend.images import save_image, to_array, to_tensor
from singan_protocol.messages import Upscale

QUALITY = Path(__file__).resolve().parents[2].parent / "shared" / "tools" / "quality.py"


def shapes(seed: int = 0, size: int = 96) -> np.ndarray:
    """Flat-coloured rectangles and discs of many sizes: sharp edges that look the same at
    every scale, the structure that recurs across scales in photos."""
    rng = np.random.default_rng(seed)
    image = np.full((size, size, 3), 0.5, np.float32)
    yy, xx = np.mgrid[:size, :size]
    for _ in range(40):
        colour = rng.uniform(0, 1, 3)
        cy, cx, r = rng.uniform(0, size), rng.uniform(0, size), rng.uniform(2, size / 6)
        inside = ((yy - cy) ** 2 + (xx - cx) ** 2 < r * r) if rng.random() < 0.5 else (
            (abs(yy - cy) < r) & (abs(xx - cx) < r * rng.uniform(0.3, 1.5)))
        image[inside] = colour
    return image


def pil_resize(image: np.ndarray, size: tuple[int, int], method) -> np.ndarray:
    pil = Image.fromarray((np.clip(image, 0, 1) * 255 + 0.5).astype(np.uint8))
    return np.asarray(pil.resize((size[1], size[0]), method), np.float32) / 255


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(1 / np.mean((a - b) ** 2)))


def gradient_energy(image: np.ndarray) -> float:
    """Mean squared difference of neighbours: blur lowers it (mean |difference| it does not)."""
    grey = image.mean(2)
    return float((np.diff(grey, axis=0) ** 2).mean() + (np.diff(grey, axis=1) ** 2).mean())


@pytest.mark.parametrize("factor", [2, 4, 2.5])
def test_output_is_exactly_round_factor_times_the_size(store, factor):
    image = shapes(1, 30)[:, :26]  # 30 x 26: odd ratios on both sides
    out = actions.upscale(store, image, factor)
    assert out.shape == (round(factor * 30), round(factor * 26), 3)
    assert out.dtype == np.float32 and 0 <= out.min() and out.max() <= 1


def test_steps_are_small_and_land_on_the_size():
    sizes = patch_sr.step_sizes(500, 800, (1000, 1600))
    assert len(sizes) == 4 and sizes[-1] == (1000, 1600)
    ratios = [b[0] / a[0] for a, b in zip([(500, 800)] + sizes, sizes)]
    assert all(1 < r <= patch_sr.STEP + 0.01 for r in ratios)


def test_same_input_same_pixels(store):
    image = shapes(2, 40)
    a = actions.upscale(store, image, 3)
    assert np.array_equal(a, actions.upscale(store, image, 3))


def test_memory_is_bounded_by_chunks(monkeypatch):
    """The search unfolds patches one band of rows at a time; the band size changes how much
    is held at once, never the result."""
    image = to_tensor(shapes(3, 48))
    whole = patch_sr.upscale(image, (96, 96))
    largest = []
    unfold = torch.nn.functional.unfold

    def recording_unfold(x, *a, **kw):
        out = unfold(x, *a, **kw)
        largest.append(out.numel())
        return out

    monkeypatch.setattr(patch_sr, "CHUNK_PIXELS", 96 * 4)  # bands of 4 output rows
    monkeypatch.setattr(patch_sr.F, "unfold", recording_unfold)
    banded = patch_sr.upscale(image, (96, 96))
    assert torch.equal(whole, banded)
    # a band of 4 rows (query) or its ~3 + 2 * RADIUS source rows (keys), 25 values a pixel
    assert max(largest) <= 96 * 12 * patch_sr.PATCH ** 2 < 96 * 96 * patch_sr.PATCH ** 2 / 4


def test_one_progress_bar_from_0_to_1(store):
    reports = []
    actions.upscale(store, shapes(4, 40), 4, on_progress=reports.append)
    fractions = [p.fraction for p in reports]
    assert fractions and fractions[-1] == 1.0 and fractions == sorted(fractions)
    assert {p.task for p in reports} == {"upscale"} and reports[-1].stage.startswith("step ")


def test_sharper_than_bicubic_where_patches_recur():
    """Shrunk x2 (Lanczos) and brought back: the patch SR's edges are closer to the
    original's than bicubic's, at no more than 1 dB of PSNR; by quality.py's swd too where
    ../shared is present."""
    original = shapes(5, 96)
    low = pil_resize(original, (48, 48), Image.LANCZOS)
    bicubic = pil_resize(low, (96, 96), Image.BICUBIC)
    patch = to_array(patch_sr.upscale(to_tensor(low), (96, 96)))
    edges = gradient_energy(original)  # bicubic keeps about 30 % of it, the patch SR 50 %
    assert edges - gradient_energy(patch) < 0.8 * (edges - gradient_energy(bicubic))
    assert psnr(original, patch) > psnr(original, bicubic) - 1.0
    # and the borrowed detail itself counts: without it (the same steps and back-projection,
    # gain 0) the edges are softer and PSNR lower; detail from wrong matches would lower it
    plain = to_array(patch_sr.upscale(to_tensor(low), (96, 96), gain=0.0))
    assert gradient_energy(patch) > 1.05 * gradient_energy(plain)
    assert psnr(original, patch) > psnr(original, plain)
    if QUALITY.exists():
        spec = importlib.util.spec_from_file_location("quality", QUALITY)
        quality = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(quality)
        assert quality.swd(original, patch) < 0.8 * quality.swd(original, bicubic)


def test_method_choice_in_actions_and_protocol(store):
    image = shapes(6, 20)
    reply, (out,) = dispatch.run(store, "upscale", {"factor": 2.0}, [image])
    assert reply["model_id"] is None and out.shape == (40, 40, 3)
    with pytest.raises(BadOption, match="method"):
        dispatch.run(store, "upscale", {"factor": 2.0, "method": "gan"}, [image])
    assert Upscale(factor=2.0).method is None  # nil: patch without a model, singan with one
    with pytest.raises(BadOption, match="unknown super-resolution method"):
        actions.upscale(store, image, 2, method="gan")
    with pytest.raises(BadOption, match="uses no model"):
        actions.upscale(store, image, 2, method="patch", model_id="anything")


def test_cli_upscale_uses_the_patch_method_by_default(cli, tmp_path):
    source = tmp_path / "shapes.png"
    save_image(source, shapes(8, 30))
    code, _, err = cli("upscale", str(source), "--factor", "2.5", "--out", str(tmp_path / "a.png"))
    assert code == 0, err
    assert "trained" not in err  # no model
    assert Image.open(tmp_path / "a.png").size == (75, 75)
    code, _, err = cli("upscale", str(source), "--factor", "2", "--method", "nearest",
                       "--out", str(tmp_path / "b.png"))
    assert code == 2 and "nearest" in err
