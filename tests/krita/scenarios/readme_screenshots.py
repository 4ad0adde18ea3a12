"""The README's pictures of the docker (benchmarks/krita_screenshots.py runs this): a
1600 x 1000 photo, a small model trained from the docker (its preview shown while it trains),
two variations generated at the canvas size, the History tab showing the result. Saves
krita-docker-training.png (the docker while it trains), krita-docker.png (the docker on its
History tab) and krita-docker-canvas.png (the whole window, a variation on the canvas)."""

import os
import re
import sys

sys.path.insert(0, os.path.dirname(__file__))
from _common import generate_on_canvas, open_picture, run_job, set_training, start_backend  # noqa: E402

SEED = 7


def zoom_to_fit(t):
    """Krita fits a new view to the window itself; this only helps where an action exists."""
    action = t.krita.action("zoom_to_fit")
    if action is not None:
        action.trigger()


def scales_done(t):
    """(scale now, scales) from the running job's "scale k/n · ..." line, else (0, 1)."""
    match = re.search(r"scale (\d+)/(\d+)", "".join(j.detail for j in t.controller().jobs.values()))
    return (int(match.group(1)), int(match.group(2))) if match else (0, 1)


def run(t):

    p = t.params
    doc, W, H, layer = yield from open_picture(t, p["image"], "the photo", 30)
    yield 1.0
    zoom_to_fit(t)

    yield from start_backend(t)
    set_training(t, p["max_size"], p["iters"])
    previews = []

    def preview_shown(t):
        preview = t.widget("singan_preview")
        shown = (preview is not None and preview.isVisible() and preview.pixmap() is not None
                 and not preview.pixmap().isNull())
        scale, scales = scales_done(t)
        if shown and scale > scales // 2:  # a preview of the finer scales: a real picture
            previews.append(preview.pixmap().width())
            t.screenshot("krita-docker-training.png", widget=t.docker())
            return True
        return False

    shot = yield from run_job(t, "singan_train", "training", p["train_timeout"], watch=preview_shown)
    t.check("the docker showed a preview while it trained", shot, previews)
    model = t.controller().selected_model()
    t.check("the model knows the photo's size", (model["width"], model["height"]) == (W, H),
            (model["width"], model["height"]))

    group = yield from generate_on_canvas(t, doc, model["name"], 2, SEED, p["job_timeout"])
    for child in group.childNodes():
        box = child.bounds()
        t.check(f"{child.name()} has the canvas size", (box.width(), box.height()) == (W, H),
                (box.width(), box.height()))

    # the whole window: variation 1 on the canvas (variation 2 hidden), the group in Layers
    first, second = list(reversed(group.childNodes()))[:2]
    second.setVisible(False)
    doc.setActiveNode(first)
    doc.refreshProjection()
    zoom_to_fit(t)
    yield 2.0
    t.screenshot("krita-docker-canvas.png")

    # the docker on its History tab, the result picked: its preview, seed and settings
    t.widget("singan_tabs").setCurrentIndex(3)
    t.widget("singan_history").setCurrentRow(0)
    yield 1.0
    t.check("the history shows the result's preview",
            not t.widget("singan_history_preview").pixmap().isNull())
    t.screenshot("krita-docker.png", widget=t.docker())
    second.setVisible(True)
