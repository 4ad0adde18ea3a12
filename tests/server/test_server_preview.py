"""Training previews (issue 15, item 8): a progress event after a scale is saved carries one
small sample of the scales trained so far, at most one every few seconds."""

import numpy as np

from singan_backend.server.preview import PREVIEW_SIDE, Previews


def test_a_training_sends_previews_of_the_scales_trained(trained_store):
    _, _, events, _ = trained_store
    shown = [e for e in events if e.msg_type == "progress" and e.images]
    assert shown, "no progress event carried a preview"
    first = shown[0]
    (image,) = first.images
    assert first.body["preview_scale"] == first.body["scale"] >= 1
    assert (image.channel_order, image.sample_type) == ("RGBA", "u8")
    assert max(image.width, image.height) <= PREVIEW_SIDE
    pixels = np.frombuffer(image.data, np.uint8).reshape(image.height, image.width, 4)
    assert pixels[..., :3].std() > 1.0  # a picture, not a flat fill


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def test_previews_wait_between_two_and_skip_what_was_shown(trained_store):
    models_dir, model_id, _, _ = trained_store
    from singan_backend.store import ModelStore

    clock = Clock()
    previews = Previews(ModelStore(models_dir), every_s=3.0, clock=clock)
    assert not previews.due(0)  # nothing trained yet
    assert previews.due(1)
    image, scales = previews.make(model_id, 1)
    assert scales >= 1 and image.width * image.height > 0
    clock.now += 1.0
    assert not previews.due(2)  # too soon
    clock.now += 2.5
    assert previews.due(2) and not previews.due(1)
    assert Previews(ModelStore(models_dir / "missing")).make("nope", 1) is None
