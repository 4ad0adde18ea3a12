"""The model store: one folder per model, a JSON manifest plus plain state dicts.

    <models_dir>/<model_id>/manifest.json   options, sizes, noise amplitudes, progress
    <models_dir>/<model_id>/tensors.pt      reals pyramid and z_opt
    <models_dir>/<model_id>/scale_NNN.pt    {"generator": state dict, "discriminator": ...}
    <models_dir>/<model_id>/source.png      the training image at its own size (or source.pt,
                                            float16, when it is not 8-bit); absent in old models

Every file is written to a temporary name and renamed, and the manifest is written last,
so a crash leaves either the old or the new checkpoint, never half of one. Tensors are
loaded with weights_only=True: a model folder can never run code.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import re
import secrets
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import BinaryIO

import numpy as np
import platformdirs
import torch
from PIL import Image

from .engine.config import TrainConfig
from .engine.models import nets_for_scale, place
from .engine.pyramid import Pyramid
from .engine.singan import SinGAN
from .errors import BadModelId, CorruptModel, DiskFull, ModelNotFound

log = logging.getLogger(__name__)
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
SOURCE_PNG, SOURCE_TENSOR = "source.png", "source.pt"  # the source at full resolution
MAX_ID_LENGTH = 128  # characters; our ids are at most 47 (a 40-character slug and 6 hex digits)
MAX_MANIFEST_BYTES = 1 << 20  # ours are a few kB; a bigger one is not a manifest
# Names Windows reserves in every folder (CON, NUL.txt, COM1, ...): never a model folder.
WINDOWS_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"{p}{i}" for p in ("COM", "LPT")
                                                 for i in range(1, 10))}


def model_id_problem(ref: object) -> str | None:
    """Why `ref` cannot be a model id (a folder name directly inside the store), or None.

    The one check every model reference passes before any file operation, from the CLI and
    from the protocol alike: "..", "/etc", "C:x", "a\\b" and NUL never reach a path.
    """
    if not isinstance(ref, str) or not ref:
        return "a model id cannot be empty"
    if len(ref) > MAX_ID_LENGTH:
        return f"a model id has at most {MAX_ID_LENGTH} characters (got {len(ref)})"
    if any(c in ref for c in "/\\:") or not ref.isprintable():
        return "a model id is a folder name: no /, \\, :, NUL or control characters"
    if ref.startswith(".") or ref != ref.rstrip(". "):
        return "a model id neither starts with a dot nor ends with a dot or space"
    if ref.split(".")[0].upper() in WINDOWS_RESERVED:
        return "a model id is never a name Windows reserves (CON, NUL, COM1, ...)"
    return None


def check_model_id(ref: object) -> str:
    problem = model_id_problem(ref)
    if problem is not None:
        shown = repr(ref[:40] + "..." if isinstance(ref, str) and len(ref) > 40 else ref)
        raise BadModelId(f"{shown} is not a model id: {problem}; `singan models` lists the "
                         f"models and their ids")
    return ref


def default_models_dir() -> Path:
    """$SINGAN_HOME/models if set, else the platform's user data folder."""
    home = os.environ.get("SINGAN_HOME")
    base = Path(home) if home else Path(platformdirs.user_data_dir("singan", appauthor=False))
    return base / "models"


LOW_SPACE = 64 << 20  # bytes free under which a failed write is taken for a full disk
NO_SPACE = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}  # disk full, quota reached


def _disk_full(e: BaseException, folder: Path) -> bool:
    """Whether a failed write ran out of space: ENOSPC or EDQUOT anywhere in the exception's
    chain, or (torch.save reports a short write as a RuntimeError, "unexpected pos ...") a
    disk with almost nothing left."""
    seen: BaseException | None = e
    while seen is not None:
        if isinstance(seen, OSError) and seen.errno in NO_SPACE:
            return True
        seen = seen.__cause__ or seen.__context__
    try:
        return isinstance(e, (OSError, RuntimeError)) and shutil.disk_usage(folder).free < LOW_SPACE
    except OSError:
        return False


def atomic_write(path: Path, data: bytes | Callable[[BinaryIO], object]) -> None:
    """Write `data` (bytes, or a function that writes to the open file) as `path`, atomically:
    a temporary file in the same folder, fsync, rename. Readers see the old or the new file.
    A full disk raises DiskFull naming the folder; the old file is left as it was."""
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as e:
        if _disk_full(e, path.parent):
            raise DiskFull(_disk_full_message(path)) from e
        raise
    try:
        with os.fdopen(fd, "wb") as f:
            if callable(data):
                data(f)
            else:
                f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as e:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(e, Exception) and _disk_full(e, path.parent):
            raise DiskFull(_disk_full_message(path)) from e
        raise


def _disk_full_message(path: Path) -> str:
    head = f"the disk is full: {path.name} could not be written in {path.parent}"
    if path.suffix == ".pt" or path.name == MANIFEST:  # a model's file: its folder is its id
        return (f"{head}. The finished scales are kept: free some space, then `singan train "
                f"--resume {path.parent.name}` (a backend resumes it by itself when it starts "
                f"again)")
    return f"{head}. Nothing saved before is lost: free some space and try again"


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
    layout: str = "model"  # samples' layout (engine/layout.py): "model" or "patches"

    @property
    def complete(self) -> bool:
        return self.trained_scales == self.num_scales

    def to_dict(self) -> dict:
        return {"id": self.id, "name": self.name, "width": self.width, "height": self.height,
                "num_scales": self.num_scales, "trained_scales": self.trained_scales,
                "complete": self.complete, "created": self.created, "preset": self.preset,
                "for_animation": self.for_animation, "for_sr": self.kind == "sr",
                "kind": self.kind, "finest_height": self.finest[0], "finest_width": self.finest[1],
                "layout": self.layout}


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:40] or "model"


class ModelStore:
    def __init__(self, root: str | os.PathLike | None = None):
        self.root = Path(root) if root else default_models_dir()

    def folder(self, model_id: str) -> Path:
        """The folder of a model id, checked to lie inside the store: a symlinked folder that
        leads out of it is refused, never followed."""
        folder = self.root / check_model_id(model_id)
        # resolve() follows symlinks and Windows junctions alike; a plain folder stays put
        if folder.exists() and folder.resolve().parent != self.root.resolve():
            raise BadModelId(f"the model folder {model_id!r} is a link that leads out of the "
                             f"models folder {self.root}; links out of it are not followed")
        return folder

    # -- finding models ------------------------------------------------------------------
    def _manifest(self, folder: Path) -> dict:
        path = folder / MANIFEST
        advice = f"`singan delete {folder.name}` removes it; train again"
        try:
            if path.stat().st_size > MAX_MANIFEST_BYTES:
                raise ValueError(f"{path.stat().st_size} bytes, more than any manifest")
            manifest = json.loads(path.read_text())
        except FileNotFoundError:
            raise CorruptModel(f"model folder {folder} is damaged: {MANIFEST} is missing "
                               f"(its training was interrupted before it began?); "
                               f"{advice}") from None
        except (OSError, ValueError, RecursionError) as e:  # RecursionError: deep nesting
            raise CorruptModel(f"model folder {folder} is damaged: {path.name} is unreadable "
                               f"({str(e)[:80]}); {advice}") from None
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT_VERSION:
            raise CorruptModel(f"{path} is not a format-{FORMAT_VERSION} manifest; {advice}")
        return manifest

    def resolve(self, ref: str) -> str:
        """A model id from an id, a unique name or a unique id prefix."""
        if (self.folder(ref) / MANIFEST).exists():  # folder() refuses what is not an id
            return ref
        matches = [i for i in self.list() if i.name == ref or i.id.startswith(ref)]
        if len(matches) == 1:
            return matches[0].id
        if len(matches) > 1:
            ids = ", ".join(m.id for m in matches)
            raise ModelNotFound(f"{ref!r} matches several models ({ids}): give the full id")
        if self.folder(ref).is_dir():
            self._manifest(self.folder(ref))  # raises CorruptModel naming the file
        raise ModelNotFound(f"no model {ref!r} in {self.root}: `singan models` lists them")

    def exists(self, model_id: str) -> bool:
        if model_id_problem(model_id) is not None:
            return False
        try:
            return (self.folder(model_id) / MANIFEST).exists()
        except BadModelId:
            return False

    def info(self, model_id: str) -> ModelInfo:
        folder = self.folder(model_id)
        return self._info(model_id, self._manifest(folder), folder / MANIFEST)

    @staticmethod
    def _info(model_id: str, m: dict, path: Path) -> ModelInfo:
        """The manifest's summary; CorruptModel naming the field when one has a wrong type
        (a hand-edited or foreign manifest must never turn into a traceback)."""
        def need(value, kind, what: str):
            if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
                raise CorruptModel(f"{path} is damaged: {what} is {type(value).__name__}, not "
                                   f"{kind.__name__}; `singan delete {model_id}` removes it")
            return value

        source, cfg = need(m.get("source"), dict, "source"), need(m.get("config"), dict, "config")
        sizes = need(m.get("sizes"), list, "sizes")
        if not sizes or not all(isinstance(s, list) and len(s) == 2 and all(
                isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in s)
                for s in sizes):
            raise CorruptModel(f"{path} is damaged: sizes is not a list of [height, width]; "
                               f"`singan delete {model_id}` removes it")
        trained = need(m.get("trained_scales"), int, "trained_scales")
        if not 0 <= trained <= len(sizes):
            raise CorruptModel(f"{path} is damaged: trained_scales {trained} is not between 0 "
                               f"and {len(sizes)}; `singan delete {model_id}` removes it")
        return ModelInfo(model_id, need(m.get("name", model_id), str, "name"),
                         need(source.get("width"), int, "source width"),
                         need(source.get("height"), int, "source height"), len(sizes), trained,
                         need(m.get("created"), str, "created"),
                         str(cfg.get("preset", "?")), bool(cfg.get("noise_padding")),
                         need(m.get("kind", "singan"), str, "kind"), tuple(sizes[-1]),
                         "patches" if m.get("layout_scale") else "model")

    def scan(self) -> tuple[list[ModelInfo], list[dict]]:
        """(every readable model, oldest first; every damaged folder as {id, file, problem}).

        A damaged folder (a manifest of wrong types, a half-created folder, a link out of the
        store) is reported, never raised, so one bad folder cannot hide the other models.
        """
        infos, damaged = [], []
        if not self.root.is_dir():
            return infos, damaged
        for folder in sorted(self.root.iterdir()):
            if folder.name.startswith(".") or not folder.is_dir():
                continue
            try:
                folder = self.folder(folder.name)
                infos.append(self._info(folder.name, self._manifest(folder), folder / MANIFEST))
            except (CorruptModel, BadModelId) as e:
                damaged.append({"id": folder.name, "file": str(folder / MANIFEST),
                                "problem": e.message})
        return sorted(infos, key=lambda i: i.created), damaged

    def list(self) -> list[ModelInfo]:
        """Every readable model, oldest first (damaged folders are left out: see scan)."""
        return self.scan()[0]

    def clean_up(self, min_age_s: float = 600.0) -> list[Path]:
        """Remove what a kill leaves behind: temp files of interrupted atomic writes and
        folders of interrupted deletes, older than min_age_s so that a write in progress (an
        in-process CLI training beside the backend) is never touched. Returns what it removed.

        A model folder killed before its manifest is not removed (it may hold a training
        image worth keeping): scan() lists it as damaged and delete() removes it.
        """
        if not self.root.is_dir():
            return []
        removed, now = [], time.time()
        folders = [self.root, self.root / ".server"] + [
            f for f in self.root.iterdir() if not f.name.startswith(".") and f.is_dir()
            and not f.is_symlink()]
        leftovers = [p for f in folders if f.is_dir() for p in f.glob(".*.tmp")]
        leftovers += list(self.root.glob(".deleting-*"))
        for path in leftovers:
            try:
                if now - path.lstat().st_mtime < min_age_s:
                    continue
                if path.is_dir() and not path.is_symlink():
                    shutil.rmtree(path)
                else:
                    path.unlink()
                removed.append(path)
            except OSError as e:
                log.warning("could not remove the leftover %s (%s)", path, e)
        if removed:
            log.info("removed %d leftover temporary file(s) in %s", len(removed), self.root)
        return removed

    def unfinished(self) -> list[str]:
        return [i.id for i in self.list() if not i.complete]

    def deletable(self, ref: str) -> str:
        """The id `delete(ref)` removes: a model's, or a damaged folder's given exactly."""
        return ref if self.folder(ref).is_dir() else self.resolve(ref)

    def delete(self, model_id: str) -> None:
        """Delete a model, or a damaged folder by its exact id (`singan models` lists both)."""
        folder = self.folder(self.deletable(model_id))
        if folder.is_symlink():  # a link to another folder of the store: only the link goes
            folder.unlink()
            return
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
        folder = self.folder(model_id)
        n = model.num_scales - 1
        if n == 0:  # z_opt is final once scale 0 is trained (the authors' variant redraws it)
            self._save_tensors(folder, model)
        atomic_torch_save(folder / f"scale_{n:03d}.pt", {
            "generator": model.generators[n].state_dict(),
            "discriminator": model.discriminators[n].state_dict()})
        manifest = self._manifest(folder)
        manifest.update(noise_amps=list(model.noise_amps), trained_scales=model.num_scales,
                        train_seconds=[round(s, 3) for s in model.train_seconds],
                        collapses=list(model.collapses),
                        colour_calibration=list(model.colour_calibration),
                        layout_scale=model.layout_scale, layout_swd=list(model.layout_swd))
        atomic_write(folder / MANIFEST, json.dumps(manifest, indent=1).encode())

    def update_meta(self, model_id: str, **meta) -> None:
        folder = self.folder(model_id)
        manifest = self._manifest(folder)
        manifest.setdefault("meta", {}).update(meta)
        atomic_write(folder / MANIFEST, json.dumps(manifest, indent=1).encode())

    def manifest(self, model_id: str) -> dict:
        return self._manifest(self.folder(self.resolve(model_id)))

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
        folder = self.folder(model_id)
        m = self._manifest(folder)
        device = device or torch.device("cpu")
        try:
            config = TrainConfig.from_dict(m["config"])
            pyramid = Pyramid(float(m["scale_factor"]), tuple(tuple(s) for s in m["sizes"]))
            trained, amps = int(m["trained_scales"]), [float(a) for a in m["noise_amps"]]
            calibration = [[float(v) for v in row] for row in m.get("colour_calibration", [])]
            if len(calibration) != trained or any(len(row) != 6 for row in calibration):
                calibration = []  # none yet (an interrupted run), or from before it existed
            layout_scale = int(m.get("layout_scale", 0))
            if not 0 <= layout_scale < trained:
                layout_scale = 0  # a damaged or hand-edited manifest: the paper's own layout
            layout_swd = [float(v) for v in m.get("layout_swd", [])]
        except (KeyError, TypeError, ValueError) as e:
            raise CorruptModel(f"{folder / MANIFEST} is damaged (bad field {e}); "
                               f"delete the model and train again") from None
        tensors = self._load_file(folder / "tensors.pt")
        reals = tensors.get("reals") if isinstance(tensors, dict) else None
        z_rec = tensors.get("z_rec") if isinstance(tensors, dict) else None
        if not (isinstance(reals, list) and len(reals) == len(pyramid.sizes)
                and all(isinstance(r, torch.Tensor) for r in reals)
                and isinstance(z_rec, torch.Tensor)):
            raise CorruptModel(f"model folder {folder} is damaged: tensors.pt does not hold the "
                               f"image pyramid and reconstruction noise; `singan delete "
                               f"{model_id}` removes it")
        model = SinGAN(config, pyramid, [r.to(device) for r in reals],
                       z_rec.to(device), noise_amps=amps[:trained],
                       train_seconds=list(m.get("train_seconds", []))[:trained],
                       collapses=[c for c in m.get("collapses", []) if c.get("scale", 0) < trained],
                       colour_calibration=calibration, layout_scale=layout_scale,
                       layout_swd=layout_swd)
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

    # -- the source at full resolution (issue 13: the lift takes its patches from it) -----
    def save_source(self, model_id: str, image: torch.Tensor) -> None:
        """Keep the training image (1, 3, H, W) in [-1, 1] at its own size: source.png when
        its values are 8-bit (a PNG, a JPEG, an 8-bit layer), else source.pt, a float16
        tensor (11 bits, finer than a display shows). The manifest names the file last."""
        folder = self.root / model_id
        rgb = ((image[0].detach().float().cpu().clamp(-1, 1) + 1) / 2).permute(1, 2, 0)
        levels = rgb * 255  # (H, W, 3)
        if float((levels - levels.round()).abs().max()) < 1e-3:
            name = SOURCE_PNG
            pixels = levels.round().to(torch.uint8).numpy()
            atomic_write(folder / name, lambda f: Image.fromarray(pixels).save(f, format="PNG"))
        else:
            name = SOURCE_TENSOR
            atomic_torch_save(folder / name, rgb.permute(2, 0, 1).half().contiguous())
        manifest = self._manifest(folder)
        manifest["source_file"] = {"file": name, "height": int(rgb.shape[0]),
                                   "width": int(rgb.shape[1])}
        atomic_write(folder / MANIFEST, json.dumps(manifest, indent=1).encode())

    def source_size(self, model_id: str) -> tuple[int, int] | None:
        """(H, W) of the kept source, or None for a model trained before it was kept."""
        entry = self._manifest(self.root / self.resolve(model_id)).get("source_file")
        if not isinstance(entry, dict):
            return None
        try:
            return int(entry["height"]), int(entry["width"])
        except (KeyError, TypeError, ValueError):
            return None

    def load_source(self, model_id: str) -> torch.Tensor | None:
        """The kept source (1, 3, H, W) float32 in [-1, 1] on the CPU, or None for a model
        trained before sources were kept (it works as it always did)."""
        folder = self.root / self.resolve(model_id)
        entry = self._manifest(folder).get("source_file")
        if not isinstance(entry, dict):
            return None
        name = entry.get("file")
        if name not in (SOURCE_PNG, SOURCE_TENSOR):  # never a path the manifest chose
            raise CorruptModel(f"{folder / MANIFEST} is damaged (source file {name!r}); "
                               f"delete the model and train again")
        path = folder / name
        if name == SOURCE_TENSOR:
            rgb = self._load_file(path)
            if not isinstance(rgb, torch.Tensor) or rgb.ndim != 3 or rgb.shape[0] != 3:
                raise CorruptModel(f"model folder {folder} is damaged: {name} is not an "
                                   f"RGB tensor; delete it and train again")
            rgb = rgb.float()
        else:
            try:
                with Image.open(path) as img:
                    pixels = np.asarray(img.convert("RGB"), dtype=np.float32) / 255
            except FileNotFoundError:
                raise CorruptModel(f"model folder {folder} is damaged: {name} is missing; "
                                   f"delete it and train again") from None
            except (OSError, ValueError, Image.DecompressionBombError) as e:
                raise CorruptModel(f"model folder {folder} is damaged: {name} cannot be read "
                                   f"({type(e).__name__}); delete it and train again") from None
            rgb = torch.from_numpy(pixels).permute(2, 0, 1)
        return (rgb * 2 - 1)[None].contiguous()
