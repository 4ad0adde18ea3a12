"""The thread policy (cpu_policy), per-scale seeds of any allowed seed, the collapse check."""

import json
import multiprocessing
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from singan_backend import actions, cpu_policy
from singan_backend.engine import collapse
from singan_backend.engine.collapse import collapse_reason
from singan_backend.engine.config import MAX_SEED, TrainConfig, preset
from singan_backend.engine.pyramid import resize
from singan_backend.engine.train import _seed
from singan_backend.errors import BadOption
from singan_backend.images import to_tensor
from singan_backend.store import ModelStore

ROOT = Path(__file__).resolve().parents[2]
TINY = dict(max_size=32, min_size=18, iters=30, seed=1)  # as in conftest.py


# -- seeds --------------------------------------------------------------------------------
def test_per_scale_seeds_keep_the_old_formula_where_it_fits():
    assert _seed(TrainConfig(seed=0), -1) == 0 and _seed(TrainConfig(seed=7), 2) == 7003
    assert _seed(TrainConfig(seed=None), 0) == 1
    big = 18_000_000_000_000_000  # 1.8e16 x 1000 still fits in 64 bits
    assert _seed(TrainConfig(seed=big), 3) == big * 1000 + 4


def test_largest_seed_gives_distinct_64_bit_seeds_and_trains(tmp_path, tiny_image):
    config = TrainConfig(seed=MAX_SEED)
    seeds = [_seed(config, n, attempt) for n in range(-1, 12) for attempt in range(3)]
    assert all(0 <= s < 2**64 for s in seeds) and len(set(seeds)) == len(seeds)
    store = ModelStore(tmp_path)
    model_id = actions.train(store, tiny_image, config=preset("quick", **{**TINY, "iters": 3,
                                                                           "seed": MAX_SEED}),
                             device="cpu")
    assert store.manifest(model_id)["config"]["seed"] == MAX_SEED
    with pytest.raises(BadOption, match="seed must be in"):
        preset("quick", seed=MAX_SEED + 1)
    with pytest.raises(BadOption, match="seed must be in"):
        preset("quick", seed=-1)


# -- thread policy ------------------------------------------------------------------------
def test_threads_follow_the_cores_other_programs_leave():
    assert cpu_policy.threads_for(0.0, 2, 2) == 2
    assert cpu_policy.threads_for(0.1, 2, 2) == 2
    assert cpu_policy.threads_for(0.5, 2, 2) == 1  # a busy core shows half busy beside us
    assert cpu_policy.threads_for(1.0, 2, 2) == 1
    assert cpu_policy.threads_for(2.0, 2, 2) == 1
    assert cpu_policy.threads_for(3.5, 8, 8) == 4
    assert cpu_policy.threads_for(0.0, 8, 4) == 4  # never more than torch's own choice


def _spin() -> None:
    os.sched_setaffinity(0, {0})
    while True:
        pass


@pytest.mark.skipif(not Path("/proc/stat").exists() or cpu_policy.cores() < 2,
                    reason="needs Linux's /proc and two cores")
def test_a_busy_core_is_seen_as_taken():
    busy = multiprocessing.get_context("spawn").Process(target=_spin, daemon=True)
    busy.start()
    try:
        time.sleep(0.5)
        before = cpu_policy._read_ticks()
        time.sleep(0.5)
        others = cpu_policy.others_busy_cores(before, cpu_policy._read_ticks(),
                                              cpu_policy.cores())
    finally:
        busy.terminate()
        busy.join()
    assert others >= 0.8  # the spinning loop's core, and whatever else runs here


POLICY_PROBE = """
import sys
from singan_backend import cpu_policy
{call}
print("enabled", cpu_policy.is_enabled(), "krita" in sys.modules)
"""


def _probe(call: str, **env) -> str:
    out = subprocess.run([sys.executable, "-c", POLICY_PROBE.format(call=call)],
                         capture_output=True, text=True, cwd=ROOT, timeout=120,
                         env={k: v for k, v in {**os.environ, **env}.items() if v is not None})
    return out.stdout.strip().splitlines()[-1]


@pytest.mark.skipif(not Path("/proc/stat").exists(), reason="the policy needs Linux's /proc")
def test_the_cli_and_the_backend_enable_the_policy_unless_the_user_set_threads():
    cli = "from singan_backend import cli\ntry:\n    cli.main(['--help'])\nexcept SystemExit:\n    pass"
    server = "from singan_backend.server.__main__ import main\nmain([])"
    assert _probe(cli, OMP_NUM_THREADS=None, SINGAN_CPU_POLICY=None) == "enabled True False"
    assert _probe(server, OMP_NUM_THREADS=None, SINGAN_CPU_POLICY=None) == "enabled True False"
    assert _probe(cli, OMP_NUM_THREADS="2", SINGAN_CPU_POLICY=None) == "enabled False False"
    assert _probe(server, OMP_NUM_THREADS=None, SINGAN_CPU_POLICY="off") == "enabled False False"
    assert _probe("pass", OMP_NUM_THREADS=None) == "enabled False False"  # a plain import


def test_the_krita_plugin_never_loads_the_policy_nor_sets_openmp_variables():
    sources = list((ROOT / "krita_plugin").rglob("*.py"))
    assert sources
    for path in sources:
        text = path.read_text()
        assert not re.search(r"^\s*(from|import)\s+singan_backend", text, re.M), path
        assert "cpu_policy" not in text and "OMP_WAIT_POLICY" not in text, path
        assert "GOMP_" not in text and "set_num_threads" not in text, path


def test_training_adapts_threads_when_enabled(monkeypatch, tmp_path, tiny_image):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.delenv("SINGAN_CPU_POLICY", raising=False)
    threads = torch.get_num_threads()
    seen = []
    real_adapt = cpu_policy.adapt
    monkeypatch.setattr(cpu_policy, "adapt", lambda force=False: seen.append(
        real_adapt(force)) or seen[-1])
    monkeypatch.setitem(cpu_policy._state, "enabled", False)
    monkeypatch.setitem(cpu_policy._state, "max_threads", None)
    cpu_policy.enable()
    try:
        actions.train(ModelStore(tmp_path), tiny_image,
                      config=preset("paper", **{**TINY, "iters": 2}), device="cpu")
    finally:
        torch.set_num_threads(threads)
    chosen = [t for t in seen if t is not None]
    assert chosen and all(1 <= t <= threads for t in chosen)


# -- collapse check -----------------------------------------------------------------------
@pytest.fixture(scope="module")
def real() -> torch.Tensor:
    from singan_backend.demo import demo_image
    return to_tensor(demo_image(64, 48, seed=3))


def test_samples_like_the_image_pass(real):
    shifted = torch.roll(real, shifts=(7, 11), dims=(2, 3))
    flipped = torch.flip(real, dims=(3,))
    noisy = (real + 0.03 * torch.randn(real.shape, generator=torch.Generator().manual_seed(0)))
    assert collapse_reason(torch.cat([shifted, flipped, noisy.clamp(-1, 1)]), real) is None


def test_a_magenta_band_is_a_collapse(real):
    banded = real.clone()
    banded[:, 0, :8], banded[:, 1, :8], banded[:, 2, :8] = 1.0, -1.0, 1.0  # magenta band
    assert "colours the image lacks" in collapse_reason(torch.cat([banded] * 4), real)


def test_a_band_along_an_edge_is_a_collapse_at_fine_scales():
    # as moss.jpg's 250 px model drew: a band of a colour the image lacks along the bottom
    # edge, too few pixels (3%) for the whole-image colour test
    from singan_backend.demo import demo_image
    real = to_tensor(demo_image(128, 96, seed=3))
    banded = real.clone()
    banded[:, :, -4:, 16:112] = torch.tensor([0.8, -0.8, -0.4]).view(1, 3, 1, 1)
    samples = torch.cat([banded] * 4)
    assert collapse.far_colour_share(samples, real) <= collapse.FAR_COLOUR_SHARE
    assert "along an edge" in collapse_reason(samples, real)
    healthy = torch.cat([torch.flip(real, dims=(3,)), torch.roll(real, 9, dims=3)] * 2)
    assert collapse_reason(healthy, real) is None
    # coarse scales (blurred samples) are left to the whole-image tests
    reason = collapse_reason(resize(samples, (48, 64)), resize(real, (48, 64)))
    assert reason is None or "along an edge" not in reason


def test_a_flat_or_noisy_sample_is_a_collapse(real):
    flat = real.mean(dim=(2, 3), keepdim=True).expand_as(real).clone()
    assert "local contrast" in collapse_reason(torch.cat([flat] * 4), real)


def test_a_collapsed_scale_trains_again_and_the_manifest_says_so(monkeypatch, tmp_path,
                                                                 tiny_image):
    monkeypatch.setattr(collapse, "FAR_COLOUR", -1.0)  # every sample now looks collapsed
    store, seen = ModelStore(tmp_path), []
    model_id = actions.train(store, tiny_image, config=preset("quick", **{**TINY, "iters": 2}),
                             device="cpu", on_progress=seen.append)
    manifest = store.manifest(model_id)
    scales = manifest["trained_scales"]
    assert [(c["scale"], c["attempt"], c["kept"]) for c in manifest["collapses"]] == [
        (n, a, a == 2) for n in range(scales) for a in range(3)]
    assert any("training it again with another seed, retry 1 of 2" in p.stage for p in seen)
    assert any("still collapsed after 2 retries" in p.stage for p in seen)


def test_a_default_training_records_its_checks_and_old_manifests_load(tmp_path, tiny_image):
    store = ModelStore(tmp_path)
    model_id = actions.train(store, tiny_image, config=preset("default", **TINY), device="cpu")
    manifest_path = tmp_path / model_id / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    assert manifest["config"]["collapse_retries"] == 2
    # 30 iterations may or may not leave colours the image lacks (it depends on the CPU's
    # arithmetic): whatever the check found is recorded, and at most 2 retries per scale
    for c in manifest["collapses"]:
        assert c["reason"] and 0 <= c["attempt"] <= 2 and c["scale"] < manifest["trained_scales"]
    for scale in {c["scale"] for c in manifest["collapses"]}:
        attempts = [c for c in manifest["collapses"] if c["scale"] == scale]
        assert [c["attempt"] for c in attempts] == list(range(len(attempts)))
        assert sum(c["kept"] for c in attempts) <= 1
    before = actions.sample(store, model_id, seed=3)[0]
    # a model stored before the check existed: no collapses, no collapse_retries
    del manifest["collapses"], manifest["config"]["collapse_retries"]
    manifest_path.write_text(json.dumps(manifest))
    model = store.load(model_id)
    assert model.config.collapse_retries == 0 and model.collapses == []
    assert np.allclose(actions.sample(store, model_id, seed=3)[0], before)


# -- fine-scale options -------------------------------------------------------------------
def test_fine_scales_train_with_their_own_iterations_and_steps(tmp_path, tiny_image):
    config = preset("quick", **{**TINY, "iters": 6, "fine_size": 30, "fine_iters": 2,
                                "fine_steps": 1})
    assert config.at_scale((18, 24)) is config
    fine = config.at_scale((24, 32))
    assert (fine.iters, fine.d_steps, fine.g_steps) == (2, 1, 1)
    seen = []
    actions.train(ModelStore(tmp_path), tiny_image, config=config, device="cpu",
                  on_progress=seen.append)
    totals = {p.scale: p.total for p in seen if "collapsed" not in p.stage}
    assert totals[0] == 6 and totals[max(totals)] == 2
    with pytest.raises(BadOption, match="fine_steps"):
        preset("default", fine_steps=-1)
    assert TrainConfig.from_dict({"iters": 5}).fine_size == 0  # an old manifest: no fine scales


def test_a_resumed_training_with_retries_is_the_unbroken_one(monkeypatch, tmp_path, tiny_image):
    from singan_backend.errors import Cancelled

    monkeypatch.setattr(collapse, "FAR_COLOUR", -1.0)  # every scale retried twice
    store = ModelStore(tmp_path)
    config = preset("quick", **{**TINY, "iters": 3, "collapse_retries": 1})
    calls = []

    def stop() -> bool:  # in the middle of the second scale's retry
        calls.append(1)
        return len(calls) > 2 * 3 + 3 + 2

    with pytest.raises(Cancelled):
        actions.train(store, tiny_image, name="cut", config=config, device="cpu",
                      should_stop=stop)
    (cut,) = store.list()
    assert cut.trained_scales == 1
    actions.train(store, None, resume=cut.id, device="cpu")
    whole = actions.train(store, tiny_image, name="whole", config=config, device="cpu")
    assert store.manifest(cut.id)["collapses"] == store.manifest(whole)["collapses"]
    assert np.allclose(actions.sample(store, cut.id, seed=3)[0],
                       actions.sample(store, whole, seed=3)[0], atol=1e-5)
