#!/usr/bin/env python3
"""Every manipulation task of the paper on the shared examples, with the time of each step.

    python benchmarks/tasks.py [--max-size 96] [--preset default] [--reuse] [--only paint,sr]
                               [--gallery docs/gallery]

The examples are the SinGAN authors' images in ../shared/images. One contact sheet per task
(inputs, the result at the default start scale, a sweep over every start scale) goes into
benchmarks/out/tasks/ (git-ignored), with the models in its models/; --reuse keeps the
models of an earlier run so that only the tasks run again. --gallery writes the results
alone (never the authors' inputs) for the README. For super-resolution it also shrinks
balloons.png by 4, upscales it back with SinGAN and with bicubic, and prints PSNR and the
patch SWD of ../shared/tools/quality.py against the original.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch
from common import OUT, SHARED, as_saved, as_uint8, load_quality
from PIL import Image
from train_speed import parse_overrides

from singan_backend import actions
from singan_backend.cli import save_animation
from singan_backend.demo import contact_sheet
from singan_backend.engine import superres
from singan_backend.engine.config import preset
from singan_backend.engine.inject import default_start_scale
from singan_backend.images import load_image, load_mask, save_image
from singan_backend.store import ModelStore

IMAGES = SHARED / "images"
TASKS = ("harmonize", "edit", "paint", "sr", "animate")


def log(text: str) -> None:
    print(text, flush=True)


class Bench:
    def __init__(self, args):
        self.args = args
        self.out = Path(args.out)
        self.out.mkdir(parents=True, exist_ok=True)
        self.store = ModelStore(self.out / "models")
        self.gallery = Path(args.gallery) if args.gallery else None
        self.times: list[tuple[str, float]] = []

    def timed(self, label: str, fn, *a, **kw):
        start = time.perf_counter()
        result = fn(*a, **kw)
        seconds = time.perf_counter() - start
        self.times.append((label, seconds))
        log(f"  {label}: {seconds:.1f} s")
        return result

    def config(self, **overrides):
        options = {"max_size": self.args.max_size, "iters": self.args.iters,
                   **parse_overrides(self.args.set), **overrides}
        return preset(self.args.preset, **options)

    def progress(self):
        last = [0.0]

        def report(p) -> None:
            if time.monotonic() - last[0] > 60:
                last[0] = time.monotonic()
                log(f"    {p.task} {p.stage} {p.iteration}/{p.total}, {p.elapsed_s:.0f} s")
        return report

    def model(self, name: str, train) -> str:
        """A complete model called `name` from an earlier run (--reuse), or a new one."""
        if self.args.reuse:
            for info in self.store.list():
                if info.name == name and info.complete:
                    seconds = self.store.manifest(info.id)["train_seconds"]
                    log(f"  train {name}: reused {info.id} (trained in {sum(seconds):.0f} s)")
                    self.times.append((f"train {name} (earlier run)", sum(seconds)))
                    return info.id
        model_id = self.timed(f"train {name}", train)
        info = self.store.info(model_id)
        log(f"    {info.num_scales} scales, finest {info.finest[1]} x {info.finest[0]} px")
        return model_id

    def train_image(self, name: str, path: Path, **overrides) -> str:
        return self.model(name, lambda: actions.train(
            self.store, load_image(path), name=name, config=self.config(**overrides),
            on_progress=self.progress(), source_name=path.name))

    def sheet(self, name: str, rows) -> None:
        path = self.out / f"{name}.png"
        contact_sheet(rows).save(path)
        log(f"  wrote {path}")

    def to_gallery(self, name: str, image: np.ndarray) -> None:
        if self.gallery:
            self.gallery.mkdir(parents=True, exist_ok=True)
            save_image(self.gallery / name, image)
            log(f"  gallery: {self.gallery / name}")

    # -- tasks -----------------------------------------------------------------------------
    def masked(self, task: str, training: str, reference: str, mask: str) -> None:
        name = Path(training).stem
        model_id = self.train_image(name, IMAGES / training)
        info = self.store.info(model_id)
        composite = at_model_size(load_image(IMAGES / reference), info)
        mask_img = at_model_size(load_mask(IMAGES / mask), info)
        num_scales = info.num_scales
        default = default_start_scale(task, num_scales)
        sweep = {}
        for n in range(1, num_scales):
            sweep[n] = self.timed(f"{task} start scale {n}", actions.inject, self.store,
                                  model_id, task, composite, mask_img, start_scale=n, seed=0)[0]
        result = sweep[default]
        self.sheet(task, [
            ("inputs: reference, mask (the SinGAN authors' examples)",
             [composite, np.repeat(mask_img[..., None], 3, axis=2)]),
            (f"result at the default start scale {default} of {num_scales - 1}, and unmasked",
             [result.image, result.unmasked]),
            (f"start scales 1 .. {num_scales - 1}", [r.image for r in sweep.values()]),
        ])
        self.to_gallery(f"{task}.png", result.image)

    def paint(self) -> None:
        model_id = self.train_image("trees3", IMAGES / "trees3.png")
        info = self.store.info(model_id)
        painting = at_model_size(load_image(IMAGES / "paint" / "trees1.png"), info)
        num_scales = info.num_scales
        default = default_start_scale("paint", num_scales)
        plain, quantised = [], []
        for n in range(1, num_scales):
            plain.append(self.timed(f"paint start scale {n}", actions.paint, self.store,
                                    model_id, painting, start_scale=n, seed=0))
            quantised.append(self.timed(f"paint --quantize start scale {n}", actions.paint,
                                        self.store, model_id, painting, start_scale=n,
                                        quantize=True, seed=0))
        refined = self.timed(f"paint --refine start scale {default}", actions.paint, self.store,
                             model_id, painting, start_scale=default, refine=True, seed=0,
                             on_progress=self.progress())
        self.sheet("paint", [
            ("input: the painting (the SinGAN authors' example)", [painting]),
            (f"default start scale {default}: plain, --quantize, --refine",
             [plain[default - 1], quantised[default - 1], refined]),
            (f"start scales 1 .. {num_scales - 1}", plain),
            (f"--quantize, start scales 1 .. {num_scales - 1}", quantised),
        ])
        self.to_gallery("paint.png", plain[default - 1])
        self.to_gallery("paint_refined.png", refined)

    def sr(self) -> None:
        def sr_model(name: str, image: np.ndarray, source: str) -> str:
            # SR learns the image's own finest detail: train at its full size (a smaller
            # --max-size would teach the finest generator a blurrier scale than the input).
            full = max(self.args.max_size, *image.shape[:2])
            return self.model(name, lambda: actions.train_sr(
                self.store, image, 4, config=self.config(max_size=full, **superres.SR_DEFAULTS),
                name=name,
                source_name=source, on_progress=self.progress()))

        low = load_image(IMAGES / "33039_LR.png")
        model_id = sr_model("33039_LR-sr", low, "33039_LR.png")
        singan = self.timed("upscale 33039_LR x4", actions.upscale, self.store, low, 4,
                            model_id=model_id, seed=0)
        bicubic = resize_pil(low, singan.shape[:2])
        self.to_gallery("upscale_x4.png", singan)

        # Shrink an image we have the original of by 4, upscale it back, compare.
        original = load_image(IMAGES / "balloons.png")
        h, w = (original.shape[0] // 4) * 4, (original.shape[1] // 4) * 4
        original = np.ascontiguousarray(original[:h, :w])
        small = resize_pil(original, (h // 4, w // 4))
        small_id = sr_model("balloons-quarter-sr", small, "balloons.png / 4")
        back = self.timed("upscale balloons / 4 x4", actions.upscale, self.store, small, 4,
                          model_id=small_id, seed=0)
        back_bicubic = resize_pil(small, (h, w))
        quality = load_quality()
        log("  balloons / 4, upscaled x4, against the original (PSNR dB higher is better, "
            "swd lower is better):")
        for label, image in (("bicubic", back_bicubic), ("SinGAN", back)):
            log(f"    {label:8} PSNR {psnr(original, image):6.2f}   swd "
                f"{quality.swd(as_saved(original), as_saved(image)):6.2f}")
        self.sheet("sr", [
            ("33039_LR x4: bicubic | SinGAN", [bicubic, singan]),
            ("balloons: original | / 4 then x4 with bicubic | with SinGAN",
             [original, back_bicubic, back]),
        ])

    def animate(self) -> None:
        model_id = self.train_image("lightning1-anim", IMAGES / "lightning1.png",
                                    noise_padding=True, min_size=20)
        rows = []
        for start in (0, 1, 2):
            frames = self.timed(f"animate 100 frames, start scale {start}", actions.animate,
                                self.store, model_id, frames=100, start_scale=start, beta=0.9,
                                seed=0)
            gif = self.out / f"animation_start{start}.gif"
            save_animation(gif, frames, 10)
            steps = [np.abs(a - b).mean() for a, b in zip(frames, frames[1:])]
            gap = np.abs(frames[-1] - frames[0]).mean()
            log(f"  wrote {gif}: mean step {np.mean(steps):.4f}, last -> first {gap:.4f}")
            rows.append((f"start scale {start}: frames 0, 10, ..., 90", frames[::10]))
            if start == 0 and self.gallery:  # start scale 0 moves most
                self.gallery.mkdir(parents=True, exist_ok=True)
                save_animation(self.gallery / "animation.gif", frames, 10)
                log(f"  gallery: {self.gallery / 'animation.gif'}")
        self.sheet("animate", rows)


def resize_pil(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Pillow's bicubic (antialiased when shrinking), the baseline everyone knows."""
    pil = Image.fromarray(as_uint8(image)).resize((size[1], size[0]), Image.BICUBIC)
    return np.asarray(pil, dtype=np.float32) / 255.0


def at_model_size(image: np.ndarray, info) -> np.ndarray:
    """The reference at the model's finest size, as the paper resizes it. (Larger references
    work too, but then the region the model redraws is an upsampled, softer picture.)"""
    return image if image.shape[:2] == info.finest else resize_pil(image, info.finest)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((as_uint8(a).astype(np.float64) - as_uint8(b)) ** 2)
    return float(10 * np.log10(255.0**2 / max(mse, 1e-12)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="default")
    parser.add_argument("--max-size", type=int, default=250, help="longest side trained, px")
    parser.add_argument("--iters", type=int, help="iterations per scale (default: the preset's)")
    parser.add_argument("--set", nargs="*", default=[], metavar="OPTION=VALUE",
                        help="override any training option, e.g. lr=0.0005")
    parser.add_argument("--only", default=",".join(TASKS), help=f"some of {','.join(TASKS)}")
    parser.add_argument("--reuse", action="store_true", help="keep complete earlier models")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads (1: on a shared machine more threads spin and slow)")
    parser.add_argument("--out", default=str(OUT / "tasks"),
                        help="its own folder: other benchmarks clear benchmarks/out/models")
    parser.add_argument("--gallery", help="also write the results alone here (docs/gallery)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    bench = Bench(args)
    only = args.only.split(",")
    log(f"preset {args.preset}, max_size {args.max_size}, iters "
        f"{args.iters or preset(args.preset).iters}, {args.threads} thread(s), torch "
        f"{torch.__version__}")
    start = time.perf_counter()
    if "harmonize" in only:
        log("harmonization: starry_night.png, harmonization/starry_night_naive.png + _mask")
        bench.masked("harmonize", "starry_night.png", "harmonization/starry_night_naive.png",
                     "harmonization/starry_night_naive_mask.png")
    if "edit" in only:
        log("editing: stone.png, editing/stone_edit.png + _mask")
        bench.masked("edit", "stone.png", "editing/stone_edit.png",
                     "editing/stone_edit_mask.png")
    if "paint" in only:
        log("paint-to-image: trees3.png, paint/trees1.png")
        bench.paint()
    if "sr" in only:
        log("super-resolution x4: 33039_LR.png; balloons.png / 4")
        bench.sr()
    if "animate" in only:
        log("animation: lightning1.png trained with noise padding, min_size 20")
        bench.animate()
    log(f"total {time.perf_counter() - start:.0f} s")
    for label, seconds in bench.times:
        log(f"  {seconds:8.1f} s  {label}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
