"""Time to quality: train each preset on balloons.png, draw 50 samples, score them.

    python benchmarks/quality.py --presets paper default quick --max-size 64 [--seeds 3]

With --seeds N each preset is trained N times (seeds --seed .. --seed + N - 1) and a last
table gives the mean and spread: one run's swd varies by about +-0.3 from seed to seed.

Scores come from ../shared/tools/quality.py against the training image at the finest
scale (64 x 48 for --max-size 64): patch SWD (lower is better), diversity, copy fraction.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch
from common import OUT, machine, mean_spread, quality, save_json, shared_image, table
from PIL import Image
from train_speed import add_common_arguments, parse_overrides, train_timed

from singan_backend import actions, cpu_policy
from singan_backend.images import save_image
from singan_backend.store import ModelStore


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_common_arguments(parser)
    parser.add_argument("--samples", type=int, default=50)
    parser.add_argument("--seeds", type=int, default=1, help="training runs per preset")
    parser.add_argument("--sheet", help="write the first run's real image and first 11 "
                        "samples, enlarged 3x, to this PNG (docs/default-samples-64.png)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    else:  # as the CLI and the backend: threads follow the load of the other programs
        cpu_policy.enable()
    overrides = parse_overrides(args.set)
    store = ModelStore(OUT / "models")
    rows = []
    for name in args.presets:
        for seed in range(args.seed, args.seed + args.seeds):
            row = score_run(store, args, name, seed, overrides)
            folder = row.pop("folder")
            if args.sheet and not rows:
                samples_sheet(folder).save(args.sheet)
            rows.append(row)
            print(table([row], list(row)), flush=True)
    print(f"\n# quality on {args.image}, max_size {args.max_size}, {machine()}")
    print(table(rows, list(rows[0])))
    if args.seeds > 1:
        print(f"\n# mean +- standard deviation over {args.seeds} seeds")
        print(table(summarise(rows), ["preset", "runs", "total (s)", "swd", "diversity",
                                      "copy"]))
    save_json(f"quality-{args.max_size}.json", rows)


def score_run(store: ModelStore, args, name: str, seed: int, overrides: dict) -> dict:
    """Train one preset with one seed, draw the samples, score them against the real."""
    cpu_start = time.process_time()
    model_id, row = train_timed(store, shared_image(args.image), name, args.max_size,
                                args.iters, seed, args.device, overrides)
    # CPU time of every thread: on a machine shared with other jobs it moves less than the
    # wall time (with one thread it is about the idle machine's one-thread wall time)
    row["cpu (s)"] = round(time.process_time() - cpu_start, 1)
    row["seed"] = seed
    row["retries"] = len(store.manifest(model_id).get("collapses", []))
    tag = "-".join([name, *(f"{k}{v}" for k, v in overrides.items()), f"seed{seed}"])
    folder = OUT / f"quality-{tag}-{args.max_size}"
    folder.mkdir(parents=True, exist_ok=True)
    real = folder / "real.png"
    model = actions.load(store, model_id, args.device)
    save_image(real, (model.reals[-1][0].permute(1, 2, 0).cpu().numpy() + 1) / 2)
    paths = []
    # lift=False: the model's own samples at its own size, scored against its training image
    # (with the lift they would take the source's size, which the real.png here does not)
    for i, sample in enumerate(actions.sample(store, model_id, n=args.samples, seed=1000,
                                              lift=False, device=args.device)):
        paths.append(folder / f"{i:03d}.png")
        save_image(paths[-1], sample)
    row.update(quality(real, paths))
    row["folder"] = folder
    return row


def samples_sheet(folder: Path, columns: int = 6, rows: int = 2, zoom: int = 3,
                  pad: int = 4) -> Image.Image:
    """real.png then the first samples of a run folder, enlarged, on a white grid."""
    paths = [folder / "real.png", *sorted(folder.glob("[0-9][0-9][0-9].png"))]
    tiles = [Image.open(p).convert("RGB") for p in paths[:columns * rows]]
    w, h = tiles[0].width * zoom, tiles[0].height * zoom
    sheet = Image.new("RGB", (columns * (w + pad) - pad, rows * (h + pad) - pad), "white")
    for i, tile in enumerate(tiles):
        sheet.paste(tile.resize((w, h), Image.Resampling.BICUBIC),
                    ((i % columns) * (w + pad), (i // columns) * (h + pad)))
    return sheet


def summarise(rows: list[dict]) -> list[dict]:
    by_preset: dict[str, list[dict]] = {}
    for row in rows:
        by_preset.setdefault(row["preset"], []).append(row)

    def spread(runs, key):
        return mean_spread([r[key] for r in runs if r.get(key) is not None])

    return [{"preset": p, "runs": len(runs), **{k: spread(runs, k) for k in
             ("total (s)", "swd", "diversity", "copy")}} for p, runs in by_preset.items()]


if __name__ == "__main__":
    main()
