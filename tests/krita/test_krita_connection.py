"""The connection state machine: finding, greeting, losing and finding again a backend."""

import pytest
from krita_fakes import SETTINGS, Backend, Clock

from singan_krita.connection import Connection, State
from singan_krita.errors import UserFacingError


@pytest.fixture
def net():
    backend, clock = Backend(), Clock()
    conn = Connection(SETTINGS, "c.json", backend.factory, clock=clock, alive=backend.alive,
                      read_info=backend.read)
    fds = []
    conn.on_fd = fds.append
    events = []
    conn.on_event = events.append
    return conn, backend, clock, fds, events


def greet(conn, backend, version="1.0"):
    client = backend.client
    client.push("reply", client.last("hello")[0], {"version": version, "server": "s", "device": "cpu"})
    conn.on_readable()
    return client


def test_no_connection_file_means_not_running(net):
    conn, backend, clock, fds, _ = net
    conn.tick()
    assert conn.state is State.NOT_RUNNING and conn.client is None and not backend.clients


def test_a_stale_connection_file_is_not_a_backend(net):
    conn, backend, clock, fds, _ = net
    backend.start()
    backend.alive_pids.clear()
    conn.tick()
    assert conn.state is State.NOT_RUNNING and not backend.clients


def test_hello_then_connected_with_a_socket_notifier(net):
    conn, backend, clock, fds, _ = net
    backend.start()
    conn.tick()
    assert conn.state is State.CONNECTING and fds == [99]
    assert backend.client.last("hello")[2] == {"client": "singan_krita", "version": "1.0"}
    greet(conn, backend)
    assert conn.connected and "Connected" in conn.message


def test_silent_backend_times_out(net):
    conn, backend, clock, fds, _ = net
    backend.start()
    conn.tick()
    clock.advance(SETTINGS.hello_timeout_s + 0.1)
    conn.tick()
    assert conn.state is State.NOT_RUNNING and backend.client.closed and fds == [99, None]


def test_version_mismatch_from_the_connection_file(net):
    conn, backend, clock, fds, _ = net
    backend.start(version="2.0")
    conn.tick()
    assert conn.state is State.VERSION_MISMATCH and "Update the plugin" in conn.message
    clock.advance(10)
    conn.tick()
    assert conn.state is State.VERSION_MISMATCH and not backend.clients  # no retry storm


def test_version_mismatch_from_hello(net):
    conn, backend, clock, fds, _ = net
    backend.start()
    conn.tick()
    client = backend.client
    client.push("error", client.last("hello")[0], {"code": "version_mismatch",
                                                    "message": "Update the backend."})
    conn.on_readable()
    assert conn.state is State.VERSION_MISMATCH and conn.message == "Update the backend."
    assert client.closed


def test_backend_that_stops_is_noticed_and_a_restart_reconnects(net):
    conn, backend, clock, fds, _ = net
    backend.start()
    conn.tick()
    old = greet(conn, backend)
    backend.stop()
    clock.advance(SETTINGS.reconnect_interval_s + 0.1)
    conn.tick()
    assert conn.state is State.NOT_RUNNING and old.closed
    backend.start(key="new", port=6000, pid=77)
    clock.advance(SETTINGS.reconnect_interval_s + 0.1)
    conn.tick()
    greet(conn, backend)
    assert conn.connected and conn.info.port == 6000


def test_heartbeats_keep_it_alive_and_silence_drops_it(net):
    conn, backend, clock, fds, _ = net
    backend.start()
    conn.tick()
    client = greet(conn, backend)
    clock.advance(SETTINGS.heartbeat_interval_s + 0.1)
    conn.tick()
    hb = client.last("heartbeat")
    client.push("reply", hb[0], {"time": 1.0})
    conn.on_readable()
    assert conn.connected
    clock.advance(SETTINGS.heartbeat_timeout_s + 0.1)
    conn._next_probe = clock.now + 100  # the file still looks fine: only silence tells
    conn.tick()
    assert conn.state is State.NOT_RUNNING and "stopped answering" in conn.message


def test_events_other_than_hello_and_heartbeat_go_to_the_listener(net):
    conn, backend, clock, fds, events = net
    backend.start()
    conn.tick()
    client = greet(conn, backend)
    rid = conn.request("status", {})
    client.push("heartbeat", None, {"time": 1.0})
    client.push("reply", rid, {"device": "cpu"})
    conn.on_readable()
    assert [(e.msg_type, e.parent_id) for e in events] == [("reply", rid)]


def test_requests_need_a_connection(net):
    conn, *_ = net
    with pytest.raises(UserFacingError, match="not running"):
        conn.request("status", {})


def test_started_backend_is_waited_for_patiently(net):
    conn, backend, clock, fds, _ = net
    conn.expect_start()
    clock.advance(30)
    conn.tick()
    assert conn.state is State.STARTING
    backend.start()
    clock.advance(SETTINGS.reconnect_interval_s + 0.1)
    conn.tick()
    assert conn.state is State.CONNECTING
    clock.advance(SETTINGS.hello_timeout_s + 5)  # torch is still importing: allowed
    conn.tick()
    assert conn.state is State.CONNECTING
    greet(conn, backend)
    assert conn.connected


def test_a_start_that_never_comes_up_times_out(net):
    conn, backend, clock, fds, _ = net
    conn.expect_start()
    clock.advance(SETTINGS.start_timeout_s + 1)
    conn.tick()
    assert conn.state is State.NOT_RUNNING and "did not start" in conn.message


def test_reentrant_drain_is_harmless(net):
    conn, backend, clock, fds, events = net
    backend.start()
    conn.tick()
    client = greet(conn, backend)
    rid = conn.request("status", {})
    client.push("reply", rid, {"a": 1})
    client.push("reply", rid, {"a": 2})
    conn.on_event = lambda e: (events.append(e), conn.on_readable())  # a nested event loop
    conn.on_readable()
    assert [e.body["a"] for e in events] == [1, 2]
