"""Patch nearest-neighbour synthesis (GPNN, Granot et al., "Drop the GAN", CVPR 2022).

`lift` carries a model-scale result up to the canvas size with the source's own sharp patches;
`instant` makes new pictures from noise at the coarsest level, with no training.

Search: exact (chunked matrix products, with GPNN's completeness score) while a level's query
x key pairs stay under PatchConfig.max_pairs; above, PatchMatch on 24-d PCA patch features,
its field carried up from the level below. At 1600 x 1000 a full exact search is out of
reach (1.6 M x 1.6 M patches); with PatchMatch a whole instant result takes about 16 s on
one core (benchmarks/canvas.py). An exact search on strided keys was not tried.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .progress import Tracker

PATCH = 7  # patch side in pixels (GPNN's 7 x 7)


@dataclass(frozen=True)
class PatchConfig:
    scale_factor: float = 0.75  # pyramid step between levels (GPNN)
    coarsest: int = 21  # shorter side of the coarsest source level for instant, px
    noise_sigma: float = 0.75  # noise added to the coarsest source for instant (GPNN)
    noise_cell: float = 3.0  # side (px of the coarsest level) of the noise's cells, 1 = iid
    blur_start: float = 2.0  # sigma (px) of the 7 x 7 blur of the coarsest source, 0 = none
    alpha: float = 0.005  # completeness in D_ij / (min_i D_ij + alpha); None-like when <= 0
    coarse_passes: int = 10  # passes at the coarsest level of instant
    passes: int = 2  # passes at every other level
    exact_passes: int = 2  # passes at the levels above the coarsest searched exactly
    max_pairs: int = 50_000_000  # query x key patch pairs above which the search is approximate
    chunk: int = 4096  # query patches per matrix product (memory bound)
    features: int = 24  # PCA dimensions of a patch for the approximate search (of 147)
    iters: int = 2  # PatchMatch iterations per pass
    first_iters: int = 8  # PatchMatch iterations of a pass with no field from below
    jump: int = 4  # propagation distance of every other PatchMatch iteration, px
    search_radius: int = 8  # first random-search radius around a carried-up match, px
    random_tries: int = 4  # random-search candidates per iteration (radius halves each)
    band_pixels: int = 65536  # query patches per band of the approximate search
    feature_bytes: int = 512 * 2**20  # query features kept between iterations below this size
    # lift only: after every fold, the result's band below `keep_low` x the sample's own
    # resolution is replaced by the sample's, so patches add detail but not tone or layout
    # (0 = off). Measured on 8 samples of 3 photos (swd --pyramid, mean): plain lift 2.17,
    # 0.125 2.19, 0.25 2.20, 0.5 2.26, bicubic 2.59; the plain lift scores lower but loses
    # to bicubic on forest_path's default samples (darker, sky lost) and moves the layout
    # (invents moss soil); 0.125 beats bicubic on all 8 and keeps the sample's tone. With
    # the lift starting lower (lift_below), 0.0625: at 0.125 the band laid each of the
    # model's soft dark trunks over the forest as a dark haze, 100-200 px wide, through
    # which the photo's sharp trunks showed like ghosts. swd --pyramid, two samples each
    # (benchmarks/canvas.py), 0.125 -> 0.0625: forest quick 0.61 -> 0.48, default 0.75 ->
    # 0.56; moss default 0.96 -> 0.74, quick 0.37 -> 0.38; cups quick 0.93 -> 0.92, default
    # 1.16 -> 1.11; diversity the same; copy up on cups only (0.26-0.29 -> 0.40-0.45), where
    # the photo's flat cup walls count. Lower still copied more of cups, and releasing the
    # band above the sample's own scale copied cups wholesale.
    keep_low: float = 0.0625
    # lift only: per-channel mean and std of each fold matched to the sample's. Lost to
    # keep_low on 7 of 8 samples.
    match_colour: bool = False
    # patch weights exp(-s * d / mean d) in the fold, 0 = plain mean. Measured at 2: worse
    # (swd 3.45 vs 3.10 on forest_path), it favours flat, well-matched patches: blurrier.
    fold_sharpness: float = 0.0
    # lift only: pyramid levels below the sample's own scale where the lift starts (the
    # sample shrunk there), so that its soft mid-size structure (a model's blurred trunks,
    # smeared moss rosettes) is rebuilt from source patches too, keep_low still holding its
    # tone and layout. swd --pyramid, two samples each, against bicubic: moss (quick) 3.26
    # -> 1.80 (bicubic 4.04), forest (quick) 1.60 -> 1.46 (2.00), cups (quick) 1.61 -> 1.54
    # (1.77), forest (default) 2.30 -> 2.19 (2.53); 5 levels scored as 3; copy stays low
    # (0.03 and 0.00 on moss). With keep_low 0 it copies the photo (copy 0.97 on moss).
    lift_below: int = 3
    # The result's tone curve of each channel matched to the source's (histogram matching),
    # so that its colours spread as the photo's do: averaging the overlapping patches of the
    # fold narrows that spread, and a model's sample brings its own. At full size 7 x 7
    # patches are nearly flat, their colours all they hold, and that level was the worst of
    # the swd pyramid for lifts and instant results alike; the curve moves where things are
    # (layout, seams, merged objects) not at all. Off for paint-to-image (actions.inject): a
    # painting's colours need not spread as the photo's.
    match_tone: bool = True


# --- pyramid ---------------------------------------------------------------------------------

def _resize(image: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    if tuple(image.shape[-2:]) == tuple(size):
        return image
    return F.interpolate(image, size=size, mode="bicubic", align_corners=False,
                         antialias=True).clamp(-1, 1)


def _blur(image: torch.Tensor, sigma: float = 7.0) -> torch.Tensor:
    """Gaussian blur with a 7 x 7 kernel (at sigma 7 nearly a box), reflected borders."""
    taps = torch.arange(PATCH, dtype=torch.float32) - PATCH // 2
    kernel = torch.exp(-taps**2 / (2 * sigma**2))
    kernel = (kernel / kernel.sum()).view(1, 1, 1, PATCH).repeat(3, 1, 1, 1)
    half = PATCH // 2
    image = F.conv2d(F.pad(image, (half, half, 0, 0), mode="reflect"), kernel, groups=3)
    return F.conv2d(F.pad(image, (0, 0, half, half), mode="reflect"),
                    kernel.transpose(2, 3), groups=3)


def _scaled(size: tuple[int, int], ratio: float) -> tuple[int, int]:
    return max(PATCH, round(size[0] * ratio)), max(PATCH, round(size[1] * ratio))


def _ratios(start: float, factor: float) -> list[float]:
    """Scale ratios (to full size) from `start` up to 1, each 1/factor above the one below."""
    steps = max(0, math.ceil(math.log(start) / math.log(factor) - 1e-6))
    return [factor ** (steps - i) for i in range(steps + 1)] if steps else [1.0]


# --- search ----------------------------------------------------------------------------------

def _unfold(image: torch.Tensor) -> torch.Tensor:
    """(1, 3, H, W) -> (N, 3 * PATCH * PATCH) patches, row-major over top-left positions."""
    return F.unfold(image, PATCH).squeeze(0).T.contiguous()


def _grid(hw: tuple[int, int]) -> tuple[int, int]:
    return hw[0] - PATCH + 1, hw[1] - PATCH + 1


def exact_nnf(query: torch.Tensor, keys: torch.Tensor, alpha: float = 0.0,
              chunk: int = 4096, tracker: Tracker | None = None) -> torch.Tensor:
    """Index of the nearest key patch of every query patch, (Hq - 6) x (Wq - 6), int64.

    Squared distances by chunked matrix products; with alpha > 0 the score is GPNN's
    D_ij / (min_i D_ij + alpha), which favours key patches no query has used yet.
    """
    q = _unfold(query)  # (Nq, 147)
    k = _unfold(keys)  # (Nk, 147)
    k_sq = (k * k).sum(1)
    q_sq = (q * q).sum(1)

    def distances(start: int) -> torch.Tensor:
        block = q[start:start + chunk]
        return (q_sq[start:start + chunk, None] + k_sq[None] - 2.0 * block @ k.T).clamp_min_(0)

    norm = None
    if alpha > 0:
        norm = torch.full((k.shape[0],), float("inf"))
        for start in range(0, q.shape[0], chunk):
            if tracker is not None:
                tracker.check()
            norm = torch.minimum(norm, distances(start).amin(0))
        norm = norm + alpha * q.shape[1]  # alpha is GPNN's, for distances per patch value
    best = torch.empty(q.shape[0], dtype=torch.int64)
    for start in range(0, q.shape[0], chunk):
        if tracker is not None:
            tracker.check()
        d = distances(start)
        if norm is not None:
            d = d / norm[None]
        best[start:start + chunk] = d.argmin(1)
    return best.view(_grid(tuple(query.shape[-2:])))


# --- approximate search: PatchMatch on PCA features ------------------------------------------

def _basis(keys: torch.Tensor, dims: int) -> torch.Tensor:
    """The `dims` principal directions of the key patches as conv kernels, (dims, 3, 7, 7).

    Distances between projections approximate patch distances (the dropped directions hold
    little energy in natural images) at dims/147 of the cost.
    """
    stride = max(1, int(math.sqrt(keys.shape[-2] * keys.shape[-1] / 20000)))
    sample = F.unfold(keys, PATCH, stride=stride).squeeze(0).T  # (n, 147)
    sample = sample - sample.mean(0)
    cov = sample.T @ sample / sample.shape[0]
    _, vectors = torch.linalg.eigh(cov.double())  # ascending eigenvalues
    return vectors[:, -dims:].T.float().reshape(dims, 3, PATCH, PATCH).contiguous()


def _features(image: torch.Tensor, basis: torch.Tensor) -> torch.Tensor:
    """(1, 3, H, W) -> (Hg * Wg, dims): each patch's coordinates in the PCA basis."""
    feats = F.conv2d(image, basis)[0]
    return feats.reshape(feats.shape[0], -1).T.contiguous()


def _bands(rows: int, width: int, pixels: int) -> list[tuple[int, int]]:
    step = max(1, pixels // max(1, width))
    return [(r, min(rows, r + step)) for r in range(0, rows, step)]


@dataclass
class _Field:
    """Nearest-neighbour field: the key patch (top, left) of every query patch, int64 (Hg, Wg)."""

    top: torch.Tensor
    left: torch.Tensor

    def flat(self, key_w: int) -> torch.Tensor:
        return self.top * key_w + self.left


def _random_field(grid: tuple[int, int], key_grid: tuple[int, int],
                  generator: torch.Generator) -> _Field:
    return _Field(torch.randint(key_grid[0], grid, generator=generator),
                  torch.randint(key_grid[1], grid, generator=generator))


def _field_from_flat(nnf: torch.Tensor, key_grid: tuple[int, int]) -> _Field:
    return _Field(nnf // key_grid[1], nnf % key_grid[1])


def _carry_up(field: _Field, old_key_grid: tuple[int, int], grid: tuple[int, int],
              key_grid: tuple[int, int]) -> _Field:
    """The field of the level below at this level's grid: each query takes the match of the
    query below it, moved by the sub-pixel offset between the two grids, then scaled."""
    old_h, old_w = field.top.shape
    rows = torch.arange(grid[0], dtype=torch.float64) * (old_h / grid[0])
    cols = torch.arange(grid[1], dtype=torch.float64) * (old_w / grid[1])
    r0 = rows.round().clamp(max=old_h - 1).long()
    c0 = cols.round().clamp(max=old_w - 1).long()
    top = (field.top[r0][:, c0].double() + (rows - r0)[:, None]) * (key_grid[0] / old_key_grid[0])
    left = (field.left[r0][:, c0].double() + (cols - c0)[None, :]) * (key_grid[1] / old_key_grid[1])
    return _Field(top.round().long().clamp(0, key_grid[0] - 1),
                  left.round().long().clamp(0, key_grid[1] - 1))


def _distance(query_feats: torch.Tensor, key_feats: torch.Tensor,
              index: torch.Tensor) -> torch.Tensor:
    """L2 distance (not squared: it orders the same) of each query to its indexed key."""
    return torch.linalg.vector_norm(query_feats - key_feats.index_select(0, index), dim=1)


def patchmatch(query: torch.Tensor, keys: torch.Tensor, field: _Field, iters: int,
               radius: int, generator: torch.Generator, config: PatchConfig,
               tracker: Tracker | None = None) -> _Field:
    """Refine `field` by PatchMatch (Barnes et al. 2009): propagation from the four
    neighbours and random search around the current match (first within `radius` px, then
    halving), `iters` times.

    Every iteration reads the field as it was when the iteration began (a Jacobi step), so
    the result does not depend on the band size that bounds the memory.
    """
    basis = _basis(keys, config.features)
    key_feats = _features(keys, basis)  # (Nk, dims)
    grid = _grid(tuple(query.shape[-2:]))
    key_grid = _grid(tuple(keys.shape[-2:]))
    bands = _bands(grid[0], grid[1], config.band_pixels)
    cache = grid[0] * grid[1] * config.features * 4 <= config.feature_bytes
    cached: dict[int, torch.Tensor] = {}

    def band_feats(i: int, r0: int, r1: int) -> torch.Tensor:
        if i in cached:
            return cached[i]
        feats = _features(query[:, :, r0:r1 + PATCH - 1], basis)
        if cache:
            cached[i] = feats
        return feats

    top, left = field.top.clone(), field.left.clone()
    best = torch.empty(grid)
    for i, (r0, r1) in enumerate(bands):
        index = (top[r0:r1] * key_grid[1] + left[r0:r1]).view(-1)
        best[r0:r1] = _distance(band_feats(i, r0, r1), key_feats, index).view(r1 - r0, grid[1])
    rows_all = torch.arange(grid[0])
    cols_all = torch.arange(grid[1])
    for it in range(iters):
        old_top, old_left = top.clone(), left.clone()
        jump = 1 if it % 2 == 0 else config.jump
        # Random search offsets for the whole grid, drawn before the bands: tiling-independent.
        radii = []
        r = radius
        tries = config.random_tries if radius <= config.search_radius else radius.bit_length()
        while r >= 1 and len(radii) < tries:
            radii.append(r)
            r //= 2
        offsets = [(torch.randint(-r, r + 1, grid, generator=generator),
                    torch.randint(-r, r + 1, grid, generator=generator)) for r in radii]
        for i, (r0, r1) in enumerate(bands):
            if tracker is not None:
                tracker.check()
            feats = band_feats(i, r0, r1)
            rows = rows_all[r0:r1]
            b_top, b_left, b_best = top[r0:r1], left[r0:r1], best[r0:r1]
            candidates = []
            for dy, dx in ((jump, 0), (-jump, 0), (0, jump), (0, -jump)):
                nr = (rows + dy).clamp(0, grid[0] - 1)
                nc = (cols_all + dx).clamp(0, grid[1] - 1)
                c_top = old_top[nr][:, nc] - (nr - rows)[:, None]
                c_left = old_left[nr][:, nc] - (nc - cols_all)[None, :]
                candidates.append((c_top, c_left))
            for off_top, off_left in offsets:
                candidates.append((old_top[r0:r1] + off_top[r0:r1],
                                   old_left[r0:r1] + off_left[r0:r1]))
            for c_top, c_left in candidates:
                c_top = c_top.clamp(0, key_grid[0] - 1)
                c_left = c_left.clamp(0, key_grid[1] - 1)
                d = _distance(feats, key_feats, (c_top * key_grid[1] + c_left).view(-1))
                d = d.view(r1 - r0, grid[1])
                better = d < b_best
                b_best = torch.where(better, d, b_best)
                b_top = torch.where(better, c_top, b_top)
                b_left = torch.where(better, c_left, b_left)
            top[r0:r1], left[r0:r1], best[r0:r1] = b_top, b_left, b_best
    return _Field(top, left)


# --- rebuild ---------------------------------------------------------------------------------

def _coverage(n: int) -> torch.Tensor:
    """How many patch positions of a 7-wide window cover each of n pixels in a row."""
    grid = torch.arange(n)
    return ((grid.clamp(max=n - PATCH) - (grid - PATCH + 1).clamp(min=0)) + 1).float()


def _gather_bases(nnf: torch.Tensor, values: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Top-left pixel (flat) of each chosen patch, and the values as (Hv * Wv, 3) rows."""
    vw = values.shape[-1]
    grid_w = vw - PATCH + 1
    base = (nnf // grid_w) * vw + nnf % grid_w
    return base, values[0].permute(1, 2, 0).reshape(-1, 3).contiguous()


def patch_distances(nnf: torch.Tensor, query: torch.Tensor, keys: torch.Tensor,
                    band_rows: int = 64) -> torch.Tensor:
    """Squared distance of every query patch to the key patch `nnf` points at, (Hq-6, Wq-6)."""
    gh, gw = nnf.shape
    vw = keys.shape[-1]
    base, pixels = _gather_bases(nnf, keys)
    q = query[0].permute(1, 2, 0)  # (Hq, Wq, 3)
    dist = torch.zeros(gh, gw)
    for r0 in range(0, gh, band_rows):
        r1 = min(gh, r0 + band_rows)
        band_base = base[r0:r1].reshape(-1)
        for dy in range(PATCH):
            for dx in range(PATCH):
                gathered = pixels.index_select(0, band_base + (dy * vw + dx))
                diff = gathered.view(r1 - r0, gw, 3) - q[r0 + dy:r1 + dy, dx:dx + gw]
                dist[r0:r1] += (diff * diff).sum(-1)
    return dist


def fold_nnf(nnf: torch.Tensor, values: torch.Tensor, band_rows: int = 64,
             weights: torch.Tensor | None = None) -> torch.Tensor:
    """Average of the overlapping value patches that `nnf` points at, (1, 3, Hq, Wq).

    nnf is (Hq - 6, Wq - 6) of flat indices into the value image's patch grid; `weights`
    (same shape) weighs each patch, None = all alike. One offset of the 7 x 7 window is
    gathered at a time, over a band of rows: the patches themselves are never held, and a
    band's sums stay in the cache.
    """
    gh, gw = nnf.shape
    vw = values.shape[-1]
    base, pixels = _gather_bases(nnf, values)
    out = torch.zeros(gh + PATCH - 1, gw + PATCH - 1, 3)
    total = torch.zeros(gh + PATCH - 1, gw + PATCH - 1, 1) if weights is not None else None
    for r0 in range(0, gh, band_rows):
        r1 = min(gh, r0 + band_rows)
        band_base = base[r0:r1].reshape(-1)
        sums = torch.zeros(r1 - r0 + PATCH - 1, gw + PATCH - 1, 3)
        band_w = None if weights is None else weights[r0:r1, :, None]
        for dy in range(PATCH):
            for dx in range(PATCH):
                gathered = pixels.index_select(0, band_base + (dy * vw + dx)).view(r1 - r0, gw, 3)
                if band_w is not None:
                    gathered = gathered * band_w
                    total[r0 + dy:r1 + dy, dx:dx + gw] += band_w
                sums[dy:dy + r1 - r0, dx:dx + gw] += gathered
        out[r0:r1 + PATCH - 1] += sums
    if total is not None:
        return (out / total.clamp_min(1e-12)).permute(2, 0, 1)[None].contiguous()
    count = _coverage(gh + PATCH - 1)[:, None] * _coverage(gw + PATCH - 1)[None, :]
    return (out / count[..., None]).permute(2, 0, 1)[None].contiguous()


def _fold_weights(nnf: torch.Tensor, query: torch.Tensor, keys: torch.Tensor,
                  sharpness: float) -> torch.Tensor:
    """exp(-sharpness * d / mean d) per patch: well-matched patches outvote poor ones, which
    is what keeps two disagreeing neighbours from blending into a ghost."""
    dist = patch_distances(nnf, query, keys)
    scaled = dist / dist.mean().clamp_min(1e-12)
    return torch.exp(-sharpness * (scaled - scaled.min()))


# --- tone -------------------------------------------------------------------------------------

def _cdf(values: torch.Tensor, bins: int) -> torch.Tensor:
    """The cumulative histogram of values in [-1, 1] at the bins + 1 bin edges, 0 to 1."""
    counts = torch.histc(values, bins, -1.0, 1.0).double()
    return torch.cat([counts.new_zeros(1), counts.cumsum(0)]) / counts.sum().clamp_min(1)


def match_histogram(image: torch.Tensor, reference: torch.Tensor, bins: int = 4096,
                    band: int = 2**20) -> torch.Tensor:
    """`image` (1, 3, H, W) in [-1, 1] with each channel's histogram made `reference`'s.

    Each value goes to the reference value of the same rank: the image's cumulative
    histogram, then the reference's inverted, both over `bins` bins and linear within a
    bin. A monotone curve per channel, so no pixel swaps place with another in the order
    of its channel; histograms rather than a sort keep the memory at a few `band`s of
    values at any size.
    """
    edges = torch.linspace(-1.0, 1.0, bins + 1, dtype=torch.float64)
    out = torch.empty_like(image)
    for c in range(image.shape[1]):
        x = image[0, c].reshape(-1)
        cdf_x = _cdf(x, bins)
        cdf_r = _cdf(reference[0, c].reshape(-1), bins)
        target = out[0, c].view(-1)
        for start in range(0, x.numel(), band):
            v = x[start:start + band].double().clamp(-1, 1)
            pos = (v + 1) * (bins / 2)
            k = pos.floor().long().clamp(max=bins - 1)
            u = cdf_x[k] + (pos - k) * (cdf_x[k + 1] - cdf_x[k])  # rank of v, 0 to 1
            u = u.clamp(max=1 - 1e-9)  # the top rank in the reference's last filled bin
            j = (torch.searchsorted(cdf_r, u, right=True) - 1).clamp(0, bins - 1)
            width = (cdf_r[j + 1] - cdf_r[j]).clamp_min(1e-12)
            frac = ((u - cdf_r[j]) / width).clamp(0, 1)
            target[start:start + band] = (edges[j] + frac * (2.0 / bins)).float()
    return out.clamp(-1, 1)


# --- the two entry points --------------------------------------------------------------------

def _low_band(image: torch.Tensor, band_hw: tuple[int, int]) -> torch.Tensor:
    """`image` with only what survives at `band_hw` (down, then back up, bicubic)."""
    hw = tuple(image.shape[-2:])
    if band_hw[0] >= hw[0] and band_hw[1] >= hw[1]:
        return image
    small = F.interpolate(image, size=band_hw, mode="bicubic", align_corners=False,
                          antialias=True)
    return F.interpolate(small, size=hw, mode="bicubic", align_corners=False)


def _guided(folded: torch.Tensor, guide: torch.Tensor, config: PatchConfig) -> torch.Tensor:
    """The fold with the guide's (the lifted sample's) tone: see PatchConfig.keep_low."""
    hw = tuple(folded.shape[-2:])
    if config.match_colour:
        target = _resize(guide, hw)
        mean, std = folded.mean((2, 3), keepdim=True), folded.std((2, 3), keepdim=True)
        folded = (folded - mean) / std.clamp_min(1e-4) * target.std((2, 3), keepdim=True) \
            + target.mean((2, 3), keepdim=True)
    if config.keep_low > 0:
        band_hw = tuple(max(1, round(n * config.keep_low)) for n in guide.shape[-2:])
        up_guide = F.interpolate(guide, size=hw, mode="bicubic", align_corners=False)
        folded = folded - _low_band(folded, band_hw) + _low_band(up_guide, band_hw)
    return folded.clamp(-1, 1)


def _synthesize(current: torch.Tensor, source: torch.Tensor, ratios: list[float],
                size: tuple[int, int], first_passes: int, use_alpha: bool,
                generator: torch.Generator, config: PatchConfig,
                tracker: Tracker | None, guide: torch.Tensor | None = None) -> torch.Tensor:
    """Coarse-to-fine passes over the levels `ratios` (ratio 1 = output size `size`).

    Exact search (with GPNN's completeness score when `use_alpha`) while the level's
    query x key pairs fit config.max_pairs, PatchMatch carried up from the level below above.
    """
    total = sum(first_passes if i == 0 else max(config.passes, config.exact_passes)
                for i in range(len(ratios)))  # an upper bound, for the ETA
    done = 0
    previous_src = None
    field, field_key_grid = None, None
    for level, ratio in enumerate(ratios):
        out_hw = _scaled(size, ratio)
        src_hw = _scaled(tuple(source.shape[-2:]), ratio)
        values = _resize(source, src_hw)
        current = _resize(current, out_hw)
        grid, key_grid = _grid(out_hw), _grid(src_hw)
        exact = grid[0] * grid[1] * key_grid[0] * key_grid[1] <= config.max_pairs
        if field is not None:
            field = _carry_up(field, field_key_grid, grid, key_grid)
        passes = first_passes if level == 0 else config.exact_passes if exact else config.passes
        for step in range(passes):
            keys = values
            if step == 0 and previous_src is not None:
                keys = _resize(_resize(source, previous_src), src_hw)  # blurred to level below
            if exact:
                alpha = config.alpha if use_alpha else 0.0
                nnf = exact_nnf(current, keys, alpha, config.chunk, tracker)
                field = _field_from_flat(nnf, key_grid)
            else:
                iters, radius = config.iters, config.search_radius
                if field is None:  # nothing to carry up: search the whole source
                    field = _random_field(grid, key_grid, generator)
                    iters, radius = config.first_iters, max(key_grid)
                field = patchmatch(current, keys, field, iters, radius, generator, config,
                                   tracker)
            flat = field.flat(key_grid[1])
            weights = None
            if config.fold_sharpness > 0:
                weights = _fold_weights(flat, current, keys, config.fold_sharpness)
            current = fold_nnf(flat, values, weights=weights)
            if guide is not None:
                current = _guided(current, guide, config)
            done += 1
            if tracker is not None:
                tracker.step(level, len(ratios), step + 1, passes, done, total)
        previous_src, field_key_grid = src_hw, key_grid
    return current.clamp(-1, 1)


def lift(image: torch.Tensor, source: torch.Tensor, size: tuple[int, int], *, seed: int = 0,
         tracker: Tracker | None = None, config: PatchConfig | None = None) -> torch.Tensor:
    """`image` (a model-scale result) at `size` (H, W), rebuilt from the source's own patches.

    Objects keep the size they have in `source` (the full-resolution source): the image's
    scale relative to `size` sets where the source pyramid starts.
    """
    config = config or PatchConfig()
    image = image.detach().float().cpu()
    source = source.detach().float().cpu()
    h, w = image.shape[-2:]
    if size[0] <= h and size[1] <= w:
        return _resize(image, size)
    start = max(h / size[0], w / size[1]) * config.scale_factor ** config.lift_below
    ratios = _ratios(start, config.scale_factor)
    ratios[0] = start
    generator = torch.Generator().manual_seed(seed)
    result = _synthesize(image, source, ratios, size, config.passes, False, generator, config,
                         tracker, guide=image)
    return match_histogram(result, source) if config.match_tone else result


def instant(source: torch.Tensor, size: tuple[int, int], *, seed: int = 0,
            tracker: Tracker | None = None, config: PatchConfig | None = None) -> torch.Tensor:
    """A new picture of `size` (H, W) from the source's patches, GPNN's random sampling."""
    config = config or PatchConfig()
    source = source.detach().float().cpu()
    start = min(1.0, config.coarsest / min(source.shape[-2:]))
    ratios = _ratios(start, config.scale_factor)
    coarse_src = _resize(source, _scaled(tuple(source.shape[-2:]), ratios[0]))
    generator = torch.Generator().manual_seed(seed)
    # The start is the coarsest source blurred, plus noise in 3 px cells. Measured on the
    # canvas photos: iid noise alone averages out in 7 x 7 patches and the passes snap back
    # to the source itself (cups, moss: diversity 0); Efficient-GPNN's sigma-7 blur loses
    # the layout (swd --pyramid 1.0-1.7); sigma 2 with coarse noise moves objects and keeps
    # their look. The noise is drawn per channel: one noise for the three (grey) removed
    # cups' half-blue, half-pink cups, but left each colour where the photo has it, cups'
    # diversity at 250 px 0.51 -> 0.22, and forest's swd 0.33 -> 0.39 (benchmarks/canvas.py
    # with that one-line change, not kept).
    start = _blur(coarse_src, config.blur_start) if config.blur_start > 0 else coarse_src
    noise_hw = tuple(max(1, round(n / config.noise_cell)) for n in coarse_src.shape[-2:])
    noise = torch.randn((1, 3, *noise_hw), generator=generator)
    noise = F.interpolate(noise, size=coarse_src.shape[-2:], mode="bicubic", align_corners=False)
    noisy = start + config.noise_sigma * noise / noise.std().clamp_min(1e-6)
    current = _resize(noisy, _scaled(size, ratios[0]))
    result = _synthesize(current, source, ratios, size, config.coarse_passes, True, generator,
                         config, tracker)
    return match_histogram(result, source) if config.match_tone else result
