"""The model store: one folder per model, a JSON manifest plus plain state dicts.

    <models_dir>/<model_id>/manifest.json   options, sizes, noise amplitudes, progress
    <models_dir>/<model_id>/tensors.pt      reals pyramid and z_opt
    <models_dir>/<model_id>/scale_NNN.pt    {"generator": state dict, "discriminator": ...}

Every file is written to a temporary name and renamed, and the manifest is written last,
so a crash leaves either the old or the new checkpoint, never half of one. Tensors are
loaded with weights_only=True: a model folder can never run code.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import BinaryIO

import platformdirs
import torch

from .engine.config import TrainConfig
from .engine.models import nets_for_scale, place
from .engine.pyramid import Pyramid
from .engine.singan import SinGAN
from .errors import CorruptModel, ModelNotFound

FORMAT_VERSION = 1
MANIFEST = "manifest.json"


def default_models_dir() -> Path:
    """$SINGAN_HOME/models if set, else the platform's user data folder."""
    home = os.environ.get("SINGAN_HOME")
    base = Path(home) if home else Path(platformdirs.user_data_dir("singan", appauthor=False))
    return base / "models"


def atomic_write(path: Path, data: bytes | Callable[[BinaryIO], object]) -> None:
    """Write `data` (bytes, or a function that writes to the open file) as `path`, atomically:
    a temporary file in the same folder, fsync, rename. Readers see the old or the new file."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            if callable(data):
                data(f)
            else:
                f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_torch_save(path: Path, obj) -> None:
    atomic_write(path, lambda f: torch.save(obj, f))


@dataclass(frozen=True)
class ModelInfo:
    id: str
    name: str
    width: int  # source image size
    height: int
    num_scales: int  # planned scales
    trained_scales: int
    created: str  # ISO 8601, UTC
    preset: str
    for_animation: bool
    kind: str  # "singan" or "sr" (super-resolution)
    finest: tuple[int, int]  # (H, W) of the finest scale

    @property
    def complete(self) -> bool:
        return self.trained_scales == self.num_scales

    def to_dict(self) -> dict:
        return {"id": self.id, "name": self.name, "width": self.width, "height": self.height,
                "num_scales": self.num_scales, "trained_scales": self.trained_scales,
                "complete": self.complete, "created": self.created, "preset": self.preset,
                "for_animation": self.for_animation, "for_sr": self.kind == "sr",
                "kind": self.kind, "finest_height": self.finest[0], "finest_width": self.finest[1]}


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:40] or "model"


class ModelStore:
    def __init__(self, root: str | os.PathLike | None = None):
        self.root = Path(root) if root else default_models_dir()

    # -- finding models ------------------------------------------------------------------
    def _manifest(self, folder: Path) -> dict:
        path = folder / MANIFEST
        try:
            manifest = json.loads(path.read_text())
        except FileNotFoundError:
            raise CorruptModel(f"model folder {folder} is damaged: {MANIFEST} is missing; "
                               f"delete the folder and train again") from None
        except (OSError, ValueError) as e:
            raise CorruptModel(f"model folder {folder} is damaged: {path.name} is unreadable "
                               f"({e}); delete the folder and train again") from None
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT_VERSION:
            raise CorruptModel(f"{path} is not a format-{FORMAT_VERSION} manifest: train again")
        return manifest

    def resolve(self, ref: str) -> str:
        """A model id from an id, a unique name or a unique id prefix."""
        if ref and (self.root / ref / MANIFEST).exists():
            return ref
        matches = [i for i in self.list()
                   if i.name == ref or i.id.startswith(ref)] if ref else []
        if len(matches) == 1:
            return matches[0].id
        if len(matches) > 1:
            ids = ", ".join(m.id for m in matches)
            raise ModelNotFound(f"{ref!r} matches several models ({ids}): give the full id")
        if ref and (self.root / ref).is_dir():
            self._manifest(self.root / ref)  # raises CorruptModel naming the file
        raise ModelNotFound(f"no model {ref!r} in {self.root}: `singan models` lists them")

    def exists(self, model_id: str) -> bool:
        return (self.root / model_id / MANIFEST).exists()

    def info(self, model_id: str) -> ModelInfo:
        return self._info(model_id, self._manifest(self.root / model_id))

    @staticmethod
    def _info(model_id: str, m: dict) -> ModelInfo:
        cfg = m.get("config", {})
        return ModelInfo(model_id, m.get("name", model_id), m["source"]["width"],
                         m["source"]["height"], len(m["sizes"]), m["trained_scales"],
                         m["created"], cfg.get("preset", "?"), bool(cfg.get("noise_padding")),
                         m.get("kind", "singan"), tuple(m["sizes"][-1]))

    def list(self) -> list[ModelInfo]:
        """Every readable model, oldest first (damaged folders are left out)."""
        infos = []
        if not self.root.is_dir():
            return infos
        for folder in sorted(self.root.iterdir()):
            if not folder.is_dir() or folder.name.startswith("."):
                continue
            try:
                infos.append(self._info(folder.name, self._manifest(folder)))
            except (CorruptModel, KeyError, TypeError):
                continue
        return sorted(infos, key=lambda i: i.created)

    def unfinished(self) -> list[str]:
        return [i.id for i in self.list() if not i.complete]

    def delete(self, model_id: str) -> None:
        folder = self.root / self.resolve(model_id)
        # Rename first so that a half-deleted folder is never mistaken for a model.
        trash = self.root / f".deleting-{folder.name}-{secrets.token_hex(3)}"
        os.replace(folder, trash)
        shutil.rmtree(trash, ignore_errors=True)

    # -- saving --------------------------------------------------------------------------
    def create(self, name: str, model: SinGAN, source: dict, kind: str = "singan",
               meta: dict | None = None) -> str:
        """Reserve a folder for a model about to train; returns its id."""
        self.root.mkdir(parents=True, exist_ok=True)
        while True:
            model_id = f"{_slug(name)}-{secrets.token_hex(3)}"
            try:
                (self.root / model_id).mkdir()
                break
            except FileExistsError:
                continue
        folder = self.root / model_id
        self._save_tensors(folder, model)
        manifest = {
            "format": FORMAT_VERSION, "id": model_id, "name": name, "kind": kind,
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "source": source, "config": model.config.to_dict(),
            "scale_factor": model.pyramid.scale_factor,
            "sizes": [list(s) for s in model.pyramid.sizes],
            "noise_amps": [], "train_seconds": [], "trained_scales": 0, "meta": meta or {},
            "torch": torch.__version__,
        }
        atomic_write(folder / MANIFEST, json.dumps(manifest, indent=1).encode())
        return model_id

    @staticmethod
    def _save_tensors(folder: Path, model: SinGAN) -> None:
        atomic_torch_save(folder / "tensors.pt", {"z_rec": model.z_rec.cpu(),
                                                  "reals": [r.cpu() for r in model.reals]})

    def save_scale(self, model_id: str, model: SinGAN) -> None:
        """Checkpoint after a finished scale: its nets first, then the manifest."""
        folder = self.root / model_id
        n = model.num_scales - 1
        if n == 0:  # z_opt is final once scale 0 is trained (the authors' variant redraws it)
            self._save_tensors(folder, model)
        atomic_torch_save(folder / f"scale_{n:03d}.pt", {
            "generator": model.generators[n].state_dict(),
            "discriminator": model.discriminators[n].state_dict()})
        manifest = self._manifest(folder)
        manifest.update(noise_amps=list(model.noise_amps), trained_scales=model.num_scales,
                        train_seconds=[round(s, 3) for s in model.train_seconds])
        atomic_write(folder / MANIFEST, json.dumps(manifest, indent=1).encode())

    def update_meta(self, model_id: str, **meta) -> None:
        folder = self.root / model_id
        manifest = self._manifest(folder)
        manifest.setdefault("meta", {}).update(meta)
        atomic_write(folder / MANIFEST, json.dumps(manifest, indent=1).encode())

    def manifest(self, model_id: str) -> dict:
        return self._manifest(self.root / self.resolve(model_id))

    # -- loading -------------------------------------------------------------------------
    def _load_file(self, path: Path):
        try:
            return torch.load(path, map_location="cpu", weights_only=True)
        except FileNotFoundError:
            raise CorruptModel(f"model folder {path.parent} is damaged: {path.name} is missing; "
                               f"delete it and train again") from None
        except Exception as e:  # torch raises many kinds for a damaged file
            raise CorruptModel(f"model folder {path.parent} is damaged: {path.name} cannot be "
                               f"read ({type(e).__name__}); delete it and train again") from None

    def load(self, ref: str, device: torch.device | None = None,
             with_discriminators: bool = False) -> SinGAN:
        model_id = self.resolve(ref)
        folder = self.root / model_id
        m = self._manifest(folder)
        device = device or torch.device("cpu")
        try:
            config = TrainConfig.from_dict(m["config"])
            pyramid = Pyramid(float(m["scale_factor"]), tuple(tuple(s) for s in m["sizes"]))
            trained, amps = int(m["trained_scales"]), [float(a) for a in m["noise_amps"]]
        except (KeyError, TypeError, ValueError) as e:
            raise CorruptModel(f"{folder / MANIFEST} is damaged (bad field {e}); "
                               f"delete the model and train again") from None
        tensors = self._load_file(folder / "tensors.pt")
        model = SinGAN(config, pyramid, [r.to(device) for r in tensors["reals"]],
                       tensors["z_rec"].to(device), noise_amps=amps[:trained],
                       train_seconds=list(m.get("train_seconds", []))[:trained])
        for n in range(trained):
            state = self._load_file(folder / f"scale_{n:03d}.pt")
            try:
                g, d = nets_for_scale(config, n)
                g.load_state_dict(state["generator"])
                model.generators.append(place(g, device).eval().requires_grad_(False))
                if with_discriminators:
                    d.load_state_dict(state["discriminator"])
                    model.discriminators.append(place(d, device).eval().requires_grad_(False))
            except (KeyError, RuntimeError) as e:
                raise CorruptModel(f"model folder {folder} is damaged: scale_{n:03d}.pt does not "
                                   f"fit the manifest ({str(e)[:80]})") from None
        return model
