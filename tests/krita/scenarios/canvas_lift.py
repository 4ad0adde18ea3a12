"""A document larger than the model: train a small model on a 640 x 400 picture, then
Generate variations and Instant variations with the docker's defaults (canvas size, no lift
field: the backend lifts by default), and Generate with the Layout field at the image's
patches. Checks that every result layer has the canvas size and
saves the document, the results and the model to the artifacts folder: the test measures them
against the bicubic baseline outside Krita (numpy and torch are not in Krita's Python)."""

import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(__file__))
from _common import (  # noqa: E402
    generate_on_canvas,
    open_picture,
    pixels_vary,
    run_job,
    set_training,
    start_backend,
)

SEED = 7


def save_png(t, data, width, height, name):
    """BGRA U8 bytes as a PNG (QImage's ARGB32 is B, G, R, A in memory on little-endian)."""
    from PyQt5.QtGui import QImage

    image = QImage(data, width, height, 4 * width, QImage.Format_ARGB32).copy()
    path = os.path.join(t.artifacts, name)
    t.check(f"{name} saved", image.save(path, "PNG"), path)
    return path


def keep_model(t, model_id):
    """Copy the backend's model folder (under this profile's HOME) into the artifacts."""
    for root, dirs, _files in os.walk(os.path.expanduser("~")):
        if model_id in dirs and os.path.exists(os.path.join(root, model_id, "manifest.json")):
            shutil.copytree(os.path.join(root, model_id),
                            os.path.join(t.artifacts, "models", model_id))
            return True
    return False


def check_results(t, doc, group, prefix):
    W, H = doc.width(), doc.height()
    names = []
    for index, child in enumerate(reversed(group.childNodes())):
        box = child.bounds()
        t.check(f"{child.name()} has the canvas size", (box.width(), box.height()) == (W, H),
                (box.width(), box.height()))
        data = bytes(child.pixelData(0, 0, W, H))
        t.check(f"{child.name()} is not blank", pixels_vary(data, 4))
        names.append(os.path.basename(save_png(t, data, W, H, f"{prefix}-{index + 1}.png")))
    return names


def run(t):
    from singan_krita import options as opt

    p = t.params
    doc, W, H, layer = yield from open_picture(t, p["image"])
    original = bytes(layer.pixelData(0, 0, W, H))
    save_png(t, original, W, H, "document.png")

    yield from start_backend(t)
    set_training(t, p["max_size"], p["iters"])
    yield from run_job(t, "singan_train", "training", p["train_timeout"])
    yield from t.wait("the model in the list", lambda: t.widget("singan_models").count() == 1, 10)
    model = t.controller().selected_model()
    t.check("the model knows its source size", (model["width"], model["height"]) == (W, H),
            (model["width"], model["height"]))
    t.results["model_id"] = model["id"]
    t.check("the model folder is kept for the test", keep_model(t, model["id"]), model["id"])

    # Generate variations with the docker's own size (canvas) and a seed
    group = yield from generate_on_canvas(t, doc, model["name"], p["count"], SEED,
                                          p["job_timeout"])
    t.results["generated"] = check_results(t, doc, group, "generated")

    # again with the Layout field at the image's patches (another seed: another group)
    layouts = t.widget("singan_layout")
    layouts.setCurrentIndex(layouts.findData("patches"))
    t.check("the Layout field offers the image's patches", layouts.currentData() == "patches")
    group = yield from generate_on_canvas(t, doc, model["name"], p["count"], SEED + 1,
                                          p["job_timeout"])
    t.results["patches"] = check_results(t, doc, group, "patches")

    # Instant variations of the picture layer: no model, the layer's size (the canvas)
    t.widget("singan_seed").setText(str(SEED))
    yield from t.activate(doc, layer)
    yield from run_job(t, "singan_instant", "instant variations", p["job_timeout"])
    prefix = opt.variations_group_name(f"{layer.name()} instant", SEED)
    group = next((n for n in doc.rootNode().childNodes() if n.name() == prefix), None)
    t.require("the instant variations group is there", group is not None,
              [n[0] for n in t.nodes(doc.rootNode())])
    t.results["instant"] = check_results(t, doc, group, "instant")
    t.check("the picture layer is untouched",
            bytes(layer.pixelData(0, 0, W, H)) == original)
    t.save()

