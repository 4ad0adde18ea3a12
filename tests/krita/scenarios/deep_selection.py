"""A 16-bit document with a selection: Train on the selection (the model takes its size),
Generate one 16-bit variation, Edit selection (the layer re-generated where selected); new
layers 16-bit, opaque and not blank; the painter's layer untouched. Then Animate five times
as frames in a group (the default): Krita must exit 0, nothing is saved."""

import os
import struct
import sys

sys.path.insert(0, os.path.dirname(__file__))
from _common import opaque_u16, pixels_vary, run_job, set_training, setup_window, start_backend  # noqa: E402
from krita import Selection  # noqa: E402


def run(t):
    p = t.params
    setup_window(t)
    W, H = 64, 56
    doc = t.new_document(W, H, "deep", "RGBA", "U16")
    data = b"".join(struct.pack("<4H", (x * 1365) % 65536, (y * 1600) % 65536, 30000 + 500 * ((x // 4 + y // 4) % 2), 65535)
                    for y in range(H) for x in range(W))
    layer = t.add_layer(doc, "texture", data)
    selection = Selection()
    selection.select(8, 8, 40, 32, 255)
    doc.setSelection(selection)
    yield from t.wait("the docker to see the selection", lambda: t.controller().doc.has_selection, 10)
    t.check("the layer is 16-bit", (layer.colorModel(), layer.colorDepth()) == ("RGBA", "U16"))

    yield from start_backend(t)
    set_training(t, p["max_size"], p["iters"])
    yield from run_job(t, "singan_train", "training on the selection", p["train_timeout"])
    yield from t.wait("the model in the list", lambda: t.controller().selected_model() is not None, 10)
    model = t.controller().selected_model()
    t.check("the model was trained on the selection's bounds", (model["width"], model["height"]) == (40, 32),
            (model["width"], model["height"]))

    t.widget("singan_count").setValue(1)
    t.widget("singan_width").setValue(0)
    t.widget("singan_height").setValue(0)
    t.widget("singan_seed").setText("3")
    yield from run_job(t, "singan_generate", "generating a 16-bit variation", 120)
    group = t.find_node(doc, f"{model['name']} · seed 3")
    t.require("the variation group exists", group is not None, [n[0] for n in t.nodes(doc.rootNode())])
    child = group.childNodes()[0]
    pixels = bytes(child.pixelData(0, 0, W, H))
    t.check("the variation is 16-bit", child.colorDepth() == "U16", child.colorDepth())
    t.check("the variation is the canvas size", (child.bounds().width(), child.bounds().height()) == (W, H))
    t.check("the variation is opaque", opaque_u16(pixels))
    t.check("the variation is not blank", pixels_vary(pixels, 8))

    yield from t.activate(doc, layer)
    yield from run_job(t, "singan_edit", "editing the selection", 120)
    edited = t.find_node(doc, "texture edited")
    t.require("an edited layer was added", edited is not None, [n[0] for n in t.nodes(doc.rootNode())])
    box = edited.bounds()
    t.check("the edit covers the layer", (box.x(), box.y(), box.width(), box.height()) == (0, 0, W, H),
            (box.x(), box.y(), box.width(), box.height()))
    t.check("the edited layer is not blank", pixels_vary(bytes(edited.pixelData(0, 0, W, H)), 8))
    t.check("the texture layer is untouched", bytes(layer.pixelData(0, 0, W, H)) == data)

    # Animate, five times with the default: frames as layers in a group, the path that cannot
    # crash Krita (the animated-layer opt-in has its own scenario, animated_layer.py)
    t.widget("singan_frames").setValue(3)
    t.check("Animate defaults to layers in a group", not t.widget("singan_animated_layer").isChecked())
    for attempt in range(1, 6):
        yield from run_job(t, "singan_animate", f"animating as layers ({attempt}/5)", 120)
        movie = t.find_document(f"{model['name']} animation")
        t.require("a new document holds the frames", movie is not None, [d.name() for d in t.krita.documents()])
        group = t.find_node(movie, f"{model['name']} animation frames")
        t.require("the frames are layers in a group", group is not None, [n[0] for n in t.nodes(movie.rootNode())])
        frames = [n.name() for n in group.childNodes()]
        t.check(f"three frames ({attempt})", sorted(frames) == ["frame 1", "frame 2", "frame 3"], frames)
        t.check(f"the animation is the model's size ({attempt})", (movie.width(), movie.height()) == (40, 32),
                (movie.width(), movie.height()))
        t.check(f"the animation was not saved anywhere ({attempt})", not movie.fileName(), movie.fileName())
        movie.setModified(False)
        movie.close()
        yield 0.5
    t.check("the painter's document was not saved by Animate", not doc.fileName(), doc.fileName())
