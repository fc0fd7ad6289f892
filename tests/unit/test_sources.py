"""golang.sources: what a build read, recorded relative to the project, and checked
against the project the check runs in; the folder trees a cgo package's C compiler reads."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from plugin_builder.errors import BuildError
from plugin_builder.files import past_the_clock_tick, stat_key
from plugin_builder.golang import sources


def package(folder: Path, *, cgo: bool = False, cflags: tuple[str, ...] = (),
            module: dict | None = None) -> dict:
    """One package as `go list -deps -json` reports it."""
    names = sorted(p.name for p in folder.glob("*.go"))
    return {"Dir": str(folder), "ImportPath": f"example.com/{folder.name}",
            "GoFiles": [n for n in names if not cgo], "CgoFiles": [n for n in names if cgo],
            "CgoCFLAGS": list(cflags),
            "Module": module or {"Path": "example.com/host", "Main": True,
                                 "GoMod": str(folder / "go.mod")}}


def listed(*packages: dict) -> str:
    return "\n".join(json.dumps(p) for p in packages)


def settle(*paths: Path) -> None:
    """Past the timestamp tick of these files, so their keys vouch for them."""
    for path in paths:
        past_the_clock_tick(path.stat().st_ctime_ns)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    (root / "host").mkdir(parents=True)
    (root / "host" / "go.mod").write_text("module example.com/host\n")
    (root / "host" / "main.go").write_text("package main\n")
    return root


def test_paths_inside_the_project_are_recorded_relative_to_it(project: Path) -> None:
    record = sources.record(listed(package(project / "host")), gowork=None, project=project)
    assert record["root"] == str(project)
    assert set(record["files"]) == {"host/main.go", "host/go.mod", "host/go.sum"}
    assert record["folders"] == {"host": ["main.go"]}
    assert sources.changed(record, project) is None


def test_a_copied_project_is_checked_against_its_own_sources(project: Path,
                                                             tmp_path: Path) -> None:
    """cp -a, then an edit in the copy: the copy's record points at the copy's file,
    while the original folder, unchanged, still exists."""
    record = sources.record(listed(package(project / "host")), gowork=None, project=project)
    copy = tmp_path / "copy"
    shutil.copytree(project, copy, symlinks=True)
    assert sources.changed(json.loads(json.dumps(record)), copy) is None
    (copy / "host" / "main.go").write_text("package main\n\nfunc init() {}\n")
    assert sources.changed(record, copy) == "host/main.go changed"
    assert sources.changed(record, project) is None  # the original is what it was


def test_a_new_source_file_in_a_copy_is_seen(project: Path, tmp_path: Path) -> None:
    record = sources.record(listed(package(project / "host")), gowork=None, project=project)
    copy = tmp_path / "copy"
    shutil.copytree(project, copy)
    (copy / "host" / "extra.go").write_text("package main\n")
    assert sources.changed(record, copy) == "host gained or lost a source file"


def test_a_folder_outside_the_project_is_not_believed_once_the_project_moved(
        project: Path, tmp_path: Path) -> None:
    """A directory replacement outside the project: after a move it may name another
    folder than the one recorded, so the artifact is rebuilt."""
    outside = tmp_path / "sibling"
    outside.mkdir()
    (outside / "lib.go").write_text("package lib\n")
    replaced = package(outside, module={"Path": "example.com/lib", "Version": "v1.0.0",
                                        "Replace": {"Path": "../sibling",
                                                    "GoMod": str(outside / "go.mod")}})
    record = sources.record(listed(package(project / "host"), replaced), gowork=None,
                            project=project)
    assert str(outside / "lib.go") in record["files"]
    assert sources.changed(record, project) is None
    moved = tmp_path / "moved"
    shutil.copytree(project, moved)
    reason = sources.changed(record, moved)
    assert reason is not None and "moved" in reason and str(outside) in reason


def test_a_file_hashed_again_takes_its_new_key(project: Path, tmp_path: Path) -> None:
    record = sources.record(listed(package(project / "host")), gowork=None, project=project)
    copy = tmp_path / "copy"
    shutil.copytree(project, copy)
    settle(copy / "host" / "main.go")
    assert sources.changed(record, copy) is None
    assert record["files"]["host/main.go"][1] == stat_key((copy / "host/main.go").stat())


# -- cgo: the folder trees a C compiler reads ---------------------------------------------


@pytest.fixture
def cgo(project: Path, tmp_path: Path) -> tuple[Path, Path]:
    """A cgo package including a header of its subfolder and one from an -I folder
    outside the project."""
    folder = project / "plugin"
    (folder / "sub").mkdir(parents=True)
    (folder / "main.go").write_text('package main\n\n// #include "sub/x.h"\n'
                                    '// #include "y.h"\nimport "C"\n')
    (folder / "sub" / "x.h").write_text("#define X 1\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "y.h").write_text("#define Y 1\n")
    settle(folder / "sub" / "x.h", elsewhere / "y.h")
    return folder, elsewhere


def cgo_record(project: Path, folder: Path, elsewhere: Path) -> dict:
    return sources.record(listed(package(folder, cgo=True, cflags=("-I", str(elsewhere)))),
                          gowork=None, project=project)


def test_cgo_folder_trees_are_recorded(project: Path, cgo) -> None:
    folder, elsewhere = cgo
    record = cgo_record(project, folder, elsewhere)
    assert set(record["trees"]) == {"plugin", str(elsewhere)}
    assert sources.changed(record, project) is None


@pytest.mark.parametrize("edit", ["subfolder header", "new header", "include folder header",
                                  "header removed"])
def test_editing_a_header_a_cgo_package_reads_rebuilds(project: Path, cgo, edit) -> None:
    folder, elsewhere = cgo
    record = cgo_record(project, folder, elsewhere)
    if edit == "subfolder header":
        (folder / "sub" / "x.h").write_text("#define X 2\n")
    elif edit == "new header":
        (folder / "sub" / "z.h").write_text("#define Z 1\n")
    elif edit == "include folder header":
        (elsewhere / "y.h").write_text("#define Y 2\n")
    else:
        (folder / "sub" / "x.h").unlink()
    reason = sources.changed(record, project)
    assert reason is not None and "C sources or headers" in reason, reason


def test_a_header_restored_to_its_content_is_not_a_change(project: Path, cgo) -> None:
    folder, elsewhere = cgo
    record = cgo_record(project, folder, elsewhere)
    header = folder / "sub" / "x.h"
    header.write_text("#define X 2\n")
    header.write_text("#define X 1\n")
    assert sources.changed(record, project) is None


@pytest.mark.parametrize("flags", [("-Iinc",), ("-I", "inc"), ("-iquote", "inc"),
                                   ("-isystem", "inc"), ("-idirafter", "inc")])
def test_include_flags_name_folders_relative_to_the_package(project: Path, flags) -> None:
    folder = project / "plugin"
    (folder / "inc").mkdir(parents=True)
    (folder / "main.go").write_text('package main\n\nimport "C"\n')
    record = sources.record(listed(package(folder, cgo=True, cflags=flags)), gowork=None,
                            project=project)
    assert set(record["trees"]) == {"plugin", "plugin/inc"}


def test_a_package_without_cgo_records_no_tree(project: Path) -> None:
    (project / "host" / "stray.h").write_text("#define S 1\n")
    record = sources.record(listed(package(project / "host")), gowork=None, project=project)
    assert record["trees"] == {}


def test_an_include_folder_too_large_to_track_is_refused(project: Path, tmp_path,
                                                         monkeypatch) -> None:
    monkeypatch.setattr(sources, "TREE_FILES_LIMIT", 5)
    huge = tmp_path / "huge"
    huge.mkdir()
    for index in range(10):
        (huge / f"h{index}.h").write_text("\n")
    folder = project / "plugin"
    folder.mkdir()
    (folder / "main.go").write_text('package main\n\nimport "C"\n')
    with pytest.raises(BuildError) as raised:
        sources.record(listed(package(folder, cgo=True, cflags=(f"-I{huge}",))),
                       gowork=None, project=project)
    assert str(huge) in raised.value.message and raised.value.fix


# -- records of the wrong shape -----------------------------------------------------------

WRONG = {
    "none": None,
    "a string": "x",
    "files a string": {"root": "/p", "files": "x", "folders": {}, "trees": {}},
    "a string for a pair": {"root": "/p", "files": {"a.go": "x"}, "folders": {}, "trees": {}},
    "a pair of three": {"root": "/p", "files": {"a.go": ["x", None, 1]}, "folders": {},
                        "trees": {}},
    "a key of strings": {"root": "/p", "files": {"a.go": ["x", ["1", "2", "3", "4"]]},
                         "folders": {}, "trees": {}},
    "folders a list": {"root": "/p", "files": {}, "folders": [1, 2], "trees": {}},
    "names not strings": {"root": "/p", "files": {}, "folders": {"a": [1]}, "trees": {}},
    "no root": {"files": {}, "folders": {}, "trees": {}},
    "trees a list": {"root": "/p", "files": {}, "folders": {}, "trees": ["a"]},
}


@pytest.mark.parametrize("record", WRONG.values(), ids=WRONG.keys())
def test_a_record_of_the_wrong_shape_is_no_record(record, tmp_path) -> None:
    assert not sources.well_formed(record)
    assert sources.changed(record, tmp_path) == sources.NO_RECORD


def test_a_record_this_module_writes_is_well_formed(project: Path, cgo) -> None:
    folder, elsewhere = cgo
    record = cgo_record(project, folder, elsewhere)
    assert sources.well_formed(json.loads(json.dumps(record)))
    sources.distrusted(record)
    assert sources.well_formed(record)
    assert all(v is None or v[1] is None for v in record["files"].values())
    assert sources.changed(record, project) is None  # hashed, and the content holds
    assert os.path.isabs(next(n for n in record["trees"] if n != "plugin"))
