"""Helpers shared by the benchmark scripts: the example images and the quality measure."""

from __future__ import annotations

import importlib.util
import json
import platform
import statistics
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
OUT = ROOT / "benchmarks" / "out"


def shared_image(name: str) -> Path:
    path = SHARED / "images" / name
    if not path.exists():
        sys.exit(f"{path} is missing: the benchmarks read the examples from ../shared/images")
    return path


def load_quality():
    """The module ../shared/tools/quality.py (swd, diversity, copy fraction, measure)."""
    spec = importlib.util.spec_from_file_location("quality", SHARED / "tools" / "quality.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def quality(real: Path, samples: list[Path]) -> dict:
    """../shared/tools/quality.py: patch SWD (x100), diversity, copy fraction."""
    return load_quality().measure(str(real), [str(s) for s in samples])


def as_uint8(image: np.ndarray) -> np.ndarray:
    return (np.clip(image, 0, 1) * 255 + 0.5).astype(np.uint8)


def as_saved(image: np.ndarray) -> np.ndarray:
    """The pixels as a PNG holds them, in quality.py's float [0, 1]."""
    return as_uint8(image).astype(np.float32) / 255.0


def mean_spread(values: list[float]) -> str:
    """"mean +- population standard deviation" of several runs."""
    return f"{statistics.mean(values):.2f} +- {statistics.pstdev(values):.2f}"


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        name = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        cpu = next((ln.split(":", 1)[1].strip() for ln in name.splitlines()
                    if ln.startswith("Model name")), cpu)
    except OSError:
        pass
    gpu = torch.cuda.get_device_name() if torch.cuda.is_available() else "no GPU"
    return f"{cpu}, {torch.get_num_threads()} threads, {gpu}, torch {torch.__version__}"


def table(rows: list[dict], columns: list[str]) -> str:
    widths = {c: max(len(c), *(len(str(r.get(c, ""))) for r in rows)) for c in columns}
    lines = [" | ".join(c.ljust(widths[c]) for c in columns),
             "-|-".join("-" * widths[c] for c in columns)]
    lines += [" | ".join(str(r.get(c, "")).ljust(widths[c]) for c in columns) for r in rows]
    return "\n".join(f"| {line} |" for line in lines)


def save_json(name: str, data) -> Path:
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / name
    path.write_text(json.dumps(data, indent=1))
    return path


def crop_around(image, centre: tuple[int, int], tile: tuple[int, int]):
    """A PIL crop of `tile` (w, h) at 100 % around `centre` (x, y), kept inside the image."""
    w, h = tile
    x0 = min(max(0, centre[0] - w // 2), max(0, image.width - w))
    y0 = min(max(0, centre[1] - h // 2), max(0, image.height - h))
    return image.crop((x0, y0, x0 + w, y0 + h))


def tile_sheet(rows: list[list], columns: list[str], sheet: Path,
               tile: tuple[int, int] = (480, 300), labels: list[list[str]] | None = None
               ) -> None:
    """A grid of PIL images, each `tile` (w, h), under the `columns` headings, on dark grey
    (the README sheets' look), saved as JPEG quality 85; `labels` (per row, per image) are
    written in each tile's corner on a dark box, so they read on any picture."""
    from PIL import Image, ImageDraw

    w, h = tile
    pad, head = 4, 18
    width = len(columns) * (w + pad) + pad
    canvas = Image.new("RGB", (width, head + len(rows) * (h + pad) + pad), (30, 30, 30))
    draw = ImageDraw.Draw(canvas)
    for j, text in enumerate(columns):
        draw.text((pad + j * (w + pad) + 4, 3), text, fill=(230, 230, 230))
    for i, row in enumerate(rows):
        for j, im in enumerate(row):
            x, y = pad + j * (w + pad), head + pad + i * (h + pad)
            canvas.paste(im.convert("RGB").resize(tile) if im.size != tile else im, (x, y))
            text = labels[i][j] if labels else ""
            if text:
                box = draw.textbbox((x + 6, y + 5), text)
                draw.rectangle((box[0] - 3, box[1] - 2, box[2] + 3, box[3] + 2), fill=(0, 0, 0))
                draw.text((x + 6, y + 5), text, fill=(240, 240, 240))
    sheet.parent.mkdir(parents=True, exist_ok=True)
    canvas.save(sheet, quality=85)
