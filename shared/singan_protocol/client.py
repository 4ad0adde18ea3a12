"""A small ZeroMQ DEALER client that a Qt event loop can drive without ever blocking.

The Krita plugin watches `client.fd` with a QSocketNotifier and calls `poll_events()` after
every notification and every `request()` (the FD is edge-triggered: see KRITA_NOTES.md).
The CLI and tests use the blocking helpers `wait()` and `call()`.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import zmq

from .connection import ConnectionInfo, default_connection_file, read_connection_file
from .messages import FINAL_EVENTS
from .payload import ImagePayload
from .wire import PROTOCOL_VERSION, ProtocolError, Signer, decode, encode

log = logging.getLogger(__name__)
MAX_BACKLOG = 10_000  # events held for other requests while wait() looks for one


@dataclass
class Event:
    msg_type: str  # "reply", "accepted", "progress", "result", "error", "cancelled", "heartbeat"
    parent_id: str | None  # msg_id of the request this answers; None for heartbeats
    body: dict
    images: list[ImagePayload] = field(default_factory=list)
    msg_id: str = ""
    date: float = 0.0

    @property
    def is_final(self) -> bool:
        return self.msg_type in FINAL_EVENTS


class RemoteError(ProtocolError):
    """The backend answered with an `error` event; `.code` is its stable code."""

    def __init__(self, event: Event):
        super().__init__(str(event.body.get("message", "unknown error")),
                         str(event.body.get("code", "internal")))
        self.event = event
        self.job_id = event.body.get("job_id")


class BackendSilent(ProtocolError):
    """wait(silence_s=...) heard nothing from the backend, not even a heartbeat: it is gone."""

    def __init__(self, silent_s: float, events: list[Event]):
        super().__init__(f"the backend sent nothing for {silent_s:.0f} s, not even a heartbeat",
                         "unreachable")
        self.events = events  # this request's events received before the silence


class Client:
    def __init__(self, info: ConnectionInfo, context: zmq.Context | None = None):
        self.info = info
        self.signer = Signer(info.key)
        self.context = context or zmq.Context.instance()
        self.socket = self.context.socket(zmq.DEALER)
        self.socket.setsockopt(zmq.LINGER, 0)  # close() never waits for an absent backend
        if info.curve_server_key:  # a backend beyond loopback: encrypted, with a fresh key pair
            public, secret = zmq.curve_keypair()
            self.socket.curve_serverkey = info.curve_server_key.encode("ascii")
            self.socket.curve_publickey, self.socket.curve_secretkey = public, secret
        self.socket.connect(info.url)  # returns at once; ZeroMQ connects in the background
        self._backlog: deque[Event] = deque(maxlen=MAX_BACKLOG)
        self.last_heard = time.monotonic()  # when the backend last sent a valid message
        self.dropped = 0  # events with a bad signature or shape, dropped and logged

    @classmethod
    def from_file(cls, path: str | None = None, context: zmq.Context | None = None) -> Client:
        return cls(read_connection_file(path or default_connection_file()), context)

    @property
    def fd(self) -> int:
        """The socket's FD for a QSocketNotifier (Read). Edge-triggered: drain on every wake."""
        return self.socket.getsockopt(zmq.FD)

    def request(self, msg_type: str, body: dict | None = None,
                images: Sequence[ImagePayload] = ()) -> str:
        """Send a request without blocking; returns its msg_id (the parent_id of its events)."""
        for img in images:
            img.validate(None)  # catch a wrong byte count here, not as an error event later
        msg_id, frames = encode(self.signer, msg_type, body or {}, images)
        try:
            # copy=False: pixel frames go to ZeroMQ by reference, not copied into Python bytes
            self.socket.send_multipart(frames, flags=zmq.NOBLOCK, copy=False)
        except zmq.Again:
            raise ProtocolError("the backend is not reading its messages (send queue full)",
                                "unreachable") from None
        return msg_id

    def poll_events(self) -> list[Event]:
        """Every event ready now, oldest first. Never blocks."""
        self._drain()
        events = list(self._backlog)
        self._backlog.clear()
        return events

    def wait(self, msg_id: str, timeout_s: float | None = None,
             on_event: Callable[[Event], None] | None = None,
             silence_s: float | None = None) -> list[Event]:
        """Block until the final event for `msg_id`; return all of its events in order.

        Events of other requests stay queued for the next poll_events(). Raises TimeoutError.
        `on_event` sees each event of this request as it arrives (a CLI progress bar).
        With `silence_s`, a quiet backend is pinged (a `heartbeat` request, three times per
        silence_s) and BackendSilent is raised once it has sent nothing for silence_s: a
        killed backend never leaves the caller waiting forever.
        """
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        got: list[Event] = []
        pings: set[str] = set()  # our heartbeat requests: their replies are ours to drop
        self.last_heard = last_ping = time.monotonic()
        while True:
            self._drain()
            keep: deque[Event] = deque(maxlen=MAX_BACKLOG)
            final = False
            while self._backlog:
                ev = self._backlog.popleft()
                if ev.parent_id in pings:
                    continue
                if final or ev.parent_id != msg_id:
                    keep.append(ev)
                    continue
                got.append(ev)
                if on_event is not None:
                    on_event(ev)
                final = ev.is_final
            self._backlog = keep
            if final:
                return got
            wait_ms = 1000 if deadline is None else int(1000 * (deadline - time.monotonic()))
            if wait_ms <= 0:
                raise TimeoutError(f"no final answer to {msg_id} within {timeout_s} s")
            if silence_s is not None:
                now = time.monotonic()
                if now - self.last_heard > silence_s:
                    raise BackendSilent(now - self.last_heard, got)
                if min(now - self.last_heard, now - last_ping) > silence_s / 3:
                    last_ping = now
                    try:
                        pings.add(self.request("heartbeat"))
                    except ProtocolError:  # send queue full: the silence decides
                        pass
                wait_ms = min(wait_ms, 250)
            self.socket.poll(min(wait_ms, 1000), zmq.POLLIN)

    def call(self, msg_type: str, body: dict | None = None,
             images: Sequence[ImagePayload] = (), timeout_s: float | None = 30.0,
             on_event: Callable[[Event], None] | None = None) -> Event:
        """request() + wait(); returns the final event and raises RemoteError for `error`."""
        events = self.wait(self.request(msg_type, body, images), timeout_s, on_event)
        final = events[-1]
        if final.msg_type == "error":
            raise RemoteError(final)
        return final

    def hello(self, client: str = "singan_protocol", timeout_s: float = 10.0) -> dict:
        """Version check; returns the reply body or raises RemoteError (version_mismatch)."""
        return self.call("hello", {"client": client, "version": PROTOCOL_VERSION},
                         timeout_s=timeout_s).body

    def close(self) -> None:
        self.socket.close(linger=0)

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _drain(self) -> None:
        while self.socket.getsockopt(zmq.EVENTS) & zmq.POLLIN:
            try:
                frames = self.socket.recv_multipart(zmq.NOBLOCK, copy=False)
            except zmq.Again:
                break
            try:
                msg = decode(self.signer, frames)
            except ProtocolError as e:
                self.dropped += 1
                log.warning("dropped a message from the backend: %s", e.message)
                continue
            self.last_heard = time.monotonic()
            self._backlog.append(Event(msg.msg_type, msg.parent_id, msg.body, msg.images,
                                       msg.msg_id, msg.date))
