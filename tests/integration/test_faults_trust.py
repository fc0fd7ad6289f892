"""Nothing trusted that was not checked, with the real tool and real processes: a copied
project, a manifest edited by hand, headers a cgo package reads, output folders that are
not the tool's, a daemon a plugin starts, go's temporary files after a SIGKILL, a
compiler reading /dev/zero, and what reaches the terminal.

Every test works on its own copy of one project whose default combination was built
once (see test_faults.py).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import tomlkit

from plugin_builder.binary.fingerprints import read_fingerprints
from plugin_builder.errors import BuildError, FilesystemError, UsageError
from plugin_builder.files import stat_key
from tests.project import Project

from .test_faults import (  # noqa: F401  (template is a fixture)
    BUILD_TOOLS,
    COMBINATION,
    PLUGIN,
    assert_store_is_consistent,
    build_processes,
    clone,
    flip_fingerprint,
    kill_leftovers,
    living_processes,
    loads,
    output,
    sha256,
    start,
    tamper,
    template,
    wait_for,
)

EVALUATOR = Path("plugins") / "scheduler" / "evaluator"


def add_go_file(project: Project, name: str, text: str) -> Path:
    path = project.root / EVALUATOR / name
    path.write_text(text)
    return path


def set_artifacts(project: Project, value: str) -> None:
    config = tomlkit.parse((project.root / "buildconfig.toml").read_text())
    config["project"]["artifacts"] = value
    (project.root / "buildconfig.toml").write_text(tomlkit.dumps(config))


def tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*")
            if p.is_file() and not p.is_symlink()}


# -- a copied project ------------------------------------------------------------------------


def test_a_copied_project_builds_from_its_own_sources(template, tmp_path) -> None:  # noqa: F811
    """`cp -a` elsewhere while the original still exists, the host edited in the copy:
    the copy rebuilds its host from its own sources."""
    original = clone(template, tmp_path / "original")
    original.invoke("build-host")  # settle this copy's records
    copy = tmp_path / "copy"
    subprocess.run(["cp", "-a", str(original.root), str(copy)], check=True)
    project = Project.existing(copy)
    before = sha256(project.artifacts(COMBINATION) / "bin" / "scheduler")
    main = copy / "host" / "cmd" / "scheduler" / "main.go"
    main.write_text(main.read_text() + '\nvar edited = "in the copy"\n\n'
                    'func init() { _ = edited }\n')

    run = project.invoke("build-host")

    assert "built bin/scheduler" in run.stderr, run.stderr
    assert sha256(project.artifacts(COMBINATION) / "bin" / "scheduler") != before
    assert sha256(original.artifacts(COMBINATION) / "bin" / "scheduler") == before
    again = project.invoke("build-host")
    assert "up to date: bin/scheduler" in again.stderr, again.stderr


def test_a_copied_project_left_as_it_is_is_up_to_date(template, tmp_path) -> None:  # noqa: F811
    original = clone(template, tmp_path / "original")
    original.invoke("build-host")
    copy = tmp_path / "copy"
    subprocess.run(["cp", "-a", str(original.root), str(copy)], check=True)
    project = Project.existing(copy)
    run = project.invoke("build-host")
    assert "built " not in run.stderr, run.stderr


# -- the manifest certifies nothing by itself ------------------------------------------------


def forge_stat_key(project: Project, relative: str) -> None:
    """Rewrite only the entry's `stat` in manifest.json: the file's key as it is now."""
    folder = project.artifacts(COMBINATION)
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["artifacts"][relative]["stat"] = stat_key((folder / relative).stat())
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True))


def test_a_stat_key_rewritten_by_hand_vouches_for_nothing(template, tmp_path) -> None:  # noqa: F811
    """A plugin changed in place (same size) and only its entry's `stat` rewritten in
    manifest.json: static verify reads the binary, not the fingerprints recorded for
    other bytes; the pipeline rebuilds it and reuses no proof."""
    project = clone(template, tmp_path / "project")
    project.invoke("pipeline")  # settle: built and verified here
    folder = project.artifacts(COMBINATION)
    original = sha256(folder / PLUGIN)
    host_prints = read_fingerprints(folder / "bin" / "scheduler").hashes
    package = [p for p in read_fingerprints(folder / PLUGIN).check_order or ()
               if p in host_prints][-1]
    flip_fingerprint(folder / PLUGIN, package)
    forge_stat_key(project, PLUGIN)

    static = project.invoke("verify", "--static-only", "--json", expect=None)
    assert "Traceback" not in static.stderr, static.stderr
    assert static.returncode != 0, "a hand-written stat key vouched for other bytes"
    [scheduler] = [r for r in json.loads(static.stdout)["results"]
                   if r["plugin"].endswith(PLUGIN)]
    assert scheduler["fingerprints"]["differing"] == [package], scheduler

    tamper(folder / PLUGIN)  # and now bytes the host refuses
    forge_stat_key(project, PLUGIN)
    assert loads(project).returncode != 0
    run = project.invoke("pipeline", expect=None)
    assert run.returncode == 0, run.stderr
    assert f"built {PLUGIN}" in run.stderr, run.stderr
    assert "unchanged since they were verified" not in run.stderr
    assert sha256(folder / PLUGIN) == original
    assert_store_is_consistent(project)
    assert (folder / "manifest.json").read_text().startswith('{"seal": "')
    assert loads(project).returncode == 0


# -- headers a cgo package reads ---------------------------------------------------------------

CGO = """package main

/*
#cgo CFLAGS: -I{elsewhere}
#include "sub/x.h"
#include "y.h"
*/
import "C"

var fromC = int(C.X) + int(C.Y)
"""


def test_headers_a_cgo_plugin_reads_are_build_inputs(template, tmp_path) -> None:  # noqa: F811
    project = clone(template, tmp_path / "project")
    elsewhere = tmp_path / "elsewhere"  # outside the project
    elsewhere.mkdir()
    (elsewhere / "y.h").write_text("#define Y 1\n")
    (project.root / EVALUATOR / "sub").mkdir()
    header = project.root / EVALUATOR / "sub" / "x.h"
    header.write_text("#define X 1\n")
    add_go_file(project, "cgo.go", CGO.replace("{elsewhere}", str(elsewhere)))
    build = ("build-plugin", "--type", "scheduler")
    assert f"built {PLUGIN}" in project.invoke(*build).stderr
    assert f"up to date: {PLUGIN}" in project.invoke(*build).stderr

    for edited, text in ((header, "#define X 2\n"), (elsewhere / "y.h", "#define Y 2\n")):
        edited.write_text(text)
        run = project.invoke(*build)
        assert f"built {PLUGIN}" in run.stderr, (edited, run.stderr)
    (project.root / EVALUATOR / "sub" / "z.h").write_text("#define Z 1\n")
    assert f"built {PLUGIN}" in project.invoke(*build).stderr  # a new header, maybe shadowing


# -- output folders that are not the tool's -----------------------------------------------------


def test_a_folder_holding_the_users_files_is_never_built_into(tmp_path) -> None:
    project = Project(tmp_path / "project")
    mine = project.root / "userdata"
    (mine / "objects").mkdir(parents=True)
    (mine / "HEAD").write_text("ref: refs/heads/main\n")
    before = tree(mine)
    set_artifacts(project, "userdata")

    run = project.invoke("build-host", expect=None)

    assert run.returncode == UsageError.return_code, run.stderr
    assert "Traceback" not in run.stderr and "userdata" in run.stderr
    assert tree(mine) == before and not (mine / ".plugin-builder").exists()
    clean = project.invoke("clean", expect=None)
    assert clean.returncode == UsageError.return_code and tree(mine) == before


@pytest.mark.parametrize("link", [COMBINATION, f"{COMBINATION}/plugins",
                                  f"{COMBINATION}/.plugin-builder"])
def test_a_link_inside_the_output_folders_is_never_written_through(template, tmp_path,  # noqa: F811
                                                                   link) -> None:
    project = clone(template, tmp_path / "project")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep.txt").write_text("mine\n")
    path = project.root / "artifacts" / link
    subprocess.run(["rm", "-rf", str(path)], check=True)
    path.symlink_to(outside / "keep.txt" if link.endswith(".plugin-builder") else outside)
    touched = project.root / EVALUATOR / "main.go"
    touched.write_text(touched.read_text() + "\n// rebuild\n")

    run = project.invoke("build-plugin", "--type", "scheduler", expect=None)

    assert run.returncode == FilesystemError.return_code, run.stderr
    assert "Traceback" not in run.stderr and "symbolic link" in run.stderr or \
        "marker" in run.stderr, run.stderr
    assert tree(outside) == {"keep.txt": b"mine\n"}


# -- processes -----------------------------------------------------------------------------------

DAEMON = """package main

import (
	"os/exec"
	"syscall"
)

func init() {
	cmd := exec.Command("sleep", "3131")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	_ = cmd.Start()
}
"""


def daemons() -> list[int]:
    return [p.pid for p in living_processes() if p.cmdline.strip() == "sleep 3131"]


def test_a_daemon_a_plugins_init_starts_ends_with_the_check(template, tmp_path) -> None:  # noqa: F811
    project = clone(template, tmp_path / "project")
    add_go_file(project, "daemon.go", DAEMON)
    before = set(daemons())
    try:
        run = project.invoke("pipeline", expect=None)
        assert "Traceback" not in run.stderr, run.stderr
        assert f"built {PLUGIN}" in run.stderr, run.stderr
        left = wait_for(lambda: not set(daemons()) - before, 5)
        assert left, f"the plugin's daemon outlived verify: {set(daemons()) - before}"
    finally:
        for pid in set(daemons()) - before:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def test_a_killed_build_leaves_go_work_folders_only_where_the_next_run_sweeps(
        tmp_path) -> None:
    project = Project(tmp_path / "project")  # nothing built, and an empty GOCACHE: long
    system_tmp = tmp_path / "tmp"
    system_tmp.mkdir()
    overrides = {"TMPDIR": str(system_tmp), "GOCACHE": str(tmp_path / "gocache")}
    saved = {name: os.environ.get(name) for name in overrides}
    os.environ.update(overrides)
    try:
        process = start(project, "build-host")
    finally:
        for name, value in saved.items():
            if value is None:
                del os.environ[name]
            else:
                os.environ[name] = value

    def compiling() -> list:
        return [p for p in build_processes(project.root) if p.comm in BUILD_TOOLS - {"go"}]

    try:
        assert wait_for(compiling, 120, 0.02), f"no compiler ran: {output(process)}"
        time.sleep(1.0)  # go's $WORK holds files now
        # Killed while a compiler runs: its go command has not returned, so its $WORK (in
        # the run's temporary folder) is still there.
        assert wait_for(compiling, 60, 0.005), f"the build ended: {output(process)}"
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
        assert wait_for(lambda: not build_processes(project.root), 10)
        assert [p.name for p in system_tmp.iterdir()] == [], "go's $WORK went to TMPDIR"
        scratch = project.artifacts(COMBINATION) / ".work"
        dead = [p for p in scratch.iterdir() if p.name.startswith(".tmp.")]
        assert [p.name for p in dead] == [f".tmp.{process.pid}.pb-tmp"], dead
        project.invoke("build-host")
        assert not dead[0].exists(), "the next build did not sweep the dead run's folder"
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        kill_leftovers(project.root)


def test_a_compiler_reading_dev_zero_stops_at_the_memory_bound(template, tmp_path) -> None:  # noqa: F811
    project = clone(template, tmp_path / "project")
    add_go_file(project, "zero.go", 'package main\n\n// #include "/dev/zero"\nimport "C"\n')
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "PLUGIN_BUILDER_BUILD_MEMORY": "512M"}
    started = time.monotonic()
    run = subprocess.run([sys.executable, "-m", "invoke", "build-plugin", "--type",
                          "scheduler"], cwd=project.root, env=env, capture_output=True,
                         text=True, timeout=600)
    assert run.returncode == BuildError.return_code, run.stderr[-3000:]
    assert "Traceback" not in run.stderr
    assert "at most 0.5 GiB of memory" in run.stderr, run.stderr[-3000:]
    assert time.monotonic() - started < 300


# -- what reaches the terminal ---------------------------------------------------------------------


def test_a_reader_that_goes_away_ends_the_command_quietly(template, tmp_path) -> None:  # noqa: F811
    project = clone(template, tmp_path / "project")
    child = subprocess.Popen([sys.executable, "-m", "invoke", "list"], cwd=project.root,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert child.stdout is not None and child.stderr is not None
    child.stdout.close()  # as `| head` does, before anything was written
    stderr = child.stderr.read()
    assert child.wait(timeout=60) == 1, stderr
    assert stderr == "", stderr


def test_a_file_name_with_terminal_escapes_is_printed_escaped(template, tmp_path) -> None:  # noqa: F811
    project = clone(template, tmp_path / "project")
    hostile = "x\x1b[2J\x1b]0;owned\x07.so"
    run = project.invoke("verify", "--host", hostile, "--plugin", hostile, expect=None)
    assert run.returncode != 0 and "Traceback" not in run.stderr
    assert "\x1b" not in run.stderr and "\x07" not in run.stderr, repr(run.stderr)
    assert "x\\x1b[2J" in run.stderr, run.stderr
