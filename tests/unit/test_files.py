"""files: atomic writes (content, modes, no leftovers) and the sweeping of dead writers' files."""

from __future__ import annotations

import hashlib
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from plugin_builder import files
from plugin_builder.files import TEMP_MARK, sweep_leftovers, write_atomically


@pytest.fixture
def umask():
    """Set the umask for one test and restore it afterwards."""
    saved = os.umask(0o022)
    os.umask(saved)

    def set_to(mask: int) -> int:
        os.umask(mask)
        return mask

    yield set_to
    os.umask(saved)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def dead_pid() -> int:
    """The id of a process that has ended and been reaped."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    with pytest.raises(ProcessLookupError):
        os.kill(child.pid, 0)
    return child.pid


def temporary_name(target: str, pid: int) -> str:
    """A temporary name as files.temp_prefix makes it, for any process id."""
    return f".{target}.{pid}{TEMP_MARK}.abc123.tmp"


# -- write_atomically -----------------------------------------------------------------


def test_write_atomically_creates_and_replaces_the_content(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "out.txt"
    assert write_atomically(target, "first\n") == target
    assert target.read_text() == "first\n"
    write_atomically(target, "second, longer than the first\n")
    assert target.read_text() == "second, longer than the first\n"
    write_atomically(target, "")
    assert target.read_text() == ""


def test_write_atomically_writes_utf8(tmp_path: Path) -> None:
    target = write_atomically(tmp_path / "u.txt", "façade ✓\n")
    assert target.read_bytes() == "façade ✓\n".encode()


@pytest.mark.parametrize("mask", [0o022, 0o002, 0o027, 0o077])
def test_a_new_file_gets_0666_less_the_umask(tmp_path: Path, umask, mask) -> None:
    umask(mask)
    target = write_atomically(tmp_path / "new.json", "{}\n")
    assert mode(target) == 0o666 & ~mask


@pytest.mark.parametrize("existing", [0o640, 0o600, 0o755, 0o444])
def test_an_existing_file_keeps_its_mode(tmp_path: Path, umask, existing) -> None:
    umask(0o022)
    target = tmp_path / "kept.txt"
    target.write_text("old\n")
    target.chmod(existing)
    write_atomically(target, "new\n")
    assert target.read_text() == "new\n"
    assert mode(target) == existing


def test_an_explicit_mode_wins(tmp_path: Path, umask) -> None:
    umask(0o022)
    target = write_atomically(tmp_path / "x", "#!/bin/sh\n", mode=0o750)
    assert mode(target) == 0o750


def test_no_temporary_file_is_left_on_success(tmp_path: Path) -> None:
    for index in range(3):
        write_atomically(tmp_path / "out.txt", f"{index}\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.txt"]


def test_no_temporary_file_is_left_when_the_write_raises(tmp_path: Path) -> None:
    target = tmp_path / "out.txt"
    target.write_text("old\n")
    with pytest.raises(UnicodeEncodeError):
        write_atomically(target, "a lone surrogate \udcff cannot be UTF-8")
    assert target.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.txt"]


def test_no_temporary_file_is_left_when_interrupted_before_the_rename(
        tmp_path: Path, monkeypatch) -> None:
    target = tmp_path / "out.txt"
    target.write_text("old\n")

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(files.os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_atomically(target, "new\n")
    monkeypatch.undo()
    assert target.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.txt"]


def test_temporary_names_carry_the_mark_and_our_pid(tmp_path: Path) -> None:
    prefix = files.temp_prefix(tmp_path / "manifest.json")
    assert prefix.startswith(".manifest.json.")
    assert f".{os.getpid()}{TEMP_MARK}." in prefix


# -- sweep_leftovers ----------------------------------------------------------------------


def test_sweep_removes_the_files_of_a_dead_writer_and_keeps_a_live_ones(tmp_path: Path) -> None:
    gone = dead_pid()
    nested = tmp_path / "plugins"
    nested.mkdir()
    dead = [tmp_path / temporary_name("manifest.json", gone),
            nested / temporary_name("x.so", gone)]
    alive = [tmp_path / temporary_name("manifest.json", os.getpid()),
             nested / temporary_name("x.so", os.getpid())]
    keep = [tmp_path / "manifest.json", nested / "x.so", nested / ".x.so.lock"]
    for path in dead + alive + keep:
        path.write_text("content")
    removed = sweep_leftovers(tmp_path)
    assert sorted(removed) == sorted(dead)
    assert not any(p.exists() for p in dead)
    assert all(p.exists() for p in alive + keep)


def test_sweep_of_a_real_temporary_name_of_ours_keeps_it(tmp_path: Path) -> None:
    path = tmp_path / (files.temp_prefix(tmp_path / "a.bin") + "xyz.tmp")
    path.write_text("being written")
    assert sweep_leftovers(tmp_path) == []
    assert path.exists()


def test_sweep_of_a_missing_folder_is_nothing(tmp_path: Path) -> None:
    assert sweep_leftovers(tmp_path / "nope") == []


# -- hashing -------------------------------------------------------------------------------


def test_sha256_file_matches_hashlib(tmp_path: Path) -> None:
    data = os.urandom(3 * (1 << 20) + 17)  # more than one read block
    path = tmp_path / "blob"
    path.write_bytes(data)
    assert files.sha256_file(path) == hashlib.sha256(data).hexdigest()


def test_digest_is_stable_and_ignores_key_order() -> None:
    assert files.digest(["a"], {"x": 1, "y": 2}) == files.digest(["a"], {"y": 2, "x": 1})
    assert files.digest(["a"], {"x": 1}) != files.digest(["b"], {"x": 1})
    assert len(files.digest("anything")) == 64
