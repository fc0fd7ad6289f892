"""Ordering Go module versions (semantic versions, pseudo-versions included), and Go
releases against go lines.

Go module versions are semver 2.0 with a leading "v"; pseudo-versions such as
v0.0.0-20240102150405-abcdef123456 are prereleases and order by their timestamp, which
semver's prerelease rules already give. "+incompatible" is build metadata: ignored.
"""

from __future__ import annotations

import re

_SEMVER = re.compile(r"\Av([0-9]+)(?:\.([0-9]+))?(?:\.([0-9]+))?"  # major, minor, patch
                     r"(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?\Z")  # prerelease, build
_GO = re.compile(r"(\d+)\.(\d+)(?:\.(\d+))?((?:rc|beta)\d+)?")  # 1.27, 1.26.6, 1.27rc1


def newer(a: str, b: str) -> bool:
    """Whether version ``a`` is newer than ``b``; an unparsable version is never newer."""
    left, right = _key(a), _key(b)
    return left is not None and right is not None and left > right


def go_newer(a: str, b: str) -> bool:
    """Whether Go release or go line ``a`` ("1.27", "1.26.6", "go1.27rc1") is newer than
    ``b``. A go line "1.27" asks for at most what Go 1.27.0 has, so it is not newer."""
    return newer(_go_as_semver(a), _go_as_semver(b))


def _go_as_semver(go: str) -> str:
    match = _GO.fullmatch(go.removeprefix("go"))
    if not match:
        return ""
    major, minor, patch, pre = match.groups()
    return f"v{major}.{minor}.{patch or 0}" + (f"-{pre}" if pre else "")


def _key(version: str) -> tuple | None:
    match = _SEMVER.fullmatch(version)
    if not match:
        return None
    core = tuple(int(part or 0) for part in match.group(1, 2, 3))
    pre = match.group(4)
    # A release sorts after every prerelease of it: (1,) > (0, ...).
    return core + ((1,) if pre is None else (0, *(_identifier(p) for p in pre.split("."))))


def _identifier(part: str) -> tuple[int, int | str]:
    # Numeric identifiers sort before alphanumeric ones, numerically among themselves.
    return (0, int(part)) if part.isdigit() else (1, part)
