"""The painter's tasks at the canvas's size: harmonize, edit and paint on a 1600 x 1000 photo.

    python benchmarks/canvas_tasks.py [--photo forest_path] [--model MODEL_ID]
        [--iters N] [--seed 0] [--sheet docs/canvas-tasks.jpg] [--sheet-only] [--out DIR]
        [--threads 1]

For one photo of ../shared/images/canvas/ and a model trained on it (--model, an id in
benchmarks/out/models; else one is trained there with the quick preset), it builds three inputs
at the photo's size: a piece of another canvas photo pasted where it does not belong (for
harmonize), a rectangle of the photo copied elsewhere (for edit) and the photo quantised to
a few flat colours with a few new strokes (for paint), and runs each through actions.* with
the lift on, as the CLI and the server do. It prints, per task, the time, the swd --pyramid
of ../shared/tools/quality.py of input and result against the photo and, for the masked
tasks, the mean change outside the mask's reach (0-255 levels; 0 means untouched). The
inputs, masks and results go to --out as PNGs; --sheet writes the README's picture: per
task, input and result shrunk to 480 x 300, then a 100 % crop of each around the change.
"""

from __future__ import annotations

import argparse
import math
import os
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from common import OUT, SHARED, crop_around, load_quality, machine, table, tile_sheet
from PIL import Image, ImageDraw, ImageFilter

from singan_backend import actions
from singan_backend.engine import inject as inject_engine
from singan_backend.engine.config import preset
from singan_backend.engine.patch import PatchConfig
from singan_backend.images import load_image, save_image
from singan_backend.store import ModelStore

CANVAS = SHARED / "images" / "canvas"
PASTE_FROM = {"forest_path": "moss", "cups": "forest_path", "moss": "cups"}  # what is pasted
COLUMNS = ["task", "input size", "result size", "time_s", "swd input", "swd result",
           "outside change"]
TILE = (480, 300)  # (w, h) px of one picture on the sheet
WHAT = {"harmonize": "harmonize: a pasted piece of {other}", "edit": "edit: a copy-move",
        "paint": "paint: 5 flat colours, 2 new strokes"}  # the sheet's row labels


# --- the inputs: (picture, mask or None, (x, y) centre of the change) ------------------------

def harmonize_input(photo: np.ndarray, other: np.ndarray):
    """An ellipse cut from the centre of `other`, pasted on the lower right of `photo`."""
    h, w = photo.shape[:2]
    ph, pw = round(0.3 * h), round(0.22 * w)  # the piece: 300 x 352 px on a 1600 x 1000 photo
    oy, ox = (other.shape[0] - ph) // 2, (other.shape[1] - pw) // 2
    cy, cx = round(0.66 * h), round(0.68 * w)
    piece = Image.new("L", (pw, ph), 0)
    ImageDraw.Draw(piece).ellipse((0, 0, pw - 1, ph - 1), fill=255)
    inside = np.asarray(piece, dtype=np.float32) / 255.0
    mask = np.zeros((h, w), np.float32)
    mask[cy - ph // 2:cy - ph // 2 + ph, cx - pw // 2:cx - pw // 2 + pw] = inside
    pasted = np.zeros_like(photo)
    pasted[cy - ph // 2:cy - ph // 2 + ph, cx - pw // 2:cx - pw // 2 + pw] = \
        other[oy:oy + ph, ox:ox + pw]
    composite = photo * (1 - mask[..., None]) + pasted * mask[..., None]
    return composite.astype(np.float32), mask, (cx, cy)


def edit_input(photo: np.ndarray):
    """Copy-move: a rectangle from the lower left copied to the right; the mask covers it."""
    h, w = photo.shape[:2]
    bh, bw = round(0.26 * h), round(0.15 * w)  # 260 x 240 px on a 1600 x 1000 photo
    sy, sx = round(0.62 * h), round(0.2 * w)
    dy, dx = round(0.58 * h), round(0.58 * w)
    edited = photo.copy()
    edited[dy:dy + bh, dx:dx + bw] = photo[sy:sy + bh, sx:sx + bw]
    mask = np.zeros((h, w), np.float32)
    mask[dy:dy + bh, dx:dx + bw] = 1
    return edited, mask, (dx + bw // 2, dy + bh // 2)


def paint_input(photo: np.ndarray, colours: int = 5):
    """The photo blurred, quantised to `colours` flat colours and cleaned of specks, with a
    new trunk in the darkest colour and a winding stroke in the lightest."""
    h, w = photo.shape[:2]
    image = Image.fromarray((photo * 255 + 0.5).astype(np.uint8))
    flat = image.filter(ImageFilter.GaussianBlur(6)).quantize(colours, Image.Quantize.MEDIANCUT)
    flat = flat.convert("RGB").filter(ImageFilter.ModeFilter(15))
    palette = sorted({c for _, c in flat.getcolors(w * h)}, key=sum)
    draw = ImageDraw.Draw(flat)
    tx, top, base = round(0.74 * w), round(0.02 * h), round(0.78 * h)
    half_top, half_base = round(0.008 * w), round(0.02 * w)  # a trunk widening to its foot
    draw.polygon([(tx - half_top, top), (tx + half_top, top), (tx + half_base, base),
                  (tx - half_base, base)], fill=palette[0])
    stroke = [(round(0.58 * w), h), (round(0.62 * w), round(0.9 * h)),
              (round(0.68 * w), round(0.84 * h)), (tx, base)]
    draw.line(stroke, fill=palette[-1], width=round(0.02 * w), joint="curve")
    painting = np.asarray(flat, dtype=np.float32) / 255.0
    return painting, None, (tx, round(0.7 * h))


# --- measures --------------------------------------------------------------------------------

def reach_px(model, task: str, size: tuple[int, int]) -> int:
    """How far (px at `size`) the blend's soft mask reaches beyond the mask, plus 2 px for
    the bilinear resize that brings it from the working size."""
    work = inject_engine.working_sizes(model, *size)[-1]
    radius, sigma = inject_engine.mask_params(task, work)
    return math.ceil(inject_engine.mask_reach(radius, sigma) * size[0] / work[0]) + 2


def outside_change(before: np.ndarray, after: np.ndarray, mask: np.ndarray, reach: int) -> float:
    """Mean |after - before| (0-255 levels) where the mask dilated by `reach` px is 0."""
    m = torch.from_numpy((mask > 0.5).astype(np.float32))[None, None]
    grown = F.max_pool2d(m, 2 * reach + 1, stride=1, padding=reach)[0, 0].numpy() > 0
    diff = np.abs(after.astype(np.float32) - before.astype(np.float32)).mean(axis=2)
    return float(diff[~grown].mean() * 255)


def swd(quality, photo: Path, image: Path) -> float:
    return quality.measure(str(photo), [str(image)], pyramid=True)["swd"]


# --- running ---------------------------------------------------------------------------------

def model_for(store: ModelStore, photo: Path, model_id: str | None, iters: int | None) -> str:
    if model_id is not None:
        return store.resolve(model_id)
    print(f"training a quick model of {photo.stem} (once; --model ID reuses one)", flush=True)
    return actions.train(store, load_image(photo), name=photo.stem,
                         config=preset("quick", iters=iters, seed=0), device="cpu")


def run_task(store: ModelStore, model_id: str, task: str, picture: np.ndarray,
             mask: np.ndarray | None, seed: int) -> tuple[np.ndarray, float]:
    start = time.perf_counter()
    if task == "harmonize":
        result = actions.harmonize(store, model_id, picture, mask, seed=seed, device="cpu")
    elif task == "edit":
        result = actions.edit(store, model_id, picture, mask, seed=seed, device="cpu")[0]
    else:
        result = actions.paint(store, model_id, picture, seed=seed, device="cpu")
    return result, time.perf_counter() - start


def sheet_rows(out: Path, name: str, centres: dict) -> tuple[list, list]:
    """Per task: input and result shrunk to TILE, then TILE crops at 100 % around the change."""
    rows, labels = [], []
    for task, centre in centres.items():
        pictures = [Image.open(out / f"{name}_{task}_{kind}.png").convert("RGB")
                    for kind in ("input", "result")]
        rows.append([p.resize(TILE, Image.LANCZOS) for p in pictures]
                    + [crop_around(p, centre, TILE) for p in pictures])
        size = f"{pictures[1].width} x {pictures[1].height} px"
        labels.append([WHAT[task].format(other=PASTE_FROM[name]), size, "", ""])
    return rows, labels


def task_row(store: ModelStore, model_id: str, model, task: str, made, stem: Path,
             photo_path: Path, seed: int, quality) -> dict:
    """Run one task on its input `made` (picture, mask, centre), save all three, score it."""
    picture, mask, _ = made
    save_image(f"{stem}_input.png", picture)
    if mask is not None:
        save_image(f"{stem}_mask.png", mask)
    result, seconds = run_task(store, model_id, task, picture, mask, seed)
    save_image(f"{stem}_result.png", result)
    size = picture.shape[:2]
    change = "" if mask is None else round(
        outside_change(picture, result, mask, reach_px(model, task, size)), 3)
    return {"task": task, "input size": f"{size[1]}x{size[0]}",
            "result size": f"{result.shape[1]}x{result.shape[0]}", "time_s": round(seconds, 1),
            "swd input": swd(quality, photo_path, Path(f"{stem}_input.png")),
            "swd result": swd(quality, photo_path, Path(f"{stem}_result.png")),
            "outside change": change}


def write_sheet(out: Path, name: str, centres: dict, sheet: Path) -> None:
    grid, labels = sheet_rows(out, name, centres)
    tile_sheet(grid, ["input", "result", "input, 100 % crop", "result, 100 % crop"], sheet,
               TILE, labels)
    print(f"\n{sheet}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--photo", default="forest_path", choices=sorted(PASTE_FROM))
    parser.add_argument("--model", default=None, help="id of a model of --photo in "
                        "benchmarks/out/models (default: train a quick one)")
    parser.add_argument("--iters", type=int, default=None, help="iterations per scale, "
                        "when training")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tasks", nargs="+", default=["harmonize", "edit", "paint"])
    parser.add_argument("--out", type=Path, default=OUT / "canvas_tasks")
    parser.add_argument("--sheet", type=Path, default=None, help="e.g. docs/canvas-tasks.jpg")
    parser.add_argument("--sheet-only", action="store_true",
                        help="only make --sheet from the PNGs already in --out")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads (1 is faster on a CPU others are using)")
    args = parser.parse_args()
    os.environ["OMP_NUM_THREADS"] = str(args.threads)
    torch.set_num_threads(args.threads)
    photo_path = CANVAS / f"{args.photo}.jpg"
    photo = load_image(photo_path)
    makers = {"harmonize": lambda: harmonize_input(
                  photo, load_image(CANVAS / f"{PASTE_FROM[args.photo]}.jpg")),
              "edit": lambda: edit_input(photo), "paint": lambda: paint_input(photo)}
    made = {task: makers[task]() for task in args.tasks}
    centres = {task: inputs[2] for task, inputs in made.items()}
    if args.sheet_only:
        write_sheet(args.out, args.photo, centres, args.sheet)
        return
    args.out.mkdir(parents=True, exist_ok=True)
    store = ModelStore(OUT / "models")
    model_id = model_for(store, photo_path, args.model, args.iters)
    model = actions.load(store, model_id, "cpu")
    quality = load_quality()
    rows = []
    for task in args.tasks:
        rows.append(task_row(store, model_id, model, task, made[task],
                             args.out / f"{args.photo}_{task}", photo_path, args.seed, quality))
        print(table(rows[-1:], COLUMNS), flush=True)
    lift = PatchConfig()  # the engine's lift settings change: say which ones made the table
    print(f"\n{args.photo}, model {model_id}, seed {args.seed}, lift keep_low "
          f"{lift.keep_low} lift_below {lift.lift_below}; {machine()}\n")
    print(table(rows, COLUMNS))
    if args.sheet:
        write_sheet(args.out, args.photo, centres, args.sheet)


if __name__ == "__main__":
    main()
