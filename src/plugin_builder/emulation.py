"""Running binaries of another arch on this machine: qemu user-mode emulation.

Hosts and plugins of another arch are cross-built here (Go cross-compiles, the cross C
compiler of the libc links), and nothing runs on a machine of that arch; yet a live
check must load each plugin for real. qemu's user mode runs one foreign process:

    qemu-aarch64-static -L /usr/aarch64-linux-gnu  scheduler check-plugin x.so

``-L`` is the library prefix: every path the emulated process opens (the loader its
PT_INTERP names, the libc that loader maps, the plugin's own DT_NEEDED) is looked up
under the prefix first, then where it is. So the host runs with the very loader and
libc of its combination: glibc's from the cross toolchain's ``libc6-arm64-cross``
(``/usr/aarch64-linux-gnu/lib``), musl's from Debian's ``musl:arm64``, which multiarch
installs at ``/lib/ld-musl-aarch64.so.1`` on the machine itself (prefix ``/``). A
crash, refusal or timeout then looks exactly as it does natively: the guest's own
loader and Go runtime print it.

Debian's ``qemu-user-static`` gives ``qemu-aarch64-static``; being static, the same
file also runs inside a FROM-scratch service image (``verify --image`` mounts it).
"""

from __future__ import annotations

import os
import platform
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from plugin_builder.binary.elffacts import GLIBC, MUSL, ElfFacts

EMULATOR_PACKAGE = "qemu-user-static"
# platform.machine() -> GOARCH of this machine.
_GOARCH = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}


@dataclass(frozen=True)
class Emulator:
    """The qemu user-mode program that runs binaries of one GOARCH."""

    arch: str
    programs: tuple[str, ...]  # the static build first: it also runs in a scratch image

    @property
    def static_program(self) -> str:
        return self.programs[0]

    @property
    def platform(self) -> str:
        return f"linux/{self.arch}"


EMULATORS = {
    "arm64": Emulator("arm64", ("qemu-aarch64-static", "qemu-aarch64")),
    "amd64": Emulator("amd64", ("qemu-x86_64-static", "qemu-x86_64")),
}


@dataclass(frozen=True)
class Target:
    """A libc on an arch: the loader its binaries name, and where a machine of another
    arch has it (the qemu prefixes to try, in order), and the package that puts it there."""

    libc: str
    arch: str
    loader: str  # PT_INTERP of its binaries
    prefixes: tuple[str, ...]
    package: str
    multiarch: bool = False  # the package is of the target arch (dpkg --add-architecture)


TARGETS = {
    (GLIBC, "arm64"): Target(GLIBC, "arm64", "/lib/ld-linux-aarch64.so.1",
                             ("/usr/aarch64-linux-gnu", "/"), "libc6-arm64-cross"),
    (MUSL, "arm64"): Target(MUSL, "arm64", "/lib/ld-musl-aarch64.so.1",
                            ("/", "/usr/aarch64-linux-musl"), "musl:arm64", multiarch=True),
    (GLIBC, "amd64"): Target(GLIBC, "amd64", "/lib64/ld-linux-x86-64.so.2",
                             ("/usr/x86_64-linux-gnu", "/"), "libc6-amd64-cross"),
    (MUSL, "amd64"): Target(MUSL, "amd64", "/lib/ld-musl-x86_64.so.1",
                            ("/", "/usr/x86_64-linux-musl"), "musl:amd64", multiarch=True),
}


def native_arch() -> str:
    """GOARCH of this machine (what runs without an emulator)."""
    machine = platform.machine().lower()
    return _GOARCH.get(machine, machine)


def is_native(arch: str | None) -> bool:
    return arch is None or arch == native_arch()


def required(environ: Mapping[str, str] = os.environ) -> bool:
    """In CI (CI=true) the emulator is installed, so a live check it cannot run fails."""
    return environ.get("CI", "").lower() == "true"


def install_fix(packages: Sequence[str]) -> str:
    """The command that installs Debian packages, some perhaps of another arch
    ("musl-dev:arm64"), which dpkg must be told about first."""
    foreign = sorted({p.rsplit(":", 1)[1] for p in packages if ":" in p})
    steps = [f"dpkg --add-architecture {arch}" for arch in foreign]
    if foreign:
        steps.append("apt-get update")
    steps.append("apt-get install " + " ".join(packages))
    return " && ".join(steps)


def emulator_program(arch: str, *, static: bool = False) -> str | None:
    """The qemu program found on PATH for ``arch``, None when none is installed."""
    emulator = EMULATORS.get(arch)
    if emulator is None:
        return None
    programs = emulator.programs[:1] if static else emulator.programs
    return next((found for found in map(shutil.which, programs) if found), None)


@dataclass(frozen=True)
class Emulation:
    """How a binary of another arch runs here; ``problem`` says why it cannot."""

    arch: str
    libc: str | None
    emulator: str | None = None  # the qemu program
    prefix: str | None = None  # the library prefix that holds the target's loader
    loader: str | None = None
    problem: str = ""
    fix: str = ""

    @property
    def ok(self) -> bool:
        return not self.problem

    def wrap(self, argv: Sequence[str]) -> list[str]:
        """argv, run through the emulator with the target's loader and libraries."""
        if not self.ok or self.emulator is None:
            raise ValueError(f"cannot run {self.arch} binaries here: {self.problem}")
        # -L always, so no QEMU_LD_PREFIX or packaged default prefix takes its place.
        return [self.emulator, "-L", self.prefix or "/", *map(str, argv)]


def plan(arch: str, libc: str | None, loader: str | None = None, *,
         prefix: str = "") -> Emulation:
    """How to run a binary of ``arch`` linked against ``libc`` (None: static) here.

    ``loader`` is the binary's PT_INTERP (the target's default when None); ``prefix``
    the configured library prefix (``libc.<name>.arch.<arch>.emulator_prefix``), else
    the known places are tried.
    """
    emulator = EMULATORS.get(arch)
    if emulator is None:
        return Emulation(arch, libc, problem=f"no emulator is known for {arch}",
                         fix=f"verify {arch} binaries on a machine of that arch")
    program = emulator_program(arch)
    if program is None:
        return Emulation(arch, libc, problem=f"{emulator.static_program} is not installed",
                         fix=f"apt-get install {EMULATOR_PACKAGE}")
    target = TARGETS.get((libc, arch)) if libc else None
    loader = loader or (target.loader if target else None)
    if loader is None:  # a static binary needs no loader
        return Emulation(arch, libc, program, "/", None)
    candidates = (prefix,) if prefix else (target.prefixes if target else ("/",))
    for candidate in candidates:
        if (Path(candidate) / loader.lstrip("/")).exists():
            return Emulation(arch, libc, program, candidate, loader)
    where = ", ".join(candidates)
    if prefix or target is None:
        fix = "install the target's libc there, or set emulator_prefix to where it is"
    else:
        fix = install_fix([target.package])
    return Emulation(arch, libc, program, None, loader,
                     problem=f"no {loader} of {libc or 'its libc'} {arch} under {where}",
                     fix=fix)


def plan_for(elf: ElfFacts, *, prefix: str = "") -> Emulation | None:
    """How to run this binary here; None when it runs natively (or is not a program)."""
    if is_native(elf.goarch):
        return None
    return plan(elf.goarch or elf.machine, elf.libc, elf.interpreter, prefix=prefix)
