"""`singan install-krita`: wheel choice by tags, kritarc edits, install / upgrade /
uninstall in a temporary resource folder with offline wheels."""

import json
import zipfile
from pathlib import Path

import pytest

from singan_installer import cli, kritarc, locations, wheels
from singan_installer.install import DESKTOP_ENTRY, MANIFEST, InstallError, package_dir

LINUX_311 = locations.Target((3, 11), locations.expand_platform("manylinux_2_36_x86_64"), "test")


def make_wheel(folder: Path, name: str, files: dict) -> Path:
    path = folder / name
    project, version = name.split("-")[:2]
    with zipfile.ZipFile(path, "w") as archive:
        for inner, text in files.items():
            archive.writestr(inner, text)
        archive.writestr(f"{project}-{version}.dist-info/METADATA", f"Name: {project}\n")
    return path


@pytest.fixture
def wheel_dir(tmp_path):
    folder = tmp_path / "wheels"
    folder.mkdir()
    make_wheel(folder, "pyzmq-26.0.0-cp311-cp311-manylinux_2_28_x86_64.whl",
               {"zmq/__init__.py": "OLD = True\n"})
    make_wheel(folder, "pyzmq-27.1.0-cp311-cp311-manylinux_2_26_x86_64.manylinux_2_28_x86_64.whl",
               {"zmq/__init__.py": "", "pyzmq.libs/libzmq.so": "ELF",
                "pyzmq-27.1.0.data/headers/zmq.h": "h"})
    make_wheel(folder, "pyzmq-27.1.0-cp312-abi3-win_amd64.whl", {"zmq/__init__.py": ""})
    make_wheel(folder, "msgpack-1.1.0-py3-none-any.whl", {"msgpack/__init__.py": "PURE = True\n"})
    make_wheel(folder, "msgpack-1.1.0-cp311-cp311-manylinux2014_x86_64.whl",
               {"msgpack/__init__.py": "", "msgpack/_cmsgpack.so": "ELF"})
    make_wheel(folder, "platformdirs-4.2.0-py3-none-any.whl", {"platformdirs/__init__.py": ""})
    return folder


def test_wheel_tags_pick_the_newest_most_specific_compatible_wheel(wheel_dir):
    chosen = {w.project: w.path.name for w in wheels.select(wheel_dir, LINUX_311)}
    assert chosen["pyzmq"].startswith("pyzmq-27.1.0-cp311")
    assert chosen["msgpack"] == "msgpack-1.1.0-cp311-cp311-manylinux2014_x86_64.whl"
    windows = locations.Target((3, 13), ("win_amd64",), "test")
    assert wheels.select(wheel_dir, windows, ("pyzmq",))[0].path.name == "pyzmq-27.1.0-cp312-abi3-win_amd64.whl"


def test_a_missing_wheel_says_how_to_get_it(wheel_dir):
    mac = locations.Target((3, 10), locations.expand_platform("macosx_11_0_arm64"), "test")
    with pytest.raises(wheels.WheelError, match="pip download --only-binary=:all: --python-version 3.10"):
        wheels.select(wheel_dir, mac)


def test_tag_scores():
    assert wheels._tag_score("cp311", "cp311", 3, 11) == 3
    assert wheels._tag_score("cp312", "abi3", 3, 13) == 2
    assert wheels._tag_score("cp312", "abi3", 3, 11) is None
    assert wheels._tag_score("py3", "none", 3, 10) == 1
    assert wheels._tag_score("cp310", "cp310", 3, 11) is None
    assert wheels.version_key("27.0.0rc1") < wheels.version_key("27.0.0")


def test_platform_expansion():
    linux = locations.expand_platform("manylinux_2_28_x86_64")
    assert linux[0] == "manylinux_2_28_x86_64" and "manylinux2014_x86_64" in linux
    assert "manylinux_2_29_x86_64" not in linux
    mac = locations.expand_platform("macosx_11_0_arm64")
    assert "macosx_10_15_arm64" in mac and "macosx_11_0_universal2" in mac
    assert locations.expand_platform("win_amd64") == ("win_amd64",)


def test_krita_python_defaults(monkeypatch):
    target = locations.make_target("3.13", "win_amd64")
    assert target.python == (3, 13) and target.platforms == ("win_amd64",)
    assert locations.make_target(None, "macosx_11_0_arm64" if locations.system_of() != "darwin"
                                 else "win_amd64").python == (3, 10)
    with pytest.raises(ValueError):
        locations.parse_python_version("3")


def test_resource_folders_per_platform(monkeypatch, tmp_path):
    monkeypatch.setenv("APPDATA", str(tmp_path / "Roaming"))
    monkeypatch.setenv("LOCALAPPDATA", str(tmp_path / "Local"))
    assert locations.resource_dir("win32") == tmp_path / "Roaming" / "krita"
    assert locations.kritarc_path("win32") == tmp_path / "Local" / "kritarc"
    assert locations.resource_dir("darwin").parts[-3:] == ("Library", "Application Support", "krita")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert locations.resource_dir("linux") == tmp_path / "data" / "krita"


def test_kritarc_edits_only_our_key():
    text = "[General]\nfoo=1\n\n[python]\nenable_other=true\n\n[Theme]\nTheme=Krita dark\n"
    on = kritarc.set_value(text, "python", "enable_singan_krita", "true")
    assert on == ("[General]\nfoo=1\n\n[python]\nenable_other=true\nenable_singan_krita=true\n\n"
                  "[Theme]\nTheme=Krita dark\n")
    assert kritarc.get_value(on, "python", "enable_singan_krita") == "true"
    assert kritarc.remove_key(on, "python", "enable_singan_krita") == text
    fresh = kritarc.set_value("", "python", "enable_singan_krita", "true")
    assert fresh == "[python]\nenable_singan_krita=true\n"
    assert kritarc.get_value("[General]\nenable_singan_krita=x\n", "python", "enable_singan_krita") is None
    added = kritarc.set_value("[General]\nfoo=1\n", "python", "enable_singan_krita", "true")
    empty = kritarc.remove_key(added, "python", "enable_singan_krita")
    assert kritarc.remove_group_if_empty(empty, "python") == "[General]\nfoo=1\n"
    assert kritarc.remove_group_if_empty(on, "python") == on


def install(tmp_path, wheel_dir, *extra):
    res, rc = tmp_path / "krita", tmp_path / "config" / "kritarc"
    code = cli.main(["--resource-dir", str(res), "--kritarc", str(rc), "--krita-python", "3.11",
                     "--platform", "manylinux_2_36_x86_64", "--wheels", str(wheel_dir), *extra])
    return code, res, rc


def test_install_upgrade_uninstall_round_trip(tmp_path, wheel_dir):
    rc_path = tmp_path / "config" / "kritarc"
    rc_path.parent.mkdir()
    original = "[General]\nfoo=1\n\n[python]\nenable_singan_krita=false\n"
    rc_path.write_text(original)
    code, res, rc = install(tmp_path, wheel_dir)
    assert code == 0
    pykrita = res / "pykrita"
    assert (pykrita / "singan_krita.desktop").read_text() == DESKTOP_ENTRY
    assert (pykrita / "singan_krita" / "controller.py").exists()
    assert (res / "actions" / "singan_krita.action").exists()
    assert not (pykrita / "singan_krita" / "singan_krita.action").exists()
    vendor = pykrita / "singan_krita" / "vendor"
    assert (vendor / "common" / "singan_protocol" / "PROTOCOL.md").exists()
    assert (vendor / "cp311" / "zmq" / "__init__.py").read_text() == ""
    assert (vendor / "cp311" / "pyzmq.libs" / "libzmq.so").exists()
    assert not list(vendor.glob("cp311/*.data"))
    assert (vendor / "cp311" / "msgpack" / "_cmsgpack.so").exists()
    settings = json.loads((pykrita / "singan_krita" / "settings.json").read_text())
    assert settings["backend_command"][1:] == ["-m", "singan_backend.server", "serve"]
    assert kritarc.get_value(rc.read_text(), "python", "enable_singan_krita") == "true"

    # upgrade in place: a file that the new version no longer ships disappears
    manifest = json.loads((res / MANIFEST).read_text())
    stale = "pykrita/singan_krita/old_module.py"
    (res / stale).write_text("")
    manifest["files"].append(stale)
    (res / MANIFEST).write_text(json.dumps(manifest))
    (pykrita / "singan_krita" / "__pycache__").mkdir()
    (pykrita / "singan_krita" / "__pycache__" / "x.cpython-311.pyc").write_bytes(b"")
    user_file = pykrita / "other_plugin.py"
    user_file.write_text("# someone else's")
    assert install(tmp_path, wheel_dir)[0] == 0
    assert not (res / stale).exists()
    again = json.loads((res / MANIFEST).read_text())
    assert again["kritarc"]["previous"] == "false"  # what was there before the first install

    assert cli.main(["--resource-dir", str(res), "--uninstall"]) == 0
    assert rc.read_text() == original
    assert user_file.exists()
    left = sorted(p.relative_to(res).as_posix() for p in res.rglob("*"))
    assert left == ["actions", "pykrita", "pykrita/other_plugin.py"] or left == [
        "pykrita", "pykrita/other_plugin.py"]


def test_uninstall_removes_every_folder_it_made(tmp_path, wheel_dir):
    code, res, rc = install(tmp_path, wheel_dir)
    assert code == 0 and kritarc.get_value(rc.read_text(), "python", "enable_singan_krita") == "true"
    assert cli.main(["--resource-dir", str(res), "--uninstall"]) == 0
    assert not res.exists() and not rc.exists()  # it made the kritarc too: gone again
    assert cli.main(["--resource-dir", str(res), "--uninstall"]) == 0  # nothing to do: fine


def test_wheels_for_a_new_python_replace_the_old_ones(tmp_path, wheel_dir):
    install(tmp_path, wheel_dir)
    make_wheel(wheel_dir, "pyzmq-27.1.0-cp312-abi3-manylinux_2_28_x86_64.whl", {"zmq/__init__.py": ""})
    make_wheel(wheel_dir, "msgpack-1.1.0-cp313-cp313-manylinux2014_x86_64.whl", {"msgpack/__init__.py": ""})
    code, res, _ = install(tmp_path, wheel_dir, "--krita-python", "3.13")
    vendor = res / "pykrita" / "singan_krita" / "vendor"
    assert code == 0 and (vendor / "cp313" / "zmq").is_dir() and not (vendor / "cp311").exists()


def test_a_failed_wheel_lookup_changes_nothing(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    code, res, rc = install(tmp_path, empty)
    assert code == 1 and not res.exists() and not rc.exists()


def test_unsafe_wheel_paths_are_refused(tmp_path):
    folder = tmp_path / "w"
    folder.mkdir()
    path = make_wheel(folder, "msgpack-1.0.0-py3-none-any.whl", {"../../evil.py": ""})
    with pytest.raises(wheels.WheelError, match="unsafe"):
        wheels.unpack(wheels.Wheel.parse(path), tmp_path / "vendor")


def test_the_repositorys_desktop_file_is_what_the_installer_writes():
    repo_desktop = package_dir("singan_krita").parent / "singan_krita.desktop"
    if not repo_desktop.exists():
        pytest.skip("installed from a wheel: the repository's .desktop is not beside the package")
    assert repo_desktop.read_text() == DESKTOP_ENTRY


def test_package_dir_needs_an_importable_package():
    with pytest.raises(InstallError, match="not installed"):
        package_dir("no_such_package_here")


def test_detects_distro_kritas_python(monkeypatch, tmp_path):
    lib = tmp_path / "kritapykrita.so"
    lib.write_bytes(b"\x7fELF...libpython3.11.so.1.0\x00...")
    monkeypatch.setattr(locations, "_linux_pykrita_libraries", lambda: [str(lib)])
    assert locations.detect_krita_python("linux") == ((3, 11), f"linked by {lib}")


def test_singan_install_krita_takes_the_readmes_options_and_says_what_it_did(tmp_path, wheel_dir,
                                                                           capsys):
    from singan_backend import cli as singan_cli

    res, rc = tmp_path / "krita", tmp_path / "kritarc"
    code = singan_cli.main(["install-krita", "--resource-dir", str(res), "--krita-python", "3.11",
                            "--kritarc", str(rc), "--platform", "manylinux_2_36_x86_64",
                            "--wheels", str(wheel_dir)])
    out = capsys.readouterr().out
    assert code == 0 and (res / "pykrita" / "singan_krita" / "controller.py").exists()
    assert str(res / "pykrita" / "singan_krita") in out
    assert "msgpack-1.1.0-cp311-cp311-manylinux2014_x86_64.whl" in out and "pyzmq-27.1.0" in out
    assert "restart Krita" in out and "Settings > Dockers > SinGAN" in out
    assert singan_cli.main(["install-krita", "--resource-dir", str(res), "--kritarc", str(rc),
                            "--uninstall"]) == 0
    assert not (res / "pykrita" / "singan_krita").exists()


def test_singan_install_krita_help_is_the_installers(tmp_path):
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "singan_backend.cli", "install-krita", "--help"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "--resource-dir" in done.stdout and "--krita-python" in done.stdout
