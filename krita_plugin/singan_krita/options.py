"""The options a painter sets in the docker, validated before anything is sent, and the
names given to models, layers and groups."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from singan_protocol.fields import Spec, spec
from singan_protocol.messages import MAX_SEED, MAX_SIDE, PRESETS, Animate, Generate, Train, Upscale

from .errors import UserFacingError

# Every range, and every default not marked "docker's own", is the protocol's (its
# messages.py declares them; tests/krita/test_krita_options.py walks them).
# Generate's Layout choices (the protocol's LAYOUTS, and None: the backend's choice)
LAYOUT_LABELS = {None: "Model's choice", "model": "SinGAN's own", "patches": "Image's patches"}
PRESET_LABELS = {"quick": "Quick (CPU)", "default": "Default (GPU)", "paper": "Paper (slow)"}
# px, the finest scale of each preset (the engine's PRESETS; a test keeps them equal): the
# docker's Size follows the preset chosen until the painter sets it
PRESET_SIZES = {"quick": 192, "default": 250, "paper": 250}
# docker's own: training time measured with benchmarks/quality.py on a 2-core CPU (README,
# "Measured figures"), one core busy with other work as Krita keeps it
PRESET_TIMES = {"quick": "2-4 min on a 2-core CPU with Krita busy",
                "default": "3-8 min on a 2-core CPU with Krita busy, about 4 on an idle one",
                "paper": "hours on a CPU: for a GPU"}
NAME_LIMIT = 60  # characters in a model name


def bounds(request: type, name: str) -> tuple[float, float]:
    """(lowest, highest) value a spin box for this request field may show."""
    s = spec(request, name)
    low = s.lo if s.lo is not None else s.above
    return low, s.hi


def _within(s: Spec, value: float, what: str) -> None:
    """A field outside the protocol's range, in the painter's words."""
    _check(s.problem(value) is None, f"{what} must be {s.range_text()}.")


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
    # docker's own: quick (192 px) works on a laptop CPU in minutes; a GPU user picks default
    preset: str = "quick"  # one of PRESETS
    max_size: int | None = None  # px, longest side of the finest scale; None = the preset's
    iters: int = 0  # iterations per scale; docker's own 0 = the preset's
    seed: int | None = None  # None = random

    @property
    def size(self) -> int:
        """The size that will be trained: the painter's, else the preset's."""
        return self.max_size if self.max_size is not None else PRESET_SIZES.get(self.preset, 0)

    def validate(self) -> TrainOptions:
        _check(self.preset in PRESETS, f"Unknown training preset “{self.preset}”.")
        _within(spec(Train, "max_size"), self.size, "The training size (px)")
        if self.iters:
            _within(spec(Train, "iters"), self.iters, "Iterations per scale")
        return self

    def body(self, name: str) -> dict:
        body = {"name": name, "preset": self.preset}
        if self.max_size is not None:  # else the backend's preset decides, as on the CLI
            body["max_size"] = self.max_size
        if self.iters:
            body["iters"] = self.iters
        if self.seed is not None:
            body["seed"] = self.seed
        return body


@dataclass(frozen=True)
class VariationOptions:
    count: int = 2  # variations per click; docker's own: two to compare
    width: int = 0  # px; 0 = the canvas width
    height: int = 0  # px; 0 = the canvas height
    start_scale: int = 0  # 0 = coarsest (most varied); higher keeps more of the layout
    seed: int | None = None  # None = random
    layout: str | None = None  # Generate.layout: None = the one the model measured better

    def size(self, canvas: tuple[int, int]) -> tuple[int, int]:
        return self.width or canvas[0], self.height or canvas[1]

    def validate(self, canvas: tuple[int, int], num_scales: int) -> VariationOptions:
        w, h = self.size(canvas)
        _within(spec(Generate, "n"), self.count, "The number of variations")
        _within(spec(Generate, "width"), w, "The variations' width (px)")
        _within(spec(Generate, "height"), h, "The variations' height (px)")
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
        if self.layout is not None:
            body["layout"] = self.layout
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
    factor: float = 2.0  # docker's own (the protocol has no default); range: Upscale's

    def validate(self, size: tuple[int, int]) -> UpscaleOptions:
        _within(spec(Upscale, "factor"), self.factor, "The upscale factor")
        w, h = (round(s * self.factor) for s in size)
        _check(w <= MAX_SIDE and h <= MAX_SIDE,
               f"The result would be {w} x {h} pixels; the limit is {MAX_SIDE} on each side.")
        return self


@dataclass(frozen=True)
class AnimateOptions:
    frames: int = 30  # docker's own: a short loop comes back sooner
    fps: float = spec(Animate, "fps").default  # frames per second
    beta: float = spec(Animate, "beta").default  # closer to 1 moves more slowly
    start_scale: int = spec(Animate, "start_scale").default  # coarsest scale that moves
    # frames at the training layer's size, lifted from its patches (a lift per frame: slower)
    lift: bool = spec(Animate, "lift").default
    # Krita 5.1.5's importAnimation crashed Krita (and lost unsaved work) in about 1 of 4
    # runs: frames as layers in a group is the default, the animated layer an opt-in
    animated_layer: bool = False

    def validate(self) -> AnimateOptions:
        _within(spec(Animate, "frames"), self.frames, "The number of frames")
        _within(spec(Animate, "fps"), self.fps, "Frames per second")
        _within(spec(Animate, "beta"), self.beta, "Smoothness (beta)")
        return self

    def body(self, model_id: str, sample_type: str, channel_order: str,
             seed: int | None = None) -> dict:
        body = {"model_id": model_id, "frames": self.frames, "fps": float(self.fps),
                "start_scale": self.start_scale, "beta": float(self.beta),
                "sample_type": sample_type, "channel_order": channel_order, "lift": self.lift}
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


def is_sr(model: dict) -> bool:
    """A super-resolution model: it only upscales, never generates."""
    return model.get("kind") == "sr" or bool(model.get("for_sr"))


def model_label(model: dict) -> str:
    """One line for the model list: name, source size, scales, date and time."""
    when = local_time(str(model.get("created", "")))
    label = (f"{model.get('name', '?')} · {model.get('width', '?')}×{model.get('height', '?')} · "
             f"{model.get('num_scales', '?')} scales · {when}")
    if model.get("complete") is False:
        label += " · unfinished"
    return label


def local_time(created: str) -> str:
    """'2026-01-02 04:04' in this computer's time zone, from the manifest's ISO 8601 UTC."""
    try:
        return datetime.fromisoformat(created).astimezone().strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return created[:16].replace("T", " ")


def model_labels(models) -> list[str]:
    """model_label for each, made unique: rows that would read the same get their id."""
    labels = [model_label(m) for m in models]
    return [f"{label} · {m.get('id', '?')}" if labels.count(label) > 1 else label
            for label, m in zip(labels, models)]
