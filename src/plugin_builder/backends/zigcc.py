"""zig cc: the C compiler of a glibc combination with a floor (``libc.<name>.glibc_floor``).

gcc links against this machine's glibc, so a cgo host or plugin built here needs this
machine's newest symbol versions (Debian 12's gcc gives ``GLIBC_2.34``). ``zig cc
-target x86_64-linux-gnu.2.28`` links against stubs of glibc 2.28 instead: measured
here, a host and a cgo plugin built so need at most ``GLIBC_2.3.2``, and gcc-built hosts
load zig-built plugins and the reverse (the C compiler feeds no package fingerprint).

zig comes from PyPI's ``ziglang`` wheel (411 MB unpacked), provisioned once per machine
into the toolchain cache as the Go releases are (:mod:`plugin_builder.golang.toolchains`):
``pip install --target`` into a staging folder under a lock per version, its files
recorded (:mod:`plugin_builder.golang.goroot`) and checked before use, renamed into
place when complete. Its version and the digest of its files are part of every
artifact's toolchain identity, through the compiler's identity line.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from plugin_builder import processes
from plugin_builder.errors import ToolchainError
from plugin_builder.golang import goroot, quoted
from plugin_builder.golang.goproxy import Log, last_line
from plugin_builder.golang.toolchains import provisioning_lock

ZIG_VERSION = "0.17.1"  # the ziglang wheel measured here (benchmarks/RESULTS.md)
PACKAGE = "ziglang"
TREE = goroot.Tree(PACKAGE, lambda relative, *, folder: "__pycache__" not in relative)
# zig's name of each GOARCH's glibc target: <arch>-linux-gnu.<floor>
TARGET_ARCH = {"amd64": "x86_64", "arm64": "aarch64"}


@dataclass(frozen=True)
class ZigToolchain:
    version: str
    zig: Path  # the zig executable
    digest: str  # of the manifest of its files

    def cc(self, arch: str, floor: str) -> str:
        """The CC value cgo runs: zig cc for glibc ``floor`` on ``arch``, one word each
        (a cache path with a space is quoted as Go splits CC)."""
        return quoted.join([str(self.zig), "cc", "-target", target(arch, floor)])

    def identity(self, arch: str, floor: str) -> str:
        return f"zig {self.version} cc -target {target(arch, floor)} ({self.digest})"


def target(arch: str, floor: str) -> str:
    if arch not in TARGET_ARCH:
        raise ToolchainError(f"zig cc has no glibc target for GOARCH {arch} here",
                             fix=f"build a glibc floor for {', '.join(TARGET_ARCH)} only")
    return f"{TARGET_ARCH[arch]}-linux-gnu.{floor}"


def zig_home(cache_dir: Path, version: str = ZIG_VERSION) -> Path:
    return cache_dir / f"{PACKAGE}-{version}"


def zig_toolchain(cache_dir: Path, *, version: str = ZIG_VERSION,
                  log: Log = print) -> ZigToolchain:
    """zig ``version``, provisioned into ``cache_dir`` on first use, checked as provisioned."""
    home = zig_home(cache_dir, version)
    try:
        checked = _inspect(home)
        if checked.problems:
            with provisioning_lock(cache_dir, f"{PACKAGE}-{version}", log):
                checked = _inspect(home)  # another process may have done it
                if checked.problems:
                    _provision(cache_dir, home, version, checked.problems, log)
                    checked = _inspect(home)
                if checked.problems:  # pragma: no cover - the staged tree was checked
                    raise ToolchainError(f"zig {version} in {home} is not as provisioned: "
                                         + "; ".join(checked.problems),
                                         fix=f"delete {home} and run the same command again")
                goroot.record_keys(home, checked)
    except OSError as error:
        raise ToolchainError(f"cannot provision zig {version} in {cache_dir}: "
                             f"{error.strerror or error}",
                             fix="make the toolchain cache writable ([project] "
                                 "toolchain_cache, or $PLUGIN_BUILDER_CACHE)") from None
    return ZigToolchain(version, home / PACKAGE / "zig", checked.digest)


def as_provisioned(cache_dir: Path, version: str = ZIG_VERSION) -> ZigToolchain | None:
    """zig as provisioned, or None (a dry run provisions nothing)."""
    home = zig_home(cache_dir, version)
    checked = _inspect(home)
    return None if checked.problems else ZigToolchain(version, home / PACKAGE / "zig",
                                                      checked.digest)


def _inspect(home: Path) -> goroot.Checked:
    zig = home / PACKAGE / "zig"
    if not home.exists():
        return goroot.Checked([f"{home} is not provisioned"])
    if not (zig.is_file() and os.access(zig, os.X_OK)):
        return goroot.Checked([f"{zig} is missing or not executable"])
    return goroot.check(home, TREE)


def _provision(cache_dir: Path, home: Path, version: str, problems: list[str],
               log: Log) -> None:
    """pip install the wheel into a staging folder, record it, rename it into place; a
    broken home and what interrupted runs left are swept first (the lock is held)."""
    prefix = f".{PACKAGE}-{version}-"
    for leftover in [p for p in cache_dir.iterdir() if p.name.startswith(prefix)]:
        shutil.rmtree(leftover, ignore_errors=True)
    if home.exists():
        log(f"zig {version} in {home} is broken ({'; '.join(problems)}): provisioning it again")
        os.rename(home, cache_dir / f"{prefix}broken")
        shutil.rmtree(cache_dir / f"{prefix}broken", ignore_errors=True)
    started = time.monotonic()
    staging = Path(tempfile.mkdtemp(prefix=prefix, dir=cache_dir))
    staging.chmod(0o755)
    try:
        log(f"provisioning zig {version} from PyPI: {PACKAGE}=={version} (~100 MB)")
        code, output = processes.run(
            [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
             "--no-deps", "--no-compile", "--only-binary=:all:", "--target", str(staging),
             f"{PACKAGE}=={version}"],
            cwd=staging, env={**os.environ, "PIP_NO_INPUT": "1"})
        if code != 0:
            raise ToolchainError(f"could not provision zig {version}: pip install "
                                 f"{PACKAGE}=={version} failed: {last_line(output)}",
                                 fix="make PyPI reachable (pip config, https_proxy), then run "
                                     "the same command again")
        _check_version(staging / PACKAGE / "zig", version)
        record = {"release": f"zig {version}", "source": f"PyPI {PACKAGE}=={version}",
                  "verified": "pip checked the wheel against PyPI's sha256; zig version "
                              f"reports {version}",
                  "manifest": goroot.record(staging, TREE),
                  "seconds": round(time.monotonic() - started, 1)}
        (staging / "provenance.json").write_text(json.dumps(record, indent=2) + "\n")
        os.rename(staging, home)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    log(f"zig {version} ready in {home} ({record['seconds']} s)")


def _check_version(zig: Path, version: str) -> None:
    answered = processes.answer([str(zig), "version"], timeout_s=60)
    said = answered[1].decode(errors="replace").strip() if answered else ""
    if said != version:
        raise ToolchainError(f"{PACKAGE}=={version} holds zig {said or '(no answer)'}",
                             fix="report it; meanwhile use gcc (drop the glibc_floor)")
