"""Typed bodies of every request and event (PROTOCOL.md sections 4 and 5).

Each body is a frozen dataclass; `from_dict` type-checks every field against the annotation
(bool is not an int, an int is accepted as a float, unknown fields are refused), then the
ranges its `opt()` declares (fields.py: the one place a request field's default, range and
help live) and the class's own cross-field checks. Failures raise
ProtocolError("bad_request"/"bad_option").
"""

from __future__ import annotations

import dataclasses
import functools
import types
import typing
from dataclasses import dataclass
from typing import Any, ClassVar

from .fields import opt, specs
from .payload import BYTES_PER_SAMPLE, CHANNELS
from .wire import ProtocolError

# the engine's PRESETS (a test keeps them equal), fastest first as the docker lists them
PRESETS = ("quick", "default", "paper")
# where a sample's layout comes from: the model's coarse scales (the paper), or a patch
# synthesis of the training image that the model's finer scales draw over
LAYOUTS = ("model", "patches")
MAX_SEED = 2**63 - 1
MAX_SIDE = 8192  # px, the largest side of a result (the engine's sample.MAX_SIDE)
# paint's result tells the share of the sketch in colours the training image lacks
# (`foreign_colours`); above this share the CLI and the docker say what to do about it
FOREIGN_COLOURS_NOTE = 0.05


def _type_ok(value: Any, tp: Any) -> bool:
    if tp is Any:
        return True
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        return any(_type_ok(value, t) for t in typing.get_args(tp))
    if tp is type(None):
        return value is None
    if tp is bool:
        return isinstance(value, bool)
    if tp is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if tp is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if tp is str:
        return isinstance(value, str)
    if origin is list:
        (item,) = typing.get_args(tp) or (Any,)
        return isinstance(value, list) and all(_type_ok(v, item) for v in value)
    if tp is dict or origin is dict:
        return isinstance(value, dict)
    raise TypeError(f"messages.py does not know how to check {tp!r}")


@functools.cache
def _hints(cls: type) -> dict:
    return typing.get_type_hints(cls)


class Body:
    """Shared to_dict/from_dict for the dataclasses below."""

    TYPE: ClassVar[str] = ""
    IMAGES: ClassVar[int] = 0  # how many images a request carries

    @classmethod
    def from_dict(cls, d: Any):
        if not isinstance(d, dict):
            raise ProtocolError(f"{cls.TYPE} body must be a map")
        hints = _hints(cls)
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - names)
        if unknown:
            raise ProtocolError(f"{cls.TYPE}: unknown field {unknown[0]!r}")
        kwargs = {}
        for f in dataclasses.fields(cls):
            if f.name in d:
                value = d[f.name]
                if not _type_ok(value, hints[f.name]):
                    raise ProtocolError(f"{cls.TYPE}: field {f.name!r} must be "
                                        f"{_type_name(hints[f.name])}, got {type(value).__name__}")
                # msgpack keeps 3 and 3.0 apart; a float field takes either
                kwargs[f.name] = float(value) if hints[f.name] is float else value
            elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise ProtocolError(f"{cls.TYPE}: missing field {f.name!r}")
        obj = cls(**kwargs)
        for spec in specs(cls).values():
            problem = spec.problem(getattr(obj, spec.name))
            _need(problem is None, problem)
        obj.check()
        return obj

    def to_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    def check(self) -> None:
        """Checks beyond each field's own range; raise ProtocolError("bad_option")."""

    def image_count(self) -> int:
        return self.IMAGES


def _type_name(tp: Any) -> str:
    args = typing.get_args(tp)
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        return " or ".join("nil" if a is type(None) else _type_name(a) for a in args)
    return getattr(tp, "__name__", str(tp))


def _need(ok: bool, message: str) -> None:
    if not ok:
        raise ProtocolError(message, "bad_option")


# ---- requests ------------------------------------------------------------------------------

COUNT = {"lo": 1, "hi": 64}  # results per request
SEED = {"lo": 0, "hi": MAX_SEED}
SIDE = {"lo": 1, "hi": MAX_SIDE}  # px, a result's side (the engine's sample_scales checks it)


def _sample_type():  # a function: each class needs its own dataclasses.Field
    return opt("u8", choices=tuple(BYTES_PER_SAMPLE), help="the result's sample type")


def _channel_order():
    return opt("RGBA", choices=tuple(CHANNELS), help="the result's channel order")


@dataclass(frozen=True)
class Hello(Body):
    TYPE: ClassVar[str] = "hello"
    client: str
    version: str


@dataclass(frozen=True)
class Empty(Body):
    """Body of status, list_models, heartbeat, shutdown and echo."""

    TYPE: ClassVar[str] = "empty"


@dataclass(frozen=True)
class ModelRef(Body):
    TYPE: ClassVar[str] = "delete_model"
    model_id: str


@dataclass(frozen=True)
class JobRef(Body):
    TYPE: ClassVar[str] = "cancel / fetch_result"
    job_id: str


@dataclass(frozen=True)
class Train(Body):
    TYPE: ClassVar[str] = "train"
    IMAGES: ClassVar[int] = 1
    # Every option left nil takes the preset's value. The ranges are the engine's
    # (TrainConfig.validate, the authority; a test keeps them equal), so a client can show them.
    name: str | None = opt(None, help="shown in list_models; nil: the engine's default")
    preset: str = opt("default", choices=PRESETS, help="the options to start from")
    max_size: int | None = opt(None, lo=11, hi=4096, help="longest side of the finest scale, px")
    min_size: int | None = opt(None, lo=11, hi=4096,
                               help="shortest side of the coarsest scale, px")
    scale_factor: float | None = opt(None, lo=0.3, below=1.0,
                                     help="nominal ratio between scales")
    iters: int | None = opt(None, lo=1, hi=100_000, help="iterations per scale")
    seed: int | None = opt(None, **SEED, help="seed of the whole run (nil: 0)")
    for_animation: bool = opt(False, help="train with noise padding and min size 20, for "
                                          "animations")
    d_steps: int | None = opt(None, lo=1, hi=100, help="discriminator steps per iteration")
    g_steps: int | None = opt(None, lo=1, hi=100, help="generator steps per iteration")
    lr: float | None = opt(None, above=0.0, hi=0.1, help="Adam learning rate")
    alpha: float | None = opt(None, lo=0.0, help="reconstruction loss weight")
    source_name: str | None = opt(None, help="file or layer name, kept in the manifest")
    resume: str | None = opt(None, help="finish this unfinished model instead (then no image)")

    def image_count(self) -> int:
        return 0 if self.resume else 1

    def check(self) -> None:
        _need(self.name is None or 0 < len(self.name) <= 200, "name must be 1..200 characters")


@dataclass(frozen=True)
class Generate(Body):
    TYPE: ClassVar[str] = "generate"
    model_id: str = opt(help="model id or name")
    n: int = opt(1, **COUNT, help="how many samples")
    width: int | None = opt(None, **SIDE, help="px; nil: the model's width (or scale_h of it)")
    height: int | None = opt(None, **SIDE, help="px; nil: the model's height (or scale_v of it)")
    scale_h: float | None = opt(None, above=0.0,
                                help="width as a multiple of the model's, when width is nil")
    scale_v: float | None = opt(None, above=0.0,
                                help="height as a multiple of the model's, when height is nil")
    start_scale: int = opt(0, lo=0, help="keep the layout of the scales below this one (0 = "
                                         "all random)")
    seed: int | None = opt(None, **SEED, help="sample i uses seed + i (nil: random)")
    sample_type: str = _sample_type()
    channel_order: str = _channel_order()
    lift: bool = opt(True, help="sizes in the source's px, lifted from it; false: the model's "
                                "px")
    layout: str | None = opt(None, choices=LAYOUTS,
                             help="the layout from the model's coarse scales (the paper's) or "
                                  "from the training image's patches; nil: the one the model "
                                  "measured closer to its image after training (only with "
                                  "start_scale 0)")


@dataclass(frozen=True)
class Harmonize(Body):
    TYPE: ClassVar[str] = "harmonize"
    IMAGES: ClassVar[int] = 2  # composite, mask (GRAY, or any order: its channels averaged)
    model_id: str = opt(help="model id or name (trained on the background image)")
    n: int = opt(1, **COUNT, help="how many results, each with fresh noise")
    # its top, num_scales - 1, is the model's: the engine checks it
    start_scale: int | None = opt(None, lo=1, help="injection scale, 1 .. scales - 1; lower "
                                                   "changes more (nil: the task's default)")
    seed: int | None = opt(None, **SEED, help="result i uses seed + i (nil: random)")
    lift: bool = opt(True, help="the result at the image's resolution, lifted from the "
                                "source's patches")


@dataclass(frozen=True)
class Edit(Harmonize):
    TYPE: ClassVar[str] = "edit"  # images: edited, mask; results: [blended, unmasked] x n


@dataclass(frozen=True)
class Paint(Harmonize):
    TYPE: ClassVar[str] = "paint"
    IMAGES: ClassVar[int] = 1  # the painting
    quantize: bool = opt(False, help="snap the painting to the training image's 5 main colours")
    refine: bool = opt(False, help="also retrain the injection scale on quantised inputs "
                                   "(slower, cleaner)")


@dataclass(frozen=True)
class Upscale(Body):
    TYPE: ClassVar[str] = "upscale"
    IMAGES: ClassVar[int] = 1
    factor: float = opt(above=1.0, hi=16.0, help="e.g. 2, 4 or 3.5")
    model_id: str | None = opt(None, help="an SR model trained before; nil: train one on the "
                                          "image first")
    method: str | None = opt(None, choices=("patch", "singan"),
                             help="patch: internal-patch SR, no training; singan: the paper's SR "
                                  "model; nil: singan with a model_id, else patch")
    seed: int | None = opt(None, **SEED, help="seed of the training and of the noise")
    # options for the SR model trained when model_id is nil (Train's ranges)
    preset: str | None = opt(None, choices=PRESETS, help="the options to start from")
    max_size: int | None = opt(None, lo=11, hi=4096,
                               help="train on the image shrunk to this longest side, px")
    min_size: int | None = opt(None, lo=11, hi=4096, help="coarsest scale's shorter side, px")
    iters: int | None = opt(None, lo=1, hi=100_000, help="iterations per scale")
    name: str | None = opt(None, help="name of the SR model")
    source_name: str | None = opt(None, help="file or layer name, kept in the manifest")


@dataclass(frozen=True)
class Animate(Body):
    TYPE: ClassVar[str] = "animate"
    model_id: str = opt(help="model id or name")
    frames: int = opt(100, lo=1, hi=1000, help="number of frames")
    # 50: a GIF's frame delay is in 1/100 s and viewers slow shorter delays than 2/100 down
    fps: float = opt(10.0, lo=1.0, hi=50.0, help="frames per second")
    start_scale: int = opt(0, lo=0, help="scales below it keep the image's layout; the paper "
                                         "uses 0, 1 or 2")
    beta: float = opt(0.9, lo=0.0, hi=1.0, help="momentum of the noise walk (paper section "
                                                "4.5); the paper uses 0.8 .. 0.95")
    loop: bool = opt(True, help="the last frame leads back to the first (a cross-fade)")
    seed: int | None = opt(None, **SEED, help="seed of the walk (nil: random)")
    sample_type: str = _sample_type()
    channel_order: str = _channel_order()
    lift: bool = opt(False, help="frames at the training image's size, lifted from its "
                                 "patches (a lift per frame: slower)")


@dataclass(frozen=True)
class Instant(Body):
    TYPE: ClassVar[str] = "instant"
    IMAGES: ClassVar[int] = 1  # the image the variations are made of (no model needed)
    n: int = opt(1, **COUNT, help="how many variations")
    width: int | None = opt(None, **SIDE, help="px; nil: the image's (one alone keeps the "
                                               "aspect)")
    height: int | None = opt(None, **SIDE, help="px; nil: the image's")
    seed: int | None = opt(None, **SEED, help="variation i uses seed + i (nil: random)")


# msg_type -> body class. Quick requests are answered on the socket thread; the rest are jobs.
QUICK_REQUESTS: dict[str, type[Body]] = {
    "hello": Hello, "status": Empty, "list_models": Empty, "delete_model": ModelRef,
    "cancel": JobRef, "fetch_result": JobRef, "heartbeat": Empty, "shutdown": Empty,
    "echo": Empty,
}
JOB_REQUESTS: dict[str, type[Body]] = {
    "train": Train, "generate": Generate, "harmonize": Harmonize, "edit": Edit,
    "paint": Paint, "upscale": Upscale, "animate": Animate, "instant": Instant,
}
REQUESTS = {**QUICK_REQUESTS, **JOB_REQUESTS}


# ---- events --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Accepted(Body):
    TYPE: ClassVar[str] = "accepted"
    job_id: str
    position: int
    lane: str = "infer"


@dataclass(frozen=True)
class ProgressEvent(Body):
    TYPE: ClassVar[str] = "progress"
    job_id: str
    task: str
    stage: str
    scale: int
    num_scales: int
    iteration: int
    total: int
    fraction: float  # whole job, 0..1
    eta_s: float | None  # seconds left, None when unknown
    elapsed_s: float = 0.0


@dataclass(frozen=True)
class ErrorEvent(Body):
    TYPE: ClassVar[str] = "error"
    code: str
    message: str
    job_id: str | None = None


@dataclass(frozen=True)
class CancelledEvent(Body):
    TYPE: ClassVar[str] = "cancelled"
    job_id: str
    model_id: str | None = None  # train: the unfinished model, resumable with train {resume}


@dataclass(frozen=True)
class Heartbeat(Body):
    TYPE: ClassVar[str] = "heartbeat"
    time: float


EVENTS: dict[str, type[Body]] = {"accepted": Accepted, "progress": ProgressEvent,
                                 "error": ErrorEvent, "cancelled": CancelledEvent,
                                 "heartbeat": Heartbeat}
FINAL_EVENTS = frozenset({"reply", "result", "error", "cancelled"})
