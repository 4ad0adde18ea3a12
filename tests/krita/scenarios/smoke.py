"""Without a backend: the plugin (installed by the installer, vendored wheels) loads, its docker
appears and says the backend is not running, actions explain themselves, nothing hangs; at
Krita's default layout no widget of the docker is clipped. Then a backend started outside
Krita is adopted, and stopped when Krita quits."""

import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from _common import clipped_widgets  # noqa: E402


def run(t):
    import zmq

    t.check("zmq comes from the plugin's vendored wheels", "/pykrita/singan_krita/vendor/" in zmq.__file__,
            zmq.__file__)
    import msgpack

    t.check("msgpack comes from the vendored wheels", "/vendor/" in msgpack.__file__, msgpack.__file__)
    dock = t.show_docker()
    t.window().qwindow().setGeometry(0, 0, 1500, 950)
    doc = t.new_document(64, 48, "smoke")
    yield 1.0
    # Krita's default layout: the docker squeezed under the Layers docker
    t.note(f"docker at Krita's default layout: {dock.width()} x {dock.height()} px")
    clipped = clipped_widgets(dock.widget().widget())
    t.check("nothing in the docker is clipped at its default size", not clipped, clipped)
    train, scroll = t.widget("singan_train"), dock.widget()
    bottom = train.mapTo(scroll.viewport(), train.rect().bottomLeft()).y()
    t.check("the Train button is in view without scrolling", bottom <= scroll.viewport().height(),
            (bottom, scroll.viewport().height()))
    t.screenshot("krita-docker-default.png")
    t.add_layer(doc, "red", bytes([0, 0, 255, 255]) * (64 * 48))
    yield from t.wait("the docker says the backend is not running",
                      lambda: "not running" in (t.widget_text("singan_status") or ""), 15)
    train = t.widget("singan_train")
    t.check("Train is disabled without a backend", not train.isEnabled())
    t.check("its tooltip says why", "Start the backend" in train.toolTip(), train.toolTip())
    t.check("the Start backend button is offered", t.widget("singan_start").isEnabled())
    t.krita.action("singan_train").trigger()
    yield 0.3
    message = t.widget_text("singan_message") or ""
    t.check("Tools > SinGAN > Train says what to do", "not running" in message, message)
    yield 0.5
    t.screenshot("smoke.png")

    # A backend this Krita did not start, as one left running by a crashed Krita: the docker
    # adopts it, and Krita stops it when it quits (the runner fails a backend that outlives
    # Krita), since the painter did not tick "Keep it running"
    import subprocess

    from singan_krita.backend_process import backend_env

    ctl = t.controller()
    subprocess.Popen(ctl.process.argv, env=backend_env(ctl.process.extra_env),
                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                     stderr=subprocess.DEVNULL, start_new_session=True)
    yield from t.wait("the docker to adopt a backend it did not start",
                      lambda: (t.widget_text("singan_status") or "").startswith("Connected"), 120)
    t.check("this Krita did not start it", not ctl.process.running)
    t.check("it will be stopped at quit", not t.widget("singan_keep_backend").isChecked())
