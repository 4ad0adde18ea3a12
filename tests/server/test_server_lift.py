"""Issue 13 through the real backend: the `instant` request (progress, result, cancel, and
`singan --connect instant`), and `generate`'s `lift` with a model that kept its source."""

import subprocess
import sys
import time

import numpy as np
import pytest
from PIL import Image
from server_harness import TINY, Backend, tiny_image

from singan_backend import actions
from singan_backend.demo import demo_image
from singan_protocol import ProtocolError
from singan_protocol.messages import Animate, Generate, Harmonize, Instant, Paint


@pytest.fixture(scope="module")
def bare_backend(tmp_path_factory):
    """A backend with an empty store: instant variations need no model."""
    b = Backend(tmp_path_factory.mktemp("lift-backend")).start()
    yield b
    assert b.stop() == 0, b.log()
    assert "Traceback" not in b.log(), b.log()


def rgb(payload) -> np.ndarray:
    return np.frombuffer(bytes(payload.data), np.uint8).reshape(payload.height,
                                                                 payload.width, 4)[..., :3]


def test_lift_and_instant_bodies_are_checked():
    assert Generate.from_dict({"model_id": "m"}).lift is True
    assert Harmonize.from_dict({"model_id": "m"}).lift is True
    assert Paint.from_dict({"model_id": "m"}).lift is True
    assert Animate.from_dict({"model_id": "m"}).lift is False
    with pytest.raises(ProtocolError, match="'lift' must be bool"):
        Generate.from_dict({"model_id": "m", "lift": 1})
    assert Instant.from_dict({}).n == 1
    for bad in ({"n": 0}, {"width": 9000}, {"height": 0}, {"seed": -1}):
        with pytest.raises(ProtocolError):
            Instant.from_dict(bad)


def test_instant_through_the_protocol(bare_backend):
    client = bare_backend.client()
    image = tiny_image(64, 40)
    msg_id = client.request("instant", {"n": 2, "width": 48, "height": 32, "seed": 5}, [image])
    events = client.wait(msg_id, 120)
    kinds = [e.msg_type for e in events]
    assert kinds[0] == "accepted" and kinds[-1] == "result" and "progress" in kinds, kinds
    result = events[-1]
    assert (result.body["count"], result.body["seed"]) == (2, 5)
    assert [(p.width, p.height, p.channel_order) for p in result.images] == [(48, 32, "RGBA")] * 2
    # the same pixels as in this process, up to the u8 rounding
    here = actions.instant(rgb(image).astype(np.float32) / 255, n=2, width=48, height=32,
                           seed=5)
    for payload, mine in zip(result.images, here):
        assert np.abs(rgb(payload).astype(int) - np.round(mine * 255)).max() <= 1


def test_instant_is_cancelled_within_seconds(bare_backend):
    client = bare_backend.client()
    msg_id = client.request("instant", {"n": 64, "width": 640, "height": 400, "seed": 1},
                            [tiny_image(320, 200)])
    events = []
    deadline = time.monotonic() + 60
    while not any(e.msg_type == "progress" for e in events) and time.monotonic() < deadline:
        events += [e for e in client.poll_events() if e.parent_id == msg_id]
        time.sleep(0.05)
    job_id = events[0].body["job_id"]
    t = time.monotonic()
    client.call("cancel", {"job_id": job_id})
    final = client.wait(msg_id, 30)[-1]
    assert final.msg_type == "cancelled", final.body
    assert time.monotonic() - t < 5


def test_instant_needs_an_image_and_a_sane_size(bare_backend):
    client = bare_backend.client()
    final = client.wait(client.request("instant", {"n": 1}, []), 30)[-1]
    assert final.msg_type == "error"
    final = client.wait(client.request("instant", {"n": 64, "width": 8192, "height": 8192},
                                       [tiny_image()]), 30)[-1]
    assert final.msg_type == "error" and final.body["code"] == "too_large"


def test_generate_sizes_are_the_kept_source_pixels(bare_backend):
    client = bare_backend.client()
    source = tiny_image(64, 40)  # trained at 32 px: the source is twice the model's scale
    trained = client.call("train", {"name": "lifted", **TINY, "iters": 4, "seed": 2}, [source],
                          timeout_s=300)
    model_id = trained.body["model_id"]
    lifted = client.call("generate", {"model_id": model_id, "seed": 1}, timeout_s=120)
    assert [(p.width, p.height) for p in lifted.images] == [(64, 40)]
    flat = client.call("generate", {"model_id": model_id, "seed": 1, "lift": False},
                       timeout_s=120)
    assert [(p.width, p.height) for p in flat.images] == [(32, 20)]


def singan(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "singan_backend.cli", *argv],
                          capture_output=True, text=True, timeout=300,
                          env={"OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"})


def test_connect_instant_gives_the_local_result(bare_backend, tmp_path):
    image = tmp_path / "scene.png"
    Image.fromarray((demo_image(64, 40) * 255 + 0.5).astype(np.uint8)).save(image)
    args = ["instant", str(image), "--n", "1", "--width", "48", "--seed", "3"]
    local = singan(*args, "--out", str(tmp_path / "a"))
    remote = singan("--connect", str(bare_backend.connection_file), *args, "--out",
                    str(tmp_path / "b"))
    assert local.returncode == 0 and remote.returncode == 0, local.stderr + remote.stderr
    a, b = (np.asarray(Image.open(tmp_path / d / "000.png")).astype(int) for d in "ab")
    assert a.shape == b.shape == (30, 48, 3)
    assert np.abs(a - b).max() <= 2
