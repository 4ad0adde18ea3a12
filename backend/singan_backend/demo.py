"""A picture the project makes itself (no downloaded data), and the contact sheet of a demo."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw


def _smooth_noise(rng: np.random.Generator, length: int, octaves: int = 5) -> np.ndarray:
    """1-D fractal noise in about [-1, 1]: summed octaves of linearly interpolated random values."""
    out = np.zeros(length)
    for o in range(octaves):
        knots = rng.uniform(-1, 1, 2 ** (o + 2) + 1)
        out += np.interp(np.linspace(0, len(knots) - 1, length), np.arange(len(knots)), knots) / 2**o
    return out / 2


def demo_image(width: int = 160, height: int = 120, seed: int = 7) -> np.ndarray:
    """A hot-air-balloon landscape: sky gradient, balloons, two ridges of hills, a meadow.

    Repeated objects over textured ground, the kind of scene SinGAN's paper shows.
    Returns (H, W, 3) float32 in [0, 1].
    """
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    t = y / height
    sky = np.stack([0.35 + 0.45 * t, 0.55 + 0.35 * t, 0.95 - 0.1 * t], axis=-1)
    img = sky + rng.normal(0, 0.01, sky.shape)

    # balloons: shaded disks with a small basket below
    colours = [(0.9, 0.2, 0.2), (0.95, 0.75, 0.1), (0.2, 0.5, 0.9), (0.3, 0.8, 0.4), (0.8, 0.3, 0.8)]
    for _ in range(7):
        r = rng.uniform(0.05, 0.09) * height
        cx, cy = rng.uniform(r, width - r), rng.uniform(r, height * 0.5)
        d = np.sqrt((x - cx) ** 2 + ((y - cy) * 1.1) ** 2) / r
        inside = d < 1
        shade = 1.0 - 0.45 * np.clip((x - cx + (y - cy)) / (2 * r) + 0.3, 0, 1)
        stripes = 0.85 + 0.15 * np.sign(np.sin((x - cx) / r * 6))
        colour = np.array(colours[rng.integers(len(colours))])
        img[inside] = (colour * (shade * stripes)[..., None])[inside]
        basket = (np.abs(x - cx) < r * 0.2) & (y > cy + r * 1.15) & (y < cy + r * 1.45)
        img[basket] = (0.35, 0.22, 0.1)

    # hills: two ridges of fractal noise, the far one paler
    for base, amp, colour in ((0.62, 0.10, (0.45, 0.55, 0.6)), (0.75, 0.08, (0.25, 0.5, 0.2))):
        ridge = (base + amp * _smooth_noise(rng, width)) * height
        below = y > ridge[None, :]
        texture = 1 + 0.12 * rng.standard_normal((height, width))
        img[below] = (np.array(colour) * texture[..., None])[below]

    # meadow flowers: small bright dots near the bottom
    for _ in range(60):
        fx, fy = rng.integers(0, width), rng.integers(int(height * 0.82), height)
        img[max(fy - 1, 0):fy + 1, max(fx - 1, 0):fx + 1] = rng.choice([(0.95, 0.9, 0.3), (0.95, 0.95, 0.95)])
    return np.clip(img, 0, 1).astype(np.float32)


def contact_sheet(rows: list[tuple[str, list[np.ndarray]]], pad: int = 6) -> Image.Image:
    """Labelled rows of images on a dark background."""
    tiles = []
    for label, imgs in rows:
        row = [Image.fromarray((np.clip(i, 0, 1) * 255 + 0.5).astype(np.uint8)) for i in imgs]
        tiles.append((label, row))
    width = max(sum(im.width + pad for im in row) for _, row in tiles) + pad
    height = sum(max(im.height for im in row) + pad + 14 for _, row in tiles) + pad
    sheet = Image.new("RGB", (width, height), (32, 32, 32))
    draw = ImageDraw.Draw(sheet)
    top = pad
    for label, row in tiles:
        draw.text((pad, top), label, fill=(230, 230, 230))
        left = pad
        for im in row:
            sheet.paste(im, (left, top + 14))
            left += im.width + pad
        top += max(im.height for im in row) + pad + 14
    return sheet
