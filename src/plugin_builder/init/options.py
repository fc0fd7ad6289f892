"""What `plugin-builder init` is asked for: the flags, checked, and what they default to."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from plugin_builder.combination import GO_VERSION_RE
from plugin_builder.config import KNOWN_ARCHES
from plugin_builder.emulation import native_arch
from plugin_builder.errors import UsageError

DEFAULT_GO = "1.26.6"  # when the host's go.mod names no release the tool can build with
LIBCS = {  # cc, cc_package, builder_base, runtime_base (the images `bootstrap-base` makes)
    "glibc": ("gcc", "gcc", "plugin-builder/bootstrap:bookworm",
              "plugin-builder/runtime:bookworm-glibc"),
    "musl": ("musl-gcc", "musl-tools", "plugin-builder/bootstrap:bookworm",
             "plugin-builder/runtime:bookworm-musl"),
}


@dataclass(frozen=True)
class Options:
    folder: Path  # the project folder: where the files are written
    host: Path  # the host's Go module folder
    preset: str
    go: tuple[str, ...] = ()  # empty: the release the host's go.mod names
    libc: tuple[str, ...] = ()  # empty: glibc
    arch: tuple[str, ...] = ()  # empty: this machine's
    force: bool = False
    ci: str | None = None  # "github": also the project's CI workflow


def split(values: Sequence[str]) -> tuple[str, ...]:
    """Repeated flags and comma-separated lists alike: ("a,b", "c") -> ("a", "b", "c")."""
    items = [item.strip() for v in values for item in v.split(",")]
    return tuple(dict.fromkeys(item for item in items if item))


def go_releases(given: Sequence[str]) -> tuple[str, ...]:
    releases = split(given)
    for version in releases:
        if not GO_VERSION_RE.fullmatch(version):
            raise UsageError(f"--go {version}: not a Go release",
                             fix="give a full release such as --go 1.26.6")
    return releases


def libcs(given: Sequence[str], known: Iterable[str] = LIBCS) -> tuple[str, ...]:
    """The libcs asked for (glibc when none), each one init or the config knows."""
    known = tuple(known)
    chosen = split(given) or ("glibc",)
    for libc in chosen:
        if libc not in known:
            raise UsageError(f"--libc {libc}: no such libc",
                             fix=f"use {' or '.join(known)}, or several: --libc glibc,musl")
    return chosen


def arches(given: Sequence[str]) -> tuple[str, ...]:
    """The GOARCHes asked for (this machine's when none)."""
    chosen = split(given) or (native_arch(),)
    for arch in chosen:
        if arch not in KNOWN_ARCHES:
            raise UsageError(f"--arch {arch}: not a supported GOARCH",
                             fix=f"use one of: {', '.join(KNOWN_ARCHES)}")
    return chosen



CI_PROVIDERS = ("github",)


def ci_provider(given: str | None) -> str | None:
    """--ci: the CI system whose workflow init writes (None: none)."""
    if given is None or given in CI_PROVIDERS:
        return given
    raise UsageError(f"--ci {given}: no workflow for that CI system",
                     fix="use --ci " + " or ".join(CI_PROVIDERS))
