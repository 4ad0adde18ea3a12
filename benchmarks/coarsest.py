"""Which training option moves quality: train only the coarsest scales, several seeds each.

    python benchmarks/coarsest.py [--scales 1] [--iters 250] [--seeds 3] \
        --variants "" "lr_drop=1.0" "alpha=20.0" "noise_amp_weight=0.3 g_ema=0.99"

Each variant is a space-separated list of OPTION=VALUE overrides of the `default` preset
(the empty string is the preset itself). --image (default balloons.png, or a path under
../shared/images such as canvas/cups.jpg) at --max-size 64; the first --scales scales are
trained (1: only the coarsest, 34 x 25 on balloons, about 25 s single-threaded), then 40
samples are scored with ../shared/tools/quality.py against the real image at the last
trained scale. The coarsest scale decides the layout, and most of the swd: a cheap place to
rank options before a full benchmarks/quality.py run.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
from common import (
    as_saved,
    as_uint8,
    load_quality,
    machine,
    mean_spread,
    shared_image,
    table,
    tile_sheet,
)
from train_speed import parse_overrides

from singan_backend.engine import train as engine_train
from singan_backend.engine.config import hashed_seed, preset
from singan_backend.engine.singan import random_noise, run_chain
from singan_backend.images import load_image, to_tensor


def as_png(image: torch.Tensor) -> np.ndarray:
    """(1, 3, H, W) in [-1, 1] -> (H, W, 3) float as a PNG would hold it."""
    return as_saved((image[0].permute(1, 2, 0).numpy() + 1) / 2)


def run(image: torch.Tensor, scales: int, samples: int, quality, **options) -> dict:
    config = preset("default", max_size=64, **options)
    model = engine_train.train(engine_train.new_model(image, config, torch.device("cpu")),
                               scales=scales)
    real = as_png(model.reals[scales - 1])
    # A stream of its own: seed 1000 is the one a model trained with seed 1 draws its z_opt
    # with (train._seed), so its first "random" sample was the reconstruction.
    gen = torch.Generator().manual_seed(hashed_seed("coarsest.py samples"))
    with torch.no_grad():
        drawn = [as_png(run_chain(model, model.pyramid.sizes,
                                  lambda k, s: random_noise(model, k, s, gen), last=scales - 1))
                 for _ in range(samples)]
    return {"s": sum(model.train_seconds), "real": real, "drawn": drawn,
            "swd": float(np.mean([quality.swd(real, x) for x in drawn])),
            "std": float(np.mean([x.std() for x in drawn])),
            "diversity": float(np.stack(drawn).std(axis=0).mean() / real.std()),
            "real std": float(real.std())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--variants", nargs="+", default=[""])
    parser.add_argument("--scales", type=int, default=1)
    parser.add_argument("--iters", type=int, default=250)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--samples", type=int, default=40)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--image", default="balloons.png", help="under ../shared/images")
    parser.add_argument("--sheet", type=Path, help="also a picture: per variant and seed, the "
                        "real image at the last trained scale, then 5 samples, pixels x 4")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    image = to_tensor(load_image(shared_image(args.image)))
    quality = load_quality()
    rows, pictures, labels = [], [], []
    for variant in args.variants:
        options = {"iters": args.iters, **parse_overrides(variant.split())}
        runs = [run(image, args.scales, args.samples, quality, seed=seed, **options)
                for seed in range(args.seeds)]

        for seed, r in enumerate(runs):
            pictures.append([_picture(x) for x in [r["real"], *r["drawn"][:5]]])
            labels.append([f"{variant or 'default'}, seed {seed}"] + [""] * 5)

        def mean(key: str, runs=runs) -> str:
            return mean_spread([r[key] for r in runs])

        rows.append({"variant": variant or "default", "swd": mean("swd"),
                     "sample std": mean("std"), "real std": f"{runs[0]['real std']:.3f}",
                     "diversity": mean("diversity"), "s per run": mean("s")})
        print(table(rows[-1:], list(rows[-1])), flush=True)
    print(f"\n# coarsest {args.scales} scale(s) of {args.image} at 64 px, {args.iters} "
          f"iterations, {args.seeds} seeds each, {machine()}")
    print(table(rows, list(rows[0])))
    if args.sheet:
        size = pictures[0][0].size
        tile_sheet(pictures, ["real", "samples"] + [""] * 4, args.sheet, tile=size,
                   labels=labels)
        print(f"wrote {args.sheet}")


def _picture(image: np.ndarray):
    from PIL import Image
    picture = Image.fromarray(as_uint8(image))
    return picture.resize((picture.width * 4, picture.height * 4), Image.NEAREST)


if __name__ == "__main__":
    main()
