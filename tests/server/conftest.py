"""Real backend processes on 127.0.0.1 for the service tests, and a tiny trained model.

The model is trained once per session, through the protocol, and each module serves a copy
of that store, so no test waits for more training than it needs.
"""

import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # so the tests can import server_harness

from server_harness import Backend, copy_store, train_events  # noqa: E402


@pytest.fixture(scope="session")
def trained_store(tmp_path_factory):
    """(models_dir, model_id, train events, seconds) of one tiny model trained by a backend."""
    root = tmp_path_factory.mktemp("trained")
    backend = Backend(root).start()
    try:
        t = time.monotonic()
        events = train_events(backend.client())
        seconds = time.monotonic() - t
        assert events[-1].msg_type == "result", events[-1].body
    finally:
        assert backend.stop() == 0, backend.log()
    return backend.models_dir, events[-1].body["model_id"], events, seconds


@pytest.fixture(scope="module")
def backend(trained_store, tmp_path_factory):
    """A backend serving a copy of the trained store, for a whole test module."""
    root = tmp_path_factory.mktemp("backend")
    b = Backend(root, copy_store(trained_store, root)).start()
    yield b
    status = b.stop()
    assert status == 0, b.log()
    assert "Traceback" not in b.log(), b.log()
