"""Model ids stay inside the models folder; a damaged model never hides the others."""

import json
import os
from pathlib import Path

import pytest

from singan_backend.errors import BadModelId, CorruptModel, ModelNotFound
from singan_backend.store import ModelStore, check_model_id

GOOD = {"format": 1, "name": "good", "kind": "singan", "created": "2026-01-01T00:00:00+00:00",
        "source": {"width": 32, "height": 24}, "config": {"preset": "quick"},
        "scale_factor": 0.75, "sizes": [[18, 24], [24, 32]], "noise_amps": [], "trained_scales": 0}


def model_folder(root: Path, model_id: str, manifest: dict | str = GOOD) -> Path:
    folder = root / model_id
    folder.mkdir(parents=True)
    text = manifest if isinstance(manifest, str) else json.dumps(manifest)
    (folder / "manifest.json").write_text(text)
    return folder


@pytest.fixture
def outside(tmp_path) -> Path:
    """The issue's repro: x/models is the store, x/project a folder beside it."""
    model_folder(tmp_path / "x", "project", "{}")
    (tmp_path / "x" / "models").mkdir()
    return tmp_path / "x"


BAD_IDS = ["..", ".", "../project", "a/b", "a\\b", "a\0b", "/etc", "C:", "C:x", "\\\\srv\\x",
           "x" * 129, "", ".server", "model.", "model ", "CON", "nul.txt"]


@pytest.mark.parametrize("ref", BAD_IDS)
def test_check_model_id_refuses_what_is_not_a_folder_name(ref):
    with pytest.raises(BadModelId) as e:
        check_model_id(ref)
    assert "delete" not in e.value.message


def test_delete_dotdot_leaves_the_folder_beside_the_store(outside, cli):
    code, _, err = cli("--models-dir", str(outside / "models"), "delete", "../project")
    assert code == 2 and (outside / "project" / "manifest.json").exists()
    line = cli.one_line_error(err)
    assert "not a model id" in line and "singan delete" not in line


def test_absolute_paths_and_links_out_are_refused(outside, tmp_path, cli):
    store = ModelStore(outside / "models")
    for ref in (str(outside / "project"), str((outside / "project").resolve())):
        with pytest.raises(BadModelId):
            store.resolve(ref)
        with pytest.raises(BadModelId):
            store.delete(ref)
    (outside / "models" / "linked").symlink_to(outside / "project", target_is_directory=True)
    for call in (store.resolve, store.delete, store.info, store.load, store.manifest):
        with pytest.raises(BadModelId):
            call("linked")
    assert not store.exists("linked") and (outside / "project" / "manifest.json").exists()
    code, _, err = cli("--models-dir", str(outside / "models"), "sample", "linked", "--out",
                       str(tmp_path / "out"))
    assert code == 2 and "leads out of the models folder" in cli.one_line_error(err)
    _, damaged = store.scan()
    assert [d["id"] for d in damaged] == ["linked"]


def test_train_resume_outside_is_refused(outside, cli):
    code, _, err = cli("--models-dir", str(outside / "models"), "train", "--resume",
                       "../project")
    assert code == 2 and "not a model id" in cli.one_line_error(err)


@pytest.mark.parametrize("change", [
    {"sizes": []}, {"config": "x"}, {"created": None}, {"source": {"width": "32"}},
    {"trained_scales": 7}, {"sizes": [[18, True]]}, {"name": ["x"]}])
def test_a_manifest_of_wrong_types_is_listed_as_damaged(tmp_path, change, cli):
    root = tmp_path / "models"
    model_folder(root, "good-aaaaaa")
    model_folder(root, "bad-bbbbbb", {**GOOD, **change})
    store = ModelStore(root)
    infos, damaged = store.scan()
    assert [i.id for i in infos] == ["good-aaaaaa"]
    assert damaged[0]["id"] == "bad-bbbbbb"
    assert damaged[0]["file"].endswith(os.path.join("bad-bbbbbb", "manifest.json"))
    assert store.resolve("good") == "good-aaaaaa"  # by name and by prefix, past the bad one
    assert store.resolve("good-a") == "good-aaaaaa"
    with pytest.raises(CorruptModel):
        store.info("bad-bbbbbb")
    code, out, err = cli("--models-dir", str(root), "models")
    assert code == 0 and "good-aaaaaa" in out and "bad-bbbbbb" in out and "damaged" in out
    code, out, _ = cli("--models-dir", str(root), "delete", "bad-bbbbbb")
    assert code == 0 and not (root / "bad-bbbbbb").exists()


def test_deep_nesting_and_huge_manifests_are_damaged_not_crashes(tmp_path):
    root = tmp_path / "models"
    model_folder(root, "deep-aaaaaa", "[" * 200_000 + "]" * 200_000)
    model_folder(root, "good-bbbbbb")
    infos, damaged = ModelStore(root).scan()
    assert [i.id for i in infos] == ["good-bbbbbb"] and damaged[0]["id"] == "deep-aaaaaa"


def test_a_half_created_folder_is_listed_and_deletable(tmp_path, cli):
    root = tmp_path / "models"
    (root / "cut-cccccc").mkdir(parents=True)  # killed between mkdir and the manifest
    _, damaged = ModelStore(root).scan()
    assert damaged[0]["id"] == "cut-cccccc" and "missing" in damaged[0]["problem"]
    code, out, _ = cli("--models-dir", str(root), "delete", "cut-cccccc")
    assert code == 0 and not (root / "cut-cccccc").exists()


def test_tensors_holding_an_empty_dict_is_corrupt_model(tmp_path):
    import torch

    root = tmp_path / "models"
    folder = model_folder(root, "empty-aaaaaa")
    torch.save({}, folder / "tensors.pt")
    with pytest.raises(CorruptModel, match="tensors.pt"):
        ModelStore(root).load("empty-aaaaaa")


def test_an_unknown_valid_id_is_model_not_found(tmp_path):
    with pytest.raises(ModelNotFound) as e:
        ModelStore(tmp_path).resolve("nothing-here")
    assert not isinstance(e.value, BadModelId)


def test_clean_up_removes_old_leftovers_of_killed_writes(tmp_path):
    root = tmp_path / "models"
    folder = model_folder(root, "good-aaaaaa")
    old = [folder / ".tensors.pt.x1.tmp", root / ".server" / ".jobs.json.x2.tmp",
           root / ".deleting-gone-abcdef"]
    (root / ".server").mkdir()
    old[0].write_bytes(b"half")
    old[1].write_bytes(b"half")
    old[2].mkdir()
    (old[2] / "scale_000.pt").write_bytes(b"x")
    fresh = folder / ".manifest.json.x3.tmp"  # a write in progress right now
    fresh.write_bytes(b"half")
    for path in old:
        os.utime(path, (1, 1))
    store = ModelStore(root)
    assert sorted(store.clean_up()) == sorted(old)
    assert not any(p.exists() for p in old) and fresh.exists()
    assert [i.id for i in store.list()] == ["good-aaaaaa"]
