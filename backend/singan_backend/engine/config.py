"""Training options (one frozen dataclass) and the three presets: paper, default, quick."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, fields, replace

from ..errors import BadOption

MAX_SEED = 2**63 - 1  # the protocol's limit (singan_protocol.messages.MAX_SEED)


def hashed_seed(label: str) -> int:
    """A torch seed (0 .. 2**64 - 1) for the random stream named `label`, which no other
    label shares but by a 2**-64 chance (train._seed, sample.noise_generator)."""
    digest = hashlib.blake2b(label.encode(), digest_size=8)
    return int.from_bytes(digest.digest(), "little")


@dataclass(frozen=True)
class TrainConfig:
    preset: str = "paper"  # name of the preset these options started from
    # pyramid
    max_size: int = 250  # px, longest side of the finest scale
    min_size: int = 25  # px, shortest side of the coarsest scale
    scale_factor: float = 0.75  # nominal ratio between scales, adjusted to land on min_size
    # networks
    nfc: int = 32  # conv width at scales 0..3; doubles every 4 scales
    max_nfc: int = 128  # cap on the width
    min_nfc: int = 32  # body blocks halve the width down to this (authors' code: 128, 64, 32, 32)
    num_layers: int = 5  # convs per net: head + 3 body + tail (receptive field 11 px)
    # optimisation (per scale)
    iters: int = 2000  # iterations per scale
    lr: float = 5e-4  # Adam learning rate for G and D
    beta1: float = 0.5  # Adam beta1 (beta2 = 0.999)
    lr_drop: float = 0.8  # lr x lr_gamma after this fraction of iters (1600 of 2000)
    lr_gamma: float = 0.1  # the lr's factor at the drop
    d_steps: int = 3  # discriminator steps per iteration
    g_steps: int = 3  # generator steps per iteration
    gp_weight: float = 0.1  # WGAN-GP lambda
    rec_per_g_step: bool = True  # the reconstruction loss in every G step (authors); False:
    #                              in the first G step of each iteration only
    alpha: float = 10.0  # reconstruction loss weight
    noise_amp_weight: float = 0.1  # noise_amp_n = this x RMSE(real_n, up(rec_{n-1}))
    prev_per_d_step: bool = True  # redraw the coarser random chain for every D step (authors)
    g_ema: float = 0.0  # > 0: each scale keeps the moving average of its G's weights
    #                     (decay per iteration) and that average is the trained G
    d_norm: str = "batch"  # D's batch norm: "batch" scores real and fake apart (the paper),
    #                        "joint" in one batch, "none" has no batch norm in D
    fixed_z_opt: bool = True  # the paper's fixed z_opt; False redraws it every iteration at
    #                           scale 0 and keeps the last draw, as the authors' code does
    # variants
    noise_padding: bool = False  # animation: noise fills the 5 px border instead of zeros
    seed: int | None = 0  # seeds every random draw of training; None draws a fresh seed
    # fine scales: those whose longer side is at least fine_size px (0: none) train with
    # fine_iters iterations and fine_steps D and G steps each (0: iters, d_steps / g_steps);
    # they hold most of the pixels, and warm-started from the scale below they need less
    fine_size: int = 0
    fine_iters: int = 0
    fine_steps: int = 0
    collapse_retries: int = 0  # > 0: a scale whose samples look collapsed next to the image
    #                            (engine/collapse.py) trains again with other seeds, this
    #                            many times at most; 0 (the paper) never checks
    calibrate_colour: bool = False  # after the last scale, measure each start scale's colour
    #                                 cast and contrast on a few samples and map samples back
    #                                 onto the image's (engine/sample.py); the paper does not
    choose_layout: bool = False  # after the last scale, measure whether samples laid out by
    #                              the image's patches beat the model's own coarse scales
    #                              (engine/layout.py); the paper always uses its own

    def at_scale(self, size: tuple[int, int]) -> TrainConfig:
        """The options one scale of output `size` (H, W) trains with."""
        if not self.fine_size or max(size) < self.fine_size:
            return self
        return replace(self, iters=self.fine_iters or self.iters,
                       d_steps=self.fine_steps or self.d_steps,
                       g_steps=self.fine_steps or self.g_steps)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> TrainConfig:
        known = {f.name for f in fields(cls)}
        options = {k: v for k, v in data.items() if k in known}
        # Models stored before min_nfc existed kept the width constant through the body.
        options.setdefault("min_nfc", options.get("max_nfc", cls.max_nfc))
        return cls(**options)

    def validate(self) -> TrainConfig:
        def need(ok: bool, what: str) -> None:
            if not ok:
                raise BadOption(what)

        need(self.min_nfc >= 1, f"min_nfc must be at least 1 (got {self.min_nfc})")
        need(self.min_size >= 11, f"min_size must be at least 11 px (got {self.min_size})")
        need(self.max_size >= self.min_size,
             f"max_size ({self.max_size}) must be at least min_size ({self.min_size})")
        need(self.max_size <= 4096, f"max_size must be at most 4096 px (got {self.max_size})")
        need(0.3 <= self.scale_factor < 1.0,
             f"scale_factor must be in [0.3, 1) (got {self.scale_factor})")
        need(1 <= self.iters <= 100_000, f"iters must be in 1..100000 (got {self.iters})")
        need(self.d_steps >= 1 and self.g_steps >= 1, "d_steps and g_steps must be at least 1")
        need(0 < self.lr <= 0.1, f"lr must be in (0, 0.1] (got {self.lr})")
        need(0 < self.lr_drop <= 1, f"lr_drop must be in (0, 1] (got {self.lr_drop})")
        need(0 < self.lr_gamma <= 1, f"lr_gamma must be in (0, 1] (got {self.lr_gamma})")
        need(0 <= self.g_ema < 1, f"g_ema must be in [0, 1) (got {self.g_ema})")
        need(self.d_norm in ("batch", "joint", "none"),
             f"d_norm must be batch, joint or none (got {self.d_norm!r})")
        need(self.alpha >= 0, f"alpha must be >= 0 (got {self.alpha})")
        need(self.seed is None or 0 <= self.seed <= MAX_SEED,
             f"seed must be in 0..{MAX_SEED} (got {self.seed})")
        need(0 <= self.fine_size <= 4096, f"fine_size must be in 0..4096 px (got {self.fine_size})")
        need(0 <= self.fine_iters <= 100_000,
             f"fine_iters must be in 0..100000 (got {self.fine_iters})")
        need(0 <= self.fine_steps <= 10, f"fine_steps must be in 0..10 (got {self.fine_steps})")
        need(0 <= self.collapse_retries <= 10,
             f"collapse_retries must be in 0..10 (got {self.collapse_retries})")
        return self


PRESETS: dict[str, TrainConfig] = {
    # Exactly the paper's settings (Shaham et al. 2019, and the authors' code).
    "paper": TrainConfig(preset="paper"),
    # Best quality for the time: the paper's generators, losses and steps, with (1) a
    # discriminator without batch norm: on a batch of one, batch norm rescales each image by
    # its own statistics, so D could not see that samples had less contrast than the image
    # (and WGAN-GP's authors advise against it in the critic); it is also cheaper; (2) lr
    # 1e-3, which converges in fewer iterations; (3) a short schedule with the lr drop kept
    # at 80% of it; (4) the reconstruction loss in the first of the three G steps only, so
    # that two steps in three learn from D alone (sharper samples: swd 1.93 against 2.06
    # over five seeds), and one coarser random chain per iteration for the three D steps;
    # both save time. Measured in benchmarks/quality.py and coarsest.py; see README. (5) At
    # 250 px, its working size: at most 64 channels (ConSinGAN's width; the paper's 128-wide
    # finest scale alone took 1225 of 1933 s) and the scales of 100 px and more (warm-started
    # from the scale below) 160 iterations of 2 D + 2 G steps. On balloons.png at 250 px:
    # 80 iterations scored swd 2.03, 1.64 and 2.90 in three runs (soft fine scales, dark
    # halos round the balloons; 147 s on 2 idle cores), 160 iterations 1.51 and 1.74 (seeds
    # 0 and 1), sharper, in 253 s on 2 idle cores; the paper's settings took 32 min. (fine_size 90: faster, but 2.36 and a tinted sky.) (6) A scale whose samples
    # look collapsed trains again with other seeds, twice at most. (7) Samples are mapped
    # by a per-channel gain and offset onto the image's colour mean and spread (measured
    # after training, engine/sample.py): short training leaves each fine scale a cast of
    # its own (forest_path at 250 px: green 0.045 low of [0, 1], gains 1.17-1.28). Over the 16
    # default runs of the README's 250 px table the mean swd fell from 2.75 to 1.85
    # (benchmarks/calibration.py; forest_path 2.35 -> 0.95). (8) Each model measures
    # whether samples laid out by the image's patches beat its own coarse scales
    # (engine/layout.py; README, the layout table).
    "default": TrainConfig(preset="default", iters=300, lr=1e-3, d_norm="none",
                           rec_per_g_step=False, prev_per_d_step=False, max_nfc=64,
                           fine_size=100, fine_iters=160, fine_steps=2, collapse_retries=2,
                           calibrate_colour=True, choose_layout=True),
    # A usable model in about 3 minutes on a laptop CPU with Krita busy beside it (one core
    # free): default's D, lr and steps, a 192 px finest scale, every scale 32 channels wide,
    # default's fine scales and its colour calibration (22 runs of the 150-iteration preset
    # below: mean swd 2.55 -> 2.24). (3 D + 3 G steps beat 2 + 2 with more iterations at
    # equal time at 64 px in benchmarks/quality.py runs.) The coarse scales (under
    # fine_size) train 400 iterations: they draw the layout, and with 150 the forest photo's
    # sky came out as light specks all over the trees (seed 0); 400 put it back at the top,
    # gave balloons round and striped and trees3 its trunks, for 1.7x the time (CPU 169 s a
    # run against about 100). The mean swd of the 22 runs stayed 2.23 -> 2.25 (lightning1,
    # stone, trees3 worse; balloons, forest, mountains better); lifted to 1600 x 1000 (swd
    # --pyramid, benchmarks/canvas.py) forest 0.87 -> 0.59, moss 0.50 -> 0.40, cups 0.65 ->
    # 0.78 (README, "Measured figures"). Like default, each model measures which layout
    # draws its samples closer to its image (10-11 s of one busy core at 192 px): on the canvas
    # photos it kept its own for forest (lifted swd 0.54, patches 0.58) and moss, and took
    # the patches for cups (0.61 against 0.76, round separate cups instead of merged blobs).
    "quick": TrainConfig(preset="quick", max_size=192, max_nfc=32, iters=400, lr=1e-3,
                         d_norm="none", rec_per_g_step=False, prev_per_d_step=False,
                         fine_size=90, fine_iters=80, fine_steps=2, collapse_retries=2,
                         calibrate_colour=True, choose_layout=True),
}


def preset(name: str = "default", defaults: dict | None = None, **overrides) -> TrainConfig:
    """The named preset with options replaced: each option takes its value from `overrides`
    unless that is None (or absent), else from `defaults` (a task's own settings, such as
    SR's min_size 18), else the preset's."""
    if name not in PRESETS:
        raise BadOption(f"unknown preset {name!r}: choose one of {', '.join(PRESETS)}")
    known = {f.name for f in fields(TrainConfig)}
    unknown = (set(overrides) | set(defaults or {})) - known
    if unknown:
        raise BadOption(f"unknown training option(s): {', '.join(sorted(unknown))}")
    given = {k: v for k, v in overrides.items() if v is not None}
    return replace(PRESETS[name], **{**(defaults or {}), **given}).validate()
