"""The binary names a host's own build gives its main packages.

``go build ./cmd/x`` names the binary after the package, but a host's release build may
name it otherwise (``builds[].binary`` of a goreleaser config, ``go build -o bin/tyk .``
in a Makefile), and a main package at the module's root lives in a folder named after
the checkout (``tyk-v5-5-0``). :func:`declared` reads both files, without running
anything; :func:`go_default` is the go command's own rule.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

GORELEASER = (".goreleaser.yaml", ".goreleaser.yml", "goreleaser.yaml", "goreleaser.yml")
_MAJOR = re.compile(r"v[0-9]+")
_YAML_KEY = re.compile(r"^(\s*)(-\s+)?([A-Za-z_]+):\s*(.*?)\s*$")
_GO_BUILD = re.compile(r"(?:^|[\s;&|])(?:go|\$\(GO\)|\$\{GO\})\s+build\b(.*)")


def go_default(import_path: str) -> str:
    """The name `go build` gives a main package: its import path's last element, a major
    version suffix (``/v2``) skipped."""
    parts = import_path.split("/")
    if len(parts) > 1 and _MAJOR.fullmatch(parts[-1]):
        parts.pop()
    return parts[-1]


def declared(host: Path, module: str) -> dict[str, str]:
    """Main package ("./cmd/x", "." for the root) -> the binary name the host's Makefile or
    goreleaser config builds it as (goreleaser wins where both name one)."""
    found = _makefile(host, module)
    found.update(_goreleaser(host, module))
    return found


def _goreleaser(host: Path, module: str) -> dict[str, str]:
    """builds[].main and builds[].binary of the first goreleaser config (read line by line:
    both are plain scalars in every goreleaser config seen)."""
    path = next((host / name for name in GORELEASER if (host / name).is_file()), None)
    if path is None:
        return {}
    found: dict[str, str] = {}
    build: dict[str, str] | None = None
    indent = -1
    for line in _lines(path):
        match = _YAML_KEY.match(line)
        if match is None:
            continue
        depth, item, key, value = len(match[1]), match[2], match[3], match[4].strip("'\"")
        if depth == 0 and not item:
            _take(found, build, module)
            build, indent = ({} if key == "builds" else None), -1
        elif build is not None and item and (indent < 0 or depth == indent):
            _take(found, build, module)
            build, indent = {key: value}, depth
        elif build is not None:
            build[key] = value
    _take(found, build, module)
    return found


def _take(found: dict[str, str], build: dict[str, str] | None, module: str) -> None:
    if build and build.get("binary") and "{{" not in build["binary"]:
        found[normalise(build.get("main", "."), module)] = Path(build["binary"]).name
        build.clear()


def _makefile(host: Path, module: str) -> dict[str, str]:
    """`go build ... -o OUT ... PACKAGE` lines of the Makefile (variables left out)."""
    path = host / "Makefile"
    if not path.is_file():
        return {}
    found: dict[str, str] = {}
    text = "\n".join(_lines(path)).replace("\\\n", " ")
    for line in text.splitlines():
        match = _GO_BUILD.search(line)
        if match is None:
            continue
        try:
            words = shlex.split(match[1].split(";")[0].split("&&")[0], comments=True)
        except ValueError:
            continue
        output, packages = _output_and_packages(words, module)
        if output and "$" not in output and len(packages) == 1:
            found[normalise(packages[0], module)] = Path(output).name
    return found


def _output_and_packages(words: list[str], module: str) -> tuple[str | None, list[str]]:
    output, packages, skip = None, [], False
    for index, word in enumerate(words):
        if skip:
            skip = False
        elif word == "-o" and index + 1 < len(words):
            output, skip = words[index + 1], True
        elif word.startswith("-o="):
            output = word[3:]
        elif not word.startswith("-") and (word.startswith(".") or word.startswith(module)):
            packages.append(word)
    return output, packages


def normalise(main: str, module: str) -> str:
    """"./cmd/x", "cmd/x/main.go", "<module>/cmd/x" -> "./cmd/x"; the root -> "."."""
    path = main.removeprefix(module).lstrip("/")
    if path.endswith(".go"):
        path = path.rpartition("/")[0]
    path = path.removeprefix("./").strip("/")
    return "." if path in ("", ".") else f"./{path}"


def _lines(path: Path) -> list[str]:
    try:
        return path.read_text(encoding="utf-8", errors="replace").splitlines()[:5000]
    except OSError:
        return []
