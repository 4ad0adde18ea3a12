"""Requests by name: (msg_type, body, images) -> (reply body, images), run in this process.

The one mapping from the protocol's request bodies to the engine's actions. The server's
workers call `run`, and so does the CLI when it works without a server, so `singan X`
and `singan --connect FILE X` give the same result by construction.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from . import actions
from .engine import superres
from .engine.config import preset
from .engine.progress import ProgressFn, StopFn
from .errors import BadImage, BadOption
from .store import ModelStore

Images = list[np.ndarray]
Handler = Callable[..., tuple[dict, Images]]
HANDLERS: dict[str, Handler] = {}
TRAIN_OPTIONS = ("max_size", "min_size", "scale_factor", "iters", "seed", "d_steps", "g_steps",
                 "lr", "alpha")


def handles(name: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        HANDLERS[name] = fn
        return fn
    return register


def field(body: dict, name: str, kind: type | tuple, default=None, required: bool = False):
    """A body field of the given type (bool is not an int; an int is a float)."""
    if name not in body or body[name] is None:
        if required:
            raise BadOption(f"the request needs the field {name!r}")
        return default
    value = body[name]
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if float in kinds and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
        names = " or ".join(k.__name__ for k in kinds)
        raise BadOption(f"field {name!r} must be {names}, not {type(value).__name__}")
    return value


def images_needed(images: Images, count: int, what: str) -> Images:
    if len(images) < count:
        raise BadImage(f"this request needs {count} image(s): {what}")
    return images


# Options a task trains with where the request leaves them unset.
ANIMATION_DEFAULTS = {"noise_padding": True, "min_size": 20}


def train_config(body: dict, task_defaults: dict | None = None):
    """The request's preset with its options; `task_defaults` fill the ones it left unset."""
    kinds = {"scale_factor": float, "lr": float, "alpha": float}
    overrides = {k: field(body, k, kinds.get(k, int)) for k in TRAIN_OPTIONS}
    if field(body, "for_animation", bool, False):
        task_defaults = {**ANIMATION_DEFAULTS, **(task_defaults or {})}
    return preset(field(body, "preset", str, "default"), task_defaults, **overrides)


def run(store: ModelStore, msg_type: str, body: dict, images: Images | None = None, *,
        device=None, on_progress: ProgressFn | None = None,
        should_stop: StopFn | None = None) -> tuple[dict, Images]:
    handler = HANDLERS.get(msg_type)
    if handler is None:
        raise BadOption(f"unknown request {msg_type!r}: one of {', '.join(sorted(HANDLERS))}")
    return handler(store, body, list(images or []), device=device, on_progress=on_progress,
                   should_stop=should_stop)


@handles("train")
def _train(store, body, images, **ctx):
    resume = field(body, "resume", str)
    image = None if resume else images_needed(images, 1, "the training image")[0]
    model_id = actions.train(store, image, name=field(body, "name", str, "model"),
                             config=None if resume else train_config(body), resume=resume,
                             source_name=field(body, "source_name", str), **ctx)
    info = store.info(model_id)
    return {"model_id": model_id, "model": info.to_dict(),
            "train_seconds": store.manifest(model_id).get("train_seconds", [])}, []


@handles("generate")
def _generate(store, body, images, **ctx):
    samples = actions.sample(
        store, field(body, "model_id", str, required=True), n=field(body, "n", int, 1),
        width=field(body, "width", int), height=field(body, "height", int),
        scale_h=field(body, "scale_h", float), scale_v=field(body, "scale_v", float),
        start_scale=field(body, "start_scale", int, 0), seed=field(body, "seed", int), **ctx)
    return {"count": len(samples)}, samples


@handles("list_models")
def _list_models(store, body, images, **ctx):
    return {"models": [info.to_dict() for info in store.list()]}, []


@handles("delete_model")
def _delete_model(store, body, images, **ctx):
    model_id = store.resolve(field(body, "model_id", str, required=True))
    store.delete(model_id)
    return {"model_id": model_id}, []


# -- the paper's tasks ---------------------------------------------------------------------
def _inject(task: str, store, body, images, what: str, **ctx):
    images = images_needed(images, 1 if task == "paint" else 2, what)
    results = actions.inject(
        store, field(body, "model_id", str, required=True), task, images[0],
        None if task == "paint" else images[1], n=field(body, "n", int, 1),
        start_scale=field(body, "start_scale", int), seed=field(body, "seed", int),
        quantize=field(body, "quantize", bool, False), refine=field(body, "refine", bool, False),
        **ctx)
    out = ([im for r in results for im in (r.image, r.unmasked)] if task == "edit"
           else [r.image for r in results])
    return {"count": len(results), "start_scale": results[0].start_scale}, out


@handles("harmonize")
def _harmonize(store, body, images, **ctx):
    return _inject("harmonize", store, body, images, "the composite and its mask", **ctx)


@handles("edit")
def _edit(store, body, images, **ctx):
    """Images [blended, unmasked] per result."""
    return _inject("edit", store, body, images, "the edited image and its mask", **ctx)


@handles("paint")
def _paint(store, body, images, **ctx):
    return _inject("paint", store, body, images, "the painting", **ctx)


@handles("upscale")
def _upscale(store, body, images, **ctx):
    image = images_needed(images, 1, "the image to upscale")[0]
    factor = field(body, "factor", float, required=True)
    model_id = field(body, "model_id", str)
    if model_id is None:
        config = train_config(body, superres.SR_DEFAULTS)
        model_id = actions.train_sr(store, image, factor, config=config,
                                    name=field(body, "name", str, "upscale"),
                                    source_name=field(body, "source_name", str), **ctx)
    out = actions.upscale(store, image, factor, model_id=model_id,
                          seed=field(body, "seed", int), **ctx)
    return {"model_id": store.resolve(model_id), "width": out.shape[1],
            "height": out.shape[0]}, [out]


@handles("animate")
def _animate(store, body, images, **ctx):
    fps = field(body, "fps", float, 10.0)
    if not 1 <= fps <= 50:
        raise BadOption(f"fps must be between 1 and 50 (got {fps:g})")
    frames = actions.animate(
        store, field(body, "model_id", str, required=True), frames=field(body, "frames", int, 100),
        start_scale=field(body, "start_scale", int, 0), beta=field(body, "beta", float, 0.9),
        seed=field(body, "seed", int), loop=field(body, "loop", bool, True), **ctx)
    return {"fps": fps, "count": len(frames)}, frames
