"""Docker options: validation in the painter's words, request bodies, names."""

from datetime import datetime, timezone

import pytest

from singan_krita.errors import UserFacingError
from singan_krita.options import (
    LAYOUT_LABELS,
    PRESET_SIZES,
    PRESETS,
    AnimateOptions,
    TaskOptions,
    TrainOptions,
    UpscaleOptions,
    VariationOptions,
    model_label,
    model_labels,
    model_name,
    parse_seed,
    variations_group_name,
)
from singan_krita.regions import Rect, read_region
from singan_protocol.fields import spec
from singan_protocol.messages import LAYOUTS, Animate, Generate


def test_train_body_leaves_out_what_the_preset_decides():
    assert TrainOptions(preset="quick", max_size=40).body("x") == {"name": "x", "preset": "quick",
                                                                  "max_size": 40}
    assert TrainOptions(iters=5, seed=3).body("x")["iters"] == 5


@pytest.mark.parametrize("options", [TrainOptions(preset="fast"), TrainOptions(max_size=8),
                                     TrainOptions(iters=-1)])
def test_bad_training_options(options):
    with pytest.raises(UserFacingError):
        options.validate()


def test_variation_size_defaults_to_the_canvas():
    body = VariationOptions(count=2).validate((64, 48), 5).body("m", (64, 48), "u16", "BGRA")
    assert (body["width"], body["height"], body["n"]) == (64, 48, 2)
    assert "seed" not in body
    assert VariationOptions(width=128, seed=0).body("m", (64, 48), "u8", "BGRA")["seed"] == 0


def test_variation_layout_is_sent_only_when_chosen():
    """The docker's Layout: the model's choice leaves the field out (nil); the others are
    the protocol's, and the backend accepts the body."""
    assert list(LAYOUT_LABELS) == [None, *LAYOUTS]
    assert "layout" not in VariationOptions().body("m", (64, 48), "u8", "BGRA")
    for name in LAYOUTS:
        body = VariationOptions(layout=name).body("m", (64, 48), "u8", "BGRA")
        assert body["layout"] == name and Generate.from_dict(body).layout == name


@pytest.mark.parametrize("options, words", [
    (VariationOptions(count=0), "between 1 and 64"),
    (VariationOptions(width=9000), "between 1 and 8192"),
    (VariationOptions(start_scale=5), "between 0 and 4"),
    (VariationOptions(count=64, width=8192, height=8192), "would not fit"),
])
def test_bad_variation_options(options, words):
    with pytest.raises(UserFacingError, match=words):
        options.validate((64, 48), 5)


def test_seed_field():
    assert parse_seed("  ") is None and parse_seed("42") == 42
    for text in ("-1", "1.5", "abc", str(2**63)):
        with pytest.raises(UserFacingError, match="whole number"):
            parse_seed(text)


def test_task_bodies():
    assert TaskOptions().body("m", "harmonize") == {"model_id": "m"}
    assert TaskOptions(start_scale=2, seed=1, quantize=True).body("m", "paint") == {
        "model_id": "m", "start_scale": 2, "seed": 1, "quantize": True}


def test_upscale_limits():
    UpscaleOptions(4.0).validate((1000, 1000))
    with pytest.raises(UserFacingError, match="limit is 8192"):
        UpscaleOptions(16.0).validate((1000, 1000))
    with pytest.raises(UserFacingError, match="greater than 1"):
        UpscaleOptions(1.0).validate((10, 10))


def test_animate_options():
    body = AnimateOptions(frames=3).validate().body("m", "u8", "BGRA", seed=5)
    assert body["frames"] == 3 and body["seed"] == 5 and isinstance(body["fps"], float)
    assert body["lift"] is spec(Animate, "lift").default is False  # the protocol's default
    assert AnimateOptions(lift=True).body("m", "u8", "BGRA")["lift"] is True
    with pytest.raises(UserFacingError):
        AnimateOptions(beta=1.5).validate()


def test_names():
    assert model_name("/home/ann/sunset.kra", "Background") == "sunset"
    assert model_name("", "sky") == "Untitled - sky"
    assert len(model_name("x" * 100, "")) == 60
    assert variations_group_name("sunset", 7) == "sunset · seed 7"
    label = model_label({"name": "sunset", "width": 64, "height": 48, "num_scales": 5,
                         "created": "2026-01-02T03:04:05+00:00"})
    local = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc).astimezone()
    assert label == f"sunset · 64×48 · 5 scales · {local:%Y-%m-%d %H:%M}"


def test_model_rows_are_unique_and_say_when_a_model_is_unfinished():
    twin = {"name": "sunset", "width": 64, "height": 48, "num_scales": 5,
            "created": "2026-01-02T03:04:05+00:00"}
    labels = model_labels([dict(twin, id="sunset-1"), dict(twin, id="sunset-2"),
                           dict(twin, id="other", name="dusk", complete=False)])
    assert len(set(labels)) == 3 and labels[0].endswith("sunset-1")
    assert labels[2].endswith("unfinished") and "other" not in labels[2]


def test_the_presets_sizes_are_the_engines():
    engine = pytest.importorskip("singan_backend.engine.config")
    assert PRESET_SIZES == {name: engine.PRESETS[name].max_size for name in PRESETS}
    assert set(PRESETS) == set(engine.PRESETS)


def test_training_size_follows_the_preset_unless_set():
    assert TrainOptions(preset="default").validate().body("x") == {"name": "x",
                                                                   "preset": "default"}
    assert TrainOptions(preset="default").size == 250
    assert TrainOptions(preset="default", max_size=128).body("x")["max_size"] == 128
    with pytest.raises(UserFacingError, match="between 11 and 4096"):
        TrainOptions(max_size=8).validate()


def test_read_region_uses_the_selection_or_the_layer_inside_the_canvas():
    canvas = Rect(0, 0, 100, 80)
    assert read_region("a", Rect(-20, -10, 300, 300), canvas, None) == canvas
    assert read_region("a", Rect(10, 10, 30, 30), canvas, None) == Rect(10, 10, 30, 30)
    assert read_region("a", Rect(0, 0, 100, 80), canvas, Rect(50, 50, 100, 100)) == Rect(50, 50, 50, 30)
    with pytest.raises(UserFacingError, match="nothing on the canvas"):
        read_region("a", Rect(200, 200, 10, 10), canvas, None)
    with pytest.raises(UserFacingError, match="outside the canvas"):
        read_region("a", canvas, canvas, Rect(-50, -50, 10, 10))
    with pytest.raises(UserFacingError, match="at least 25"):
        read_region("a", canvas, canvas, Rect(0, 0, 24, 60))
