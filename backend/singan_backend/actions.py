"""The engine's public face: the functions that the CLI and the server both call.

Images cross this boundary as numpy float32 arrays (H, W, 3) in [0, 1]; masks as (H, W)
float32 in [0, 1]. Models are named by their id in a ModelStore. Long calls take
`on_progress` (called with engine.progress.Progress, throttled) and `should_stop` (polled;
when it returns True the call raises errors.Cancelled within about a second).
User mistakes raise errors.UserError subclasses with a message that says what to do.

The paper's tasks (every one also takes device=, on_progress=, should_stop=):

    harmonize(store, model_id, composite, mask, *, start_scale=None, seed=None) -> image
    edit(store, model_id, edited, mask, *, start_scale=None, seed=None) -> (blended, unmasked)
    paint(store, model_id, painting, *, start_scale=None, quantize=False, refine=False,
          seed=None) -> image
    inject(store, model_id, task, reference, mask=None, *, n=1, ...) -> list[Injected]
        (the three above with n results; result i uses seed + i)
    train_sr(store, image, factor, *, config=None, name="upscale") -> model_id
    upscale(store, image, factor, *, model_id=None, config=None, seed=None) -> image
        (trains an SR model on `image` first unless model_id names one)
    animate(store, model_id, *, frames=100, start_scale=0, beta=0.9, seed=None,
            loop=True) -> list of frames

start_scale=None picks the task's default (engine.inject.default_start_scale). Results have
the reference's size; outside the blurred, dilated mask they equal it bit for bit.
"""

from __future__ import annotations

import math
import secrets
from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np
import torch
import torch.nn.functional as F

from .device import pick_device
from .engine import animate as animate_engine
from .engine import inject as inject_engine
from .engine import superres
from .engine.config import TrainConfig
from .engine.progress import ProgressFn, StopFn, Tracker
from .engine.pyramid import resize
from .engine.quantize import image_centres
from .engine.sample import MAX_SIDE, check_start_scale, sample_sizes
from .engine.sample import sample as sample_model
from .engine.singan import SinGAN
from .engine.train import new_model
from .engine.train import train as train_model
from .errors import BadImage, BadOption
from .images import check_image_array, to_array, to_tensor
from .store import ModelStore

DeviceLike = str | torch.device | None


def as_device(device: DeviceLike) -> torch.device:
    return device if isinstance(device, torch.device) else pick_device(device)


def train(store: ModelStore, image: np.ndarray | None, *, name: str = "model",
          config: TrainConfig | None = None, device: DeviceLike = None,
          on_progress: ProgressFn | None = None, should_stop: StopFn | None = None,
          resume: str | None = None, source_name: str | None = None,
          kind: str = "singan", meta: dict | None = None) -> str:
    """Train a model on `image` (or finish the unfinished model `resume`); returns its id.

    The model is checkpointed after every scale: when this raises Cancelled (or the
    process dies) the finished scales are kept and `resume=model_id` continues.
    """
    device = as_device(device)
    if resume:
        model_id = store.resolve(resume)
        model = store.load(model_id, device, with_discriminators=True)
        if model.complete:
            raise BadOption(f"model {model_id} is already fully trained: nothing to resume")
    else:
        image = check_image_array(image, "training image")
        config = (config or TrainConfig()).validate()
        if config.seed is None:
            config = replace(config, seed=secrets.randbelow(2**31))
        model = new_model(to_tensor(image), config, device)
        source = {"name": source_name or name, "width": image.shape[1], "height": image.shape[0]}
        model_id = store.create(name, model, source, kind=kind, meta=meta)
    tracker = Tracker("train", on_progress, should_stop)
    train_model(model, tracker, on_scale_done=lambda m: store.save_scale(model_id, m))
    return model_id


def load(store: ModelStore, model_ref: str, device: DeviceLike = None) -> SinGAN:
    """A fully trained model, cached while its manifest is unchanged."""
    device = as_device(device)
    model_id = store.resolve(model_ref)
    manifest_path = store.root / model_id / "manifest.json"
    model = _load_cached(str(store.root), model_id, str(device), manifest_path.stat().st_mtime_ns)
    if not model.complete:
        raise BadOption(f"model {model_id} has only {model.num_scales} of "
                        f"{model.pyramid.num_scales} scales trained: finish it with "
                        f"`singan train --resume {model_id}`")
    return model


@lru_cache(maxsize=4)
def _load_cached(root: str, model_id: str, device: str, mtime_ns: int) -> SinGAN:
    return ModelStore(root).load(model_id, torch.device(device))


def sample(store: ModelStore, model_id: str, *, n: int = 1, width: int | None = None,
           height: int | None = None, scale_h: float | None = None,
           scale_v: float | None = None, start_scale: int = 0, seed: int | None = None,
           device: DeviceLike = None, on_progress: ProgressFn | None = None,
           should_stop: StopFn | None = None) -> list[np.ndarray]:
    """n random samples at any size (pixels, or scale factors of the training size)."""
    if not 1 <= n <= 1000:
        raise BadOption(f"the number of samples must be between 1 and 1000 (got {n})")
    model = load(store, model_id, device)
    sizes = sample_sizes(model, height, width, scale_v, scale_h)
    tracker = Tracker("sample", on_progress, should_stop)
    return [to_array(t) for t in sample_model(model, n, sizes, start_scale, seed, tracker)]


# -- the paper's tasks ---------------------------------------------------------------------
@dataclass(frozen=True)
class Injected:
    image: np.ndarray  # (H, W, 3): blended into the reference (paint: the generated image)
    unmasked: np.ndarray  # (H, W, 3): the generated image before the mask blend
    start_scale: int  # the injection scale used


def mask_array(mask: np.ndarray | None, size: tuple[int, int], what: str = "mask"
               ) -> np.ndarray:
    """A binary (H, W) float32 mask of `size` from (H, W), (H, W, 1) or (H, W, 3) values in
    [0, 1]: above 0.5 is the region; resized so that no part of the region is lost."""
    if mask is None:
        raise BadImage(f"this task needs a {what}: white marks the region to change")
    mask = np.asarray(mask, dtype=np.float32)
    if mask.ndim == 3 and mask.shape[2] in (1, 3):
        mask = mask.mean(axis=2)
    if mask.ndim != 2:
        raise BadImage(f"the {what} must be a grey (H, W) or RGB (H, W, 3) image, "
                       f"not {tuple(mask.shape)}")
    if mask.shape[0] == 0 or mask.shape[1] == 0:
        raise BadImage(f"the {what} has no pixels (0 x 0)")
    binary = (mask > 0.5).astype(np.float32)
    if not binary.any():
        raise BadImage(f"the {what} is empty: white (above 50 % grey) must mark the region "
                       f"to change")
    if binary.shape != size:  # any coverage counts, so thin strokes survive
        t = torch.from_numpy(binary)[None, None]
        binary = (F.interpolate(t, size=size, mode="bilinear", antialias=True,
                                align_corners=False)[0, 0] > 0.01).float().numpy()
    return binary


def inject(store: ModelStore, model_id: str, task: str, reference: np.ndarray,
           mask: np.ndarray | None = None, *, n: int = 1, start_scale: int | None = None,
           seed: int | None = None, quantize: bool = False, refine: bool = False,
           device: DeviceLike = None, on_progress: ProgressFn | None = None,
           should_stop: StopFn | None = None) -> list[Injected]:
    """n results of injecting `reference` (task "harmonize", "edit" or "paint").

    harmonize/edit blend each result into the reference through the paper's mask (disk
    radius 7 / 20 px, blur sigma 5 px at 250 px, scaled with the model's size). paint:
    `quantize` snaps the painting to the training image's 5 k-means colours; `refine`
    (implies quantize) first retrains the injection scale on quantised inputs, as the
    authors do (slower, cleaner).
    """
    if task not in ("harmonize", "edit", "paint"):
        raise BadOption(f"unknown injection task {task!r}: harmonize, edit or paint")
    if not 1 <= n <= 100:
        raise BadOption(f"the number of results must be between 1 and 100 (got {n})")
    if (quantize or refine) and task != "paint":
        raise BadOption("quantize and refine are options of paint-to-image only")
    reference = check_image_array(reference, {"paint": "painting", "edit": "edited image"}
                                  .get(task, "composite"))
    h, w = reference.shape[:2]
    mask = None if task == "paint" else mask_array(mask, (h, w))
    device = as_device(device)
    model = load(store, model_id, device)
    if refine:  # retraining a scale warm-starts from the discriminators too
        model = store.load(model_id, device, with_discriminators=True)
    if start_scale is None:
        start_scale = inject_engine.default_start_scale(task, model.num_scales)
    check_start_scale(model, start_scale, low=1)
    tracker = Tracker(task, on_progress, should_stop)
    sizes = inject_engine.working_sizes(model, h, w)
    ref = to_tensor(reference, device)
    centres = None
    if quantize or refine:
        centres = image_centres(model.reals[start_scale])
        if refine:
            model = inject_engine.refine(model, start_scale, centres, tracker)
    prev = inject_engine.injected_input(ref, sizes, start_scale, centres)
    generated = [to_array(resize(g, (h, w)).clamp(-1, 1)) for g in
                 inject_engine.inject(model, prev, start_scale, sizes, n, seed, tracker)]
    if mask is None:
        return [Injected(g, g, start_scale) for g in generated]
    radius, sigma = inject_engine.mask_params(task, sizes[-1])
    m = inject_engine.soft_mask(torch.from_numpy(mask)[None, None], sizes[-1], radius,
                                sigma)[0, 0, :, :, None].cpu()
    base = torch.from_numpy(np.ascontiguousarray(reference, dtype=np.float32))
    return [Injected(inject_engine.blend(base, torch.from_numpy(g), m).numpy(), g, start_scale)
            for g in generated]


def harmonize(store: ModelStore, model_id: str, composite: np.ndarray, mask: np.ndarray, *,
              start_scale: int | None = None, seed: int | None = None,
              device: DeviceLike = None, on_progress: ProgressFn | None = None,
              should_stop: StopFn | None = None) -> np.ndarray:
    """The pasted region of `composite` (white in `mask`) redrawn in the model's style."""
    return inject(store, model_id, "harmonize", composite, mask, start_scale=start_scale,
                  seed=seed, device=device, on_progress=on_progress,
                  should_stop=should_stop)[0].image


def edit(store: ModelStore, model_id: str, edited: np.ndarray, mask: np.ndarray, *,
         start_scale: int | None = None, seed: int | None = None, device: DeviceLike = None,
         on_progress: ProgressFn | None = None, should_stop: StopFn | None = None
         ) -> tuple[np.ndarray, np.ndarray]:
    """(blended, unmasked): a rough edit of the training image made seamless."""
    result = inject(store, model_id, "edit", edited, mask, start_scale=start_scale, seed=seed,
                    device=device, on_progress=on_progress, should_stop=should_stop)[0]
    return result.image, result.unmasked


def paint(store: ModelStore, model_id: str, painting: np.ndarray, *,
          start_scale: int | None = None, quantize: bool = False, refine: bool = False,
          seed: int | None = None, device: DeviceLike = None,
          on_progress: ProgressFn | None = None, should_stop: StopFn | None = None
          ) -> np.ndarray:
    """A clip-art painting turned into an image with the model's textures."""
    return inject(store, model_id, "paint", painting, start_scale=start_scale,
                  quantize=quantize, refine=refine, seed=seed, device=device,
                  on_progress=on_progress, should_stop=should_stop)[0].image


def check_factor(image: np.ndarray, factor: float) -> float:
    if not isinstance(factor, (int, float)) or not math.isfinite(factor) or factor <= 1:
        raise BadOption(f"the upscaling factor must be greater than 1, e.g. 2, 4 or 3.5 "
                        f"(got {factor})")
    out_h, out_w = superres.output_size(image.shape[0], image.shape[1], factor)
    if max(out_h, out_w) > MAX_SIDE:
        raise BadOption(f"x{factor} makes {image.shape[1]} x {image.shape[0]} px into "
                        f"{out_w} x {out_h} px: the factor must keep both sides within "
                        f"{MAX_SIDE} px")
    return float(factor)


def train_sr(store: ModelStore, image: np.ndarray, factor: float, *,
             config: TrainConfig | None = None, name: str = "upscale",
             source_name: str | None = None, device: DeviceLike = None,
             on_progress: ProgressFn | None = None, should_stop: StopFn | None = None) -> str:
    """Train a super-resolution model on `image` itself; returns its id (kind "sr")."""
    image = check_image_array(image, "image to upscale")
    factor = check_factor(image, factor)
    config = superres.sr_config(config or superres.sr_preset(), factor)
    k, step = superres.sr_steps(factor)
    return train(store, image, name=name, config=config, device=device,
                 on_progress=on_progress, should_stop=should_stop, source_name=source_name,
                 kind="sr", meta={"sr_factor": factor, "sr_steps": k, "sr_step": step})


def upscale(store: ModelStore, image: np.ndarray, factor: float, *,
            model_id: str | None = None, config: TrainConfig | None = None,
            seed: int | None = None, device: DeviceLike = None,
            on_progress: ProgressFn | None = None, should_stop: StopFn | None = None
            ) -> np.ndarray:
    """`image` upscaled by `factor` to exactly round(F * H) x round(F * W) px."""
    image = check_image_array(image, "image to upscale")
    factor = check_factor(image, factor)
    if model_id is None:
        model_id = train_sr(store, image, factor, config=config, device=device,
                            on_progress=on_progress, should_stop=should_stop)
    model_id = store.resolve(model_id)
    if store.info(model_id).kind != "sr":
        raise BadOption(f"model {model_id} was not trained for super-resolution: leave out "
                        f"the model and `singan upscale` trains one on the image itself")
    model = load(store, model_id, device)
    tracker = Tracker("upscale", on_progress, should_stop)
    return to_array(superres.upscale(model, to_tensor(image, model.device), factor, seed,
                                     tracker))


def animate(store: ModelStore, model_id: str, *, frames: int = 100, start_scale: int = 0,
            beta: float = 0.9, seed: int | None = None, loop: bool = True,
            device: DeviceLike = None, on_progress: ProgressFn | None = None,
            should_stop: StopFn | None = None) -> list[np.ndarray]:
    """Frames of a looping animation (best from a model trained with --for-animation)."""
    if not 1 <= frames <= 1000:
        raise BadOption(f"the number of frames must be between 1 and 1000 (got {frames})")
    if not 0 <= beta <= 1:
        raise BadOption(f"beta must be between 0 and 1; the paper uses 0.8 to 0.95 (got {beta})")
    model = load(store, model_id, device)
    tracker = Tracker("animate", on_progress, should_stop)
    return [to_array(f) for f in animate_engine.animate(model, frames, start_scale, beta, seed,
                                                        tracker, loop=loop)]
