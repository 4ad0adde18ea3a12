"""Test doubles for the plugin's pure logic: a scripted backend client, a manual clock,
and an adapter that records what would have happened to Krita documents."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from singan_krita.availability import DocState
from singan_krita.layers import LayerRead, PasteRead, Placement
from singan_krita.pixels import PixelFormat
from singan_krita.settings import PluginSettings
from singan_protocol import ConnectionInfo, Event, ImagePayload

SETTINGS = PluginSettings(backend_command=("python", "-m", "singan_backend.server", "serve"))


class Clock:
    def __init__(self, now: float = 1000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def info(key: str = "k1", port: int = 5555, pid: int = 42, version: str = "1.0") -> ConnectionInfo:
    return ConnectionInfo("tcp", "127.0.0.1", port, key, pid, version, "/models")


class FakeClient:
    """Records requests; events are queued by the test with `push`."""

    ids = itertools.count(1)

    def __init__(self, info):
        self.info = info
        self.sent: list[tuple[str, str, dict, list]] = []
        self.queue: list[Event] = []
        self.closed = False
        self.fd = 99
        self.instant: dict[str, tuple] = {}  # msg_type -> (event type, body, images)

    def request(self, msg_type, body=None, images=()):
        msg_id = f"m{next(self.ids)}"
        self.sent.append((msg_id, msg_type, dict(body or {}), list(images)))
        if msg_type in self.instant:  # the answer is readable before request() returns
            self.push(msg_type=self.instant[msg_type][0], parent_id=msg_id,
                      body=self.instant[msg_type][1], images=self.instant[msg_type][2])
        return msg_id

    def answer_at_once(self, msg_type, reply_type, body=None, images=()):
        """Make the next requests of `msg_type` answered during the send itself."""
        self.instant[msg_type] = (reply_type, body, images)

    def poll_events(self):
        events, self.queue = self.queue, []
        return events

    def close(self):
        self.closed = True

    def push(self, msg_type, parent_id, body=None, images=()):
        self.queue.append(Event(msg_type, parent_id, dict(body or {}), list(images)))

    def last(self, msg_type):
        return next(s for s in reversed(self.sent) if s[1] == msg_type)


class Backend:
    """A connection file + a set of live pids, as Connection sees them."""

    def __init__(self):
        self.info: ConnectionInfo | None = None
        self.alive_pids: set[int] = set()
        self.clients: list[FakeClient] = []

    def start(self, **kwargs) -> ConnectionInfo:
        self.info = info(**kwargs)
        self.alive_pids.add(self.info.pid)
        return self.info

    def stop(self) -> None:
        if self.info:
            self.alive_pids.discard(self.info.pid)
        self.info = None

    def read(self, path):
        if self.info is None:
            raise FileNotFoundError(path)
        return self.info

    def alive(self, pid):
        return pid in self.alive_pids

    def factory(self, info):
        client = FakeClient(info)
        self.clients.append(client)
        return client

    @property
    def client(self) -> FakeClient:
        return self.clients[-1]


def image(width=4, height=3, order="BGRA", sample="u8", fill=7) -> ImagePayload:
    channels = {"BGRA": 4, "RGBA": 4, "RGB": 3, "GRAY": 1}[order]
    size = {"u8": 1, "u16": 2, "f16": 2, "f32": 4}[sample]
    return ImagePayload.of(width, height, order, sample, bytes([fill]) * (width * height * channels * size))


@dataclass
class FakeAdapter:
    doc: DocState = field(default_factory=lambda: DocState(
        document="doc1", name="sunset.kra", canvas=(64, 48), layer="Background",
        layer_type="paintlayer", has_layer_below=True))
    fmt: PixelFormat = PixelFormat("RGBA", "U8")
    added: list = field(default_factory=list)  # (place, names, group, hidden, images)
    documents: list = field(default_factory=list)  # (name, image, fmt)
    animations: list = field(default_factory=list)
    fail_with: Exception | None = None
    layer_size: tuple = (4, 3)  # px of what read_layer returns
    settings: dict = field(default_factory=dict)  # Krita's settings, group "singan"

    animated_layer_refused: str | None = None  # the adapter's animated_layer_problem()

    def animated_layer_problem(self):
        return self.animated_layer_refused

    def read_setting(self, name) -> str:
        return self.settings.get(name, "")

    def write_setting(self, name, value) -> None:
        self.settings[name] = value

    def place(self, x=0, y=0) -> Placement:
        return Placement("DOC", self.doc.document, self.doc.name, "NODE", x, y, self.fmt)

    def doc_state(self) -> DocState:
        return self.doc

    def placement(self) -> Placement:
        return self.place()

    def read_layer(self, use_selection=True, with_mask=False) -> LayerRead:
        if self.fail_with:
            raise self.fail_with
        mask = image(order="GRAY", fill=255) if with_mask else None
        return LayerRead(self.place(2, 3), self.doc.layer, image(*self.layer_size), mask)

    def read_paste(self) -> PasteRead:
        return PasteRead(self.place(), "paste", image(fill=1), image(order="GRAY", fill=255),
                         image(fill=2))

    def add_layers(self, place, images, names, group=None, hidden=()) -> None:
        if self.fail_with:
            raise self.fail_with
        self.added.append((place, list(names), group, tuple(hidden), list(images)))

    def new_document(self, name, image, fmt) -> None:
        self.documents.append((name, image, fmt))

    def new_animation(self, name, frames, fps, fmt, animated_layer=False) -> str:
        self.animations.append((name, len(frames), fps, animated_layer))
        return "as an animated layer" if animated_layer else "as layers in a group"
