"""The engine's public face: the functions that the CLI and the server both call.

Images cross this boundary as numpy float32 arrays (H, W, 3) in [0, 1]; masks as (H, W)
float32 in [0, 1]. Models are named by their id in a ModelStore. Long calls take
`on_progress` (called with engine.progress.Progress, throttled) and `should_stop` (polled;
when it returns True the call raises errors.Cancelled within about a second).
User mistakes raise errors.UserError subclasses with a message that says what to do.
"""

from __future__ import annotations

import secrets
from dataclasses import replace
from functools import lru_cache

import numpy as np
import torch

from .device import pick_device
from .engine.config import TrainConfig
from .engine.progress import ProgressFn, StopFn, Tracker
from .engine.sample import sample as sample_model
from .engine.sample import sample_sizes
from .engine.singan import SinGAN
from .engine.train import new_model
from .engine.train import train as train_model
from .errors import BadOption
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
