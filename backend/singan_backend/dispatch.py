"""Requests by name: (msg_type, body, images) -> (reply body, images), run in this process.

The one mapping from the protocol's request bodies to the engine's actions. The server's
workers call `run`, and so does the CLI when it works without a server, so `singan X`
and `singan --connect FILE X` give the same result by construction. Every body goes
through the protocol's own `from_dict` (types, defaults and ranges declared once in
singan_protocol/messages.py), so a handler gets a typed request, whoever sent it: here for
a dict, on the server's socket thread for the typed request it hands on.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields

import numpy as np

from singan_protocol import ProtocolError
from singan_protocol.fields import specs
from singan_protocol.messages import REQUESTS, Body, Train

from . import actions
from .engine import superres
from .engine.config import TrainConfig, preset
from .engine.progress import ProgressFn, StopFn
from .errors import BadImage, BadOption
from .store import ModelStore

Images = list[np.ndarray]
Handler = Callable[..., tuple[dict, Images]]
HANDLERS: dict[str, Handler] = {}
# the train request's fields that are training options (preset is the one they start from)
TRAIN_OPTIONS = tuple(name for name in specs(Train)
                      if name in {f.name for f in fields(TrainConfig)} and name != "preset")


def handles(name: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        HANDLERS[name] = fn
        return fn
    return register


def images_needed(images: Images, count: int, what: str) -> Images:
    if len(images) < count:
        raise BadImage(f"this request needs {count} image(s): {what}")
    return images


# Options a task trains with where the request leaves them unset.
ANIMATION_DEFAULTS = {"noise_padding": True, "min_size": 20}


def train_config(body: dict | Body, task_defaults: dict | None = None):
    """The preset of a train (or upscale) body with its options; `task_defaults` fill the ones
    it left unset. A Train request is taken as it is (from_dict checked it already)."""
    if isinstance(body, Train):
        req = body
    else:  # an upscale request's training options, or a dict
        given = body.to_dict() if isinstance(body, Body) else body
        train_fields = specs(Train)
        req = request("train", {k: v for k, v in given.items()
                                if k in train_fields and v is not None})
    if req.for_animation:
        task_defaults = {**ANIMATION_DEFAULTS, **(task_defaults or {})}
    return preset(req.preset, task_defaults, **{k: getattr(req, k) for k in TRAIN_OPTIONS})


def request(msg_type: str, body: dict) -> Body:
    """The body checked by the protocol's own from_dict (types, defaults, every range), the
    same check a request from the socket gets; its errors as BadOption."""
    try:
        return REQUESTS[msg_type].from_dict(body)
    except ProtocolError as e:
        raise BadOption(e.message) from None


def run(store: ModelStore, msg_type: str, body: dict | Body, images: Images | None = None, *,
        device=None, on_progress: ProgressFn | None = None,
        should_stop: StopFn | None = None) -> tuple[dict, Images]:
    """`body`: a dict, checked here, or the request from_dict made of it already."""
    handler = HANDLERS.get(msg_type)
    if handler is None:
        raise BadOption(f"unknown request {msg_type!r}: one of {', '.join(sorted(HANDLERS))}")
    if isinstance(body, Body):
        assert isinstance(body, REQUESTS[msg_type]), (msg_type, type(body).__name__)
        req = body
    else:
        req = request(msg_type, body)
    return handler(store, req, list(images or []), device=device,
                   on_progress=on_progress, should_stop=should_stop)


@handles("train")
def _train(store, req, images, **ctx):
    image = None if req.resume else images_needed(images, 1, "the training image")[0]
    model_id = actions.train(store, image, name=req.name or "model",
                             config=None if req.resume else train_config(req),
                             resume=req.resume, source_name=req.source_name, **ctx)
    info = store.info(model_id)
    return {"model_id": model_id, "model": info.to_dict(),
            "train_seconds": store.manifest(model_id).get("train_seconds", [])}, []


@handles("generate")
def _generate(store, req, images, **ctx):
    samples = actions.sample(
        store, req.model_id, n=req.n, width=req.width, height=req.height, scale_h=req.scale_h,
        scale_v=req.scale_v, start_scale=req.start_scale, seed=req.seed, lift=req.lift,
        layout=req.layout, **ctx)
    return {"count": len(samples)}, samples


@handles("instant")
def _instant(store, req, images, **ctx):
    """Variations of the image itself, no model (the patch engine's random sampling)."""
    image = images_needed(images, 1, "the image to make variations of")[0]
    results = actions.instant(image, n=req.n, width=req.width, height=req.height,
                              seed=req.seed, **ctx)
    return {"count": len(results), "width": results[0].shape[1],
            "height": results[0].shape[0]}, results


@handles("list_models")
def _list_models(store, body, images, **ctx):
    infos, damaged = store.scan()
    return {"models": [info.to_dict() for info in infos], "damaged": damaged}, []


@handles("delete_model")
def _delete_model(store, req, images, **ctx):
    model_id = store.deletable(req.model_id)
    store.delete(model_id)
    return {"model_id": model_id}, []


# -- the paper's tasks ---------------------------------------------------------------------
def _inject(task: str, store, req, images, what: str, **ctx):
    images = images_needed(images, 1 if task == "paint" else 2, what)
    results = actions.inject(
        store, req.model_id, task, images[0], None if task == "paint" else images[1], n=req.n,
        start_scale=req.start_scale, seed=req.seed, quantize=getattr(req, "quantize", False),
        refine=getattr(req, "refine", False), lift=req.lift, **ctx)
    out = ([im for r in results for im in (r.image, r.unmasked)] if task == "edit"
           else [r.image for r in results])
    reply = {"count": len(results), "start_scale": results[0].start_scale}
    if results[0].foreign_colours is not None:
        reply["foreign_colours"] = round(results[0].foreign_colours, 3)
    return reply, out


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
def _upscale(store, req, images, **ctx):
    image = images_needed(images, 1, "the image to upscale")[0]
    model_id = req.model_id
    if superres.pick_method(req.method, model_id) == "patch":
        out = actions.upscale(store, image, req.factor, method="patch", **ctx)
        return {"model_id": None, "width": out.shape[1], "height": out.shape[0]}, [out]
    if model_id is None:
        config = train_config(req, superres.SR_DEFAULTS)
        model_id = actions.train_sr(store, image, req.factor, config=config,
                                    name=req.name or "upscale", source_name=req.source_name,
                                    **ctx)
    out = actions.upscale(store, image, req.factor, model_id=model_id, seed=req.seed,
                          method="singan", **ctx)
    return {"model_id": store.resolve(model_id), "width": out.shape[1],
            "height": out.shape[0]}, [out]


@handles("animate")
def _animate(store, req, images, **ctx):
    frames = actions.animate(
        store, req.model_id, frames=req.frames, start_scale=req.start_scale, beta=req.beta,
        seed=req.seed, loop=req.loop, lift=req.lift, **ctx)
    return {"fps": req.fps, "count": len(frames)}, frames
