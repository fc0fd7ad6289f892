"""Faults, with the real tool and real processes: kills while landing, signals during a
build, damaged manifests and results, tampered artifacts, `clean` of a folder not ours.

Every test works on its own copy of one project whose default combination was built
once (a warm Go build cache makes the whole file take a few minutes at most).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import tomlkit

from plugin_builder.binary.elfheaders import ElfHeaders
from plugin_builder.binary.elftables import SymbolTable
from plugin_builder.binary.fingerprints import read_fingerprints
from plugin_builder.files import TEMP_MARK
from tests.project import Project

COMBINATION = "go1.26.6-glibc-amd64"
PLUGIN = "plugins/d7y-scheduler-plugin-evaluator.so"
BUILD_TOOLS = {"go", "compile", "link", "asm", "cgo", "vet", "gcc", "cc1", "as", "ld",
               "collect2", "ld.bfd", "ld.gold"}


# -- helpers -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Project:
    """The project with the default combination's pipeline run once."""
    project = Project(tmp_path_factory.mktemp("faults-template"))
    project.invoke("pipeline")
    return project


def clone(template: Project, root: Path) -> Project:
    """A copy of the built template: sources, artifacts, manifest and results."""
    shutil.copytree(template.root, root, symlinks=True)
    return Project.existing(root)


def start(project: Project, *args: str) -> subprocess.Popen[str]:
    """`invoke ARGS` in the background, in a session of its own (so that a signal we send
    to it reaches the Python process alone)."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    logs = project.root.parent / f"{project.root.name}-invoke-{time.monotonic_ns()}"
    out, err = Path(f"{logs}.out"), Path(f"{logs}.err")
    with out.open("w") as stdout, err.open("w") as stderr:
        process = subprocess.Popen([sys.executable, "-m", "invoke", *args], cwd=project.root,
                                   env=env, stdout=stdout, stderr=stderr, text=True,
                                   start_new_session=True)
    process.logs = (out, err)  # type: ignore[attr-defined]
    return process


def output(process: subprocess.Popen[str]) -> tuple[str, str]:
    out, err = process.logs  # type: ignore[attr-defined]
    return out.read_text(), err.read_text()


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def temporaries(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if TEMP_MARK in p.name) \
        if folder.exists() else []


def assert_store_is_consistent(project: Project) -> None:
    """No temporary file left, and every artifact is the content its manifest names."""
    assert temporaries(project.root / "artifacts") == []
    manifest = project.manifest(COMBINATION)
    assert manifest["artifacts"], manifest
    for relative, entry in manifest["artifacts"].items():
        path = project.artifacts(COMBINATION) / relative
        assert path.is_file(), relative
        assert sha256(path) == entry["sha256"], f"{relative} is not what the manifest names"
        assert path.stat().st_size == entry["size"], relative


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    if not folder.exists():
        return {}
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in folder.rglob("*") if p.is_file()}


class Proc:
    def __init__(self, pid: int, comm: str, sid: int, cwd: str, cmdline: str) -> None:
        self.pid, self.comm, self.sid, self.cwd, self.cmdline = pid, comm, sid, cwd, cmdline

    def __repr__(self) -> str:
        return f"<{self.pid} {self.comm} sid={self.sid} cwd={self.cwd} {self.cmdline[:160]}>"


def living_processes() -> list[Proc]:
    """Every process on the machine but zombies, with its session, cwd and command line."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            comm = stat[stat.index("(") + 1:stat.rindex(")")]
            state, _ppid, _pgrp, sid = stat[stat.rindex(")") + 2:].split()[:4]
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ")
            try:
                cwd = os.readlink(f"/proc/{entry}/cwd")
            except OSError:
                cwd = ""
        except (OSError, ValueError):
            continue  # it ended while we looked
        if state in ("Z", "X"):
            continue
        found.append(Proc(int(entry), comm, int(sid), cwd,
                          cmdline.decode(errors="replace")))
    return found


def inside(path: str, root: Path) -> bool:
    return path == str(root) or path.startswith(f"{root}/")


def build_processes(root: Path, sessions: set[int] = frozenset()) -> list[Proc]:
    """The processes of a build in ``root``: in its sessions, or working or named in it."""
    return [p for p in living_processes()
            if p.sid in sessions or inside(p.cwd, root) or f"{root}/" in p.cmdline]


def wait_for(condition: Callable[[], object], timeout_s: float, poll_s: float = 0.05):
    deadline = time.monotonic() + timeout_s
    while True:
        value = condition()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(poll_s)


def kill_leftovers(root: Path) -> None:
    """Our own cleanup when a test failed halfway: end what we started, by pid."""
    for proc in build_processes(root):
        with contextlib.suppress(ProcessLookupError):
            os.kill(proc.pid, signal.SIGKILL)


def touch_plugin(project: Project, mark: str) -> None:
    """A change of the scheduler plugin's sources, so its next build runs and lands."""
    main_go = project.root / "plugins" / "scheduler" / "evaluator" / "main.go"
    main_go.write_text(main_go.read_text() + f"\n// {mark}\n")


def loads(project: Project) -> subprocess.CompletedProcess[str]:
    host = project.artifacts(COMBINATION) / "bin" / "scheduler"
    return subprocess.run([str(host), "check-plugin", str(project.artifacts(COMBINATION) /
                                                        PLUGIN)],
                          capture_output=True, text=True, timeout=60)


# -- SIGKILL while landing ------------------------------------------------------------------


def staged_outputs(folders: list[Path]) -> list[str]:
    """Staging files that hold a build's output (mkstemp's empty placeholder does not)."""
    found = []
    for folder in folders:
        for entry in os.scandir(folder) if folder.is_dir() else ():
            if TEMP_MARK in entry.name and entry.name.endswith(".tmp"):
                with contextlib.suppress(FileNotFoundError):
                    if entry.stat().st_size > 0:
                        found.append(entry.name)
    return found


def kill_when(project: Project, point: str, delay: float) -> dict[str, object]:
    """Start `invoke build-plugin --type scheduler` and SIGKILL its Python process at
    ``point``: when the go command's output is staged, when the manifest is being written
    or has changed, or ``delay`` seconds after the start."""
    folder = project.artifacts(COMBINATION)
    manifest = folder / "manifest.json"
    before = manifest.stat()
    baseline = (before.st_ino, before.st_mtime_ns, before.st_size)
    process = start(project, "build-plugin", "--type", "scheduler")
    started = time.monotonic()
    seen: dict[str, object] = {"point": point, "delay": round(delay, 3)}
    try:
        while process.poll() is None:
            now = time.monotonic() - started
            staging = staged_outputs([folder / "plugins"])
            manifest_temp = [e.name for e in os.scandir(folder)
                             if e.name.startswith(".manifest.json.") and TEMP_MARK in e.name]
            try:
                now_stat = manifest.stat()
                changed = (now_stat.st_ino, now_stat.st_mtime_ns, now_stat.st_size) != baseline
            except FileNotFoundError:
                changed = True
            if ((point == "staging" and staging)
                    or (point == "manifest" and (changed or manifest_temp))
                    or (point == "random" and now >= delay)):
                os.kill(process.pid, signal.SIGKILL)
                seen.update(killed_at=round(now, 3), staging=staging,
                            manifest_changed=changed, manifest_temp=manifest_temp)
                break
            if now > 120:
                raise AssertionError("the build did not end in 120 s")
            time.sleep(0.0005)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    seen["returncode"] = process.returncode
    # The watchdog ends the killed process's build group: nothing of it may go on writing.
    left = wait_for(lambda: not build_processes(project.root), 10)
    assert left, f"build processes outlived the SIGKILL: {build_processes(project.root)}"
    return seen


def test_sigkill_while_landing_leaves_nothing_trusted_that_is_wrong(template, tmp_path) -> None:
    project = clone(template, tmp_path / "project")
    seed = time.time_ns()
    rng = random.Random(seed)
    try:
        started = time.monotonic()
        project.invoke("build-plugin", "--type", "scheduler")  # settle this copy's paths
        build_s = time.monotonic() - started  # how long one rebuild of the plugin takes
        history = []
        points = ["staging", "manifest", "random", "random", "random"]
        index = 0
        while index < len(points):
            touch_plugin(project, f"kill {index} {points[index]}")
            seen = kill_when(project, points[index], rng.uniform(0.2, max(0.5, build_s)))
            history.append(seen)
            if points[index] == "staging" and not seen.get("staging") and len(history) < 8:
                continue  # the landing window was missed: try that point again
            run = project.invoke("build-plugin", "--type", "scheduler", expect=None)
            assert run.returncode == 0, f"{history}\n{run.stderr}"
            assert "Traceback" not in run.stderr
            assert_store_is_consistent(project)
            check = loads(project)
            assert check.returncode == 0, f"{history}\n{check.stdout}{check.stderr}"
            index += 1
        # The test did kill the tool in the landing window (staged file, before the rename).
        print(f"seed {seed}:", *history, sep="\n  ")
        assert any(s.get("staging") for s in history), f"seed {seed}: {history}"
        assert any(s.get("returncode") == -signal.SIGKILL for s in history), history
    finally:
        kill_leftovers(project.root)


# -- signals to the Python process alone during a build ---------------------------------------


def signal_during_build(project: Project, signum: signal.Signals) -> dict[str, object]:
    """`invoke build-host` on a fresh project; ``signum`` to its Python process once the
    go command is compiling or linking. Returns what happened, after checking that no
    process of the build survives it by more than a few seconds."""
    process = start(project, "build-host")
    root = project.root
    try:
        def go_running() -> list[Proc]:
            return [p for p in build_processes(root) if p.comm == "go"]

        go = wait_for(go_running, 60, 0.01)
        assert go, f"no go process of {root} appeared: {output(process)}"
        sessions = {p.sid for p in go}
        tools = wait_for(lambda: [p for p in build_processes(root, sessions)
                                  if p.comm in BUILD_TOOLS - {"go"}
                                  and "-V=full" not in p.cmdline], 30, 0.01)
        os.kill(process.pid, signum)
        signalled = time.monotonic()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"invoke did not end within 15 s of {signum.name}") from None
        survivors = wait_for(lambda: not build_processes(root, sessions), 5)
        assert survivors, (f"{signum.name}: build processes still run 5 s later: "
                           f"{build_processes(root, sessions)}")
        return {"signal": signum, "returncode": process.returncode, "tools": tools,
                "signalled": signalled, "output": output(process),
                "files": snapshot(root / "artifacts")}
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def test_signals_to_the_tool_end_the_whole_build(tmp_path) -> None:
    roots = []
    try:
        outcomes = []
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGKILL):
            project = Project(tmp_path / signum.name)  # nothing built: a long build
            roots.append(project.root)
            outcomes.append((project, signal_during_build(project, signum)))
        for project, outcome in outcomes:
            signum = outcome["signal"]
            assert outcome["tools"], f"{signum.name} came before any compile or link ran"
            _, err = outcome["output"]
            if signum == signal.SIGKILL:
                assert outcome["returncode"] == -signal.SIGKILL
            else:
                assert outcome["returncode"] == 130, (signum.name, err)
                assert "interrupted" in err, err
                assert "Traceback" not in err, err
                # nothing half-written was kept: no staging or temporary file at all
                assert temporaries(project.root / "artifacts") == [], signum.name
        # 20 s after the last signal, nothing of any of these builds wrote anything.
        time.sleep(max(0.0, outcomes[-1][1]["signalled"] + 20 - time.monotonic()))
        for project, outcome in outcomes:
            assert build_processes(project.root) == []
            assert snapshot(project.root / "artifacts") == outcome["files"], \
                f"{outcome['signal'].name}: files changed after the tool ended"
    finally:
        for root in roots:
            kill_leftovers(root)


# -- damaged manifest and results ---------------------------------------------------------


def truncate(path: Path) -> None:
    text = path.read_text()
    path.write_text(text[: len(text) // 2])


def edit(change: Callable[[dict], None]) -> Callable[[Path], None]:
    """A damage made by editing the real manifest: valid JSON, of another shape."""

    def damage(path: Path) -> None:
        manifest = json.loads(path.read_text())
        change(manifest)
        path.write_text(json.dumps(manifest, indent=2))

    return damage


def _sources(manifest: dict, relative: str = PLUGIN) -> dict:
    return manifest["artifacts"][relative]["sources"]


DAMAGES = {
    "truncated": (truncate, truncate),
    "sources files a string": (
        edit(lambda m: _sources(m, "bin/scheduler").__setitem__("files", "x")), truncate),
    "a string where a pair is expected": (
        edit(lambda m: _sources(m)["files"].update(dict.fromkeys(_sources(m)["files"], "x"))),
        truncate),
    "folders [1, 2]": (edit(lambda m: _sources(m).__setitem__("folders", [1, 2])), truncate),
    "100,000 deep": (lambda path: path.write_text("[" * 100_000 + "]" * 100_000), truncate),
    "wrong shape": (
        lambda path: path.write_text(json.dumps(
            {"combination": COMBINATION,
             "artifacts": {"bin/scheduler": {"size": 1}, "bin/manager": "x"}})),
        lambda path: path.write_text(json.dumps(
            {"schema": "plugin-builder/combination-result/1", "combination": COMBINATION,
             "status": "passed", "error": None,
             "steps": [{"name": "host", "status": "passed"}]})),
    ),
}


@pytest.mark.parametrize("damage", DAMAGES, ids=DAMAGES)
def test_a_damaged_manifest_is_rebuilt_without_a_traceback(template, tmp_path, damage) -> None:
    project = clone(template, tmp_path / "project")
    damage_manifest, damage_results = DAMAGES[damage]
    damage_manifest(project.artifacts(COMBINATION) / "manifest.json")
    damage_results(project.root / "results" / f"{COMBINATION}.json")

    run = project.invoke("pipeline", expect=None)

    assert "Traceback" not in run.stderr, run.stderr
    assert run.returncode == 0, run.stderr
    assert "manifest.json" in run.stderr  # the damage is reported
    for relative in ("bin/scheduler", "bin/manager", "bin/dfdaemon", PLUGIN):
        assert f"built {relative}" in run.stderr, run.stderr  # rebuilt, nothing trusted
    assert_store_is_consistent(project)
    report = project.invoke("report", expect=None)
    assert report.returncode == 0 and "Traceback" not in report.stderr, report.stderr
    assert COMBINATION in report.stdout and "passed" in report.stdout, report.stdout


@pytest.mark.parametrize("damage", DAMAGES, ids=DAMAGES)
def test_a_damaged_result_is_a_row_of_the_report(template, tmp_path, damage) -> None:
    project = clone(template, tmp_path / "project")
    _, damage_results = DAMAGES[damage]
    damage_results(project.root / "results" / f"{COMBINATION}.json")

    report = project.invoke("report", expect=None)
    assert "Traceback" not in report.stderr, report.stderr
    assert report.returncode == 0, report.stderr
    assert COMBINATION in report.stdout and "failed" in report.stdout, report.stdout
    as_json = project.invoke("report", "--json", expect=None)
    assert as_json.returncode == 0 and "Traceback" not in as_json.stderr, as_json.stderr
    [row] = json.loads(as_json.stdout)
    assert row["combination"] == COMBINATION and row["status"] == "failed", row
    assert row["error"] and "run its pipeline again" in row["error"], row


# -- a tampered artifact -------------------------------------------------------------------


def tamper(path: Path) -> str:
    """Overwrite the first bytes in place; size and mtime restored. The new sha256."""
    before = path.stat()
    with path.open("r+b") as stream:
        stream.write(b"\0TAMPERED\0" * 4)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = path.stat()
    assert (after.st_size, after.st_mtime_ns, after.st_ino) == \
        (before.st_size, before.st_mtime_ns, before.st_ino)
    return sha256(path)


def test_a_tampered_artifact_is_rebuilt_and_never_verified_as_up_to_date(template,
                                                                        tmp_path) -> None:
    project = clone(template, tmp_path / "project")
    project.invoke("pipeline")  # settle this copy: plugins built and verified here
    folder = project.artifacts(COMBINATION)
    original = {r: sha256(folder / r) for r in ("bin/scheduler", PLUGIN)}
    tampered = {r: tamper(folder / r) for r in original}

    run = project.invoke("pipeline", expect=None)

    assert run.returncode == 0, run.stderr
    for relative in original:
        assert f"built {relative}" in run.stderr, run.stderr
        assert f"up to date: {relative}" not in run.stderr
        assert sha256(folder / relative) == original[relative]  # rebuilt, same content
    manifest = json.dumps(project.manifest(COMBINATION))
    assert not any(digest in manifest for digest in tampered.values())
    # A reused proof is only ever about the content that is there now, never the tampered.
    proofs = [line for line in run.stderr.splitlines()
              if "verify d7y-scheduler-plugin-evaluator.so: pass (up to date" in line]
    if proofs:
        assert sha256(folder / PLUGIN) == original[PLUGIN]
    assert_store_is_consistent(project)
    assert loads(project).returncode == 0


def test_verify_checks_the_bytes_that_are_there_not_a_proof(template, tmp_path) -> None:
    """A host overwritten in place (size and mtime restored): `invoke verify
    --static-only` judges the bytes on disk and fails, without a traceback or a rebuild;
    a live `invoke verify` rebuilds it first (it judges what the sources build)."""
    project = clone(template, tmp_path / "project")
    host = project.artifacts(COMBINATION) / "bin" / "scheduler"
    original = sha256(host)
    tampered = tamper(host)
    run = project.invoke("verify", "--static-only", expect=None)
    assert "Traceback" not in run.stderr, run.stderr
    assert run.returncode != 0, "verify passed a host whose bytes were overwritten"
    assert "up to date" not in run.stderr
    assert sha256(host) == tampered  # a static verify checks; it does not rebuild
    live = project.invoke("verify", expect=None)
    assert live.returncode == 0, live.stderr
    assert "built bin/scheduler" in live.stderr and sha256(host) == original


def test_static_verify_reads_the_fingerprints_on_disk_not_those_recorded(template,
                                                                         tmp_path) -> None:
    """A host whose fingerprint of one package was changed in place (size and mtime
    restored): the fingerprints recorded when it landed no longer describe it, so
    `verify --static-only` reads the binary and names that package."""
    project = clone(template, tmp_path / "project")
    folder = project.artifacts(COMBINATION)
    host = folder / "bin" / "scheduler"
    assert project.manifest(COMBINATION)["artifacts"]["bin/scheduler"]["fingerprints"]
    plugin_order = read_fingerprints(folder / PLUGIN).check_order
    host_prints = read_fingerprints(host)
    package = [p for p in plugin_order if p in host_prints.hashes][-1]  # not the first
    flip_fingerprint(host, package)

    run = project.invoke("verify", "--static-only", "--json", expect=None)

    assert "Traceback" not in run.stderr, run.stderr
    assert run.returncode != 0, "verify trusted the fingerprints recorded at landing"
    scheduler = [r for r in json.loads(run.stdout)["results"] if r["plugin"].endswith(PLUGIN)]
    assert scheduler[0]["fingerprints"]["differing"] == [package], scheduler


def flip_fingerprint(binary: Path, package: str) -> None:
    """Invert the binary's fingerprint of ``package`` in place, size and mtime kept: a
    valid ELF file that its host (or plugin) refuses."""
    with binary.open("rb") as stream:
        elf = ElfHeaders.read(stream)
    address = dict(_fingerprint_addresses(binary))[package]
    offset = elf.file_offset(address, 8)
    value = read_fingerprints(binary).hashes[package]
    before = binary.stat()
    with binary.open("r+b") as stream:
        stream.seek(offset)
        stream.write(bytes(b ^ 0xFF for b in value))
    os.utime(binary, ns=(before.st_atime_ns, before.st_mtime_ns))


def _fingerprint_addresses(binary: Path) -> list[tuple[str, int]]:
    """(package, address) of each go:link.pkghashbytes symbol, as the reader finds them."""
    with binary.open("rb") as stream:
        elf = ElfHeaders.read(stream)
        table = SymbolTable.read(elf, stream)
    prefix = "go:link.pkghashbytes."
    return [(s.name.removeprefix(prefix), s.value)
            for s in table.symbols_named(prefix).values()]


# -- clean -----------------------------------------------------------------------------------------


def test_clean_refuses_a_folder_it_did_not_make(tmp_path) -> None:
    project = Project(tmp_path / "project")
    mine = project.root / "mine"
    (mine / COMBINATION).mkdir(parents=True)
    (mine / "keep.txt").write_text("my notes\n")
    (mine / COMBINATION / "keep.bin").write_text("mine too\n")
    config = tomlkit.parse((project.root / "buildconfig.toml").read_text())
    config["project"]["artifacts"] = "mine"
    (project.root / "buildconfig.toml").write_text(tomlkit.dumps(config))

    for args in (("clean",), ("clean", "--go", "1.26.6")):
        run = project.invoke(*args, expect=None)
        assert run.returncode != 0, f"invoke {' '.join(args)} removed a folder not its own"
        assert "Traceback" not in run.stderr, run.stderr
        assert (mine / "keep.txt").read_text() == "my notes\n"
        assert (mine / COMBINATION / "keep.bin").read_text() == "mine too\n"
    assert "plugin-builder" in run.stderr


def test_clean_removes_what_it_made(template, tmp_path) -> None:
    project = clone(template, tmp_path / "project")
    run = project.invoke("clean", "--go", "1.26.6", "--libc", "glibc")
    assert not project.artifacts(COMBINATION).exists()
    assert str(project.artifacts(COMBINATION)) in run.stdout
    assert (project.root / "host" / "go.mod").exists()
