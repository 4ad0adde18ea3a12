"""Super-resolution against the original: shrink (Lanczos), bring back, score.

    python benchmarks/superres.py [--images canvas/cups.jpg ...] [--factors 2 4]
        [--methods bicubic lanczos patch singan] [--crop 400] [--sheet docs/superres.png]

Each image is shrunk x2 and x4 with Lanczos and brought back to its own size by each method;
the result is scored against the original with PSNR (dB, higher is better) and the patch swd
of ../shared/tools/quality.py --pyramid (lower is better). `singan` trains the paper's SR model
on the small image first (minutes): --crop N works on the centre N x N of each image so that
it stays affordable. --sheet writes 160 px crops of the original and every result side by side
at 100 %, one row per image and factor.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from common import OUT, as_saved, load_quality, machine, save_json, shared_image, table
from PIL import Image, ImageDraw

from singan_backend import actions
from singan_backend.engine import patch_sr, superres
from singan_backend.images import to_array, to_tensor
from singan_backend.store import ModelStore

IMAGES = ["canvas/cups.jpg", "canvas/forest_path.jpg", "canvas/moss.jpg", "balloons.png"]
METHODS = ["bicubic", "lanczos", "backproj", "patch"]
CROP_SHEET = 160  # side of each crop in the sheet, px at 100 %


def pil_resize(image: np.ndarray, size: tuple[int, int], method) -> np.ndarray:
    """(H, W, 3) float [0, 1] -> size (H', W') with a Pillow filter."""
    pil = Image.fromarray((np.clip(image, 0, 1) * 255 + 0.5).astype(np.uint8))
    out = pil.resize((size[1], size[0]), method)
    return np.asarray(out, dtype=np.float32) / 255.0


def bring_back(method: str, low: np.ndarray, size: tuple[int, int], factor: float,
               args, store: ModelStore) -> np.ndarray:
    if method == "bicubic":
        return pil_resize(low, size, Image.BICUBIC)
    if method == "lanczos":
        return pil_resize(low, size, Image.LANCZOS)
    if method == "patch":
        return to_array(patch_sr.upscale(to_tensor(low), size))
    if method == "backproj":  # patch's steps and back-projection without borrowed detail
        return to_array(patch_sr.upscale(to_tensor(low), size, gain=0.0))
    if method == "singan":
        config = superres.sr_preset(args.singan_preset, seed=0)
        out = actions.upscale(store, low, factor, config=config, seed=0, method="singan")
        return pil_resize(out, size, Image.BICUBIC) if out.shape[:2] != size else out
    raise SystemExit(f"unknown method {method}: choose among {' '.join(METHODS)} singan")


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(1.0 / np.mean((as_saved(a) - as_saved(b)) ** 2)))


def centre_crop(image: np.ndarray, side: int | None) -> np.ndarray:
    if not side:
        return image
    h, w = image.shape[:2]
    top, left = max(0, (h - side) // 2), max(0, (w - side) // 2)
    return np.ascontiguousarray(image[top:top + side, left:left + side])


def busiest_crop(image: np.ndarray, side: int) -> tuple[int, int]:
    """Top-left corner of the crop with the most fine detail, so the sheet shows texture."""
    h, w = image.shape[:2]
    grey = image.mean(2)
    detail = np.abs(np.diff(grey, axis=0))[:, :-1] + np.abs(np.diff(grey, axis=1))[:-1]
    best, corner = -1.0, (0, 0)
    for top in range(0, max(1, h - side), max(1, side // 2)):
        for left in range(0, max(1, w - side), max(1, side // 2)):
            score = float(detail[top:top + side, left:left + side].mean())
            if score > best:
                best, corner = score, (top, left)
    return corner


def sheet_row(original: np.ndarray, results: dict[str, np.ndarray], label: str) -> Image.Image:
    side = min(CROP_SHEET, *original.shape[:2])
    top, left = busiest_crop(original, side)
    tiles = {"original": original, **results}
    row = Image.new("RGB", (len(tiles) * (side + 4), side + 18), "white")
    draw = ImageDraw.Draw(row)
    for i, (name, image) in enumerate(tiles.items()):
        crop = image[top:top + side, left:left + side]
        row.paste(Image.fromarray((np.clip(crop, 0, 1) * 255 + 0.5).astype(np.uint8)),
                  (i * (side + 4), 18))
        draw.text((i * (side + 4) + 2, 3), f"{name} {label}" if i == 0 else name, fill="black")
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", nargs="+", default=IMAGES, help="under ../shared/images")
    parser.add_argument("--factors", nargs="+", type=float, default=[2, 4])
    parser.add_argument("--methods", nargs="+", default=METHODS,
                        help="among bicubic lanczos backproj patch singan (singan trains: "
                             "minutes)")
    parser.add_argument("--crop", type=int, help="work on the centre N x N of each image")
    parser.add_argument("--singan-preset", default="quick")
    parser.add_argument("--sheet", help="PNG of crops side by side at 100 %%")
    parser.add_argument("--threads", type=int, help="torch threads (default: all cores)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    quality = load_quality()
    store = ModelStore(OUT / "models")
    rows, sheet = [], []
    for name in args.images:
        original = centre_crop(as_saved(np.asarray(Image.open(shared_image(name))
                                                   .convert("RGB"), np.float32) / 255), args.crop)
        size = original.shape[:2]
        scales = quality.pyramid_scales(original)
        for factor in args.factors:
            low = pil_resize(original, (round(size[0] / factor), round(size[1] / factor)),
                             Image.LANCZOS)
            results = {}
            for method in args.methods:
                start = time.perf_counter()
                out = as_saved(bring_back(method, low, size, factor, args, store))
                seconds = time.perf_counter() - start
                results[method] = out
                rows.append({"image": name, "factor": f"x{factor:g}", "method": method,
                             "time (s)": f"{seconds:.1f}", "PSNR (dB)": f"{psnr(original, out):.2f}",
                             "swd": f"{quality.swd(original, out, scales):.3f}"})
                print(table(rows[-1:], list(rows[-1])), flush=True)
            sheet.append(sheet_row(original, results, f"x{factor:g}"))
    print(f"\n# {machine()}; low-res made with Lanczos, swd = quality.py --pyramid")
    print(table(rows, list(rows[0])))
    save_json("superres.json", rows)
    if args.sheet:
        width = max(r.width for r in sheet)
        page = Image.new("RGB", (width, sum(r.height for r in sheet)), "white")
        y = 0
        for r in sheet:
            page.paste(r, (0, y))
            y += r.height
        page.save(args.sheet)
        print(f"sheet: {args.sheet}")


if __name__ == "__main__":
    main()
