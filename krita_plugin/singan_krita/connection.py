"""The connection to the backend as a small state machine, driven from outside by `tick()`
(a timer) and `on_readable()` (the socket notifier). It never blocks: requests are queued
by ZeroMQ, answers are drained whenever the socket's FD fires and after every send.

States: not running -> (starting) -> connecting (hello sent) -> connected, or version
mismatch. A backend that stops or restarts is noticed through its connection file, its
pid and heartbeats, and the connection starts over by itself.
"""

from __future__ import annotations

import enum
import logging
import time
from collections.abc import Callable

from singan_protocol import PROTOCOL_VERSION, ProtocolError, pid_alive, read_connection_file

from .errors import UserFacingError
from .settings import PluginSettings

log = logging.getLogger(__name__)


class State(enum.Enum):
    NOT_RUNNING = "not running"
    STARTING = "starting"
    CONNECTING = "connecting"
    CONNECTED = "connected"
    VERSION_MISMATCH = "version mismatch"


def _major(version: str) -> str:
    return str(version).split(".", 1)[0]


class Connection:
    def __init__(self, settings: PluginSettings, path: str, client_factory: Callable,
                 clock: Callable[[], float] = time.monotonic,
                 alive: Callable[[int], bool] = pid_alive,
                 read_info: Callable = read_connection_file):
        self.settings = settings
        self.path = path
        self.client_factory = client_factory
        self.clock = clock
        self.alive = alive
        self.read_info = read_info
        self.state = State.NOT_RUNNING
        self.message = "The backend is not running."
        self.server: dict = {}  # the hello reply: version, server, device
        self.client = None
        self.info = None
        self.on_event: Callable = lambda event: None  # events of requests made through us
        self.on_state: Callable = lambda: None  # after every change of state
        self.on_fd: Callable = lambda fd: None  # new socket FD, or None before it closes
        self._hello_id: str | None = None
        self._heartbeat_id: str | None = None
        self._deadline = 0.0  # hello or start timeout
        self._last_heard = 0.0
        self._heartbeat_sent = 0.0
        self._next_probe = 0.0
        self._refused_key: str | None = None  # a backend that refused our version
        self._draining = False

    @property
    def connected(self) -> bool:
        return self.state is State.CONNECTED

    @property
    def fd(self) -> int | None:
        return self.client.fd if self.client is not None else None

    def _set(self, state: State, message: str) -> None:
        changed = (state, message) != (self.state, self.message)
        self.state, self.message = state, message
        if changed:
            log.info("backend connection: %s (%s)", state.value, message)
            self.on_state()

    def expect_start(self) -> None:
        """We just launched a backend: wait for its connection file patiently."""
        self._deadline = self.clock() + self.settings.start_timeout_s
        self._next_probe = 0.0
        self._set(State.STARTING, "Starting the backend… (the first start can take a minute)")

    def start_failed(self, message: str) -> None:
        self._drop(State.NOT_RUNNING, message)

    def tick(self) -> None:
        self.on_readable()  # a safety net: a missed edge of the FD costs one tick, not a hang
        now = self.clock()
        if self.client is None:
            if self.state is State.STARTING and now > self._deadline:
                self._set(State.NOT_RUNNING, "The backend did not start in time. "
                          "Check that `singan-backend serve` works in a terminal.")
            if now >= self._next_probe:
                self._probe(now)
            return
        if now >= self._next_probe:
            self._next_probe = now + self.settings.reconnect_interval_s
            if not self._same_backend():
                self._drop(State.NOT_RUNNING, "The backend stopped.")
                self._probe(now)
                return
        if self.state is State.CONNECTING and now > self._deadline:
            self._drop(State.NOT_RUNNING, "The backend does not answer. It may be busy "
                       "starting, or stuck: restart it.")
        elif self.state is State.CONNECTED:
            silent = now - self._last_heard
            if silent > self.settings.heartbeat_timeout_s:
                self._drop(State.NOT_RUNNING, "The backend stopped answering.")
            elif (silent > self.settings.heartbeat_interval_s
                  and now - self._heartbeat_sent > self.settings.heartbeat_interval_s):
                self._heartbeat_sent = now
                self._heartbeat_id = self._send("heartbeat", {})

    def _read(self):
        try:
            return self.read_info(self.path)
        except FileNotFoundError:
            return None
        except (OSError, ValueError, ProtocolError) as exc:
            log.warning("cannot read the connection file %s: %s", self.path, exc)
            return None

    def _same_backend(self) -> bool:
        info = self._read()
        return (info is not None and self.info is not None and info.key == self.info.key
                and info.port == self.info.port and self.alive(info.pid))

    def _probe(self, now: float) -> None:
        self._next_probe = now + self.settings.reconnect_interval_s
        info = self._read()
        if info is None or not self.alive(info.pid):
            if self.state not in (State.STARTING, State.NOT_RUNNING):  # keep a better message
                self._set(State.NOT_RUNNING, "The backend is not running.")
            return
        if info.key == self._refused_key:
            return  # the same backend that refused our version: wait for a new one
        if _major(info.version) != _major(PROTOCOL_VERSION):
            self._refuse(info, f"The backend speaks protocol {info.version} and this plugin "
                         f"{PROTOCOL_VERSION}. {_which_to_update(info.version)}")
            return
        try:
            self.client = self.client_factory(info)
        except Exception as exc:  # noqa: BLE001 - zmq errors vary by platform
            log.exception("cannot open a socket to the backend")
            self._set(State.NOT_RUNNING, f"Cannot connect to the backend: {exc}")
            return
        self.info = info
        self.on_fd(self.client.fd)
        self._deadline = now + (self.settings.start_timeout_s if self.state is State.STARTING
                                else self.settings.hello_timeout_s)
        self._last_heard = now
        self._set(State.CONNECTING, "Connecting to the backend…")
        self._hello_id = self._send("hello", {"client": "singan_krita", "version": PROTOCOL_VERSION})

    def _refuse(self, info, message: str) -> None:
        self._refused_key = info.key
        self._drop(State.VERSION_MISMATCH, message)

    def _drop(self, state: State, message: str) -> None:
        if self.client is not None:
            self.on_fd(None)  # the notifier goes before its socket
            try:
                self.client.close()
            except Exception:  # noqa: BLE001 - closing must not fail the caller
                log.exception("closing the backend socket")
        self.client, self.info, self._hello_id, self.server = None, None, None, {}
        self._set(state, message)

    def close(self) -> None:
        self._drop(State.NOT_RUNNING, "Disconnected.")

    def _send(self, msg_type: str, body: dict, images=()) -> str | None:
        try:
            msg_id = self.client.request(msg_type, body, images)
        except ProtocolError as exc:
            log.warning("cannot send %s: %s", msg_type, exc)
            return None
        self.on_readable()  # edge-triggered FD: sending can make answers readable unseen
        return msg_id

    def request(self, msg_type: str, body: dict, images=(),
                register: Callable[[str], None] = lambda msg_id: None) -> str:
        """Send a request; its events arrive through `on_event`. Raises UserFacingError.

        `register(msg_id)` runs after the send and before any answer is drained: the
        draining below can deliver the reply at once, and a reply to an id nobody knows
        yet is dropped (a resumed job stayed "reconnected" forever that way)."""
        if not self.connected:
            raise UserFacingError("The backend is not running. Start it with the button at "
                                  "the top of the SinGAN docker.")
        try:
            msg_id = self.client.request(msg_type, body, images)
        except ProtocolError as exc:
            raise UserFacingError(f"Could not send the request to the backend: {exc}") from exc
        register(msg_id)
        self.on_readable()
        return msg_id

    def on_readable(self) -> None:
        """Drain every waiting event (call after each notifier wake-up and each send).

        Handling an event may call Krita, which may run a nested event loop that calls
        this again: the inner call returns at once and the outer loop drains what came."""
        if self._draining:
            return
        self._draining = True
        try:
            while self.client is not None:
                events = self.client.poll_events()
                if not events:
                    return
                self._last_heard = self.clock()
                for event in events:
                    self._handle(event)
        finally:
            self._draining = False

    def _handle(self, event) -> None:
        if event.parent_id is not None and event.parent_id == self._hello_id:
            self._hello_id = None
            if event.msg_type == "reply" and _major(event.body.get("version", "")) == _major(PROTOCOL_VERSION):
                self.server = dict(event.body)
                self._set(State.CONNECTED, f"Connected: {self.server.get('server', 'backend')} "
                          f"on {self.server.get('device', '?')}.")
            elif event.msg_type == "error" and event.body.get("code") != "version_mismatch":
                self._drop(State.NOT_RUNNING, f"The backend refused to connect: "
                           f"{event.body.get('message', '')}")
            else:
                self._refuse(self.info, event.body.get("message") or
                             f"The backend speaks protocol {event.body.get('version')} and this "
                             f"plugin {PROTOCOL_VERSION}. {_which_to_update(event.body.get('version', ''))}")
            return
        if event.msg_type == "heartbeat" or (event.parent_id is not None
                                             and event.parent_id == self._heartbeat_id):
            return  # liveness only; _last_heard was updated
        self.on_event(event)


def _which_to_update(backend_version: str) -> str:
    try:
        older = int(_major(backend_version)) < int(_major(PROTOCOL_VERSION))
    except ValueError:
        older = False
    return ("Update the backend (pip install -U singan-krita), then restart it." if older else
            "Update the plugin: run `singan install-krita` again and restart Krita.")
