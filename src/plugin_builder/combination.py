"""The build combination: one Go release, one libc, one architecture.

Its identifier, ``go1.26.6-musl-amd64``, is the only name a combination has: artifact
folders, image tags, nox session ids and reports all use :attr:`Combination.id`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

GO_VERSION_RE = re.compile(r"^1\.(0|[1-9]\d*)\.(0|[1-9]\d*)$")
NAME_RE = re.compile(r"^[a-z0-9]+$")
_ID_RE = re.compile(r"^go(?P<go>[0-9.]+)-(?P<libc>[a-z0-9]+)-(?P<arch>[a-z0-9]+)$")


@dataclass(frozen=True, order=True)
class Combination:
    go: str  # "1.26.6": a full release, never "1.26" (plugins need the exact release)
    libc: str  # "glibc" | "musl"
    arch: str  # GOARCH

    @property
    def id(self) -> str:
        return f"go{self.go}-{self.libc}-{self.arch}"

    @property
    def tags(self) -> tuple[str, ...]:
        """nox tags, so ``nox -t musl`` or ``nox -t go1.27.3`` selects a slice."""
        return (f"go{self.go}", self.libc, self.arch)

    @classmethod
    def parse(cls, text: str) -> Combination | None:
        """The combination an identifier names, or None when it is not one."""
        match = _ID_RE.match(text)
        if not match or not GO_VERSION_RE.match(match["go"]):
            return None
        return cls(match["go"], match["libc"], match["arch"])

    def __str__(self) -> str:
        return self.id
