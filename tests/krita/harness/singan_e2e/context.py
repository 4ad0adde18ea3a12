"""What a scenario can do: wait without blocking, check and record, reach the docker and
its widgets, make documents and read their layers, take screenshots."""

import json
import os
import sys
import time

from krita import Krita
from PyQt5.QtWidgets import QWidget


class ScenarioFailure(Exception):
    """A required check failed or a wait timed out: the scenario stops here."""


class Context:
    def __init__(self, results):
        self.results = results
        self.krita = Krita.instance()
        self.artifacts = os.environ.get("SINGAN_E2E_ARTIFACTS", ".")
        self.params = json.loads(os.environ.get("SINGAN_E2E_PARAMS") or "{}")
        self.results["timings"] = {}

    # ---- recording -----------------------------------------------------------------

    def note(self, text):
        self.results["notes"].append(str(text))

    def check(self, name, ok, detail=""):
        self.results["checks"].append({"name": name, "ok": bool(ok), "detail": str(detail)})
        self.save()
        return bool(ok)

    def save(self):
        """Write what is known so far: if Krita crashes, the test still sees how far it got."""
        with open(os.environ["SINGAN_E2E_RESULT"], "w", encoding="utf-8") as out:
            json.dump(self.results, out, indent=2)

    def require(self, name, ok, detail=""):
        if not self.check(name, ok, detail):
            raise ScenarioFailure(f"{name}: {detail}")

    def gui_gap_ms(self, reset=False):
        """Longest stall of Krita's GUI thread (ms over a 50 ms timer) since the last reset."""
        gap = self.results["max_gui_gap_ms"]
        if reset:
            self.results["max_gui_gap_ms"] = 0.0
        return gap

    def wait(self, what, predicate, timeout=30.0, interval=0.1):
        """`value = yield from t.wait(...)`: polls without blocking Krita."""
        start = time.monotonic()
        last_error = ""
        while True:
            try:
                value = predicate()
            except Exception as exc:  # a widget or node not there yet
                value, last_error = None, repr(exc)
            if value:
                self.results["timings"][what] = round(time.monotonic() - start, 2)
                return value
            if time.monotonic() - start > timeout:
                message = self.widget_text("singan_message")
                raise ScenarioFailure(f"timed out after {timeout:.0f} s waiting for {what} "
                                      f"(docker message: {message!r}; status: "
                                      f"{self.widget_text('singan_status')!r}) {last_error}")
            yield interval

    # ---- the plugin --------------------------------------------------------------------

    def window(self):
        return self.krita.activeWindow()

    def docker(self):
        for dock in self.krita.dockers():
            if dock.windowTitle() == "SinGAN":
                return dock
        return None

    def show_docker(self):
        dock = self.docker()
        self.require("the SinGAN docker exists", dock is not None)
        dock.show()
        dock.raise_()
        return dock

    def widget(self, name):
        dock = self.docker()
        return dock.findChild(QWidget, name) if dock is not None else None

    def widget_text(self, name):
        widget = self.widget(name)
        return widget.text() if widget is not None and hasattr(widget, "text") else None

    def click(self, name):
        button = self.widget(name)
        self.require(f"button {name} is enabled", button is not None and button.isEnabled(),
                     button.toolTip() if button is not None else "missing")
        button.click()

    def controller(self):
        return sys.modules["singan_krita.ui.docker"].SinGANDocker.controller

    def jobs_running(self):
        return len(self.controller().jobs)

    # ---- documents -------------------------------------------------------------------

    def show(self, doc):
        self.window().addView(doc)
        return doc

    def open_image(self, path):
        doc = self.krita.openDocument(path)
        self.require(f"Krita opened {path}", doc is not None)
        return self.show(doc)

    def new_document(self, width, height, name, model="RGBA", depth="U8"):
        doc = self.krita.createDocument(width, height, name, model, depth, "", 300.0)
        return self.show(doc)

    def add_layer(self, doc, name, data, x=0, y=0, width=None, height=None, above=None):
        node = doc.createNode(name, "paintlayer")
        node.setPixelData(data, x, y, width or doc.width(), height or doc.height())
        doc.rootNode().addChildNode(node, above)
        doc.setActiveNode(node)
        return node

    def activate(self, doc, node, timeout=10.0):
        """`yield from t.activate(doc, node)`: makes `node` the active layer and waits until
        the docker sees it. Asked again at every poll: once, right after the docker had
        added a layer, Krita left the request unanswered for the whole 10 s (the workflow
        scenario, after harmonize), and the docker reads the active layer on every tick."""
        def active():
            if self.controller().doc.layer == node.name():
                return True
            doc.setActiveNode(node)
            return False

        doc.setActiveNode(node)  # first: the docker may still show this layer from before
        yield from self.wait(f"{node.name()} to be active", active, timeout)

    def nodes(self, parent):
        """[(name, type, node)] of the children, bottom first."""
        return [(n.name(), n.type(), n) for n in parent.childNodes()]

    def find_node(self, doc, name):
        stack = list(doc.rootNode().childNodes())
        while stack:
            node = stack.pop()
            if node.name() == name:
                return node
            stack.extend(node.childNodes())
        return None

    def find_document(self, name):
        for doc in self.krita.documents():
            if doc.name() == name:
                return doc
        return None

    # ---- pictures --------------------------------------------------------------------

    def screenshot(self, filename, widget=None):
        """Grab the main window (or a widget) to a PNG in the artifacts folder."""
        target = widget or self.window().qwindow()
        path = os.path.join(self.artifacts, filename)
        ok = target.grab().save(path, "PNG")
        self.check(f"screenshot {filename} saved", ok, path)
        return path

    def cleanup(self):
        pass
