"""Shared test settings: one torch thread, an isolated SINGAN_HOME, ../shared/images."""

import os
from pathlib import Path

# Tests train tiny models, where one thread is as fast as two, and two OpenMP threads on two
# busy cores can run 10-30x slower (README, measured figures). Set before torch is imported;
# backends and Krita started by the tests inherit it.
os.environ.setdefault("OMP_NUM_THREADS", "1")

import pytest

SHARED = Path(__file__).resolve().parents[1].parent / "shared"


@pytest.fixture(scope="session")
def shared_images() -> Path:
    """../shared/images beside the checkout; tests that need it skip where it is absent."""
    path = SHARED / "images"
    if not path.is_dir():
        pytest.skip("../shared/images is not present")
    return path


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory, monkeypatch):
    # Never touch the user's real model store or connection file from a test.
    home = tmp_path_factory.getbasetemp() / "singan-home"
    monkeypatch.setenv("SINGAN_HOME", os.fspath(home))


class SinganCli:
    """`singan ARGS...` run in this process, for the CLI tests: call it for
    (exit code, stdout, stderr)."""

    def __init__(self, capsys, args: list[str]):
        self.capsys, self.args = capsys, args

    def __call__(self, *argv: str) -> tuple[int, str, str]:
        from singan_backend.cli import main  # after OMP_NUM_THREADS is set, above

        try:
            code = main([*self.args, *argv])
        except SystemExit as e:  # argparse's own checks
            code = e.code
        out, err = self.capsys.readouterr()
        return code, out, err

    @staticmethod
    def one_line_error(err: str) -> str:
        lines = [line for line in err.splitlines() if line.startswith("singan")]
        assert len(lines) == 1 and "Traceback" not in err, err
        return lines[0]


@pytest.fixture
def cli_args() -> list[str]:
    """Arguments put before every `cli(...)` call; a folder's conftest may override it."""
    return []


@pytest.fixture
def cli(capsys, cli_args) -> SinganCli:
    return SinganCli(capsys, cli_args)
