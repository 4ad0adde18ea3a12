"""Live previews of a training: after a scale is saved, one random sample of the scales
trained so far, small, sent with a progress event (PROTOCOL.md, progress) so that a painter
sees the model take shape and can cancel early. At most one every PREVIEW_EVERY_S."""

from __future__ import annotations

import logging
import time

import torch

from ..engine.pyramid import resize
from ..engine.sample import noise_generator
from ..engine.singan import random_noise, run_chain
from ..images import to_array
from ..store import ModelStore
from .pixels import from_rgb

log = logging.getLogger(__name__)

PREVIEW_EVERY_S = 3.0  # s between two previews of one training
PREVIEW_SIDE = 128  # px, longest side of a preview (about 50 KB of RGBA at most)


class Previews:
    """Decides when a training gets a preview, and makes it from the store."""

    def __init__(self, store: ModelStore, every_s: float = PREVIEW_EVERY_S,
                 side: int = PREVIEW_SIDE, clock=time.monotonic):
        self.store, self.every_s, self.side, self.clock = store, every_s, side, clock
        self.scales_shown = 0  # trained scales in the last preview
        self.last = -1e9

    def due(self, trained_scales: int) -> bool:
        return trained_scales > self.scales_shown and self.clock() - self.last >= self.every_s

    def make(self, model_id: str, trained_scales: int, seed: int = 0):
        """(image payload RGBA u8, scales in it), or None when it cannot be made now."""
        self.scales_shown, self.last = trained_scales, self.clock()
        try:
            model = self.store.load(model_id, torch.device("cpu"))
            if model.num_scales < 1:
                return None
            gen = noise_generator(model, seed)
            sizes = model.pyramid.sizes
            with torch.no_grad():
                out = run_chain(model, sizes, lambda n, s: random_noise(model, n, s, gen))
                h, w = out.shape[-2:]
                k = min(1.0, self.side / max(h, w))
                out = resize(out, (max(1, round(h * k)), max(1, round(w * k))))
            return from_rgb(to_array(out), "u8", "RGBA"), model.num_scales
        except Exception:  # noqa: BLE001 - a preview must never stop the training
            log.exception("no preview of %s after %d scales", model_id, trained_scales)
            return None
