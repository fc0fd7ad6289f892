"""The build combination: one Go release, one libc, one architecture.

Its identifier, ``go1.26.6-musl-amd64``, is the only name a combination has: artifact
folders, image tags, nox session ids and reports all use :attr:`Combination.id`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Validation patterns match the whole string: \A and \Z (not ^ and $, which let a trailing
# newline through), and callers use fullmatch as well, so a stray .match() stays safe.
# Digits are ASCII [0-9]: \d also takes "٦" and every other Unicode digit. The one
# pattern of a Go release: the config, init's --go and combination ids all use it.
GO_VERSION_RE = re.compile(r"\A1\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\Z")
NAME_RE = re.compile(r"\A[a-z0-9]+\Z")  # libc and arch: the parts of a combination id
_ID_RE = re.compile(r"\Ago(?P<go>[0-9.]+)-(?P<libc>[a-z0-9]+)-(?P<arch>[a-z0-9]+)\Z")


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

    @property
    def flags(self) -> str:
        """The command-line flags that select this combination, for fix commands."""
        return f"--go {self.go} --libc {self.libc} --arch {self.arch}"

    @classmethod
    def parse(cls, text: str) -> Combination | None:
        """The combination an identifier names, or None when it is not one."""
        match = _ID_RE.fullmatch(text)
        if not match or not GO_VERSION_RE.fullmatch(match["go"]):
            return None
        return cls(match["go"], match["libc"], match["arch"])

    def __str__(self) -> str:
        return self.id
