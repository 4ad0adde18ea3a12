"""The connection file: atomic, owner-only, strictly parsed; the default location."""

import json
import os
import stat
import subprocess
import sys

import platformdirs
import pytest

from singan_protocol import (
    ConnectionInfo,
    ProtocolError,
    default_connection_file,
    new_key,
    pid_alive,
    read_connection_file,
    write_connection_file,
)
from singan_protocol import connection as connection_module

INFO = ConnectionInfo("tcp", "127.0.0.1", 5555, new_key(), 1234, "1.0", "/models")


def test_write_read_round_trip_owner_only(tmp_path):
    path = tmp_path / "sub" / "backend.json"
    write_connection_file(path, INFO)
    assert read_connection_file(path) == INFO
    assert info_url() == "tcp://127.0.0.1:5555"
    if os.name == "posix":
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["backend.json"]  # no temp file left


def info_url():
    return INFO.url


def test_rewrite_replaces_atomically(tmp_path):
    path = tmp_path / "backend.json"
    write_connection_file(path, INFO)
    other = ConnectionInfo(**{**INFO.to_dict(), "port": 6000})
    write_connection_file(path, other)
    assert read_connection_file(path).port == 6000


def test_missing_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_connection_file(tmp_path / "none.json")


@pytest.mark.parametrize("content", [
    "not json", "[]", json.dumps({**INFO.to_dict(), "port": "5555"}),
    json.dumps({**INFO.to_dict(), "port": True}), json.dumps({**INFO.to_dict(), "port": 0}),
    json.dumps({**INFO.to_dict(), "key": ""}),
    json.dumps({k: v for k, v in INFO.to_dict().items() if k != "key"}),
    json.dumps({**INFO.to_dict(), "signature_scheme": "hmac-md5"}),
])
def test_bad_files(tmp_path, content):
    path = tmp_path / "backend.json"
    path.write_text(content)
    with pytest.raises(ProtocolError):
        read_connection_file(path)


def test_signature_scheme_may_be_absent(tmp_path):
    path = tmp_path / "backend.json"
    path.write_text(json.dumps({k: v for k, v in INFO.to_dict().items()
                                if k != "signature_scheme"}))
    assert read_connection_file(path) == INFO


def test_default_location(monkeypatch, tmp_path):
    monkeypatch.setenv("SINGAN_CONNECTION_FILE", str(tmp_path / "x.json"))
    assert default_connection_file() == str(tmp_path / "x.json")
    monkeypatch.delenv("SINGAN_CONNECTION_FILE")
    assert default_connection_file() == os.path.join(
        platformdirs.user_data_dir("singan", appauthor=False), "backend.json")


def test_fallback_without_platformdirs_gives_the_same_folder(monkeypatch):
    expected = connection_module.user_data_dir()
    monkeypatch.setitem(sys.modules, "platformdirs", None)  # import platformdirs -> ImportError
    assert connection_module.user_data_dir() == expected


def test_pid_alive():
    assert pid_alive(os.getpid())
    assert not pid_alive(0)
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    assert not pid_alive(proc.pid)
