"""Results at the canvas's size: instant variations, lifted samples, the bicubic baseline.

    python benchmarks/canvas.py [--photos forest_path cups moss] [--n 2] [--presets quick]
        [--iters 150] [--models forest_path=MODEL_ID ...] [--big] [--levels] [--out DIR]
        [--threads 1]

For each photo of ../shared/images/canvas/ (1600 x 1000): (a) `instant` variations at
--width x --height, (b) samples of a model (trained here with each of --presets, or the
--models given) lifted to that size by `lift`, (c) the same samples upscaled bicubically,
today's behaviour. Each job runs in a fresh process, so the peak memory is its own (it
includes torch itself, about 0.3 GB). Scores from ../shared/tools/quality.py: swd with
--pyramid, diversity of the results shrunk to 250 px against the source at 250 px, copy
(of the results before their tone curve, PatchConfig.match_tone, kept as *_untoned.png).
--big adds one instant result at 4096 x 2560. The result PNGs go to --out.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import time
from pathlib import Path

import numpy as np
import torch
from common import OUT, SHARED, crop_around, load_quality, machine, table, tile_sheet
from PIL import Image

COLUMNS = ["photo", "method", "size", "time_s", "peak_gb", "swd", "diversity", "copy",
           "swd per level"]


def _peak_gb() -> float:
    """This process's peak resident memory. VmHWM, not ru_maxrss: ru_maxrss starts from the
    parent's size at the fork and survives the exec, so it would count the parent's."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 2**20  # kB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # kB on Linux


def _save(path: Path, tensor: torch.Tensor) -> None:
    from singan_backend.images import save_image, to_array
    save_image(path, to_array(tensor))


def _raw_path(path: str) -> Path:
    """Where a job keeps its result before the tone curve (PatchConfig.match_tone)."""
    return Path(path).with_name(Path(path).stem + "_untoned.png")


def _timed_job(synthesize, source: torch.Tensor, path: str) -> dict:
    """Run `synthesize(config)` with the tone curve off, then the curve, as the engine does
    them; time both, save the result to `path` and the one before the curve to _raw_path,
    for the copy figure: a curve moves each value a little, so a copied region would no
    longer count as one (quality.py's copy asks for a mean difference under 2/255)."""
    from singan_backend.engine import patch
    start = time.perf_counter()
    result = synthesize(patch.PatchConfig(match_tone=False))
    seconds = time.perf_counter() - start
    _save(_raw_path(path), result)  # not timed
    start = time.perf_counter()
    result = patch.match_histogram(result, source)
    seconds += time.perf_counter() - start
    _save(Path(path), result)
    return {"time_s": seconds, "peak_gb": _peak_gb()}


def _instant_job(photo: str, size: tuple[int, int], seed: int, path: str) -> dict:
    from singan_backend.engine import patch
    from singan_backend.images import load_image, to_tensor
    source = to_tensor(load_image(photo))
    return _timed_job(lambda config: patch.instant(source, size, seed=seed, config=config),
                      source, path)


def _lift_job(photo: str, sample_path: str, size: tuple[int, int], seed: int,
              path: str) -> dict:
    from singan_backend.engine import patch
    from singan_backend.images import load_image, to_tensor
    source = to_tensor(load_image(photo))
    sample = to_tensor(load_image(sample_path))
    return _timed_job(lambda config: patch.lift(sample, source, size, seed=seed,
                                                config=config), source, path)


def _train_and_sample(photo: str, preset_name: str, iters: int | None, n: int,
                      model_id: str | None, out: str, layout: str | None = None
                      ) -> tuple[list[str], str]:
    """(model-scale sample PNG paths, the layout they used) of `model_id`, or of a model
    trained here. `layout` is Generate's (None: the model's own choice); "measure" makes the
    choice that training makes now (engine.layout.choose_layout), for a model from before."""
    from singan_backend import actions
    from singan_backend.engine import layout as layout_engine
    from singan_backend.engine.config import preset
    from singan_backend.images import load_image, save_image
    from singan_backend.store import ModelStore
    store = ModelStore(OUT / "models")
    if model_id is None:
        config = preset(preset_name, iters=iters, seed=0)
        model_id = actions.train(store, load_image(photo), name=Path(photo).stem,
                                 config=config, device="cpu")
    model = actions.load(store, model_id, "cpu")
    if layout == "measure":
        start = time.perf_counter()
        scale, swd = layout_engine.choose_layout(model)
        layout = "patches" if scale else "model"
        print(f"{model_id}: swd of its own samples and the patches' layout {swd}: {layout} "
              f"({time.perf_counter() - start:.1f} s)")
    used = layout or ("patches" if model.layout_scale else "model")
    samples = actions.sample(store, model_id, n=n, seed=0, lift=False, layout=layout,
                             device="cpu")
    paths = []
    for i, sample in enumerate(samples):
        paths.append(str(Path(out) / f"{Path(photo).stem}_{preset_name}_model_{i}.png"))
        save_image(paths[-1], sample)
    return paths, used


def _run(pool_ctx, fn, *args):
    with pool_ctx.Pool(1) as pool:  # a fresh process: its peak memory is this job's
        return pool.apply(fn, args)


def _shrunk(path: Path, side: int = 250) -> np.ndarray:
    image = Image.open(path).convert("RGB")
    scale = side / max(image.size)
    size = (round(image.width * scale), round(image.height * scale))
    return np.asarray(image.resize(size, Image.LANCZOS), dtype=np.float32) / 255.0


def _score(quality, photo: Path, results: list[Path], levels: bool = False) -> dict:
    measured = quality.measure(str(photo), [str(p) for p in results], pyramid=True)
    small_real = _shrunk(photo)
    small = [_shrunk(p) for p in results]
    small = [s for s in small if s.shape == small_real.shape]
    div = quality.diversity(small_real, small)
    copy = measured["copy"]
    raws = [_raw_path(str(p)) for p in results]
    real = quality.load(str(photo))
    if all(r.exists() for r in raws):  # copy before the tone curve: see _timed_job
        copy = round(float(np.mean([quality.copy_fraction(real, quality.load(str(r)))
                                    for r in raws])), 3)
    scores = {"swd": measured["swd"], "copy": copy,
              "diversity": "" if div is None else round(div, 3)}
    if levels:  # the pyramid swd level by level (full size first), mean of the results
        per = [[quality.swd(real, quality.load(str(p)), (scale,))
                for scale in quality.pyramid_scales(real)] for p in results]
        scores["swd per level"] = " ".join(f"{v:.2f}" for v in np.mean(per, axis=0))
    return scores


def _row(photo: Path, method: str, size, jobs: list[dict], scores: dict) -> dict:
    return {"photo": photo.stem, "method": method, "size": f"{size[1]}x{size[0]}",
            "time_s": round(float(np.mean([j["time_s"] for j in jobs])), 1) if jobs else "",
            "peak_gb": round(max(j["peak_gb"] for j in jobs), 2) if jobs else "", **scores}


def before_after(out: Path, photos: list[str], preset_name: str, sheet: Path,
                 tile: tuple[int, int] = (480, 300)) -> None:
    """The README's picture: per photo, the photo, an instant variation, a model's sample
    upscaled bicubically and the same sample lifted, shrunk to `tile` and then a 100% crop of
    the centre of each."""
    model = "model" if preset_name == "given" else f"{preset_name} model"  # given: --models
    columns = ["photo", "instant variation", f"{model}, bicubic", f"{model}, lifted"]
    rows = []
    for name in photos:
        files = [SHARED / "images" / "canvas" / f"{name}.jpg", out / f"{name}_instant_0.png",
                 out / f"{name}_{preset_name}_bicubic_0.png",
                 out / f"{name}_{preset_name}_lift_0.png"]
        images = [Image.open(f).convert("RGB") for f in files]
        rows.append([im.resize(tile, Image.LANCZOS) for im in images])
        rows.append([crop_around(im, (im.width // 2, im.height // 2), tile) for im in images])
    tile_sheet(rows, columns, sheet, tile)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--photos", nargs="+", default=["forest_path", "cups", "moss"])
    parser.add_argument("--n", type=int, default=2, help="results per photo and method")
    parser.add_argument("--width", type=int, default=1600)
    parser.add_argument("--height", type=int, default=1000)
    parser.add_argument("--presets", nargs="*", default=["quick"],
                        help="train a model per photo with each preset (none: no lift rows)")
    parser.add_argument("--iters", type=int, default=None, help="iterations per scale")
    parser.add_argument("--models", nargs="*", default=[],
                        help="PHOTO=MODEL_ID: lift this trained model's samples instead")
    parser.add_argument("--no-instant", action="store_true")
    parser.add_argument("--layout", choices=("model", "patches", "measure"), default=None,
                        help="the samples' layout (Generate's field; default: each model's "
                        "choice; measure: choose now, for models trained before the choice)")
    parser.add_argument("--big", action="store_true", help="also one 4096 x 2560 instant")
    parser.add_argument("--levels", action="store_true",
                        help="also the swd of each pyramid level (slower scoring)")
    parser.add_argument("--out", type=Path, default=OUT / "canvas")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch threads per job (1 is faster on a CPU others are using)")
    parser.add_argument("--sheet", type=Path, default=None,
                        help="write the before/after picture (needs instant and a preset)")
    parser.add_argument("--sheet-only", action="store_true",
                        help="only make --sheet from the images already in --out "
                        "(--presets given: the lifts of the --models)")
    args = parser.parse_args()
    if args.sheet_only:
        before_after(args.out, args.photos, args.presets[0], args.sheet)
        return
    if args.threads:
        os.environ["OMP_NUM_THREADS"] = str(args.threads)  # read by the spawned jobs' torch
    args.out.mkdir(parents=True, exist_ok=True)
    quality = load_quality()
    ctx = multiprocessing.get_context("spawn")
    size = (args.height, args.width)
    given = dict(m.split("=", 1) for m in args.models)
    rows = []
    for name in args.photos:
        photo = SHARED / "images" / "canvas" / f"{name}.jpg"
        if not args.no_instant:
            paths = [args.out / f"{name}_instant_{i}.png" for i in range(args.n)]
            jobs = [_run(ctx, _instant_job, str(photo), size, i, str(p))
                    for i, p in enumerate(paths)]
            rows.append(_row(photo, "instant", size, jobs,
                             _score(quality, photo, paths, args.levels)))
            print(table(rows[-1:], COLUMNS), flush=True)
        models = [(p, None) for p in args.presets] + ([("given", given[name])]
                                                      if name in given else [])
        for preset_name, model_id in models:
            samples, used = _run(ctx, _train_and_sample, str(photo), preset_name,
                                 args.iters, args.n, model_id, str(args.out), args.layout)
            lifted = [args.out / f"{name}_{preset_name}_lift_{i}.png" for i in range(args.n)]
            jobs = [_run(ctx, _lift_job, str(photo), s, size, i, str(p))
                    for i, (s, p) in enumerate(zip(samples, lifted))]
            label = f"{preset_name} ({used})"
            rows.append(_row(photo, f"{label} lift", size, jobs,
                             _score(quality, photo, lifted, args.levels)))
            bicubic = [args.out / f"{name}_{preset_name}_bicubic_{i}.png"
                       for i in range(args.n)]
            for s, p in zip(samples, bicubic):
                Image.open(s).convert("RGB").resize((args.width, args.height),
                                                    Image.BICUBIC).save(p)
            rows.append(_row(photo, f"{label} bicubic", size, [],
                             _score(quality, photo, bicubic, args.levels)))
            print(table(rows[-2:], COLUMNS), flush=True)
        if args.big:
            big = (2560, 4096)
            path = args.out / f"{name}_instant_4096.png"
            job = _run(ctx, _instant_job, str(photo), big, 0, str(path))
            rows.append(_row(photo, "instant", big, [job], _score(quality, photo, [path])))
    print(f"\n{machine()}\n")
    print(table(rows, COLUMNS))
    if args.sheet and args.presets and not args.no_instant:
        before_after(args.out, args.photos, args.presets[0], args.sheet)


if __name__ == "__main__":
    main()
