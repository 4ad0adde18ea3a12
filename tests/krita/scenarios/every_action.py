"""Every docker action, with the docker's defaults, in one Krita session on a large photo
(benchmarks/krita_every_action.py runs this, issue 15): train a small model, then Generate
variations, Instant, Harmonize paste layer, Edit selection, Paint to image, Super-resolve
layer and Animate (few frames). Records for each: finished, seconds, the result's size and
its docker message in results["actions"], and saves each result as a PNG in the artifacts.
An action that fails is recorded and the next one still runs; the photo is never saved."""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from _common import open_picture, run_job, set_training, start_backend  # noqa: E402

PIECE = (300, 200)  # the pasted piece for Harmonize, px


def save_png(t, node, width, height, name, x=0, y=0):
    """A BGRA U8 layer as a PNG (QImage's ARGB32 is B, G, R, A in memory on little-endian)."""
    from PyQt5.QtGui import QImage

    data = bytes(node.pixelData(x, y, width, height))
    image = QImage(data, width, height, 4 * width, QImage.Format_ARGB32).copy()
    path = os.path.join(t.artifacts, name)
    return name if image.save(path, "PNG") else ""


def action(t, name, button, timeout, result):
    """Run one action; `result()` -> (size text, png name) once it is done. Never raises:
    a failure is recorded and the scenario goes on to the next action."""
    record = {"action": name, "ok": False, "seconds": None, "size": "", "png": "",
              "message": ""}
    t.results.setdefault("actions", []).append(record)
    start = time.monotonic()
    try:
        yield from run_job(t, button, name, timeout)
        record["seconds"] = round(time.monotonic() - start, 1)
        record["size"], record["png"] = result()
        record["ok"] = bool(record["png"])
    except Exception as exc:  # noqa: BLE001 - ScenarioFailure or a missing node: record it
        record["seconds"] = round(time.monotonic() - start, 1)
        record["error"] = str(exc)
    record["message"] = t.controller().message
    t.save()
    # saving a large PNG above blocks the GUI thread: let the stall meter see it here, not
    # count it against the next action's responsiveness
    yield 0.5
    # a failed job may still be listed: the next click would be refused while it runs
    yield from t.wait(f"{name}: no job left", lambda: not t.controller().jobs, timeout)


def hide(t, doc, *names):
    """Hide these layers (where they exist): the next action reads the photo, not them."""
    for name in names:
        node = t.find_node(doc, name)
        if node is not None:
            node.setVisible(False)


def group_result(t, doc, group_name, prefix):
    def result():
        group = t.find_node(doc, group_name)
        t.require(f"the group {group_name!r} is there", group is not None,
                  [n[0] for n in t.nodes(doc.rootNode())])
        first = list(reversed(group.childNodes()))[0]
        box = first.bounds()
        png = save_png(t, first, doc.width(), doc.height(), f"{prefix}.png")
        return f"{len(group.childNodes())} x {box.width()}x{box.height()}", png
    return result


def layer_result(t, doc, layer_name, prefix):
    def result():
        node = t.find_node(doc, layer_name)
        t.require(f"the layer {layer_name!r} is there", node is not None,
                  [n[0] for n in t.nodes(doc.rootNode())])
        box = node.bounds()
        return f"{box.width()}x{box.height()}", save_png(t, node, doc.width(), doc.height(),
                                                         f"{prefix}.png")
    return result


def strokes(width, height):
    """A sketch: flat colour strokes (sky band, green band, brown path) on a clear layer."""
    data = bytearray(width * height * 4)
    bands = ((0, height // 3, (230, 190, 140)), (height // 3, height, (40, 120, 50)))  # BGR
    for top, bottom, bgr in bands:
        row = bytes([*bgr, 255]) * width
        for y in range(top, bottom):
            data[y * width * 4:(y + 1) * width * 4] = row
    for y in range(height // 2, height):  # a widening brown path up the middle
        half = (y - height // 2) * width // (3 * height) + 20
        x0, x1 = width // 2 - half, width // 2 + half
        data[(y * width + x0) * 4:(y * width + x1) * 4] = bytes([40, 80, 130, 255]) * (x1 - x0)
    return bytes(data)


def run(t):
    p = t.params
    doc, W, H, photo = yield from open_picture(t, p["image"], "the photo", 30)
    t.results["photo_size"] = f"{W}x{H}"
    yield from start_backend(t)
    set_training(t, p["max_size"], p["iters"])

    # ---- train (required: the others need its model) --------------------------------
    start = time.monotonic()
    yield from run_job(t, "singan_train", "training", p["train_timeout"])
    yield from t.wait("the model in the list", lambda: t.controller().selected_model(), 10)
    model = t.controller().selected_model()
    t.results["actions"] = [{"action": "Train on current layer", "ok": True,
                             "seconds": round(time.monotonic() - start, 1),
                             "size": f"model {model['width']}x{model['height']}, "
                                     f"{model.get('num_scales')} scales",
                             "png": "", "message": t.controller().message}]
    t.save()
    job = p["job_timeout"]

    # ---- Generate variations: the docker's defaults (count, canvas size, random seed) --
    t.widget("singan_tabs").setCurrentIndex(1)
    before = {n.name() for n in doc.rootNode().childNodes()}

    def generated():
        new = [n for n in doc.rootNode().childNodes() if n.name() not in before]
        t.require("a variations group was added", new, [n[0] for n in t.nodes(doc.rootNode())])
        return group_result(t, doc, new[0].name(), "generate")()

    yield from action(t, "Generate variations", "singan_generate", job, generated)

    # ---- Instant (no model): the photo layer ----------------------------------------
    yield from t.activate(doc, photo)
    before = {n.name() for n in doc.rootNode().childNodes()}

    def instant():
        new = [n for n in doc.rootNode().childNodes() if n.name() not in before]
        t.require("an instant group was added", new, [n[0] for n in t.nodes(doc.rootNode())])
        return group_result(t, doc, new[0].name(), "instant")()

    yield from action(t, "Instant (no model)", "singan_instant", job, instant)

    # hide the results so far: the next actions read the photo, not the variations
    for node in doc.rootNode().childNodes():
        if node.type() == "grouplayer":
            node.setVisible(False)

    # ---- Harmonize: a 300 x 200 piece of the photo's top-left pasted low in the middle -
    t.widget("singan_tabs").setCurrentIndex(2)
    pw, ph = PIECE
    piece = bytes(photo.pixelData(40, 40, pw, ph))
    paste = t.add_layer(doc, "pasted piece", piece, x=(W - pw) // 2, y=H - ph - 80,
                        width=pw, height=ph)
    yield from t.activate(doc, paste)
    yield from action(t, "Harmonize paste layer", "singan_harmonize", job,
                      layer_result(t, doc, "pasted piece harmonized", "harmonize"))
    hide(t, doc, "pasted piece", "pasted piece harmonized")

    # ---- Edit selection: a rectangle on the photo layer ------------------------------
    from krita import Selection

    yield from t.activate(doc, photo)
    selection = Selection()
    selection.select(W // 3, H // 3, W // 4, H // 4, 255)
    doc.setSelection(selection)
    yield from t.wait("the selection", lambda: t.controller().doc.has_selection, 10)
    yield from action(t, "Edit selection", "singan_edit", job,
                      layer_result(t, doc, f"{photo.name()} edited", "edit"))
    doc.setSelection(Selection())  # an empty one: Paint and Super-resolve take the layer
    hide(t, doc, f"{photo.name()} edited", f"{photo.name()} edited (unmasked)")

    # ---- Paint to image: a layer of flat colour strokes ------------------------------
    sketch = t.add_layer(doc, "sketch", strokes(W, H))
    yield from t.activate(doc, sketch)
    yield from action(t, "Paint to image", "singan_paint", job,
                      layer_result(t, doc, "sketch as image", "paint"))
    hide(t, doc, "sketch", "sketch as image")

    # ---- Super-resolve layer (x2, the docker's default): a new document --------------
    yield from t.activate(doc, photo)
    yield from t.wait("no selection", lambda: not t.controller().doc.has_selection, 10)
    known = {d.name() for d in t.krita.documents()}

    def upscaled():
        new = [d for d in t.krita.documents() if d.name() not in known]
        t.require("a new document was opened", new, [d.name() for d in t.krita.documents()])
        big = new[0]
        node = big.rootNode().childNodes()[-1]
        return (f"doc {big.width()}x{big.height()}",
                save_png(t, node, big.width(), big.height(), "upscale.png"))

    yield from action(t, "Super-resolve layer", "singan_upscale", p["upscale_timeout"], upscaled)

    # ---- Animate: a few frames, as layers in a group of a new document --------------
    t.widget("singan_frames").setValue(p["frames"])
    known = {d.name() for d in t.krita.documents()}

    def animated():
        new = [d for d in t.krita.documents() if d.name() not in known]
        t.require("a new document was opened", new, [d.name() for d in t.krita.documents()])
        movie = new[0]
        groups = [n for n in movie.rootNode().childNodes() if n.type() == "grouplayer"]
        t.require("the frames are in a group", groups, [n[0] for n in t.nodes(movie.rootNode())])
        frames = list(reversed(groups[0].childNodes()))
        png = save_png(t, frames[0], movie.width(), movie.height(), "animate-1.png")
        save_png(t, frames[-1], movie.width(), movie.height(), f"animate-{len(frames)}.png")
        return f"{len(frames)} frames {movie.width()}x{movie.height()}", png

    yield from action(t, "Animate", "singan_animate", job, animated)

    t.check("the photo document kept its size", (doc.width(), doc.height()) == (W, H))
    yield 1.0
    t.screenshot("window-end.png")
