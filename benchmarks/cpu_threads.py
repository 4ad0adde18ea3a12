"""How to use the CPU: torch thread count and memory format, timed on real training steps.

    python benchmarks/cpu_threads.py [--iters 30]

Trains the four scales of balloons.png at --max-size 64 (paper settings) for a few
iterations under each setting and prints milliseconds per iteration (wall clock).
"""

from __future__ import annotations

import argparse

import torch
from common import machine, shared_image, table

from singan_backend.engine import train as engine_train
from singan_backend.engine.config import preset
from singan_backend.images import load_image, to_tensor


def time_scales(iters: int, channels_last: bool) -> list[float]:
    image = to_tensor(load_image(shared_image("balloons.png")))
    model = engine_train.new_model(image, preset("paper", max_size=64, iters=iters),
                                   torch.device("cpu"))
    # channels_last: what the engine does on the CPU (engine.models.place); contiguous:
    # the same nets with their weights converted back.
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    make_nets = engine_train._nets_for_scale

    def nets(m, n, attempt=0):
        g, d = make_nets(m, n, attempt)
        return g.to(memory_format=fmt), d.to(memory_format=fmt)

    engine_train._nets_for_scale = nets
    try:
        engine_train.train(model)
        return [1000 * seconds / iters for seconds in model.train_seconds]
    finally:
        engine_train._nets_for_scale = make_nets


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--iters", type=int, default=30)
    args = parser.parse_args()
    rows = []
    for threads in sorted({1, torch.get_num_threads()}):
        for channels_last in (False, True):
            torch.set_num_threads(threads)
            ms = time_scales(args.iters, channels_last)
            rows.append({"threads": threads, "memory format":
                         "channels_last" if channels_last else "contiguous",
                         "ms/iter per scale": " ".join(f"{m:.0f}" for m in ms),
                         "s per 1000 iters": round(sum(ms))})
    print(f"# cpu_threads, {machine()}")
    print(table(rows, list(rows[0])))


if __name__ == "__main__":
    main()
