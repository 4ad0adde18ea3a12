"""Reading and writing pictures: any PNG/JPEG mode in, float32 RGB arrays out."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from .errors import BadImage

MAX_PIXELS = 64 * 1024 * 1024  # refuse decoding anything larger (about 8192 x 8192)


def _open(path: str | Path) -> Image.Image:
    path = Path(path)
    if not path.exists():
        raise BadImage(f"no such file: {path}")
    if path.is_dir():
        raise BadImage(f"{path} is a folder, not an image file")
    try:
        img = Image.open(path)
        if img.width * img.height > MAX_PIXELS:
            raise BadImage(f"{path} is {img.width} x {img.height} px, more than the "
                           f"{MAX_PIXELS // 2**20} megapixels this tool reads: scale it down")
        img.load()
    except UnidentifiedImageError:
        raise BadImage(f"{path} is not an image Pillow can read: use PNG or JPEG") from None
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as e:
        raise BadImage(f"{path} cannot be read as an image ({e})") from None
    if img.width == 0 or img.height == 0:
        raise BadImage(f"{path} has no pixels")
    return img


def _to_float(img: Image.Image) -> np.ndarray:
    """(H, W, C) float32 in [0, 1]; 16-bit and 32-bit modes keep their precision."""
    if img.mode in ("I;16", "I;16B", "I;16L", "I;16N"):
        return (np.asarray(img, dtype=np.float32) / 65535.0)[..., None]
    if img.mode == "I":
        arr = np.asarray(img, dtype=np.float32)
        return (arr / (65535.0 if arr.max(initial=0) > 255 else 255.0)).clip(0, 1)[..., None]
    if img.mode == "F":
        return np.asarray(img, dtype=np.float32).clip(0, 1)[..., None]
    if img.mode not in ("L", "RGB", "RGBA", "LA"):
        img = img.convert("RGBA" if "transparency" in img.info or img.mode == "PA" else "RGB")
    arr = np.asarray(img, dtype=np.float32) / 255.0
    return arr[..., None] if arr.ndim == 2 else arr


def load_image(path: str | Path) -> np.ndarray:
    """An image file as (H, W, 3) float32 in [0, 1]: grey is repeated, alpha dropped."""
    arr = _to_float(_open(path))
    if arr.shape[2] in (1, 2):  # grey, grey + alpha
        return np.repeat(arr[..., :1], 3, axis=2)
    return np.ascontiguousarray(arr[..., :3])


def load_mask(path: str | Path, alpha: bool = False) -> np.ndarray:
    """A mask file as (H, W) float32 in [0, 1]: its alpha if `alpha`, else its brightness."""
    arr = _to_float(_open(path))
    if alpha:
        if arr.shape[2] not in (2, 4):
            raise BadImage(f"{path} has no alpha channel to use as a mask: save it as a PNG "
                           f"with transparency around the pasted object, or pass --mask")
        return np.ascontiguousarray(arr[..., -1])
    return np.ascontiguousarray(arr[..., : min(3, arr.shape[2])].mean(axis=2)
                                if arr.shape[2] != 2 else arr[..., 0])


def save_image(path: str | Path, image: np.ndarray) -> None:
    """(H, W, 3) or (H, W) float in [0, 1] -> 8-bit PNG (or whatever the suffix says)."""
    arr = (np.clip(image, 0, 1) * 255 + 0.5).astype(np.uint8)
    Image.fromarray(arr).save(path)


def to_tensor(image: np.ndarray, device: torch.device | None = None) -> torch.Tensor:
    """(H, W, 3) in [0, 1] -> (1, 3, H, W) in [-1, 1], the engine's range."""
    t = torch.from_numpy(np.ascontiguousarray(image, dtype=np.float32)).permute(2, 0, 1)[None]
    return (t * 2 - 1).to(device or "cpu")


def to_array(tensor: torch.Tensor) -> np.ndarray:
    """(1, 3, H, W) in [-1, 1] -> (H, W, 3) float32 in [0, 1]."""
    return ((tensor[0].detach().float().cpu().permute(1, 2, 0) + 1) / 2).clamp(0, 1).numpy()


def check_image_array(image: np.ndarray, what: str = "image") -> np.ndarray:
    """Validate an (H, W, 3) array handed to the engine by a client."""
    if not isinstance(image, np.ndarray) or image.ndim != 3 or image.shape[2] != 3:
        raise BadImage(f"the {what} must be an RGB image (H, W, 3)")
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise BadImage(f"the {what} has no pixels (0 x 0): select a layer with content")
    return image
