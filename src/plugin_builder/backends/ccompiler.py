"""The C compiler cgo uses for each libc and arch: found on this machine, or the
packages that provide it named in the error."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from plugin_builder import emulation, processes
from plugin_builder.config import Libc
from plugin_builder.errors import ToolchainError
from plugin_builder.golang.goproxy import Log
from plugin_builder.untrusted import printable, quoted


@dataclass(frozen=True)
class CCompiler:
    libc: str
    path: Path
    identity: str  # first line of `cc --version`: part of every artifact's inputs
    arch: str = "amd64"  # the GOARCH it compiles for
    command: str = ""  # how the config names it (cc of the libc or of its arch table)
    value: str = ""  # CC, when it is more than the path (zig cc -target ...)

    @property
    def cc(self) -> str:
        """What CC is set to for cgo."""
        return self.value or str(self.path)


def floor_compiler(libc: Libc, arch: str, cache_dir: Path, log: Log) -> CCompiler:
    """zig cc for the glibc floor of ``libc`` (libc.<name>.glibc_floor) on ``arch``,
    provisioned on first use: on every arch, without a cross compiler."""
    from plugin_builder.backends import zigcc

    assert libc.glibc_floor is not None
    zig = zigcc.zig_toolchain(cache_dir, log=log)
    return CCompiler(libc.name, zig.zig, zig.identity(arch, libc.glibc_floor), arch,
                     "zig cc", zig.cc(arch, libc.glibc_floor))



@cache
def c_compiler(libc: Libc, arch: str | None = None) -> CCompiler:
    """The C compiler cgo uses for this libc on ``arch`` (None: this machine's), or an
    error naming the packages to install.

    ``[libc.<name>.arch.<arch>]`` names the cross compiler of an arch; the libc's own
    ``cc`` is the compiler of this machine's arch (amd64 on every machine we run).
    """
    native = emulation.native_arch()
    arch = arch or native
    cross = libc.toolchain(arch)
    if cross is None and arch != native:
        raise ToolchainError(
            f"no C compiler for {libc.name} on {arch}: buildconfig.toml has no "
            f"[libc.{libc.name}.arch.{arch}] table",
            fix=f"add one naming the cross compiler, e.g. [libc.{libc.name}.arch.{arch}] "
                f"cc = \"{_EXAMPLE_CROSS_CC.get((libc.name, arch), 'aarch64-linux-gnu-gcc')}\"",
        )
    if cross is None:
        found = shutil.which(libc.cc)
        if not found:
            raise ToolchainError(
                f"C compiler '{libc.cc}' for {libc.name} is not installed",
                fix=f"apt-get install {libc.cc_package}",
            )
        command = libc.cc
    else:
        found = shutil.which(cross.cc)
        if not found:
            raise ToolchainError(
                f"cross C compiler '{cross.cc}' for {libc.name} on {arch} is not installed",
                fix=emulation.install_fix(cross.packages),
            )
        command = cross.cc
    return CCompiler(libc.name, Path(found), _version_line(found), arch, command)


VERSION_TIMEOUT_S = 20.0


def _version_line(compiler: str) -> str:
    """The first line of ``compiler --version``, as text whatever bytes it prints; a
    compiler that cannot run, or does not answer, is an error naming it."""
    try:
        answered = processes.answer([compiler, "--version"], timeout_s=VERSION_TIMEOUT_S)
    except OSError as error:
        raise ToolchainError(f"C compiler {quoted(compiler)} cannot run: {error.strerror}",
                             fix="point the libc's cc in buildconfig.toml at a working C "
                                 "compiler (gcc, musl-gcc, clang)") from None
    if answered is None:
        raise ToolchainError(f"C compiler {quoted(compiler)} did not answer --version within "
                             f"{VERSION_TIMEOUT_S:.0f} s",
                             fix="point the libc's cc in buildconfig.toml at a working C "
                                 "compiler (gcc, musl-gcc, clang)")
    lines = answered[1].decode("utf-8", errors="replace").splitlines()
    first = next((line.strip() for line in lines if line.strip()), "")
    return printable(first) or compiler


# The Debian cross compilers, for the fix of a missing [libc.<name>.arch.<arch>] table.
_EXAMPLE_CROSS_CC = {("glibc", "arm64"): "aarch64-linux-gnu-gcc",
                     ("musl", "arm64"): "aarch64-linux-musl-gcc",
                     ("glibc", "amd64"): "x86_64-linux-gnu-gcc",
                     ("musl", "amd64"): "x86_64-linux-musl-gcc"}
