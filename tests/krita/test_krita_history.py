"""The history of results: kept on disk with model, seed and settings, applied again as
layers, discarded, trimmed, and read back after a restart."""

import struct

import pytest
from krita_fakes import SETTINGS, Backend, Clock, FakeAdapter, image
from test_krita_controller import MODEL, answer, connect

from singan_krita.backend_process import BackendProcess
from singan_krita.connection import Connection
from singan_krita.controller import Controller
from singan_krita.history import History, thumbnail
from singan_protocol import ImagePayload


@pytest.fixture
def kept(tmp_path):
    backend, clock, adapter = Backend(), Clock(), FakeAdapter()
    conn = Connection(SETTINGS, "conn.json", backend.factory, clock=clock, alive=backend.alive,
                      read_info=backend.read)
    process = BackendProcess(SETTINGS.backend_command, {}, "conn.json", tmp_path / "backend.log")
    ctl = Controller(SETTINGS, adapter, conn, process, clock=clock,
                     history=History(tmp_path / "history"))
    return ctl, backend, adapter, clock


def test_a_generated_result_is_kept_and_applied_again_where_it_was(kept, tmp_path):
    ctl, backend, adapter, clock = kept
    client = connect(ctl, backend, [MODEL])
    ctl.variation_options = ctl.variation_options.__class__(count=2, seed=7)
    ctl.generate()
    answer(ctl, client, "result", client.last("generate")[0],
           {"job_id": "j", "model_id": "m-1", "seed": 7}, [image(64, 48, fill=9)] * 2)
    (entry,) = ctl.view().history
    assert (entry.kind, entry.label, entry.model, entry.seed) == ("generate", "sunset · seed 7",
                                                                 "sunset", 7)
    assert entry.settings["n"] == 2 and entry.names == ("variation 1", "variation 2")
    again = History(tmp_path / "history")  # Krita restarted
    assert [e.entry_id for e in again.entries] == [entry.entry_id]
    ctl.history = again
    ctl.apply_result(entry.entry_id)
    place, names, group, hidden, images = adapter.added[-1]
    assert group == "sunset · seed 7" and names == ["variation 1", "variation 2"]
    assert bytes(images[0].data) == bytes(image(64, 48, fill=9).data)
    assert "from the history" in ctl.message
    ctl.discard_result(entry.entry_id)
    assert ctl.view().history == () and History(tmp_path / "history").entries == []


def test_the_history_keeps_the_newest_and_drops_the_oldest(tmp_path):
    history = History(tmp_path, max_entries=2)
    for i in range(3):
        history.add("instant", f"r{i}", ["a"], [image(8, 8, fill=i)], seed=i)
    assert [e.label for e in history.entries] == ["r2", "r1"]
    assert len([p for p in tmp_path.iterdir() if p.is_dir()]) == 2


def test_a_damaged_index_starts_a_new_history(tmp_path):
    (tmp_path / "index.json").write_text("{not json")
    assert History(tmp_path).entries == []


def test_thumbnails_are_small_rgba_of_any_format():
    red16 = ImagePayload.of(300, 100, "BGRA", "u16", struct.pack("<4H", 0, 0, 65535, 65535) * 30000)
    w, h, data = thumbnail(red16, side=60)
    assert (w, h) == (60, 20) and data[:4] == bytes([255, 0, 0, 255])
    gray = ImagePayload.of(4, 4, "GRAY", "f32", struct.pack("<16f", *([0.5] * 16)))
    assert thumbnail(gray)[2][:4] == bytes([128, 128, 128, 255])


def test_a_trained_model_keeps_its_last_preview_for_the_model_list(kept):
    ctl, backend, adapter, clock = kept
    client = connect(ctl, backend)
    ctl.train()
    rid = client.last("train")[0]
    answer(ctl, client, "progress", rid, {"task": "train", "scale": 1, "num_scales": 3,
                                          "fraction": 0.4, "preview_scale": 1},
           [image(32, 16, order="RGBA", fill=50)])
    answer(ctl, client, "result", rid, {"job_id": "j1", "model_id": "m-1", "name": "sunset"})
    w, h, data = ctl.history.model_preview("m-1")
    assert (w, h) == (32, 16)  # never enlarged
    assert data[:4] == bytes([50, 50, 50, 50]) and ctl.history.model_preview("other") is None
