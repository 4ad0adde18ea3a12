"""Time to quality: train each preset on balloons.png, draw 50 samples, score them.

    python benchmarks/quality.py --presets paper default quick --max-size 64 [--seeds 3]
    python benchmarks/quality.py --presets default --max-size 250 --seeds 2 --images all \
        --threads 1 --sheets benchmarks/out/sheets --json table-default.json
    python benchmarks/quality.py --report table-default.json table-quick.json

--images runs every image named (paths under ../shared/images; `all` = the eight training
images and the three canvas photos), --sheets writes one samples sheet per run there, and
the rows go to benchmarks/out/quality-SIZE.json (or --json) after every run, so a long table
that is stopped keeps what it measured; --report prints the README's table of such files
(a run named twice counts once, the later).

With --seeds N each preset is trained N times (seeds --seed .. --seed + N - 1) and a last
table gives the mean and spread: one run's swd varies by about +-0.3 from seed to seed.

Scores come from ../shared/tools/quality.py against the training image at the finest
scale (64 x 48 for --max-size 64): patch SWD (lower is better), diversity, copy fraction.
"""

from __future__ import annotations

import argparse
import json
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
    parser.add_argument("--images", nargs="+", help="images under ../shared/images to run "
                        "(instead of --image); `all` = " + " ".join(ALL_IMAGES))
    parser.add_argument("--sheets", type=Path, help="a samples sheet per run in this folder")
    parser.add_argument("--layout", choices=("model", "patches"), default=None,
                        help="the samples' layout (Generate's; default: each model's choice; "
                        "the 250 px tables of the README were measured before the choice "
                        "existed, as --layout model)")
    parser.add_argument("--json", help="file name under benchmarks/out for the rows "
                        "(default quality-SIZE.json)")
    parser.add_argument("--report", nargs="+", metavar="JSON", help="only print the table of "
                        "the rows saved in these files under benchmarks/out")
    args = parser.parse_args()
    if args.report:
        print(report([json.loads((OUT / name).read_text()) for name in args.report]))
        return
    images = ALL_IMAGES if args.images == ["all"] else args.images or [args.image]
    if args.threads:
        torch.set_num_threads(args.threads)
    else:  # as the CLI and the backend: threads follow the load of the other programs
        cpu_policy.enable()
    overrides = parse_overrides(args.set)
    store = ModelStore(OUT / "models")
    rows = []
    # seed-major, then preset, then image: a table stopped early still has every image
    for seed in range(args.seed, args.seed + args.seeds):
        for name in args.presets:
            for image in images:
                row = score_run(store, args, image, name, seed, overrides)
                folder = row.pop("folder")
                if args.sheet and not rows:
                    samples_sheet(folder).save(args.sheet)
                if args.sheets:
                    args.sheets.mkdir(parents=True, exist_ok=True)
                    zoom = max(1, round(600 / max(Image.open(folder / "real.png").size)))
                    samples_sheet(folder, columns=4, zoom=zoom).save(
                        args.sheets / f"{Path(image).stem}-{name}-seed{seed}.jpg", quality=88)
                rows.append(row)
                print(table([row], list(row)), flush=True)
                save_json(args.json or f"quality-{args.max_size}.json", rows)
    print(f"\n# quality at max_size {args.max_size}, {machine()}")
    print(table(rows, list(rows[0])))
    if args.seeds > 1:
        print(f"\n# mean +- standard deviation over {args.seeds} seeds")
        print(table(summarise(rows), ["image", "preset", "runs", "total (s)", "swd", "diversity",
                                      "copy"]))


def score_run(store: ModelStore, args, image: str, name: str, seed: int,
              overrides: dict) -> dict:
    """Train one preset with one seed, draw the samples, score them against the real."""
    cpu_start = time.process_time()
    model_id, row = train_timed(store, shared_image(image), name, args.max_size,
                                args.iters, seed, args.device, overrides)
    row = {"image": Path(image).stem, **row}
    # CPU time of every thread: on a machine shared with other jobs it moves less than the
    # wall time (with one thread it is about the idle machine's one-thread wall time)
    row["cpu (s)"] = round(time.process_time() - cpu_start, 1)
    row["seed"] = seed
    row["retries"] = len(store.manifest(model_id).get("collapses", []))
    row["layout"] = args.layout or store.info(model_id).layout
    tag = "-".join([Path(image).stem, name, *(f"{k}{v}" for k, v in overrides.items()),
                    f"seed{seed}"])
    folder = OUT / f"quality-{tag}-{args.max_size}"
    folder.mkdir(parents=True, exist_ok=True)
    real = folder / "real.png"
    model = actions.load(store, model_id, args.device)
    save_image(real, (model.reals[-1][0].permute(1, 2, 0).cpu().numpy() + 1) / 2)
    paths = []
    # lift=False: the model's own samples at its own size, scored against its training image
    # (with the lift they would take the source's size, which the real.png here does not)
    for i, sample in enumerate(actions.sample(store, model_id, n=args.samples, seed=1000,
                                              lift=False, layout=args.layout,
                                              device=args.device)):
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


ALL_IMAGES = ["balloons.png", "birds.png", "lightning1.png", "mountains3.png",
              "starry_night.png", "stone.png", "trees3.png", "33039_LR.png",
              "canvas/forest_path.jpg", "canvas/cups.jpg", "canvas/moss.jpg"]


def report(saved: list[list[dict]]) -> str:
    """One table of saved rows, by image (ALL_IMAGES' order), preset and seed."""
    runs = {(r["image"], r["preset"], r["seed"]): r for rows in saved for r in rows}
    order = [Path(name).stem for name in ALL_IMAGES]

    def place(key):
        image, name, seed = key
        return (order.index(image) if image in order else len(order), image, name, seed)

    rows = [{"image": r["image"], "preset (size)": f"{r['preset']} ({r['max_size']} px)",
             "seed": r["seed"], "scales": r["scales"], "wall time (s)": round(r["total (s)"]),
             "CPU time (s)": round(r["cpu (s)"]), "swd": f"{r['swd']:.2f}",
             "diversity": f"{r['diversity']:.2f}", "copy": f"{r['copy']:.2f}",
             "collapsed tries": r["retries"]}
            for r in (runs[k] for k in sorted(runs, key=place))]
    return table(rows, list(rows[0]))


def summarise(rows: list[dict]) -> list[dict]:
    """Mean and spread over the seeds of each image and preset."""
    groups: dict[tuple[str, str], list[dict]] = {}
    for row in rows:
        groups.setdefault((row["image"], row["preset"]), []).append(row)

    def spread(runs, key):
        return mean_spread([r[key] for r in runs if r.get(key) is not None])

    return [{"image": image, "preset": p, "runs": len(runs),
             **{k: spread(runs, k) for k in ("total (s)", "swd", "diversity", "copy")}}
            for (image, p), runs in groups.items()]


if __name__ == "__main__":
    main()
