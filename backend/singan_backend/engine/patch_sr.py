"""Internal-patch super-resolution (Glasner, Bagon, Irani 2009; local search as in Freedman
and Fattal 2011): no training. The image is enlarged in small steps; at each step every patch
of the bicubic enlargement finds, near the same place, the patch of the image's own low band
that it resembles, and borrows the high band that goes with it; a back-projection at the end
makes the result shrink back to its input. Measured against bicubic in benchmarks/superres.py.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from .progress import Tracker
from .pyramid import resize

STEP = 1.25  # largest enlargement per step; patches recur well across such small ratios
PATCH = 5  # side of the matched patches, px
RADIUS = 3  # search window half-side around the corresponding low-res position, px
GAIN = 0.7  # share of the borrowed detail added: all of it oversharpens textures (swd up)
BACK_PROJECTIONS = 4  # iterations of x += up(input - down(x)) at the end
CHUNK_PIXELS = 1 << 16  # output pixels searched at once: bounds the memory at any size
LUMA = (0.299, 0.587, 0.114)  # patches are matched on luminance, the detail moves in RGB


def step_sizes(height: int, width: int, size: tuple[int, int],
               step: float = STEP) -> list[tuple[int, int]]:
    """Sizes after each step, the last exactly `size`, the ratio between two at most `step`."""
    ratio = max(size[0] / height, size[1] / width)
    k = max(1, math.ceil(math.log(ratio) / math.log(step) - 1e-9))
    return [(round(height * (size[0] / height) ** (j / k)),
             round(width * (size[1] / width) ** (j / k))) for j in range(1, k + 1)]


def luminance(image: torch.Tensor) -> torch.Tensor:
    """(1, 3, H, W) -> (1, 1, H, W)."""
    weights = torch.tensor(LUMA, dtype=image.dtype, device=image.device).view(1, 3, 1, 1)
    return (image * weights).sum(1, keepdim=True)


def nearest_low_res(out_len: int, in_len: int) -> torch.Tensor:
    """For each output pixel, the input pixel at the same place (pixel centres aligned)."""
    centres = (torch.arange(out_len, dtype=torch.float64) + 0.5) * in_len / out_len - 0.5
    return centres.round().clamp(0, in_len - 1).long()


def back_project(x: torch.Tensor, low: torch.Tensor, iterations: int) -> torch.Tensor:
    """Iterative back-projection (Irani and Peleg 1991): x moves until resize(x, low's size)
    equals `low`, which keeps PSNR close to bicubic's while the detail stays."""
    for _ in range(iterations):
        x = x + resize(low - resize(x, low.shape[-2:]), x.shape[-2:])
    return x


def best_matches(query: torch.Tensor, key: torch.Tensor, rows_of: torch.Tensor,
                 cols_of: torch.Tensor, patch: int, radius: int,
                 progress=None) -> tuple[torch.Tensor, torch.Tensor]:
    """For each pixel of `query` (1, 1, H, W), the centre (row, col) of the `key` (1, 1, h, w)
    patch with the smallest squared distance within `radius` of (rows_of[y], cols_of[x]).
    Works on bands of output rows so memory stays about CHUNK_PIXELS * patch ** 2 floats;
    `progress(pixels)` is told after each band."""
    half = patch // 2
    _, _, out_h, out_w = query.shape
    _, _, h, w = key.shape
    query_pad = F.pad(query, (half,) * 4, mode="replicate")
    key_pad = F.pad(key, (half,) * 4, mode="replicate")
    best_row = torch.empty(out_h, out_w, dtype=torch.int32)
    best_col = torch.empty(out_h, out_w, dtype=torch.int32)
    band = max(1, CHUNK_PIXELS // out_w)
    offsets = range(-radius, radius + 1)
    for r0 in range(0, out_h, band):
        r1 = min(out_h, r0 + band)
        # (n, patch * patch): the query patches of this band, one row per output pixel
        q = F.unfold(query_pad[..., r0:r1 + 2 * half, :], patch)[0].T
        lo = max(0, int(rows_of[r0]) - radius)
        hi = min(h, int(rows_of[r1 - 1]) + radius + 1)
        # (rows * w, patch * patch): every key patch centred in rows lo..hi-1
        k = F.unfold(key_pad[..., lo:hi + 2 * half, :], patch)[0].T.contiguous()
        base_r = rows_of[r0:r1].view(-1, 1).expand(-1, out_w)
        base_c = cols_of.view(1, -1).expand(r1 - r0, -1)
        best = torch.full((q.shape[0],), math.inf)
        row = torch.zeros(q.shape[0], dtype=torch.long)
        col = torch.zeros(q.shape[0], dtype=torch.long)
        for dy in offsets:
            cand_r = (base_r + dy).clamp(0, h - 1).reshape(-1)
            for dx in offsets:
                cand_c = (base_c + dx).clamp(0, w - 1).reshape(-1)
                dist = (q - k.index_select(0, (cand_r - lo) * w + cand_c)).square_().sum(1)
                better = dist < best
                best = torch.where(better, dist, best)
                row = torch.where(better, cand_r, row)
                col = torch.where(better, cand_c, col)
        best_row[r0:r1] = row.view(r1 - r0, out_w)
        best_col[r0:r1] = col.view(r1 - r0, out_w)
        if progress is not None:
            progress((r1 - r0) * out_w)
    return best_row, best_col


def gather_detail(detail: torch.Tensor, best_row: torch.Tensor, best_col: torch.Tensor,
                  patch: int) -> torch.Tensor:
    """(1, 3, H, W): each output pixel gets the mean of what the overlapping matched patches
    put on it (patch centred at p matched at m gives pixel p + o the detail at m + o).
    Works on bands of output rows, like the search."""
    half = patch // 2
    _, c, h, w = detail.shape
    out_h, out_w = best_row.shape
    flat = detail[0].reshape(c, -1)
    rows = F.pad(best_row[None, None].float(), (half,) * 4, mode="replicate")[0, 0].int()
    cols = F.pad(best_col[None, None].float(), (half,) * 4, mode="replicate")[0, 0].int()
    out = torch.empty(1, c, out_h, out_w, dtype=detail.dtype)
    band = max(1, CHUNK_PIXELS // out_w)
    for r0 in range(0, out_h, band):
        r1 = min(out_h, r0 + band)
        total = torch.zeros(c, (r1 - r0) * out_w, dtype=detail.dtype)
        for oy in range(-half, half + 1):
            for ox in range(-half, half + 1):
                # the patch centred at (y - oy, x - ox) covers (y, x) with its offset (oy, ox)
                r = rows[r0 + half - oy:r1 + half - oy, half - ox:half - ox + out_w] + oy
                s = cols[r0 + half - oy:r1 + half - oy, half - ox:half - ox + out_w] + ox
                index = (r.clamp(0, h - 1).long() * w + s.clamp(0, w - 1)).reshape(-1)
                total += flat.index_select(1, index)
        out[0, :, r0:r1] = (total / patch ** 2).view(c, r1 - r0, out_w)
    return out


def sr_step(low: torch.Tensor, size: tuple[int, int], patch: int = PATCH,
            radius: int = RADIUS, gain: float = GAIN, progress=None) -> torch.Tensor:
    """One small enlargement of `low` (1, 3, h, w) to `size`, with borrowed detail."""
    h, w = low.shape[-2:]
    upscaled = resize(low, size)  # the bicubic guess, lacking the top band
    # low's own version lacking the same band, relative to its size: shrink by the same
    # ratio and come back; what that loses is the detail the guess is missing
    smaller = (max(1, round(h * h / size[0])), max(1, round(w * w / size[1])))
    low_band = resize(resize(low, smaller), (h, w))
    high_band = low - low_band
    rows, cols = best_matches(luminance(upscaled), luminance(low_band),
                              nearest_low_res(size[0], h), nearest_low_res(size[1], w),
                              patch, radius, progress=progress)
    return upscaled + gain * gather_detail(high_band, rows, cols, patch)


@torch.inference_mode()
def upscale(image: torch.Tensor, size: tuple[int, int], *, step: float = STEP,
            patch: int = PATCH, radius: int = RADIUS, gain: float = GAIN,
            back_projections: int = BACK_PROJECTIONS,
            tracker: Tracker | None = None) -> torch.Tensor:
    """(1, 3, h, w) in [-1, 1] -> (1, 3, size[0], size[1]); deterministic (no noise).

    One progress bar over all steps, in output pixels searched (the search is the cost)."""
    if patch % 2 == 0 or patch < 1:
        raise ValueError(f"patch must be an odd number of pixels (got {patch})")
    low = image.float().cpu()
    sizes = step_sizes(*low.shape[-2:], size, step)
    total = sum(a * b for a, b in sizes)
    done = 0
    x = low
    for j, s in enumerate(sizes):
        def progress(pixels: int, stage: str = f"step {j + 1}/{len(sizes)}") -> None:
            nonlocal done
            done += pixels
            if tracker:
                tracker.step(0, 1, done, total, done, total, stage=stage)
        x = sr_step(x, s, patch, radius, gain, progress)
    # the input as the constraint: the result shrinks back to what was given, so the
    # borrowed detail cannot move edges or shift tones (this keeps PSNR near bicubic's)
    x = back_project(x, low, back_projections)
    if tracker:
        tracker.step(0, 1, total, total, total, total, force=True,
                     stage=f"step {len(sizes)}/{len(sizes)}")
    return x.clamp(-1, 1).to(image.device, image.dtype)
