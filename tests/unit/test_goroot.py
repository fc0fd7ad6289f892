"""What a provisioned GOROOT holds, and the check that it still holds it (issue 23): real
files in tmp_path, edited the ways a person or a wrapper would edit them."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import pytest

from plugin_builder.golang import goroot
from plugin_builder.golang.goroot import check, record, record_keys, tracked

FILES = {
    "VERSION": "go1.26.6\ntime 2026-01-01\n",
    "go.env": "GOPROXY=https://proxy.golang.org,direct\n",
    "bin/go": "\x7fELF go\n",
    "pkg/tool/linux_amd64/link": "\x7fELF link\n",
    "pkg/include/textflag.h": "#define NOSPLIT 4\n",
    "src/fmt/print.go": "package fmt\n",
    "src/runtime/runtime.go": "package runtime\n",
    # Not read by a build of other code: not recorded.
    "src/fmt/print_test.go": "package fmt\n",
    "src/fmt/testdata/golden.txt": "x\n",
    "src/cmd/go/main.go": "package main\n",
    "api/go1.txt": "pkg fmt\n",
    "misc/wasm/wasm_exec.js": "//\n",
}


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(goroot, "_CHECKED", {})
    for relative, text in FILES.items():
        path = tmp_path / "go1.26.6" / "go" / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    home = tmp_path / "go1.26.6"
    record(home)
    return home


def fresh_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(goroot, "_CHECKED", {})


def problems(home: Path) -> str:
    found = check(home).problems
    assert len(found) <= 1
    return found[0] if found else ""


@pytest.mark.parametrize(("relative", "folder", "read"), [
    ("", True, True),
    ("VERSION", False, True),
    ("go.env", False, True),
    ("bin/gofmt", False, True),
    ("pkg/tool/linux_amd64/compile", False, True),
    ("pkg/include", True, True),
    ("src/fmt", True, True),
    ("src/fmt/print.go", False, True),
    ("src/fmt/print_test.go", False, False),
    ("src/fmt/testdata", True, False),
    ("src/internal/x/testdata/y.go", False, False),
    ("src/cmd", True, False),
    ("src/cmd/go/main.go", False, False),
    ("src/cmdline/x.go", False, True),
    ("api/go1.txt", False, False),
    ("misc", True, False),
    ("__init__.py", False, False),
])
def test_the_files_a_build_can_read_are_tracked(relative, folder, read):
    assert tracked(relative, folder=folder) is read


def test_the_manifest_records_what_a_build_reads_and_its_digest_is_its_sha256(home):
    manifest = (home / goroot.MANIFEST).read_bytes()
    recorded = json.loads(manifest)
    assert sorted(recorded["files"]) == ["VERSION", "bin/go", "go.env", "pkg/include/textflag.h",
                                        "pkg/tool/linux_amd64/link", "src/fmt/print.go",
                                        "src/runtime/runtime.go"]
    assert recorded["files"]["src/fmt/print.go"] == [
        12, hashlib.sha256(b"package fmt\n").hexdigest()]
    assert "src/cmd" not in recorded["folders"] and "src/fmt" in recorded["folders"]
    checked = check(home)
    assert checked.problems == []
    assert checked.digest == "sha256:" + hashlib.sha256(manifest).hexdigest()


def test_an_intact_toolchain_is_checked_without_reading_its_files(home, monkeypatch):
    fresh_process(monkeypatch)
    check(home)  # keys taken within a second of recording do not vouch yet
    monkeypatch.setattr(goroot, "RACY_NS", 0)
    fresh_process(monkeypatch)

    def unread(path: str) -> object:
        raise AssertionError(f"{path} was read")

    monkeypatch.setattr(goroot, "_hash", unread)
    assert check(home).problems == []


def test_an_appended_source_file_is_found(home, monkeypatch):
    with (home / "go" / "src" / "fmt" / "print.go").open("a") as source:
        source.write("func init() { println(\"hi\") }\n")
    fresh_process(monkeypatch)
    assert problems(home) == f"{home / 'go'} is not as provisioned: src/fmt/print.go changed"


def test_a_same_size_edit_with_its_old_mtime_is_found(home, monkeypatch):
    path = home / "go" / "src" / "fmt" / "print.go"
    before = path.stat()
    path.write_text("package fnt\n")
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))  # ctime still moves
    fresh_process(monkeypatch)
    assert "src/fmt/print.go changed" in problems(home)


def test_a_linker_replaced_by_a_wrapper_is_found(home, monkeypatch):
    link = home / "go" / "pkg" / "tool" / "linux_amd64" / "link"
    os.rename(link, home / "link.real")
    link.write_text(f"#!/bin/sh\nexec {home / 'link.real'} \"$@\"\n")
    link.chmod(0o755)
    fresh_process(monkeypatch)
    assert "pkg/tool/linux_amd64/link changed" in problems(home)


@pytest.mark.parametrize(("added", "says"), [
    ("src/fmt/evil.go", "src/fmt/evil.go was added"),
    ("src/evil/evil.go", "src/evil was added"),
    ("bin/go2", "bin/go2 was added"),
    ("pkg/tool/linux_amd64/asm2", "pkg/tool/linux_amd64/asm2 was added"),
])
def test_an_added_file_a_build_could_read_is_found(home, monkeypatch, added, says):
    path = home / "go" / added
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("package fmt\n")
    fresh_process(monkeypatch)
    assert says in problems(home)


@pytest.mark.parametrize("added", ["src/fmt/evil_test.go", "src/fmt/testdata/more.txt",
                                   "src/cmd/go/extra.go", "misc/extra.txt", "api/next.txt"])
def test_what_no_build_reads_may_change(home, monkeypatch, added):
    path = home / "go" / added
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("x\n")
    (home / "go" / "src" / "cmd" / "go" / "main.go").write_text("package main // edited\n")
    fresh_process(monkeypatch)
    assert check(home).problems == []


@pytest.mark.parametrize(("removed", "says"), [
    ("src/runtime/runtime.go", "src/runtime/runtime.go was removed"),
    ("go.env", "go.env was removed"),
    ("pkg/include", "pkg/include was removed"),
])
def test_a_removed_file_or_folder_is_found(home, monkeypatch, removed, says):
    path = home / "go" / removed
    shutil.rmtree(path) if path.is_dir() else path.unlink()
    fresh_process(monkeypatch)
    assert says in problems(home)


@pytest.mark.parametrize("replacement", ["symlink", "fifo"])
def test_a_file_replaced_by_a_link_or_a_fifo_is_found_without_waiting(home, monkeypatch,
                                                                      replacement):
    path = home / "go" / "src" / "fmt" / "print.go"
    path.unlink()
    if replacement == "symlink":
        (home / "elsewhere.go").write_text("package fmt\n")
        path.symlink_to(home / "elsewhere.go")
    else:
        os.mkfifo(path)
    fresh_process(monkeypatch)
    assert "src/fmt/print.go is no longer a regular file" in problems(home)


def test_problems_are_named_up_to_a_count(home, monkeypatch):
    for n in range(8):
        (home / "go" / "src" / "fmt" / f"new{n}.go").write_text("package fmt\n")
    fresh_process(monkeypatch)
    assert problems(home).endswith("src/fmt/new4.go was added, 3 more")


def test_an_edit_hidden_by_coarse_timestamps_in_the_recording_second_is_found(home,
                                                                             monkeypatch):
    """On a file system with 1-second timestamps an edit in the second the keys were taken
    leaves the key as recorded; keys that young do not vouch, so the file is hashed."""
    path = home / "go" / "src" / "fmt" / "print.go"
    path.write_text("package fnt\n")  # same size
    keys = json.loads((home / goroot.KEYS).read_text())
    now = path.stat()
    keys["files"]["src/fmt/print.go"] = [now.st_ino, now.st_size, now.st_mtime_ns,
                                         now.st_ctime_ns]
    keys["recorded_ns"] = now.st_ctime_ns + 500_000_000
    (home / goroot.KEYS).write_text(json.dumps(keys))
    fresh_process(monkeypatch)
    assert "src/fmt/print.go changed" in problems(home)


def test_a_copied_toolchain_is_intact_and_its_keys_are_taken_again(home, tmp_path, monkeypatch):
    copy = tmp_path / "elsewhere" / "go1.26.6"
    shutil.copytree(home, copy)  # new inodes and ctimes: no key vouches
    checked = check(copy)
    assert checked.problems == [] and checked.fresh_keys is not None
    record_keys(copy, checked)
    monkeypatch.setattr(goroot, "RACY_NS", 0)
    fresh_process(monkeypatch)
    assert check(copy).fresh_keys is None


@pytest.mark.parametrize("keys", ["missing", "another manifest's", "not JSON"])
def test_without_usable_keys_every_file_is_compared(home, monkeypatch, keys):
    path = home / goroot.KEYS
    if keys == "missing":
        path.unlink()
    elif keys == "not JSON":
        path.write_text("{")
    else:
        path.write_text(json.dumps({**json.loads(path.read_text()), "manifest": "sha256:x"}))
    assert check(home).problems == []
    (home / "go" / "bin" / "go").write_text("\x7fELF other\n")
    (home / "go" / "src" / "fmt" / "extra.go").write_text("package fmt\n")
    fresh_process(monkeypatch)
    assert problems(home).endswith("bin/go changed, src/fmt/extra.go was added")


@pytest.mark.parametrize("manifest", ["{", '{"format": 2, "files": {}, "folders": []}', "[]"])
def test_a_damaged_manifest_is_a_problem_not_a_traceback(home, monkeypatch, manifest):
    (home / goroot.MANIFEST).write_text(manifest)
    fresh_process(monkeypatch)
    assert problems(home).startswith(f"{home / goroot.MANIFEST} is damaged")


def test_an_intact_toolchain_is_checked_once_per_process(home, monkeypatch):
    assert check(home).problems == []
    (home / "go" / "src" / "fmt" / "print.go").write_text("package fnt\n")
    assert check(home).problems == []  # found intact before: not checked again
    fresh_process(monkeypatch)
    assert check(home).problems != []


def test_keys_are_not_recorded_over_a_manifest_provisioned_meanwhile(home, monkeypatch):
    os.utime(home / "go" / "VERSION")
    fresh_process(monkeypatch)
    checked = check(home)
    assert checked.fresh_keys is not None
    keys_before = (home / goroot.KEYS).read_text()
    record(home)  # another provisioning: a new manifest
    keys_after = (home / goroot.KEYS).read_text()
    record_keys(home, checked)
    assert (home / goroot.KEYS).read_text() == keys_after != keys_before
