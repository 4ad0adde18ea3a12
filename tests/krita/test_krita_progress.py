"""The docker's progress: one bar per job that goes from 0 to 1 once (super-resolve's two
phases included), and an ETA that is honest once two scales have been timed."""

import pytest

from singan_krita.jobs import EtaEstimate, Job


def training_events(overhead=0.05, per_work=2e-6, iters=20, num_scales=6, growth=1.78,
                    events_per_scale=5):
    """Progress bodies as the backend sends them for a run whose iterations really take
    overhead + per_work x work seconds, with eta_s from the backend's work count only."""
    cost = [2000 * growth ** n for n in range(num_scales)]  # the backend's work per iteration
    work_total = sum(cost) * iters
    elapsed, work_done, events = 0.0, 0.0, []
    for n, c in enumerate(cost):
        step = iters // events_per_scale
        for it in range(step, iters + 1, step):
            elapsed += step * (overhead + per_work * c)
            work_done += step * c
            events.append({"task": "train", "scale": n, "num_scales": num_scales,
                           "iteration": it, "total": iters, "elapsed_s": elapsed,
                           "eta_s": elapsed * (work_total - work_done) / work_done,
                           "fraction": (n + it / iters) / num_scales})
    return events, elapsed


def test_the_eta_is_honest_where_the_backends_is_three_times_too_long():
    events, total = training_events()
    eta = EtaEstimate()
    estimates = [(e, eta.update(e)) for e in events]
    assert all(value is None for e, value in estimates if e["scale"] < 1)  # no guess at first
    for event, value in estimates:
        if event["scale"] >= 1 and value is not None:
            truth = total - event["elapsed_s"]
            assert value == pytest.approx(truth, rel=0.1, abs=0.5), event
    first = next(e for e, v in estimates if e["scale"] == 1)
    assert first["eta_s"] > 2.5 * (total - first["elapsed_s"])  # what the docker used to show


def test_other_tasks_keep_the_backends_eta():
    assert EtaEstimate().update({"task": "sample", "eta_s": 12.0, "elapsed_s": 3.0}) == 12.0


def test_super_resolve_fills_one_bar_once_over_its_two_phases():
    job = Job("upscale", "Super-resolving", "r1")
    seen = []
    for f in (0.1, 0.5, 0.99):
        job.advance({"task": "train", "fraction": f})
        seen.append(job.fraction)
    for f in (0.0, 0.5, 1.0):  # the backend's upscale phase starts again at 0
        job.advance({"task": "upscale", "fraction": f, "eta_s": 1.0})
        seen.append(job.fraction)
    assert seen == sorted(seen) and seen[-1] == pytest.approx(1.0)
    assert seen[2] == pytest.approx(0.9 * 0.99)


def test_a_phase_that_starts_over_under_the_same_name_never_moves_the_bar_back():
    job = Job("generate", "Generating", "r1")
    seen = []
    for f in (0.2, 0.8, 0.1, 0.6, 1.0):  # sampling, then a lift reported by the same tracker
        job.advance({"task": "sample", "fraction": f})
        seen.append(job.fraction)
    assert seen == sorted(seen) and seen[-1] == pytest.approx(1.0)


def test_a_retried_scale_keeps_the_bar_and_the_estimate():
    events, _ = training_events()
    job = Job("train", "Training", "r1")
    for event in events[:-3]:
        job.advance(event)
    before, detail = job.fraction, job.detail
    retry = dict(events[-6], elapsed_s=events[-3]["elapsed_s"] + 1.0)  # the last scale again
    job.advance(retry)
    assert job.fraction == before and job.phase_base == 0.0
    assert "estimating" not in detail


def test_a_new_scale_counts_the_last_estimate_down_instead_of_estimating_again():
    events, total = training_events()
    eta = EtaEstimate()
    values = [(e, eta.update(e)) for e in events]
    first_honest = next(i for i, (e, v) in enumerate(values) if v is not None)
    later = values[first_honest:]
    assert all(v is not None for _, v in later)  # never "estimating time" once it had a figure
    for event, value in later:  # and each stays near the truth at the start of a scale too
        assert value == pytest.approx(total - event["elapsed_s"], rel=0.25, abs=1.0), event
