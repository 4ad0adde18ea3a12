"""One schema: every request field's default and range, as the protocol declares them
(singan_protocol/messages.py), is what the CLI's flags, the docker's options and the engine
see. A new option is one edit there; these tests walk every field so none drifts."""

import argparse
import dataclasses

import pytest

from singan_backend.cli import build_parser
from singan_protocol import JOB_REQUESTS
from singan_protocol.fields import Spec, specs
from singan_protocol.messages import (
    PRESETS,
    Animate,
    Edit,
    Generate,
    Harmonize,
    Instant,
    Paint,
    Train,
    Upscale,
)

COMMANDS = {"train": Train, "sample": Generate, "harmonize": Harmonize, "edit": Edit,
            "paint": Paint, "upscale": Upscale, "animate": Animate, "instant": Instant,
            "demo": Train}
# (command, field) where the CLI means something else on purpose
CLI_OWN = {("demo", "seed")}  # the demo is seeded (0) so that its pictures are the README's


def subcommands() -> dict[str, argparse.ArgumentParser]:
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return sub.choices


def outside(s: Spec) -> dict:
    """bound -> a value just beyond it, for each bound of the field's range."""
    step = 1 if s.type is int else 1e-6
    beyond = {"lo": None if s.lo is None else s.lo - step,
              "hi": None if s.hi is None else s.hi + step, "above": s.above, "below": s.below}
    return {bound: v for bound, v in beyond.items() if v is not None}


def inside(s: Spec) -> list:
    step = 1 if s.type is int else 1e-6
    return [v for v in (s.lo, s.hi, None if s.above is None else s.above + step,
                        None if s.below is None else s.below - step) if v is not None]


def accepts(action: argparse.Action, value) -> bool:
    try:
        action.type(str(value))
    except argparse.ArgumentTypeError:
        return False
    return True


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_cli_flags_have_the_protocols_defaults_and_ranges(command):
    request, parser = COMMANDS[command], subcommands()[command]
    fields = specs(request)
    seen = set()
    for action in parser._actions:
        s = fields.get(action.dest)
        if s is None or not action.option_strings or (command, s.name) in CLI_OWN:
            continue
        seen.add(s.name)
        where = f"singan {command} {action.option_strings[0]}"
        if s.type is bool:
            assert action.default is s.default and action.nargs == 0, where
            continue
        assert action.default == (None if s.required else s.default), where
        assert action.required == s.required, where
        assert tuple(action.choices or ()) == tuple(s.choices or ()), where
        if action.type is None or s.type not in (int, float):
            continue
        assert all(accepts(action, v) for v in inside(s)), f"{where} refuses its own range"
        assert not any(accepts(action, v) for v in outside(s).values()), f"{where} takes too much"
    assert seen, f"singan {command} builds no flag from {request.__name__}"


def test_every_request_option_a_cli_command_sends_is_a_flag():
    """The CLI leaves out only what it fills itself (images' names, output formats, ids)."""
    filled = {"model_id", "name", "source_name", "resume", "sample_type", "channel_order",
              "d_steps", "g_steps", "lr", "alpha"}
    for command, request in COMMANDS.items():
        if command == "demo":
            continue
        flags = {a.dest for a in subcommands()[command]._actions if a.option_strings}
        missing = set(specs(request)) - flags - filled
        assert not missing, f"singan {command} has no flag for {sorted(missing)}"


# -- the docker ----------------------------------------------------------------------------
options = pytest.importorskip("singan_krita.options")

# (options class, attribute, request, field, whether the docker's default is its own on
# purpose: options.py says why beside it)
DOCKER = [
    (options.TrainOptions, "preset", Train, "preset", True),
    (options.TrainOptions, "max_size", Train, "max_size", False),
    (options.TrainOptions, "iters", Train, "iters", True),  # 0: the preset's, as nil is
    (options.VariationOptions, "count", Generate, "n", True),
    (options.VariationOptions, "width", Generate, "width", True),  # 0: the canvas's
    (options.VariationOptions, "height", Generate, "height", True),
    (options.VariationOptions, "start_scale", Generate, "start_scale", False),
    (options.UpscaleOptions, "factor", Upscale, "factor", True),  # the protocol has none
    (options.AnimateOptions, "frames", Animate, "frames", True),
    (options.AnimateOptions, "fps", Animate, "fps", False),
    (options.AnimateOptions, "beta", Animate, "beta", False),
    (options.AnimateOptions, "start_scale", Animate, "start_scale", False),
]


def docker_accepts(cls, attr: str, value) -> bool:
    opts = cls(**{attr: value})
    args = {options.VariationOptions: ((64, 48), 5), options.UpscaleOptions: ((10, 10),)}
    try:
        opts.validate(*args.get(cls, ()))
    except options.UserFacingError:
        return False
    return True


@pytest.mark.parametrize("cls, attr, request_cls, name, own", DOCKER,
                         ids=[f"{d[0].__name__}.{d[1]}" for d in DOCKER])
def test_docker_options_have_the_protocols_defaults_and_ranges(cls, attr, request_cls, name,
                                                              own):
    s = specs(request_cls)[name]
    default = {f.name: f.default for f in dataclasses.fields(cls)}[attr]
    if not own:
        assert default == s.default, f"{cls.__name__}.{attr}: default {default} != {s.default}"
    assert options.bounds(request_cls, name) == (s.lo if s.lo is not None else s.above, s.hi)
    if attr == "start_scale":
        return  # its top is the model's number of scales
    assert all(docker_accepts(cls, attr, s.type(v)) for v in inside(s)), f"{cls.__name__}.{attr}"
    # 0 means "the preset's" or "the canvas's" in the docker
    assert not any(docker_accepts(cls, attr, s.type(v)) for v in outside(s).values() if v > 0), attr


def test_docker_presets_and_limits_are_the_protocols():
    assert options.PRESETS is PRESETS and set(options.PRESET_LABELS) == set(PRESETS)
    assert set(options.PRESET_TIMES) == set(PRESETS)
    assert options.TrainOptions().preset in PRESETS


# -- the engine: TrainConfig.validate is the authority for training ranges ------------------
# bounds the protocol adds where the engine has none (a request can ask for no more)
PROTOCOL_CAPS = {("d_steps", "hi"), ("g_steps", "hi")}
COMPANIONS = {"max_size": {"min_size": 11}, "min_size": {"max_size": 4096}}


def test_the_train_ranges_are_the_engines():
    config = pytest.importorskip("singan_backend.engine.config")
    from singan_backend.dispatch import TRAIN_OPTIONS
    from singan_backend.errors import BadOption

    def engine_accepts(name, value) -> bool:
        try:
            config.preset("default", **{**COMPANIONS.get(name, {}), name: value})
        except BadOption:
            return False
        return True

    assert set(PRESETS) == set(config.PRESETS)
    for name in TRAIN_OPTIONS:
        s = specs(Train)[name]
        assert all(engine_accepts(name, s.type(v)) for v in inside(s)), name
        for bound, value in outside(s).items():
            if (name, bound) not in PROTOCOL_CAPS:
                assert not engine_accepts(name, s.type(value)), f"{name} {bound}"
    for name in ("max_size", "min_size", "iters", "preset"):  # upscale trains with them too
        t, u = specs(Train)[name], specs(Upscale)[name]
        assert (t.lo, t.hi, t.choices) == (u.lo, u.hi, u.choices), name


def test_every_job_request_is_a_cli_command():
    assert set(JOB_REQUESTS.values()) <= set(COMMANDS.values())


def test_the_side_and_seed_limits_are_the_engines():
    sample = pytest.importorskip("singan_backend.engine.sample")
    from singan_backend.engine.config import MAX_SEED
    from singan_protocol import messages

    assert messages.MAX_SIDE == sample.MAX_SIDE and messages.MAX_SEED == MAX_SEED
    for request in (Generate, Instant):
        assert (specs(request)["width"].lo, specs(request)["width"].hi) == (1, sample.MAX_SIDE)
