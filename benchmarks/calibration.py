"""The colour calibration on trained models: their samples scored without and with it.

    python benchmarks/calibration.py --models MODEL_ID ... [--samples 20] [--json FILE]
    python benchmarks/calibration.py --latest    # the newest model of each image, preset, seed
    python benchmarks/calibration.py --report calibration.json ...   # one table of saved rows

Models are read from benchmarks/out/models (where quality.py trains them). A model trained
before the calibration existed gets it here, as training computes it now
(engine.sample.colour_calibration, which draws with fixed seeds after the last scale, so
the calibration is the one a new training with the same seed gives). Each model draws
--samples samples with seed 1000 as quality.py does, raw and calibrated, scored by
../shared/tools/quality.py against the training image at the finest scale; the table gives
the swd and copy of both, the calibration's largest colour cast (of [0, 1]), how much the
cast varies between its draws (the largest channel's spread of their mean colours) and its
gains at start scale 0, the calibrated samples' diversity and the seconds the calibration takes
(computed again for every model; a model that has one stored is scored with that one, as
its samples get it), and the seconds an injection's own calibration takes
(engine.inject.injection_calibration; fastest and slowest of the start scales from 1 up).
"""

from __future__ import annotations

import argparse
import functools
import json
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from common import OUT, SHARED, as_uint8, load_quality, machine, save_json, table
from PIL import Image
from quality import ALL_IMAGES

from singan_backend.engine.inject import injection_calibration
from singan_backend.engine.sample import (
    CALIBRATION_SAMPLES,
    _draw,
    colour_calibration,
    sample,
    sample_sizes,
)
from singan_backend.images import save_image, to_array
from singan_backend.store import ModelStore, atomic_write

COLUMNS = ["image", "preset", "seed", "model", "swd raw", "swd calibrated", "cast",
           "cast spread", "gains", "diversity", "copy raw", "copy calibrated", "calibration (s)",
           "injection calibration (s)"]


THUMB = (48, 32)  # px: the size models' training images and the examples are compared at


@functools.cache
def _example_thumbnails() -> dict[str, np.ndarray]:
    """Every picture of ../shared/images at THUMB, read once."""
    return {path.stem: np.asarray(Image.open(path).convert("RGB").resize(THUMB), np.float32)
            for path in sorted((SHARED / "images").rglob("*"))
            if path.suffix.lower() in (".png", ".jpg")}


def image_of(folder: Path) -> str | None:
    """Which ../shared/images picture a model was trained on: its finest training image,
    compared with each at a thumbnail's size."""
    reals = torch.load(folder / "tensors.pt", map_location="cpu", weights_only=True)["reals"]
    finest = np.asarray(Image.fromarray(as_uint8(to_array(reals[-1]))).resize(THUMB),
                        dtype=np.float32)
    best, best_d = None, 6.0  # mean absolute difference, of 255, below which it is that image
    for name, other in _example_thumbnails().items():
        d = float(np.abs(other - finest).mean())
        if d < best_d:
            best, best_d = name, d
    return best


def latest_models(store: ModelStore, min_size: int = 192) -> dict[str, str]:
    """{model id: image} of the newest complete default or quick model of each (image,
    preset, seed) in the store, trained at min_size px or more (the 250 px table's sizes)."""
    newest: dict[tuple, tuple[str, str]] = {}
    for folder in sorted(store.root.iterdir()):
        manifest_path = folder / "manifest.json"
        if not manifest_path.exists():
            continue
        m = json.loads(manifest_path.read_text())
        if m.get("trained_scales") != len(m.get("sizes", [])) or m.get("kind") != "singan" \
                or m["config"].get("preset") not in ("default", "quick") \
                or m["config"]["max_size"] < min_size:
            continue
        image = image_of(folder)
        if image is None:
            continue
        key = (image, m["config"]["preset"], m["config"]["seed"], m["config"]["max_size"])
        if key not in newest or m["created"] > newest[key][0]:
            newest[key] = (m["created"], folder.name)
    return {model_id: key[0] for key, (_, model_id) in sorted(newest.items(),
                                                              key=lambda kv: kv[1])}


def score(quality, model, folder: Path, n: int) -> dict:
    real = folder / "real.png"
    save_image(real, to_array(model.reals[-1]))
    paths = []
    for i, s in enumerate(sample(model, n=n, seed=1000)):
        paths.append(folder / f"{i:03d}.png")
        save_image(paths[-1], to_array(s))
    return quality.measure(str(real), [str(p) for p in paths])


def report(saved: list[list[dict]]) -> str:
    """One table of saved rows, in the order of quality.py's images, then preset and seed."""
    order = [Path(name).stem for name in ALL_IMAGES]
    runs = {r["model"]: {"copy raw": "", "copy calibrated": r.get("copy", ""),
                         "calibration (s)": "", "cast spread": "",
                         "injection calibration (s)": "", **r}
            for rows in saved for r in rows}  # a model run twice: the later
    rows = sorted(runs.values(), key=lambda r: (
        order.index(r["image"]) if r["image"] in order else len(order), r["preset"], r["seed"]))
    return table(rows, COLUMNS)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="*", default=[])
    parser.add_argument("--latest", action="store_true",
                        help="every image, preset and seed's newest model in the store")
    parser.add_argument("--samples", type=int, default=20)
    parser.add_argument("--json", default="calibration.json", help="under benchmarks/out")
    parser.add_argument("--report", nargs="+", metavar="JSON",
                        help="only print the table of the rows saved in these files")
    args = parser.parse_args()
    if args.report:
        print(report([json.loads((OUT / name).read_text()) for name in args.report]))
        return
    store = ModelStore(OUT / "models")
    quality = load_quality()
    images = {model_id: None for model_id in args.models}
    if args.latest:
        images.update(latest_models(store))
    rows = []
    for model_id, image in images.items():
        model = store.load(model_id)
        start = time.perf_counter()
        table_ = colour_calibration(model)  # timed: what a training of today computes
        seconds = time.perf_counter() - start
        injection_seconds = []
        for start_scale in range(1, model.num_scales):
            start = time.perf_counter()
            injection_calibration(replace(model, colour_calibration=table_), start_scale)
            injection_seconds.append(time.perf_counter() - start)
        if model.colour_calibration:  # what this model's samples get: computed with the
            table_ = model.colour_calibration  # noise streams of its day, it may differ a little
        manifest = store.manifest(model_id)
        if not manifest.get("colour_calibration"):  # as a training of today would store it
            manifest["colour_calibration"] = table_
            atomic_write(store.folder(model_id) / "manifest.json",
                         json.dumps(manifest, indent=1).encode())
        folder = OUT / "calibration" / model_id
        folder.mkdir(parents=True, exist_ok=True)
        model.colour_calibration = []
        raw = score(quality, model, folder, args.samples)
        model.colour_calibration = table_
        calibrated = score(quality, model, folder, args.samples)
        gains, offsets = np.array(table_[0][:3]), np.array(table_[0][3:])
        real_mean = model.reals[-1].mean((0, 2, 3)).numpy()
        raw_mean = (real_mean - offsets) / gains  # what the calibration measured
        cast = float(np.abs(raw_mean - real_mean).max() / 2)  # of [0, 1]
        # how much that cast varies from sample to sample: the spread of the calibration's
        # own draws' mean colours (start scale 0), of [0, 1]
        with torch.inference_mode():
            means = torch.stack([_draw(model, sample_sizes(model), 0, i).mean((0, 2, 3))
                                 for i in range(CALIBRATION_SAMPLES)])
        spread = float(means.std(0).max() / 2)
        rows.append({"image": image or image_of(store.folder(model_id)) or "?",
                     "preset": model.config.preset, "seed": model.config.seed,
                     "model": model_id, "swd raw": raw["swd"],
                     "swd calibrated": calibrated["swd"], "cast": round(cast, 3),
                     "cast spread": round(spread, 3),
                     "gains": " ".join(f"{g:.2f}" for g in gains),
                     "diversity": calibrated["diversity"], "copy raw": raw["copy"],
                     "copy calibrated": calibrated["copy"],
                     "calibration (s)": round(seconds, 1),
                     "injection calibration (s)":
                         f"{min(injection_seconds):.1f}-{max(injection_seconds):.1f}"})
        print(table(rows[-1:], COLUMNS), flush=True)
        save_json(args.json, rows)
    print(f"\n# colour calibration, start scale 0, {args.samples} samples a model, {machine()}")
    print(table(rows, COLUMNS))


if __name__ == "__main__":
    main()
