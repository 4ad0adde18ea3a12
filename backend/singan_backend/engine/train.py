"""Training, coarse to fine: each scale's G and D learn while the coarser scales stay frozen."""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F

from .. import cpu_policy
from .collapse import collapse_reason
from .config import TrainConfig, hashed_seed
from .layout import choose_layout
from .models import (
    Discriminator,
    Generator,
    conv_cost,
    init_weights,
    nets_for_scale,
    place,
    width_at,
)
from .progress import Tracker
from .pyramid import build_reals, plan_pyramid, resize
from .sample import colour_calibration
from .singan import SinGAN, random_noise, reconstruction_noise, run_chain

ScaleDoneFn = Callable[[SinGAN], None]


def new_model(image: torch.Tensor, config: TrainConfig, device: torch.device) -> SinGAN:
    """An untrained model: the pyramid of `image` (1, 3, H, W) in [-1, 1] and its z_opt."""
    pyramid = plan_pyramid(image.shape[-2], image.shape[-1], config.max_size, config.min_size,
                           config.scale_factor)
    reals = [r.to(device) for r in build_reals(image.float(), pyramid)]
    h0, w0 = pyramid.sizes[0]
    p = config.num_layers
    gen = torch.Generator().manual_seed(_seed(config, -1))
    if config.noise_padding:
        z_rec = torch.randn((1, 1, h0 + 2 * p, w0 + 2 * p), generator=gen)
    else:
        z_rec = F.pad(torch.randn((1, 1, h0, w0), generator=gen), [p] * 4)
    return SinGAN(config, pyramid, reals, z_rec.to(device))


def train(model: SinGAN, tracker: Tracker | None = None,
          on_scale_done: ScaleDoneFn | None = None, scales: int | None = None) -> SinGAN:
    """Train every scale the model lacks (all, or the rest of an interrupted run); with
    `scales`, only up to that many (the benchmarks that study the coarse scales)."""
    tracker = tracker or Tracker("train")
    sizes = model.pyramid.sizes[:scales]
    cfg = model.config
    # relative work per iteration of each scale, and its iterations: for the ETA
    options = [cfg.at_scale(size) for size in sizes]
    cost = [h * w * conv_cost(width_at(n, cfg.nfc, cfg.max_nfc), cfg.num_layers, cfg.min_nfc)
            * (options[n].d_steps + options[n].g_steps) for n, (h, w) in enumerate(sizes)]
    work = {"done": 0.0,
            "total": sum(cost[n] * options[n].iters for n in range(model.num_scales, len(sizes)))}
    for n in range(model.num_scales, len(sizes)):
        start = time.perf_counter()
        cpu_policy.adapt(force=True)
        train_checked_scale(model, n, len(sizes), cost[n], work, tracker)
        if model.complete and cfg.calibrate_colour:  # saved with the last scale, below
            done = options[n].iters  # the scale is trained: its bar stays full
            tracker.step(n, len(sizes), done, done, work["done"], work["total"], force=True,
                         stage="colour calibration")
            model.colour_calibration = colour_calibration(model, check=tracker.check)
        if model.complete and cfg.choose_layout:
            done = options[n].iters
            tracker.step(n, len(sizes), done, done, work["done"], work["total"], force=True,
                         stage="choosing the samples' layout")
            model.layout_scale, model.layout_swd = choose_layout(model, tracker)
        model.train_seconds.append(time.perf_counter() - start)
        if on_scale_done is not None:
            on_scale_done(model)
    return model


def train_checked_scale(model: SinGAN, n: int, num_scales: int, cost: float, work: dict,
                        tracker: Tracker) -> None:
    """Train scale n and append its nets; with collapse_retries, train it again with other
    seeds while its samples look collapsed. The progress stays at the scale's end during a
    retry (its words say so) and the ETA counts the retry's work."""
    cfg = model.config.at_scale(model.pyramid.sizes[n])
    retry = {"stage": None}  # the progress words while the scale trains again

    def report(it: int) -> None:
        done = work["done"] + cost * it
        if retry["stage"] is None:
            tracker.step(n, num_scales, it, cfg.iters, done, work["total"],
                         force=it == cfg.iters)
        else:
            tracker.step(n, num_scales, cfg.iters, cfg.iters, done, work["total"],
                         force=it == cfg.iters,
                         stage=f"{retry['stage']}, iteration {it}/{cfg.iters}")

    for attempt in range(cfg.collapse_retries + 1):
        generator, discriminator, noise_amp = train_scale(model, n, report, attempt=attempt)
        model.generators.append(generator)
        model.discriminators.append(discriminator)
        model.noise_amps.append(noise_amp)
        work["done"] += cost * cfg.iters
        reason = check_scale(model, n) if cfg.collapse_retries > 0 else None
        if reason is None:
            return
        kept = attempt == cfg.collapse_retries
        model.collapses.append({"scale": n, "attempt": attempt, "reason": reason, "kept": kept})
        if kept:  # no retry left: the last one stays, as the progress and manifest say
            tracker.step(n, num_scales, cfg.iters, cfg.iters, work["done"], work["total"],
                         force=True, stage=f"scale {n + 1}/{num_scales} still collapsed after "
                                           f"{attempt} retries ({reason}): kept")
            return
        retry["stage"] = (f"scale {n + 1}/{num_scales} collapsed ({reason}): training it "
                          f"again with another seed, retry {attempt + 1} of "
                          f"{cfg.collapse_retries}")
        work["total"] += cost * cfg.iters
        del model.generators[-1], model.discriminators[-1], model.noise_amps[-1]


def _seed(config: TrainConfig, scale: int, attempt: int = 0) -> int:
    """The seed of one scale's draws (scale -1: z_opt), in 0 .. 2**64 - 1 as torch needs.

    seed x 1000 + scale + 1, as every model trained before, while that fits in 64 bits
    (seeds up to about 1.8e16); above that, and for a collapsed scale's retries, a hash of
    (seed, scale, attempt), which no other seed or scale shares but by a 2**-64 chance."""
    seed = config.seed or 0
    legacy = seed * 1000 + scale + 1
    if attempt == 0 and 0 <= legacy < 2**64:
        return legacy
    return hashed_seed(f"singan-seed {seed} {scale} {attempt}")


# Samples the collapse check draws at the end of a scale, with a generator of its own so
# that the check changes no draw of the training.
CHECK_SAMPLES = 4


def check_scale(model: SinGAN, n: int) -> str | None:
    """Why scale n's samples look collapsed next to the real image at scale n, or None."""
    gen = torch.Generator(model.device).manual_seed(_seed(model.config, n, attempt=-1))
    sizes = model.pyramid.sizes
    with torch.no_grad():
        samples = torch.cat([
            run_chain(model, sizes, lambda k, s: random_noise(model, k, s, gen), last=n)
            for _ in range(CHECK_SAMPLES)])
    return collapse_reason(samples, model.reals[n])


def _nets_for_scale(model: SinGAN, n: int, attempt: int = 0
                    ) -> tuple[Generator, Discriminator]:
    cfg = model.config
    torch.manual_seed(_seed(cfg, n, attempt))  # weight init
    generator, discriminator = nets_for_scale(cfg, n)
    init_weights(generator)
    init_weights(discriminator)
    # Warm start: a scale of the same width starts from the trained coarser scale.
    if n > 0 and width_at(n, cfg.nfc, cfg.max_nfc) == width_at(n - 1, cfg.nfc, cfg.max_nfc):
        generator.load_state_dict(model.generators[n - 1].state_dict())
        discriminator.load_state_dict(model.discriminators[n - 1].state_dict())
    return place(generator, model.device).train(), place(discriminator, model.device).train()


def gradient_penalty(discriminator: Discriminator, real: torch.Tensor, fake: torch.Tensor,
                     gen: torch.Generator) -> torch.Tensor:
    """WGAN-GP on one random interpolate; the norm is over channels, per pixel."""
    a = torch.rand((), generator=gen, device=gen.device).to(real.device)
    mix = (a * real + (1 - a) * fake).requires_grad_(True)
    (grad,) = torch.autograd.grad(discriminator(mix).sum(), mix, create_graph=True)
    return ((grad.norm(2, dim=1) - 1) ** 2).mean()


def critic_scores(discriminator: Discriminator, real: torch.Tensor, fake: torch.Tensor,
                  together: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """D's mean score on the real and on the fake image. Scored apart (batch 1), D's batch
    norm rescales each image on its own and cannot see a global contrast difference; scored
    together, real and fake share the batch statistics. Without batch norm in D both give
    the same scores, and one batch of two is the faster (it keeps two cores busy)."""
    if together:
        scores = discriminator(torch.cat([real, fake]))
        return scores[0].mean(), scores[1].mean()
    return discriminator(real).mean(), discriminator(fake).mean()


def train_scale(model: SinGAN, n: int, report: Callable[[int], None],
                prev_transform: Callable[[torch.Tensor], torch.Tensor] | None = None,
                attempt: int = 0) -> tuple[Generator, Discriminator, float]:
    """Train scale n; `prev_transform` maps each coarser input, random and reconstruction
    (paint --refine: quantised to the k-means colours); `attempt` > 0 retrains a collapsed
    scale with other seeds."""
    real = model.reals[n]
    size = tuple(real.shape[-2:])
    cfg = model.config.at_scale(size)
    generator, discriminator = _nets_for_scale(model, n, attempt)
    gen = torch.Generator(model.device).manual_seed(_seed(cfg, n, attempt))
    sizes = model.pyramid.sizes

    def random_prev() -> torch.Tensor:  # the frozen coarser scales run with fresh noise
        if n == 0:
            return torch.zeros_like(real)
        with torch.no_grad():
            out = run_chain(model, sizes, lambda k, s: random_noise(model, k, s, gen), last=n - 1)
            out = resize(out, size)
            return out if prev_transform is None else prev_transform(out)

    # The reconstruction input is fixed for the whole scale: z_opt through the frozen scales.
    with torch.no_grad():
        if n == 0:
            rec_prev, noise_amp = torch.zeros_like(real), 1.0
        else:
            rec = run_chain(model, sizes, lambda k, s: reconstruction_noise(model, k, s),
                            last=n - 1)
            rec_prev = resize(rec, size)
            noise_amp = cfg.noise_amp_weight * math.sqrt(F.mse_loss(rec_prev, real).item())
            if prev_transform is not None:  # after noise_amp, as the authors' paint_train
                rec_prev = prev_transform(rec_prev)
        rec_in = noise_amp * reconstruction_noise(model, n, size)

    opt_d = torch.optim.Adam(discriminator.parameters(), lr=cfg.lr, betas=(cfg.beta1, 0.999))
    opt_g = torch.optim.Adam(generator.parameters(), lr=cfg.lr, betas=(cfg.beta1, 0.999))
    drop_at = int(cfg.lr_drop * cfg.iters)

    average = copy.deepcopy(generator).requires_grad_(False) if cfg.g_ema > 0 else None
    redraw_z_opt = n == 0 and not cfg.fixed_z_opt
    together = cfg.d_norm != "batch"  # score real and fake in one batch
    for it in range(cfg.iters):
        cpu_policy.adapt()  # every few seconds: as many threads as the cores others leave
        if redraw_z_opt:  # the authors' code: a new z_opt every iteration, the last one kept
            model.z_rec = random_noise(model, 0, size, gen)[:, :1].clone()
            rec_in = noise_amp * reconstruction_noise(model, 0, size)
        if it == drop_at:  # MultiStepLR(milestones=[1600], gamma=0.1) in the authors' code
            for opt in (opt_d, opt_g):
                for group in opt.param_groups:
                    group["lr"] = cfg.lr * cfg.lr_gamma
        z_in = noise_amp * random_noise(model, n, size, gen)

        # (1) D: maximise D(real) - D(fake), with the gradient penalty.
        discriminator.requires_grad_(True)
        for j in range(cfg.d_steps):
            if j == 0 or cfg.prev_per_d_step:  # else G and its input are unchanged: same fake
                prev = random_prev()
                with torch.no_grad():  # D's step needs no graph through G
                    fake = generator(z_in, prev)
            opt_d.zero_grad(set_to_none=True)
            real_score, fake_score = critic_scores(discriminator, real, fake, together)
            loss_d = (fake_score - real_score
                      + cfg.gp_weight * gradient_penalty(discriminator, real, fake, gen))
            loss_d.backward()
            opt_d.step()

        # (2) G: fool D, and reconstruct the real image from z_opt (alpha x MSE).
        discriminator.requires_grad_(False)  # no weight gradients for D in G's step
        for k in range(cfg.g_steps):
            opt_g.zero_grad(set_to_none=True)
            fake = generator(z_in, prev)
            if cfg.d_norm == "joint":  # the fake's score depends on the real in its batch
                loss_g = -critic_scores(discriminator, real, fake, True)[1]
            else:
                loss_g = -discriminator(fake).mean()
            if cfg.alpha > 0 and (k == 0 or cfg.rec_per_g_step):
                loss_g = loss_g + cfg.alpha * F.mse_loss(generator(rec_in, rec_prev), real)
            loss_g.backward()
            opt_g.step()
        if average is not None:
            with torch.no_grad():
                torch._foreach_lerp_(list(average.parameters()), list(generator.parameters()),
                                     1 - cfg.g_ema)
        report(it + 1)

    if average is not None:  # the average's weights with the live G's batch-norm statistics
        with torch.no_grad():
            for mine, live in zip(average.buffers(), generator.buffers()):
                mine.copy_(live)
        generator = average

    generator.eval().requires_grad_(False)
    discriminator.eval().requires_grad_(False)
    return generator, discriminator, noise_amp
