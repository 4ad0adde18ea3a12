"""Training time per scale on balloons.png, for each preset.

    python benchmarks/train_speed.py --presets paper default quick --max-size 64 --iters 1000

Prints a table (seconds per scale and in total). `--iters` overrides every preset's
iteration count; leave it out to time the presets as they are.
"""

from __future__ import annotations

import argparse
import json
import time

import torch
from common import machine, save_json, shared_image, table

from singan_backend import actions
from singan_backend.engine.config import preset
from singan_backend.images import load_image
from singan_backend.store import ModelStore


def parse_overrides(pairs: list[str]) -> dict:
    """["lr_drop=1.0", "fixed_z_opt=false"] -> {"lr_drop": 1.0, "fixed_z_opt": False}."""
    out = {}
    for pair in pairs:
        key, _, value = pair.partition("=")
        out[key] = json.loads(value.lower() if value.lower() in ("true", "false") else value)
    return out


def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--presets", nargs="+", default=["paper", "default", "quick"])
    parser.add_argument("--image", default="balloons.png")
    parser.add_argument("--max-size", type=int, default=64)
    parser.add_argument("--iters", type=int, help="override every preset's iterations")
    parser.add_argument("--set", nargs="*", default=[], metavar="OPTION=VALUE",
                        help="override any training option, e.g. lr_drop=1.0")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's choice)")
    parser.add_argument("--device")


def train_timed(store: ModelStore, image_path, preset_name: str, max_size: int, iters: int | None,
                seed: int, device: str | None, overrides: dict | None = None
                ) -> tuple[str, dict]:
    config = preset(preset_name, max_size=max_size, iters=iters, seed=seed, **(overrides or {}))
    start = time.perf_counter()
    model_id = actions.train(store, load_image(image_path), name=f"bench-{preset_name}",
                             config=config, device=device)
    total = time.perf_counter() - start
    seconds = store.manifest(model_id)["train_seconds"]
    label = " ".join([preset_name, *(f"{k}={v}" for k, v in (overrides or {}).items())])
    return model_id, {"preset": label, "max_size": max_size, "iters": config.iters,
                      "steps (D/G)": f"{config.d_steps}/{config.g_steps}",
                      "scales": len(seconds), "per scale (s)": " ".join(f"{s:.0f}" for s in seconds),
                      "total (s)": round(total, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_common_arguments(parser)
    parser.add_argument("--models-dir", default="benchmarks/out/models")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    store = ModelStore(args.models_dir)
    rows = [train_timed(store, shared_image(args.image), p, args.max_size, args.iters,
                        args.seed, args.device, parse_overrides(args.set))[1]
            for p in args.presets]
    print(f"# train_speed on {args.image}, {machine()}")
    print(table(rows, list(rows[0])))
    save_json("train_speed.json", rows)


if __name__ == "__main__":
    main()
