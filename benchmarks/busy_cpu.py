"""A training on an idle machine against the same training with one core taken by another
program (a busy loop pinned to core 0, as Krita painting beside the backend).

    python benchmarks/busy_cpu.py [--iters 20] [--max-size 64] [--repeat 2]
    python benchmarks/busy_cpu.py --env SINGAN_CPU_POLICY=off   # the policy off: torch's own

Each training runs in a fresh Python process with the thread policy of
singan_backend.cpu_policy enabled, as the CLI and the backend enable it; --env sets variables
in that process (OMP_NUM_THREADS or SINGAN_CPU_POLICY=off turn the policy off). Prints both times and the ratio
busy / idle (issue 14: at most 2.5). Other programs using the CPU disturb the figures: run it
twice.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import subprocess
import sys
import time

from common import ROOT, SHARED

# The child: a short training of the default preset; prints its wall time in seconds.
CHILD = """
import sys, time
from singan_backend import cpu_policy
cpu_policy.enable()  # as the CLI and the backend do
from singan_backend import actions
from singan_backend.demo import demo_image
from singan_backend.engine.config import preset
from singan_backend.images import load_image
from singan_backend.store import ModelStore
import tempfile, pathlib, torch
path = pathlib.Path(sys.argv[1])
image = load_image(path) if path.exists() else demo_image(64, 48, seed=3)
config = preset(sys.argv[4], max_size=int(sys.argv[2]), iters=int(sys.argv[3]), seed=0)
with tempfile.TemporaryDirectory() as root:
    start = time.perf_counter()
    actions.train(ModelStore(root), image, config=config, device="cpu")
    print(f"{time.perf_counter() - start:.2f} {torch.get_num_threads()}")
"""


def spin(core: int) -> None:
    os.sched_setaffinity(0, {core})
    while True:
        pass


def time_training(args, env: dict) -> tuple[float, int]:
    image = SHARED / "images" / "balloons.png"
    out = subprocess.run([sys.executable, "-c", CHILD, str(image), str(args.max_size),
                          str(args.iters), args.preset], env=env, cwd=ROOT,
                         capture_output=True, text=True, timeout=args.timeout)
    if out.returncode != 0:
        sys.exit(f"the training failed:\n{out.stderr}")
    seconds, threads = out.stdout.split()
    return float(seconds), int(threads)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--iters", type=int, default=20)
    parser.add_argument("--max-size", type=int, default=64)
    parser.add_argument("--preset", default="default")
    parser.add_argument("--repeat", type=int, default=1, help="idle/busy pairs to run")
    parser.add_argument("--env", nargs="*", default=[], metavar="NAME=VALUE")
    parser.add_argument("--timeout", type=float, default=900)
    args = parser.parse_args()
    env = dict(os.environ)
    env.update(pair.split("=", 1) for pair in args.env)
    label = " ".join(args.env) or "the thread policy"
    for _ in range(args.repeat):
        load = os.getloadavg()[0]  # other jobs on the machine: the "idle" run is not idle
        idle, idle_threads = time_training(args, env)
        busy_loop = multiprocessing.Process(target=spin, args=(0,), daemon=True)
        busy_loop.start()
        time.sleep(0.5)  # let the load reach the policy's view of the cores
        try:
            busy, busy_threads = time_training(args, env)
        finally:
            busy_loop.terminate()
            busy_loop.join()
        print(f"{label}: {args.preset} at {args.max_size} px, {args.iters} iters: "
              f"idle {idle:.1f} s ({idle_threads} threads), one core busy {busy:.1f} s "
              f"({busy_threads} threads), ratio {busy / idle:.2f}; load average before: "
              f"{load:.1f} on {os.cpu_count()} cores", flush=True)


if __name__ == "__main__":
    main()
