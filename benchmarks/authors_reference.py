"""The SinGAN authors' own code as a reference: train it on balloons.png, score its samples.

    python benchmarks/authors_reference.py /path/to/tamarott/SinGAN --niter 250 --seeds 5

Needs a checkout of https://github.com/tamarott/SinGAN (not part of this repository) and
its extra dependencies in this environment (pip install scikit-image scipy matplotlib
scikit-learn). Each seed runs in a copy of the checkout under benchmarks/out/authors/,
with two edits so it runs on torch 2.x without torchvision: its unused torchvision imports
are dropped, and the fake is recomputed at the start of each G step (its stale-graph reuse
of the D step's fake fails on torch >= 1.5; this engine does the same). Then
`main_train.py --input_name balloons.png --max_size M --niter N --manualSeed S --not_cuda`,
which also writes 50 samples at start scale 0; they are scored by ../shared/tools/quality.py
against its own finest real image (reals[-1]). OMP_NUM_THREADS is 1 unless set.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from common import OUT, SHARED, load_quality, machine, mean_spread, shared_image, table

REAL_PNG = """
import sys, numpy as np, torch
from PIL import Image
import SinGAN.functions as functions
a = functions.convert_image_np(torch.load(sys.argv[1], weights_only=False)[-1])
Image.fromarray(np.clip(np.round(a * 255), 0, 255).astype(np.uint8), "RGB").save(sys.argv[2])
"""


def patched_copy(checkout: Path, folder: Path) -> None:
    """A copy of the authors' code with the two edits of the module docstring."""
    shutil.rmtree(folder, ignore_errors=True)
    shutil.copytree(checkout, folder, ignore=shutil.ignore_patterns(".git", "Output",
                                                                    "TrainedModels"))
    manipulate = folder / "SinGAN" / "manipulate.py"
    lines = manipulate.read_bytes().decode().splitlines(keepends=True)
    manipulate.write_bytes("".join(x for x in lines if "import torchvision" not in x).encode())
    training = folder / "SinGAN" / "training.py"
    text = training.read_bytes().decode()
    step = "for j in range(opt.Gsteps):"
    newline = "\r\n" if "\r\n" in text else "\n"
    old = step + newline + " " * 12 + "netG.zero_grad()" + newline
    if old not in text:
        sys.exit(f"{training}: the G step loop is not where this script expects it")
    training.write_bytes(text.replace(old, old + " " * 12 + "fake = netG(noise.detach(),prev)"
                                      + newline).encode())
    (folder / "Input" / "Images").mkdir(parents=True, exist_ok=True)
    shutil.copy(shared_image("balloons.png"), folder / "Input" / "Images" / "balloons.png")


def threads() -> str:
    return os.environ.get("OMP_NUM_THREADS", "1")


def run_seed(checkout: Path, niter: int, max_size: int, seed: int, quality) -> dict:
    folder = OUT / "authors" / f"niter{niter}-seed{seed}"
    patched_copy(checkout, folder)
    env = {**os.environ, "MPLBACKEND": "Agg", "OMP_NUM_THREADS": threads()}
    start = time.perf_counter()
    subprocess.run([sys.executable, "main_train.py", "--input_name", "balloons.png",
                    "--max_size", str(max_size), "--niter", str(niter), "--manualSeed",
                    str(seed), "--not_cuda"], cwd=folder, env=env, check=True,
                   stdout=subprocess.DEVNULL)
    seconds = time.perf_counter() - start  # training and its 50 samples
    reals = next(folder.glob("TrainedModels/balloons/*/reals.pth"))
    real = folder / "real.png"
    subprocess.run([sys.executable, "-c", REAL_PNG, str(reals), str(real)], cwd=folder,
                   env=env, check=True)
    samples = sorted(folder.glob("Output/RandomSamples/balloons/gen_start_scale=0/*.png"))
    scores = quality.measure(str(real), [str(p) for p in samples])
    return {"seed": seed, "iters": niter, "time (s)": round(seconds, 1), **scores}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("checkout", type=Path, help="a checkout of tamarott/SinGAN")
    parser.add_argument("--niter", type=int, default=250)
    parser.add_argument("--max-size", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--seeds", type=int, default=5)
    args = parser.parse_args()
    if not (args.checkout / "main_train.py").is_file():
        sys.exit(f"{args.checkout} is not a checkout of tamarott/SinGAN (no main_train.py)")
    if not (SHARED / "tools" / "quality.py").is_file():
        sys.exit(f"needs {SHARED / 'tools' / 'quality.py'}")
    quality = load_quality()
    rows = []
    for seed in range(args.seed, args.seed + args.seeds):
        rows.append(run_seed(args.checkout.resolve(), args.niter, args.max_size, seed, quality))
        print(table(rows[-1:], list(rows[-1])), flush=True)
    print(f"\n# the authors' code, balloons.png at {args.max_size} px, OMP_NUM_THREADS="
          f"{threads()}, {machine()}")
    print(table(rows, list(rows[0])))
    if len(rows) > 1:
        print("\nmean +- standard deviation: " + ", ".join(
            f"{k} {mean_spread([r[k] for r in rows])}"
            for k in ("time (s)", "swd", "diversity", "copy")))


if __name__ == "__main__":
    main()
