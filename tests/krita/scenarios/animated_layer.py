"""The Animate opt-in: frames as one animated layer through Krita's importAnimation (batch
mode), in a new document. Krita 5.1's import crashed Krita in 6 of 9 sessions, so there the
option is not offered and Animate keeps to layers in a group even when it is forced; on
newer Krita the import runs (a crash inside Krita's own import is reported, not failed)."""

import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from _common import run_job, set_training, setup_window, start_backend  # noqa: E402


def run(t):
    p = t.params
    setup_window(t)
    doc = t.new_document(48, 40, "movie")
    t.add_layer(doc, "texture", bytes((x * 5 + y * 11) % 256 for y in range(40) for x in range(48)
                                      for _ in range(4)))
    yield from start_backend(t)
    set_training(t, p["max_size"], p["iters"])
    yield from run_job(t, "singan_train", "training", p["train_timeout"])
    yield from t.wait("the model in the list", lambda: t.controller().selected_model() is not None, 10)
    model = t.controller().selected_model()
    t.widget("singan_frames").setValue(3)
    box = t.widget("singan_animated_layer")
    if t.krita.version().startswith("5.1."):
        # 6 crashes in 9 sessions on 5.1.5 (KRITA_NOTES.md, issue 15): not offered there
        t.check("Krita 5.1 does not offer the animated layer", not box.isEnabled(), box.toolTip())
        t.check("and says why", "crashed" in box.toolTip(), box.toolTip())
        box.setChecked(True)  # even if forced, Animate keeps to layers in a group
        yield from run_job(t, "singan_animate", "animating", 120)
        t.check("the frames came as layers in a group", "as layers in a group" in
                t.controller().message, t.controller().message)
        return
    box.setChecked(True)
    yield from run_job(t, "singan_animate", "animating as an animated layer", 120)
    t.check("Krita imported an animated layer", "as an animated layer" in t.controller().message,
            t.controller().message)
    movie = t.find_document(f"{model['name']} animation")
    t.require("a new document holds the animation", movie is not None)
    animated = [n for n in movie.rootNode().childNodes() if n.animated()]
    t.check("it has an animated layer", len(animated) == 1, [n.name() for n in movie.rootNode().childNodes()])
    t.check("the document plays the three frames", movie.fullClipRangeEndTime() == 2,
            movie.fullClipRangeEndTime())
    yield 3.0  # the import's worker thread crashed Krita seconds after it returned
