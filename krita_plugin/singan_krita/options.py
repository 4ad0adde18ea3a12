"""The options a painter sets in the docker, validated before anything is sent, and the
names given to models, layers and groups."""

from __future__ import annotations

from dataclasses import dataclass

from .errors import UserFacingError

PRESETS = ("quick", "default", "paper")
PRESET_LABELS = {"quick": "Quick (minutes on a CPU)", "default": "Default (use a GPU)",
                 "paper": "Paper (best, slow)"}
MAX_SEED = 2**63 - 1
MAX_SIDE = 8192  # px; the backend's default pixel limit is 8192 x 8192
NAME_LIMIT = 60  # characters in a model name


def _check(ok: bool, message: str) -> None:
    if not ok:
        raise UserFacingError(message)


def parse_seed(text: str) -> int | None:
    """The seed field: empty means 'a new random one each time'."""
    text = text.strip()
    if not text:
        return None
    _check(text.isdigit() and int(text) <= MAX_SEED,
           "The seed must be a whole number, or empty for a random one.")
    return int(text)


@dataclass(frozen=True)
class TrainOptions:
    # quick at 96 px works on a laptop CPU in minutes; a GPU user picks default at 250 px
    preset: str = "quick"  # "quick" | "default" | "paper"
    max_size: int = 96  # px, longest side of the finest scale; 16..1024
    iters: int = 0  # iterations per scale; 0 = the preset's
    seed: int | None = None  # None = random

    def validate(self) -> TrainOptions:
        _check(self.preset in PRESETS, f"Unknown training preset “{self.preset}”.")
        _check(16 <= self.max_size <= 1024, "The training size must be between 16 and 1024 pixels.")
        _check(0 <= self.iters <= 100_000, "Iterations per scale must be between 1 and 100000.")
        return self

    def body(self, name: str) -> dict:
        body = {"name": name, "preset": self.preset, "max_size": self.max_size}
        if self.iters:
            body["iters"] = self.iters
        if self.seed is not None:
            body["seed"] = self.seed
        return body


@dataclass(frozen=True)
class VariationOptions:
    count: int = 2  # variations per click, 1..64
    width: int = 0  # px; 0 = the canvas width
    height: int = 0  # px; 0 = the canvas height
    start_scale: int = 0  # 0 = coarsest (most varied); higher keeps more of the layout
    seed: int | None = None  # None = random

    def size(self, canvas: tuple[int, int]) -> tuple[int, int]:
        return self.width or canvas[0], self.height or canvas[1]

    def validate(self, canvas: tuple[int, int], num_scales: int) -> VariationOptions:
        w, h = self.size(canvas)
        _check(1 <= self.count <= 64, "Make between 1 and 64 variations at a time.")
        _check(8 <= w <= MAX_SIDE and 8 <= h <= MAX_SIDE,
               f"Variations must be between 8 and {MAX_SIDE} pixels wide and high.")
        _check(w * h * self.count <= MAX_SIDE * MAX_SIDE,
               "That many variations at that size would not fit in memory: make fewer or smaller ones.")
        _check(0 <= self.start_scale < max(1, num_scales),
               f"The start scale must be between 0 and {max(0, num_scales - 1)} for this model.")
        return self

    def body(self, model_id: str, canvas: tuple[int, int], sample_type: str,
             channel_order: str) -> dict:
        w, h = self.size(canvas)
        body = {"model_id": model_id, "n": self.count, "width": w, "height": h,
                "start_scale": self.start_scale, "sample_type": sample_type,
                "channel_order": channel_order}
        if self.seed is not None:
            body["seed"] = self.seed
        return body


@dataclass(frozen=True)
class TaskOptions:
    """Options shared by harmonize, edit and paint."""

    start_scale: int = 0  # 0 = the backend's choice for the task; else the injection scale
    seed: int | None = None  # None = random
    quantize: bool = False  # paint to image: reduce the sketch to the model's colours first

    def body(self, model_id: str, task: str) -> dict:
        body: dict = {"model_id": model_id}
        if self.start_scale:
            body["start_scale"] = self.start_scale
        if self.seed is not None:
            body["seed"] = self.seed
        if task == "paint":
            body["quantize"] = self.quantize
        return body


@dataclass(frozen=True)
class UpscaleOptions:
    factor: float = 2.0  # 1 < factor <= 16

    def validate(self, size: tuple[int, int]) -> UpscaleOptions:
        _check(1.0 < self.factor <= 16.0, "The upscale factor must be above 1 and at most 16.")
        w, h = (round(s * self.factor) for s in size)
        _check(w <= MAX_SIDE and h <= MAX_SIDE,
               f"The result would be {w} x {h} pixels; the limit is {MAX_SIDE} on each side.")
        return self


@dataclass(frozen=True)
class AnimateOptions:
    frames: int = 30  # 1..1000
    fps: float = 10.0  # frames per second, (0, 120]
    beta: float = 0.9  # 0..1; closer to 1 moves more slowly
    start_scale: int = 0  # coarsest scale that moves
    as_layers: bool = False  # frames as layers in a group instead of an animated layer

    def validate(self) -> AnimateOptions:
        _check(1 <= self.frames <= 1000, "An animation has between 1 and 1000 frames.")
        _check(0 < self.fps <= 120, "Frames per second must be between 1 and 120.")
        _check(0.0 <= self.beta <= 1.0, "Smoothness (beta) must be between 0 and 1.")
        return self

    def body(self, model_id: str, sample_type: str, channel_order: str,
             seed: int | None = None) -> dict:
        body = {"model_id": model_id, "frames": self.frames, "fps": float(self.fps),
                "start_scale": self.start_scale, "beta": float(self.beta),
                "sample_type": sample_type, "channel_order": channel_order}
        if seed is not None:
            body["seed"] = seed
        return body


def model_name(document: str, layer: str) -> str:
    """The name of a model trained on `layer` of `document`."""
    doc = document.rsplit("/", 1)[-1].rsplit(".", 1)[0] or "Untitled"
    name = doc if layer in ("", "Background", "Paint Layer 1") else f"{doc} - {layer}"
    return name[:NAME_LIMIT]


def variations_group_name(model: str, seed: int) -> str:
    return f"{model} · seed {seed}"


def model_label(model: dict) -> str:
    """One line for the model list: name, source size, scales, date."""
    created = str(model.get("created", ""))[:10]
    return (f"{model.get('name', '?')} · {model.get('width', '?')}×{model.get('height', '?')} · "
            f"{model.get('num_scales', '?')} scales · {created}")
