"""`singan --connect FILE ...` gives what the in-process CLI gives, through a real backend."""

import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from singan_backend.demo import demo_image

TRAIN = ["--preset", "quick", "--max-size", "32", "--min-size", "20", "--iters", "6",
         "--seed", "4"]


def singan(*argv: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "singan_backend.cli", *argv],
                          capture_output=True, text=True, timeout=timeout,
                          env={"OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"})


def pixels(folder: Path) -> list[np.ndarray]:
    return [np.asarray(Image.open(p)) for p in sorted(folder.glob("*.png"))]


def test_connect_reproduces_train_and_sample(backend, tmp_path):
    image = tmp_path / "scene.png"
    Image.fromarray((demo_image(32, 24) * 255 + 0.5).astype(np.uint8)).save(image)
    local_models = tmp_path / "local-models"
    connect = ["--connect", str(backend.connection_file)]

    local = singan("train", str(image), *TRAIN, "--models-dir", str(local_models))
    remote = singan(*connect, "train", str(image), *TRAIN)
    assert local.returncode == 0, local.stderr
    assert remote.returncode == 0, remote.stderr
    local_id, remote_id = local.stdout.split()[-1], remote.stdout.split()[-1]
    assert local_id.startswith("scene-") and remote_id.startswith("scene-")
    assert "ETA" in remote.stderr  # progress streamed from the backend
    assert (backend.models_dir / remote_id / "manifest.json").exists()

    sample = ["--n", "2", "--width", "40", "--height", "24", "--seed", "9"]
    a = singan("sample", local_id, "--out", str(tmp_path / "a"), *sample,
               "--models-dir", str(local_models))
    b = singan(*connect, "sample", remote_id, "--out", str(tmp_path / "b"), *sample)
    assert a.returncode == 0 and b.returncode == 0, a.stderr + b.stderr
    local_pixels, remote_pixels = pixels(tmp_path / "a"), pixels(tmp_path / "b")
    assert len(local_pixels) == len(remote_pixels) == 2
    for x, y in zip(local_pixels, remote_pixels):
        assert x.shape == y.shape == (24, 40, 3)
        # same seed, same training: the same picture, up to float rounding across processes
        assert np.abs(x.astype(int) - y.astype(int)).max() <= 2


def test_connect_errors_are_one_line(backend, tmp_path):
    result = singan("--connect", str(backend.connection_file), "sample", "ghost", "--out",
                    str(tmp_path))
    assert result.returncode == 2
    assert result.stderr.strip().startswith("singan: error:") and "ghost" in result.stderr
    missing = singan("--connect", str(tmp_path / "none.json"), "models")
    assert missing.returncode == 2 and "singan-backend serve" in missing.stderr


def test_connect_exits_when_the_backend_dies(tmp_path):
    """kill -9 of the backend during a train: the CLI notices the missing heartbeats, says
    what happens to the job, and exits non-zero instead of waiting forever."""
    import json
    import time

    from server_harness import Backend

    from singan_backend.remote import SILENCE_S

    backend = Backend(tmp_path).start()
    image = tmp_path / "scene.png"
    Image.fromarray((demo_image(32, 24) * 255 + 0.5).astype(np.uint8)).save(image)
    cli = subprocess.Popen(
        [sys.executable, "-m", "singan_backend.cli", "--connect", str(backend.connection_file),
         "train", str(image), "--preset", "quick", "--max-size", "32", "--min-size", "20",
         "--iters", "2000"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={"OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"})
    journal = backend.models_dir / ".server" / "jobs.json"
    deadline = time.monotonic() + 120
    while not (journal.exists() and json.loads(journal.read_text())):
        assert time.monotonic() < deadline and cli.poll() is None, cli.communicate()
        time.sleep(0.2)
    backend.kill()
    killed = time.monotonic()
    _, err = cli.communicate(timeout=SILENCE_S + 30)
    assert cli.returncode == 2, err
    assert time.monotonic() - killed < SILENCE_S + 15
    line = [x for x in err.splitlines() if x.startswith("singan")][-1]
    assert "the backend stopped" in line and "resumes" in line and "singan-backend serve" in line
