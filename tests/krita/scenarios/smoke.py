"""No backend: the plugin (installed by the installer, vendored wheels) loads, its docker
appears and says the backend is not running, actions explain themselves, nothing hangs."""


def run(t):
    import zmq

    t.check("zmq comes from the plugin's vendored wheels", "/pykrita/singan_krita/vendor/" in zmq.__file__,
            zmq.__file__)
    import msgpack

    t.check("msgpack comes from the vendored wheels", "/vendor/" in msgpack.__file__, msgpack.__file__)
    t.show_docker()
    t.window().qwindow().setGeometry(0, 0, 1500, 950)
    doc = t.new_document(64, 48, "smoke")
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
