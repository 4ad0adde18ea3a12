"""The four named actions on the project's demo picture, with the real backend started from
the docker: Train on current layer, Generate variations (2 at twice the canvas width) into a
group named after the model and seed, Harmonize paste layer, Super-resolve layer x2 into a
new document. Checks names, sizes, non-blank pixels, the user's layer untouched, and saves
the docker screenshot."""

import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from _common import open_picture, pixels_vary, run_job, set_training, start_backend  # noqa: E402


def run(t):
    p = t.params
    doc, W, H, layer = yield from open_picture(t, p["image"])
    original = bytes(layer.pixelData(0, 0, W, H))

    yield from start_backend(t)
    set_training(t, p["max_size"], p["iters"])
    previews = []

    def progress_shown(t):
        bar = t.widget("singan_progress")
        preview = t.widget("singan_preview")
        if preview is not None and preview.isVisible() and preview.pixmap() is not None \
                and not preview.pixmap().isNull():
            previews.append(preview.pixmap().width())
        if bar is None or bar.value() <= 0 or "scale" not in "".join(
                j.detail for j in t.controller().jobs.values()):
            return False
        if not previews:
            return False  # the screenshot shows the preview too
        scroll = t.docker().widget()  # the docker's scroll area: show its running-jobs end
        scroll.verticalScrollBar().setValue(scroll.verticalScrollBar().maximum())
        t.screenshot("krita-docker-training.png", widget=t.docker())
        return True

    progress = yield from run_job(t, "singan_train", "training", p["train_timeout"],
                                  watch=progress_shown)
    t.check("the docker showed training progress (bar, scale, ETA)", progress)
    t.check("the docker showed a preview of the model while it trained", previews, previews)
    t.check("the docker says the model is ready", "is ready" in t.controller().message, t.controller().message)
    yield from t.wait("the model in the list", lambda: t.widget("singan_models").count() == 1, 10)
    model = t.controller().selected_model()
    t.check("the model is named after the picture", model["name"] == p["model_name"], model["name"])
    t.check("the model knows its source size", (model["width"], model["height"]) == (W, H),
            (model["width"], model["height"]))

    # Generate variations: 2 at twice the canvas width, seed 7
    t.widget("singan_count").setValue(2)
    t.widget("singan_width").setValue(2 * W)
    t.widget("singan_height").setValue(0)
    t.widget("singan_seed").setText("7")
    yield from run_job(t, "singan_generate", "generating variations", 120)
    group = t.find_node(doc, f"{model['name']} · seed 7")
    t.require("the variations group is named after the model and seed", group is not None,
              [n[0] for n in t.nodes(doc.rootNode())])
    t.check("it is a group layer", group.type() == "grouplayer", group.type())
    names = [n.name() for n in reversed(group.childNodes())]
    t.check("two variations, first on top", names == ["variation 1", "variation 2"], names)
    for child in group.childNodes():
        box = child.bounds()
        t.check(f"{child.name()} is twice the canvas width", (box.width(), box.height()) == (2 * W, H),
                (box.width(), box.height()))
        t.check(f"{child.name()} is not blank", pixels_vary(bytes(child.pixelData(0, 0, 2 * W, H)), 4))
    # the history keeps the result; applied from there it lands again as layers
    history = t.controller().view().history
    t.require("the variations are in the history", history and history[0].seed == 7,
              [e.label for e in history])
    t.widget("singan_tabs").setCurrentIndex(3)
    t.widget("singan_history").setCurrentRow(0)
    yield 0.3
    t.check("the history shows a preview of the result",
            not t.widget("singan_history_preview").pixmap().isNull())
    t.click("singan_history_apply")
    yield 0.5
    copies = [n for n in doc.rootNode().childNodes() if n.name() == group.name()
              and n.uniqueId() != group.uniqueId()]
    t.require("applied from the history, the variations are a second group", len(copies) == 1,
              [n[0] for n in t.nodes(doc.rootNode())])
    t.check("with both variations", len(copies[0].childNodes()) == 2)
    copies[0].remove()
    t.widget("singan_tabs").setCurrentIndex(0)
    # the docs' screenshot: the picture itself on the canvas, the new group in the Layers docker
    group.setVisible(False)
    doc.setActiveNode(layer)
    doc.refreshProjection()
    yield 1.0
    t.screenshot("krita-docker.png")
    group.setVisible(True)

    # Harmonize a pasted object (a yellow disc on its own layer)
    disc = bytearray(W * H * 4)
    for y in range(H):
        for x in range(W):
            if (x - W // 2) ** 2 + (y - H * 2 // 3) ** 2 < (H // 6) ** 2:
                disc[(y * W + x) * 4:(y * W + x) * 4 + 4] = bytes([40, 220, 250, 255])
    paste = t.add_layer(doc, "pasted balloon", bytes(disc))
    yield 0.5
    yield from t.activate(doc, paste)
    yield from run_job(t, "singan_harmonize", "harmonizing", 120)
    harmonized = t.find_node(doc, "pasted balloon harmonized")
    t.require("a harmonized layer was added", harmonized is not None,
              [n[0] for n in t.nodes(doc.rootNode())])
    top = [n[0] for n in t.nodes(doc.rootNode()) if n[1] != "selectionmask"]
    t.check("it sits just above the paste", top.index("pasted balloon harmonized") ==
            top.index("pasted balloon") + 1, top)
    t.check("the harmonized layer is not blank", pixels_vary(bytes(harmonized.pixelData(0, 0, W, H)), 4))
    t.check("the paste layer is untouched", bytes(paste.pixelData(0, 0, W, H)) == bytes(disc))

    # Super-resolve the picture layer x2 into a new document
    yield from t.activate(doc, layer)
    t.widget("singan_factor").setValue(2.0)
    yield from run_job(t, "singan_upscale", "super-resolving", p["train_timeout"])
    big = t.find_document(f"{p['model_name']} x2")
    t.require("a new document holds the upscaled layer", big is not None,
              [d.name() for d in t.krita.documents()])
    t.check("it is twice the size", (big.width(), big.height()) == (2 * W, 2 * H), (big.width(), big.height()))
    big_layer = big.rootNode().childNodes()[-1]
    t.check("its layer is not blank", pixels_vary(bytes(big_layer.pixelData(0, 0, 2 * W, 2 * H)), 4))
    t.check("the source document kept its size", (doc.width(), doc.height()) == (W, H))
    t.check("the picture layer is untouched", bytes(layer.pixelData(0, 0, W, H)) == original)
