"""Helpers shared by the scenarios (loaded by path, so imported with a path insert)."""

import struct


def setup_window(t):
    """A large main window with the SinGAN docker given room (no window manager here)."""
    from PyQt5.QtCore import Qt

    main = t.window().qwindow()
    main.setGeometry(0, 0, 1500, 950)
    layers = None
    for dock in t.krita.dockers():
        if dock.windowTitle() in ("Brush Presets", "Advanced Color Selector", "Tool Options"):
            dock.hide()
        if dock.windowTitle() == "Layers":
            layers = dock
    singan = t.show_docker()
    main.resizeDocks([singan], [430], Qt.Horizontal)
    if layers is not None:
        main.resizeDocks([layers, singan], [250, 670], Qt.Vertical)
    return singan


def open_picture(t, path, what="the picture", timeout=20):
    """Open `path` in the docker's window and wait for it: (document, width, height, layer)."""
    setup_window(t)
    doc = t.open_image(path)
    yield from t.wait(f"{what} to open", lambda: doc.activeNode() is not None, timeout)
    layer = doc.activeNode()
    t.note(f"opened {doc.width()}x{doc.height()}, layer {layer.name()!r}")
    return doc, doc.width(), doc.height(), layer


def start_backend(t, timeout=120):
    t.click("singan_start")
    yield from t.wait("the backend to connect",
                      lambda: (t.widget_text("singan_status") or "").startswith("Connected"), timeout)


def set_training(t, max_size, iters):
    presets = t.widget("singan_preset")
    presets.setCurrentIndex(presets.findData("quick"))
    t.widget("singan_max_size").setValue(max_size)
    t.widget("singan_iters").setValue(iters)


def generate_on_canvas(t, doc, model_name, count, seed, timeout):
    """Generate `count` variations at the docker's canvas size with `seed`: their group."""
    from singan_krita import options as opt

    t.widget("singan_tabs").setCurrentIndex(1)
    t.widget("singan_count").setValue(count)
    t.widget("singan_width").setValue(0)  # 0 = the canvas
    t.widget("singan_height").setValue(0)
    t.widget("singan_seed").setText(str(seed))
    yield from run_job(t, "singan_generate", "generating variations", timeout)
    group = t.find_node(doc, opt.variations_group_name(model_name, seed))
    t.require("the variations group is there", group is not None,
              [n[0] for n in t.nodes(doc.rootNode())])
    return group


def run_job(t, button, what, timeout, watch=None):
    """Click a button, wait until its job is done; `watch(t)` is polled while it runs and
    its first truthy answer is recorded (e.g. a progress bar seen moving)."""
    t.click(button)  # the request is sent (or refused with a message) before click() returns
    t.require(f"{what} started", t.controller().jobs, t.controller().message)
    t.gui_gap_ms(reset=True)
    seen = []

    def done():
        if watch is not None and not seen and watch(t):
            seen.append(True)
        return not t.controller().jobs

    yield from t.wait(f"{what} to finish", done, timeout)
    # a warning is a result with a caveat (paint: colours the model lacks), still a success
    t.require(f"{what} succeeded", t.controller().level != "error", t.controller().message)
    gap = t.gui_gap_ms()
    # a blocking socket call would stall for the whole job (seconds to hours); 2 s leaves
    # room for a loaded machine's hiccups
    t.check(f"Krita stayed responsive while {what} ({gap:.0f} ms longest stall)", gap < 2000, gap)
    return bool(seen)


def pixels_vary(data, pixel_bytes):
    """Not blank: some pixel differs from the first one."""
    first = data[:pixel_bytes]
    return any(data[i:i + pixel_bytes] != first for i in range(0, len(data), pixel_bytes * 7))


def opaque_u16(data):
    """Every alpha sample of BGRA U16 data is 65535."""
    alphas = struct.unpack(f"<{len(data) // 2}H", data)[3::4]
    return all(a == 65535 for a in alphas)


def clipped_widgets(root):
    """Widgets narrower (or a wrapped label lower) than their own text needs, on every tab
    of the docker: [(tab, kind, name or text, has, needs)]."""
    from PyQt5.QtWidgets import (
        QAbstractSpinBox,
        QApplication,
        QCheckBox,
        QLabel,
        QPushButton,
        QTabWidget,
    )

    tabs = root.findChild(QTabWidget, "singan_tabs")
    found = []
    for index in range(tabs.count()):
        tabs.setCurrentIndex(index)
        QApplication.processEvents()
        for widget in root.findChildren((QLabel, QPushButton, QCheckBox, QAbstractSpinBox)):
            if not widget.isVisibleTo(root):
                continue
            name = widget.objectName() or getattr(widget, "text", lambda: "")()
            if isinstance(widget, QLabel) and widget.wordWrap():
                need = widget.heightForWidth(widget.width())
                if widget.height() + 1 < need:
                    found.append((tabs.tabText(index), "label height", name, widget.height(), need))
            elif widget.width() + 1 < widget.sizeHint().width():
                found.append((tabs.tabText(index), type(widget).__name__, name, widget.width(),
                              widget.sizeHint().width()))
    tabs.setCurrentIndex(0)
    return found
