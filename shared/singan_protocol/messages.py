"""Typed bodies of every request and event (PROTOCOL.md sections 4 and 5).

Each body is a frozen dataclass; `from_dict` type-checks every field against the annotation
(bool is not an int, an int is accepted as a float, unknown fields are refused) and then
the class's own range checks. Failures raise ProtocolError("bad_request"/"bad_option").
"""

from __future__ import annotations

import dataclasses
import functools
import types
import typing
from dataclasses import dataclass
from typing import Any, ClassVar

from .payload import BYTES_PER_SAMPLE, CHANNELS
from .wire import ProtocolError

PRESETS = ("paper", "default", "quick")
MAX_SEED = 2**63 - 1


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
        obj.check()
        return obj

    def to_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    def check(self) -> None:
        """Range checks beyond types; raise ProtocolError("bad_option")."""

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


def _check_seed(seed: int | None) -> None:
    _need(seed is None or 0 <= seed <= MAX_SEED, f"seed must be in 0..{MAX_SEED}")


def _check_start_scale(start_scale: int | None) -> None:
    _need(start_scale is None or start_scale >= 0, "start_scale must be >= 0")


def _check_output(sample_type: str, channel_order: str) -> None:
    _need(sample_type in BYTES_PER_SAMPLE, f"sample_type must be one of {list(BYTES_PER_SAMPLE)}")
    _need(channel_order in CHANNELS, f"channel_order must be one of {list(CHANNELS)}")


# ---- requests ------------------------------------------------------------------------------

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
    name: str | None = None  # shown in list_models; nil: the engine's default ("model")
    preset: str = "default"  # "paper" | "default" | "quick"
    max_size: int | None = None  # px, longer side of the finest scale
    min_size: int | None = None  # px, shorter side of the coarsest scale
    scale_factor: float | None = None  # between scales, in (0, 1)
    iters: int | None = None  # per scale
    seed: int | None = None
    for_animation: bool = False
    d_steps: int | None = None  # discriminator steps per iteration
    g_steps: int | None = None  # generator steps per iteration
    lr: float | None = None  # Adam learning rate
    alpha: float | None = None  # reconstruction loss weight
    source_name: str | None = None  # file or layer name, kept in the manifest
    resume: str | None = None  # finish this unfinished model instead (then no image)

    def image_count(self) -> int:
        return 0 if self.resume else 1

    def check(self) -> None:
        _need(self.name is None or 0 < len(self.name) <= 200, "name must be 1..200 characters")
        for name in ("d_steps", "g_steps"):
            _need(getattr(self, name) is None or 1 <= getattr(self, name) <= 100,
                  f"{name} must be in 1..100")
        _need(self.preset in PRESETS, f"preset must be one of {list(PRESETS)}")
        _need(self.max_size is None or 8 <= self.max_size <= 8192, "max_size must be in 8..8192")
        _need(self.min_size is None or 4 <= self.min_size <= 8192, "min_size must be in 4..8192")
        _need(self.scale_factor is None or 0.0 < self.scale_factor < 1.0,
              "scale_factor must be in (0, 1)")
        _need(self.iters is None or 1 <= self.iters <= 1_000_000, "iters must be >= 1")
        _check_seed(self.seed)


@dataclass(frozen=True)
class Generate(Body):
    TYPE: ClassVar[str] = "generate"
    model_id: str
    n: int = 1
    width: int | None = None  # px; default: the model's size (or scale_h / scale_v of it)
    height: int | None = None
    scale_h: float | None = None  # width as a multiple of the model's, when width is nil
    scale_v: float | None = None
    start_scale: int = 0
    seed: int | None = None
    sample_type: str = "u8"
    channel_order: str = "RGBA"

    def check(self) -> None:
        _need(1 <= self.n <= 64, "n must be in 1..64")
        _need(self.width is None or self.width >= 1, "width must be >= 1")
        _need(self.height is None or self.height >= 1, "height must be >= 1")
        for name in ("scale_h", "scale_v"):
            _need(getattr(self, name) is None or getattr(self, name) > 0, f"{name} must be > 0")
        _check_start_scale(self.start_scale)
        _check_seed(self.seed)
        _check_output(self.sample_type, self.channel_order)


@dataclass(frozen=True)
class Harmonize(Body):
    TYPE: ClassVar[str] = "harmonize"
    IMAGES: ClassVar[int] = 2  # composite, mask (GRAY, or any order: its channels averaged)
    model_id: str
    n: int = 1  # results, each with fresh noise
    start_scale: int | None = None  # injection scale, 1..; nil: the engine's default
    seed: int | None = None

    def check(self) -> None:
        _need(1 <= self.n <= 64, "n must be in 1..64")
        _check_start_scale(self.start_scale)
        _check_seed(self.seed)


@dataclass(frozen=True)
class Edit(Harmonize):
    TYPE: ClassVar[str] = "edit"  # images: edited, mask; results: [blended, unmasked] x n


@dataclass(frozen=True)
class Paint(Harmonize):
    TYPE: ClassVar[str] = "paint"
    IMAGES: ClassVar[int] = 1  # the painting
    quantize: bool = False  # snap the painting to the training image's 5 k-means colours
    refine: bool = False  # also retrain the injection scale on quantised inputs (slower)


@dataclass(frozen=True)
class Upscale(Body):
    TYPE: ClassVar[str] = "upscale"
    IMAGES: ClassVar[int] = 1
    factor: float
    model_id: str | None = None  # nil: train an SR model on the image first
    seed: int | None = None
    # options for the SR model trained when model_id is nil
    preset: str | None = None
    max_size: int | None = None
    min_size: int | None = None
    iters: int | None = None
    name: str | None = None
    source_name: str | None = None

    def check(self) -> None:
        _need(1.0 < self.factor <= 16.0, "factor must be in (1, 16]")
        _need(self.preset is None or self.preset in PRESETS, f"preset must be one of {PRESETS}")
        _need(self.iters is None or self.iters >= 1, "iters must be >= 1")
        _check_seed(self.seed)


@dataclass(frozen=True)
class Animate(Body):
    TYPE: ClassVar[str] = "animate"
    model_id: str
    frames: int = 100
    fps: float = 10.0
    start_scale: int = 0
    beta: float = 0.9  # noise memory of the random walk, paper section 4.5
    loop: bool = True  # the last frame leads back to the first
    seed: int | None = None
    sample_type: str = "u8"
    channel_order: str = "RGBA"

    def check(self) -> None:
        _need(1 <= self.frames <= 1000, "frames must be in 1..1000")
        _need(1.0 <= self.fps <= 50.0, "fps must be in 1..50")
        _need(0.0 <= self.beta <= 1.0, "beta must be in [0, 1]")
        _check_start_scale(self.start_scale)
        _check_seed(self.seed)
        _check_output(self.sample_type, self.channel_order)


# msg_type -> body class. Quick requests are answered on the socket thread; the rest are jobs.
QUICK_REQUESTS: dict[str, type[Body]] = {
    "hello": Hello, "status": Empty, "list_models": Empty, "delete_model": ModelRef,
    "cancel": JobRef, "fetch_result": JobRef, "heartbeat": Empty, "shutdown": Empty,
    "echo": Empty,
}
JOB_REQUESTS: dict[str, type[Body]] = {
    "train": Train, "generate": Generate, "harmonize": Harmonize, "edit": Edit,
    "paint": Paint, "upscale": Upscale, "animate": Animate,
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
