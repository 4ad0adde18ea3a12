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
    upscale(store, image, factor, *, model_id=None, config=None, seed=None, method=None) -> image
        (method "patch", the default: internal-patch SR, no training; "singan": the paper's,
        training an SR model on `image` first unless model_id names one)
    animate(store, model_id, *, frames, start_scale, beta, seed=None, loop=True,
            lift=False) -> list of frames (defaults and ranges: the protocol's animate)
    instant(image, *, n=1, width=None, height=None, seed=None) -> list of images
        (patch synthesis from the image alone, no model: issue 13's instant variations)

start_scale=None picks the task's default (engine.inject.default_start_scale). Results have
the reference's size; outside the blurred, dilated mask they equal it bit for bit.

Sizes are the source's pixels (issue 13). `train` keeps the training image at its own size
(up to MAX_SOURCE_SIDE) beside the pyramid. Where that source is larger than the model's
finest scale, sample/harmonize/edit/paint (lift=True, the default) run the model at its own
scale and lift the result with engine.patch.lift to the requested size, so objects keep
their size in the source and get its sharp detail. lift=False, and every model trained
before sources were kept, give the model-scale results of before.
"""

from __future__ import annotations

import logging
import math
import secrets
from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np
import torch
import torch.nn.functional as F

from singan_protocol.fields import specs
from singan_protocol.messages import Animate, Generate, Harmonize, Instant

from .device import pick_device
from .engine import animate as animate_engine
from .engine import inject as inject_engine
from .engine import layout as layout_engine
from .engine import patch, patch_sr, superres
from .engine.collapse import far_colour_share
from .engine.config import PRESETS, TrainConfig
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


def check_option(request: type, name: str, value) -> None:
    """The protocol's range for a request's field (messages.py declares it): the CLI and the
    server checked it already, a Python caller may not have."""
    problem = specs(request)[name].problem(value)
    if problem:
        raise BadOption(problem)
MAX_SOURCE_SIDE = 8192  # px: the longest side of the source kept for the lift
log = logging.getLogger(__name__)


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
        config = (config or PRESETS["default"]).validate()  # the preset every entry point names
        if config.seed is None:
            config = replace(config, seed=secrets.randbelow(2**31))
        image = to_tensor(image)
        model = new_model(image, config, device)
        source = {"name": source_name or name, "width": image.shape[-1], "height": image.shape[-2]}
        model_id = store.create(name, model, source, kind=kind, meta=meta)
        store.save_source(model_id, kept_source(image))
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


def kept_source(image: torch.Tensor) -> torch.Tensor:
    """The training image (1, 3, H, W) as the model folder keeps it: its own size, or shrunk
    to MAX_SOURCE_SIDE on its longest side."""
    h, w = image.shape[-2:]
    if max(h, w) <= MAX_SOURCE_SIDE:
        return image
    s = MAX_SOURCE_SIDE / max(h, w)
    size = (max(1, round(h * s)), max(1, round(w * s)))
    log.warning("the training image is %d x %d px: its copy kept for results at full "
                "resolution is shrunk to %d x %d px (at most %d px a side)", w, h, size[1],
                size[0], MAX_SOURCE_SIDE)
    return resize(image, size).clamp(-1, 1)


def lift_source(store: ModelStore, model_id: str, model: SinGAN) -> torch.Tensor | None:
    """The model's kept source (1, 3, H, W) when it is larger than the finest scale; None
    when there is nothing to lift from (no larger source, or a model from before)."""
    source = store.load_source(store.resolve(model_id))
    if source is None:
        return None
    top_h, top_w = model.pyramid.sizes[model.num_scales - 1]
    if source.shape[-2] <= top_h and source.shape[-1] <= top_w:
        return None
    return source


def result_size(base: tuple[int, int], height: int | None = None, width: int | None = None,
                scale_v: float | None = None, scale_h: float | None = None) -> tuple[int, int]:
    """(H, W) of a result in the source's pixels: height/width (one alone keeps the aspect),
    else scale_v/scale_h times the source's size, else the source's size."""
    base_h, base_w = base
    for name, value in (("height", height), ("width", width)):
        if value is not None and not 1 <= value <= MAX_SIDE:
            raise BadOption(f"{name} must be between 1 and {MAX_SIDE} px (got {value})")
    for name, value in (("scale-v", scale_v), ("scale-h", scale_h)):
        if value is not None and not (math.isfinite(value) and value > 0):
            raise BadOption(f"{name} must be a number > 0 (got {value})")
    if height is not None or width is not None:
        h = height or max(1, round(base_h * width / base_w))
        w = width or max(1, round(base_w * height / base_h))
    else:
        h = max(1, round(base_h * (scale_v or 1.0)))
        w = max(1, round(base_w * (scale_h or 1.0)))
    if max(h, w) > MAX_SIDE:
        raise BadOption(f"the result would be {w} x {h} px: keep both sides within {MAX_SIDE} "
                        f"px (the source is {base_w} x {base_h})")
    return h, w


def model_scale(size: tuple[int, int], source: torch.Tensor, model: SinGAN) -> tuple[int, int]:
    """`size` in source pixels as (H, W) at the model's finest scale."""
    top_h, top_w = model.pyramid.sizes[model.num_scales - 1]
    return (max(1, round(size[0] * top_h / source.shape[-2])),
            max(1, round(size[1] * top_w / source.shape[-1])))


def lifted(results: list[torch.Tensor], source: torch.Tensor, size: tuple[int, int],
           seed: int, tracker: Tracker, match_tone: bool = True) -> list[np.ndarray]:
    """Each model-scale result lifted to `size` from `source`'s patches; result i uses
    seed + i, as its noise did. `match_tone` (PatchConfig.match_tone): the result spreads its
    colours as the source does (samples, edits); a painting's result keeps its own."""
    config = patch.PatchConfig(match_tone=match_tone)
    return [to_array(patch.lift(r, source, size, seed=seed + i, tracker=tracker,
                                config=config))
            for i, r in enumerate(results)]


@lru_cache(maxsize=4)
def _load_cached(root: str, model_id: str, device: str, mtime_ns: int) -> SinGAN:
    return ModelStore(root).load(model_id, torch.device(device))


def sample(store: ModelStore, model_id: str, *, n: int = 1, width: int | None = None,
           height: int | None = None, scale_h: float | None = None,
           scale_v: float | None = None, start_scale: int = 0, seed: int | None = None,
           lift: bool = True, layout: str | None = None, device: DeviceLike = None,
           on_progress: ProgressFn | None = None, should_stop: StopFn | None = None
           ) -> list[np.ndarray]:
    """n random samples at any size (pixels, or scale factors of the training size).

    With a kept source larger than the model (and `lift`), sizes are the source's pixels
    (default: the source's size): the model samples at its scale and each sample is lifted.
    Else sizes are the model's pixels (default: its finest scale), as before. `layout`
    (the protocol's Generate.layout; None: the model's measured choice) applies with
    start_scale 0: a start scale keeps the training image's own layout below it.
    """
    if not 1 <= n <= 1000:
        raise BadOption(f"the number of samples must be between 1 and 1000 (got {n})")
    check_option(Generate, "layout", layout)
    model = load(store, model_id, device)
    source = lift_source(store, model_id, model) if lift else None
    tracker = Tracker("sample", on_progress, should_stop)
    seed = secrets.randbelow(2**31) if seed is None else seed
    if source is None:
        sizes = sample_sizes(model, height, width, scale_v, scale_h)
        return [to_array(t) for t in _samples(model, n, sizes, start_scale, seed, layout,
                                              tracker)]
    size = result_size(tuple(source.shape[-2:]), height, width, scale_v, scale_h)
    work_h, work_w = model_scale(size, source, model)
    samples = _samples(model, n, sample_sizes(model, work_h, work_w), start_scale, seed,
                       layout, tracker)
    return lifted(samples, source, size, seed, tracker)


def _samples(model: SinGAN, n: int, sizes: list[tuple[int, int]], start_scale: int,
             seed: int, layout: str | None, tracker: Tracker) -> list[torch.Tensor]:
    """The model's samples at `sizes`, laid out as `layout` says (None: as it chose)."""
    with_patches = (model.layout_scale > 0 if layout is None else layout == "patches")
    if with_patches and start_scale == 0:
        if not layout_engine.layout_scale(model):
            raise BadOption(f"this model has {model.num_scales} scales, and the patches' "
                            f"layout needs {layout_engine.MIN_SCALES}: use layout model, or "
                            f"train with a larger size")
        return layout_engine.layout_samples(model, n, sizes, seed, tracker)
    return sample_model(model, n, sizes, start_scale, seed, tracker)


# -- the paper's tasks ---------------------------------------------------------------------
@dataclass(frozen=True)
class Injected:
    image: np.ndarray  # (H, W, 3): blended into the reference (paint: the generated image)
    unmasked: np.ndarray  # (H, W, 3): the generated image before the mask blend
    start_scale: int  # the injection scale used
    # paint: the share of the painting in colours the training image lacks (None: not paint,
    # or quantised), where the model has no texture to give and the result looks unlike it
    foreign_colours: float | None = None


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
           lift: bool = True, device: DeviceLike = None, on_progress: ProgressFn | None = None,
           should_stop: StopFn | None = None) -> list[Injected]:
    """n results of injecting `reference` (task "harmonize", "edit" or "paint").

    harmonize/edit blend each result into the reference through the paper's mask (disk
    radius 7 / 20 px, blur sigma 5 px at 250 px, scaled with the model's size). paint:
    `quantize` snaps the painting to the training image's 5 k-means colours; `refine`
    (implies quantize) first retrains the injection scale on quantised inputs, as the
    authors do (slower, cleaner). With `lift` and a reference larger than the model's
    working size, the result is lifted to the reference's size (injection_lift_source says
    from which patches) before the mask blend, which stays at the reference's size.
    """
    if task not in ("harmonize", "edit", "paint"):
        raise BadOption(f"unknown injection task {task!r}: harmonize, edit or paint")
    check_option(Harmonize, "n", n)
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
    lift_from = (injection_lift_source(store, model_id, model, task, ref, sizes[-1])
                 if lift else None)
    if lift_from is not None and seed is None:
        seed = secrets.randbelow(2**31)  # the lift of result i uses seed + i as its noise does
    results = inject_engine.inject(model, prev, start_scale, sizes, n, seed, tracker)
    if mask is None:
        generated = (lifted(results, lift_from, (h, w), seed, tracker, match_tone=False)
                     if lift_from is not None
                     else [to_array(resize(g, (h, w)).clamp(-1, 1)) for g in results])
        foreign = (None if centres is not None else
                   far_colour_share(resize(ref, sizes[-1]).clamp(-1, 1), model.reals[-1]))
        return [Injected(g, g, start_scale, foreign) for g in generated]
    radius, sigma = inject_engine.mask_params(task, sizes[-1])
    m = inject_engine.soft_mask(torch.from_numpy(mask)[None, None], sizes[-1], radius,
                                sigma)[0, 0, :, :, None].cpu()
    if lift_from is None:
        generated = [to_array(resize(g, (h, w)).clamp(-1, 1)) for g in results]
    elif task == "harmonize":
        region = torch.from_numpy(mask > 0.5).float()[None, None]
        detail = own_detail(lift_from, region, sizes[-1])  # the same for every result
        # the model's colour change no finer than its injection scale: no colour fringes
        small = resize(lift_from, sizes[-1])
        colour_sigma = sizes[-1][0] / sizes[start_scale][0]
        generated = [to_array((resize(inject_engine.smooth_colour_change(
            g.float().cpu(), small, colour_sigma), (h, w)) + detail).clamp(-1, 1))
            for g in results]
    else:  # edit also returns the whole unmasked picture: the training image, edited
        generated = lifted(results, lift_from, (h, w), seed, tracker)
    base = torch.from_numpy(np.ascontiguousarray(reference, dtype=np.float32))
    return [Injected(inject_engine.blend(base, torch.from_numpy(g), m).numpy(), g, start_scale)
            for g in generated]


def injection_lift_source(store: ModelStore, model_id: str, model: SinGAN, task: str,
                          reference: torch.Tensor, work_size: tuple[int, int]
                          ) -> torch.Tensor | None:
    """The patches an injection result is lifted from, or None when there is nothing to lift
    (the reference is no larger than the working size, or the model kept no source).

    harmonize: the composite itself, whose own detail the result keeps (own_detail).
    edit and paint: the model's source, like a sample: the result must look like the
    training image.
    """
    h, w = reference.shape[-2:]
    if h <= work_size[0] and w <= work_size[1]:
        return None
    if task == "harmonize":
        has_source = store.source_size(store.resolve(model_id)) is not None
        return reference.detach().float().cpu() if has_source else None
    return lift_source(store, model_id, model)


def own_detail(composite: torch.Tensor, region: torch.Tensor,
               work_size: tuple[int, int]) -> torch.Tensor:
    """The composite's own detail finer than the model's scale (`work_size`), faded out
    across the edge of the pasted `region` (1, 1, H, W) so that its outline is not kept
    sharp: added to a harmonized result upscaled to the composite's size, it gives the
    model's tone and shading with the composite's texture.

    The paper harmonizes at the model's resolution, where a paste on a 1600 px canvas is a
    few dozen pixels: what the model changes is its colour and shading, which survive the
    bicubic upscale; its texture and edges are the composite's. A patch lift from the
    composite matched the paste's own patches and pasted it back unchanged, inside a dark
    ring (benchmarks/canvas_tasks.py: swd --pyramid 0.417, the composite 0.419); from the
    training image it removed the object and filled it with copied blocks of the background.
    """
    size = tuple(composite.shape[-2:])
    composite = composite.float().cpu()
    detail = composite - resize(resize(composite, work_size), size)
    # 1 on the region's outline, 0 a few model pixels away from it on either side
    soft = inject_engine.gaussian_blur(region, size[0] / work_size[0])
    edge = (4 * soft * (1 - soft)).clamp(0, 1)
    return detail * (1 - edge)


def harmonize(store: ModelStore, model_id: str, composite: np.ndarray, mask: np.ndarray, *,
              start_scale: int | None = None, seed: int | None = None, lift: bool = True,
              device: DeviceLike = None, on_progress: ProgressFn | None = None,
              should_stop: StopFn | None = None) -> np.ndarray:
    """The pasted region of `composite` (white in `mask`) redrawn in the model's style."""
    return inject(store, model_id, "harmonize", composite, mask, start_scale=start_scale,
                  seed=seed, lift=lift, device=device, on_progress=on_progress,
                  should_stop=should_stop)[0].image


def edit(store: ModelStore, model_id: str, edited: np.ndarray, mask: np.ndarray, *,
         start_scale: int | None = None, seed: int | None = None, lift: bool = True,
         device: DeviceLike = None, on_progress: ProgressFn | None = None,
         should_stop: StopFn | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(blended, unmasked): a rough edit of the training image made seamless."""
    result = inject(store, model_id, "edit", edited, mask, start_scale=start_scale, seed=seed,
                    lift=lift, device=device, on_progress=on_progress, should_stop=should_stop)[0]
    return result.image, result.unmasked


def paint(store: ModelStore, model_id: str, painting: np.ndarray, *,
          start_scale: int | None = None, quantize: bool = False, refine: bool = False,
          seed: int | None = None, lift: bool = True, device: DeviceLike = None,
          on_progress: ProgressFn | None = None, should_stop: StopFn | None = None
          ) -> np.ndarray:
    """A clip-art painting turned into an image with the model's textures."""
    return inject(store, model_id, "paint", painting, start_scale=start_scale,
                  quantize=quantize, refine=refine, seed=seed, lift=lift, device=device,
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
            seed: int | None = None, method: str | None = None, device: DeviceLike = None,
            on_progress: ProgressFn | None = None, should_stop: StopFn | None = None
            ) -> np.ndarray:
    """`image` upscaled by `factor` to exactly round(F * H) x round(F * W) px.

    method "patch" (the default without a model): internal-patch SR, no training, no noise;
    "singan" (the default with a model_id): the paper's SR model, trained first if need be."""
    image = check_image_array(image, "image to upscale")
    factor = check_factor(image, factor)
    if superres.pick_method(method, model_id) == "patch":
        tracker = Tracker("upscale", on_progress, should_stop)
        size = superres.output_size(image.shape[0], image.shape[1], factor)
        return to_array(patch_sr.upscale(to_tensor(image), size, tracker=tracker))
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


ANIMATE = specs(Animate)  # the animate request's fields: defaults and ranges


def animate(store: ModelStore, model_id: str, *, frames: int = ANIMATE["frames"].default,
            start_scale: int = ANIMATE["start_scale"].default,
            beta: float = ANIMATE["beta"].default, seed: int | None = None, loop: bool = True,
            lift: bool = False, device: DeviceLike = None,
            on_progress: ProgressFn | None = None,
            should_stop: StopFn | None = None) -> list[np.ndarray]:
    """Frames of a looping animation (best from a model trained with --for-animation).

    `lift` (off by default: it costs a lift per frame) makes every frame the source's size,
    lifted with one seed for all frames, so that still parts pick the same patches."""
    check_option(Animate, "frames", frames)
    check_option(Animate, "beta", beta)
    model = load(store, model_id, device)
    source = lift_source(store, model_id, model) if lift else None
    tracker = Tracker("animate", on_progress, should_stop)
    if source is not None and seed is None:
        seed = secrets.randbelow(2**31)
    walk = animate_engine.animate(model, frames, start_scale, beta, seed, tracker, loop=loop)
    if source is None:
        return [to_array(f) for f in walk]
    size = tuple(source.shape[-2:])
    return [to_array(patch.lift(f, source, size, seed=seed, tracker=tracker)) for f in walk]


def instant(image: np.ndarray, *, n: int = 1, width: int | None = None,
            height: int | None = None, seed: int | None = None, device: DeviceLike = None,
            on_progress: ProgressFn | None = None, should_stop: StopFn | None = None
            ) -> list[np.ndarray]:
    """n new pictures made of `image`'s own patches, with no model (GPNN's random sampling);
    width/height in px (one alone keeps the aspect; default: the image's size); result i
    uses seed + i. `device` is accepted like every action's and unused: the patch engine
    runs on the CPU."""
    check_option(Instant, "n", n)
    image = check_image_array(image, "image")
    size = result_size(image.shape[:2], height, width)
    seed = secrets.randbelow(2**31) if seed is None else seed
    source = to_tensor(image)
    tracker = Tracker("instant", on_progress, should_stop)
    out = []
    for i in range(n):
        tracker.step(0, 1, i, n, i, n, stage=f"variation {i + 1}/{n}")
        out.append(to_array(patch.instant(source, size, seed=seed + i, tracker=tracker)))
    tracker.step(0, 1, n, n, n, n, force=True, stage="done")
    return out
