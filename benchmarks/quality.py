"""Time to quality: train each preset on balloons.png, draw 50 samples, score them.

    python benchmarks/quality.py --presets paper default quick --max-size 64

Scores come from ../shared/tools/quality.py against the training image at the finest
scale (64 x 48 for --max-size 64): patch SWD (lower is better), diversity, copy fraction.
"""

from __future__ import annotations

import argparse

import torch
from common import OUT, machine, quality, save_json, shared_image, table
from train_speed import add_common_arguments, parse_overrides, train_timed

from singan_backend import actions
from singan_backend.images import save_image
from singan_backend.store import ModelStore


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_common_arguments(parser)
    parser.add_argument("--samples", type=int, default=50)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    overrides = parse_overrides(args.set)
    store = ModelStore(OUT / "models")
    rows = []
    for name in args.presets:
        model_id, row = train_timed(store, shared_image(args.image), name, args.max_size,
                                    args.iters, args.seed, args.device, overrides)
        tag = "-".join([name, *(f"{k}{v}" for k, v in overrides.items())])
        folder = OUT / f"quality-{tag}-{args.max_size}"
        folder.mkdir(parents=True, exist_ok=True)
        real = folder / "real.png"
        model = actions.load(store, model_id, args.device)
        save_image(real, (model.reals[-1][0].permute(1, 2, 0).cpu().numpy() + 1) / 2)
        paths = []
        for i, sample in enumerate(actions.sample(store, model_id, n=args.samples, seed=1000,
                                                  device=args.device)):
            paths.append(folder / f"{i:03d}.png")
            save_image(paths[-1], sample)
        row.update(quality(real, paths))
        rows.append(row)
        print(table([row], list(row)), flush=True)
    print(f"\n# quality on {args.image}, max_size {args.max_size}, {machine()}")
    print(table(rows, list(rows[0])))
    save_json(f"quality-{args.max_size}.json", rows)


if __name__ == "__main__":
    main()
