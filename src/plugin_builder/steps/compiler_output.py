"""What a failed go build said, made useful outside the folder it ran in.

The go command names files relative to the folder it runs in (``./main.go:3:1:``,
``inner/inner.go:3:23:``), and a plugin builds in its own folder: an editor or a CI
annotation reading the log from the project root could not find them. Each such path
becomes relative to the project root (absolute when the file lies outside it, a module
cache file say), and the first one tells the fix which file to correct, and in what.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# A compiler (or cgo's C compiler) location at the start of a line: path:line[:column]:
_LOCATION = re.compile(r"^(?P<path>[^\s:]+\.(?:go|c|h|s)):(?P<line>\d+)(?::(?P<column>\d+))?:"
                       r"(?P<said>[^\n]*)", re.MULTILINE)
# What the go command says at an import's location when the source is not what is wrong:
# a module it could not fetch or verify (the network, the proxy, go.sum, go.mod).
_NOT_THE_SOURCE = re.compile(r"^\s*\S+@v\S*: |dial tcp|i/o timeout|connection refused|"
                             r"Get \"https?://|go\.sum|missing go\.sum entry|"
                             r"no required module provides|cannot find module|"
                             r"go: updates to go\.mod needed")


@dataclass(frozen=True)
class Location:
    shown: str  # as the rewritten output shows it: plugins/x/main.go:3:1
    file: Path  # absolute
    said: str = ""  # what the compiler said there


def relative_to_project(output: str, cwd: Path, root: Path | None) -> tuple[str, Location | None]:
    """``output`` with every location's path as seen from ``root``; its first location."""
    first: list[Location] = []

    def rewrite(match: re.Match[str]) -> str:
        path = Path(match["path"])
        absolute = Path(os.path.normpath(path if path.is_absolute() else cwd / path))
        shown = _shown(absolute, root)
        place = ":".join(part for part in (shown, match["line"], match["column"]) if part)
        if not first:
            first.append(Location(place, absolute, match["said"].strip()))
        return place + ":" + match["said"]

    return _LOCATION.sub(rewrite, output), (first[0] if first else None)


def _shown(path: Path, root: Path | None) -> str:
    if root is not None and path.is_relative_to(root):
        return str(path.relative_to(root))
    return str(path)


def fix_for(location: Location | None, entry: Mapping[str, Any], cwd: Path,
            flags: str) -> str | None:
    """"correct <file:line> in plugin T/N, then invoke build-plugin ..." when the output
    names a file; None: the BuildError's general fix."""
    if location is None or _NOT_THE_SOURCE.search(location.said):
        return None  # the general fix: the output says what (a module, the network) is wrong
    if entry.get("kind") == "plugin":
        again = f"invoke build-plugin --type {entry['type']} --name {entry['name']} {flags}"
        inside = location.file.is_relative_to(cwd)
        where = f" in plugin {entry['type']}/{entry['name']}" if inside else \
            f" (a package plugin {entry['type']}/{entry['name']} imports)"
    else:
        again = f"invoke build-host {flags}"
        where = f" in the host (service {entry['service']})" if entry.get("service") else ""
    return f"correct {location.shown}{where}, then {again}"
