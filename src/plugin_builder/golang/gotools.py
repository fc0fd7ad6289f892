"""Go programs the tool runs beside builds (the GOCACHEPROG helper), made with `go install`.

A program is built once per (package@version, Go release, arch) with a provisioned
toolchain, from the Go module proxy (which checks it against the checksum database),
statically (``CGO_ENABLED=0``: it runs on a glibc and a musl base alike), into
``<toolchain cache>/tools/<name>-<key>/<name>``. The builder image of a combination
copies the same file in; the local backend runs it from there.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from plugin_builder import processes
from plugin_builder.emulation import native_arch
from plugin_builder.errors import ToolchainError
from plugin_builder.files import digest
from plugin_builder.golang.goenv import toolchain_env
from plugin_builder.golang.goproxy import Log

if TYPE_CHECKING:
    from plugin_builder.golang.toolchains import GoToolchain

TOOLS = "tools"


def installed(package: str, name: str, toolchain: GoToolchain, cache_dir: Path, *,
              arch: str | None = None, log: Log) -> Path:
    """The program ``go install <package>`` makes (``package`` is path@version), for
    linux/``arch`` (this machine's when None), built with ``toolchain`` on first use."""
    arch = arch or native_arch()
    tools = cache_dir / TOOLS
    folder = tools / f"{name}-{digest(package, toolchain.version, arch)[:16]}"
    binary = folder / name
    if binary.is_file():
        return binary
    from filelock import FileLock  # 8 ms to import: only when there is something to make

    tools.mkdir(parents=True, exist_ok=True)
    with FileLock(str(tools / f".{folder.name}.lock")):
        if not binary.is_file():
            log(f"installing {package} with go{toolchain.version} for linux/{arch}")
            _install(package, name, toolchain, arch, folder)
    return binary


def _install(package: str, name: str, toolchain: GoToolchain, arch: str, folder: Path) -> None:
    """`go install` into a scratch GOPATH (go install puts another arch's programs in
    bin/linux_<arch>/), then the program renamed into place."""
    with tempfile.TemporaryDirectory(prefix=f".{folder.name}-", dir=folder.parent) as scratch:
        env = {**toolchain_env(), "GOPATH": scratch, "GOMODCACHE": _module_cache(),
               "CGO_ENABLED": "0", "GOOS": "linux", "GOARCH": arch, "GOFLAGS": "-trimpath"}
        code, output = processes.run([str(toolchain.go), "install", package], cwd=Path(scratch),
                                     env=env)
        built = Path(scratch) / "bin" / name
        if not built.is_file():
            built = Path(scratch) / "bin" / f"linux_{arch}" / name
        if code != 0 or not built.is_file():
            raise ToolchainError(
                f"go install {package} with go{toolchain.version} failed: "
                + (output.strip().splitlines() or [f"exit code {code}"])[-1],
                fix="pin [cache] install to a version this Go release can build (its "
                    "go.mod's go line), or make the module proxy reachable (GOPROXY)")
        folder.mkdir(exist_ok=True)
        os.replace(built, folder / name)


def _module_cache() -> str:
    """This machine's module cache, as the go command would pick it (the scratch GOPATH
    must not become where modules are kept)."""
    if os.environ.get("GOMODCACHE"):
        return os.environ["GOMODCACHE"]
    gopath = os.environ.get("GOPATH", "").split(os.pathsep)[0] or str(Path.home() / "go")
    return str(Path(gopath) / "pkg" / "mod")

