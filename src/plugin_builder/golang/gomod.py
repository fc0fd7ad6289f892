"""What a go.mod declares: its module path, Go release lines, requirements, replacements,
godebug settings.

Parsed here in Python rather than by `go mod edit -json`, so no Go toolchain (of the
right release, on the right side of a container) is needed to plan a build. The syntax
is the go.mod grammar's (golang.org/x/mod/modfile): one directive per line or a
parenthesised block of them, `//` comments, paths and versions bare or quoted.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from plugin_builder.errors import BuildError

# One token: a "quoted" or `raw` string, the => arrow, a parenthesis, or a bare word.
_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|`[^`]*`|=>|[()]|[^\s"`()]+')


@dataclass(frozen=True)
class Replace:
    path: str
    version: str | None  # None: every version of path is replaced
    target: str  # a module path, or a directory ("./x", "../x", "/abs")
    target_version: str | None  # None when the target is a directory

    @property
    def is_directory(self) -> bool:
        return self.target_version is None


@dataclass(frozen=True)
class GoMod:
    module: str
    go: str | None  # the go line: "1.23.0"
    toolchain: str | None  # the toolchain line: "go1.23.4"
    requires: tuple[tuple[str, str], ...] = ()  # (module path, version)
    replaces: tuple[Replace, ...] = ()
    godebug: tuple[str, ...] = ()  # `godebug` directives (Go 1.23+): "key=value"

    def required_version(self, module: str) -> str | None:
        return next((version for path, version in self.requires if path == module), None)


@dataclass(frozen=True)
class GoWork:
    go: str | None
    uses: tuple[str, ...]  # folders, as written (relative to the go.work's folder)
    replaces: tuple[Replace, ...] = ()
    godebug: tuple[str, ...] = ()  # "key=value"


def parse_gowork(text: str, source: str = "go.work") -> GoWork:
    """A go.work's go line, use folders and replacements (same grammar as go.mod)."""
    fields: dict[str, list[list[str]]] = {}
    for verb, args in _directives(text):
        fields.setdefault(verb, []).append(args)
    return GoWork(go=_single(fields, "go"),
                  uses=tuple(args[0] for args in fields.get("use", []) if args),
                  replaces=tuple(_replace(args, source) for args in fields.get("replace", [])),
                  godebug=_godebug(fields))


def read_gomod(folder: Path) -> GoMod:
    """The go.mod of a module folder; a missing or malformed one is a BuildError."""
    path = folder / "go.mod"
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise BuildError(f"reading {path}", str(error),
                         fix="give the folder of a Go module (one with a go.mod)") from None
    return parse_gomod(text, source=str(path))


def parse_gomod(text: str, source: str = "go.mod") -> GoMod:
    fields: dict[str, list[list[str]]] = {}
    for verb, args in _directives(text):
        fields.setdefault(verb, []).append(args)
    modules = fields.get("module", [])
    if not modules or not modules[0]:
        raise BuildError(f"reading {source}", "no module line",
                         fix="add `module <path>` at the top of the go.mod")
    return GoMod(
        module=modules[0][0],
        go=_single(fields, "go"),
        toolchain=_single(fields, "toolchain"),
        requires=tuple((args[0], args[1]) for args in fields.get("require", []) if len(args) >= 2),
        replaces=tuple(_replace(args, source) for args in fields.get("replace", [])),
        godebug=_godebug(fields),
    )


def _directives(text: str):
    """(verb, arguments) per directive, block members carrying their block's verb."""
    block: str | None = None
    for raw in text.splitlines():
        words = _words(raw)
        if not words:
            continue
        if block is not None:
            if words == [")"]:
                block = None
            else:
                yield block, words
        elif len(words) >= 2 and words[1] == "(":
            block = words[0]
            if words[-1] == ")":  # `use ( ./a )` on one line
                yield from ((block, [w]) for w in words[2:-1])
                block = None
        else:
            yield words[0], words[1:]


def _words(line: str) -> list[str]:
    line = line.split("//", 1)[0] if '"' not in line and "`" not in line else _uncomment(line)
    return [_unquote(token) for token in _TOKEN.findall(line)]


def _uncomment(line: str) -> str:
    """The line up to a // that is outside any quoted string."""
    for match in _TOKEN.finditer(line):
        if match.group().startswith("//"):
            return line[:match.start()]
    return line


def _unquote(token: str) -> str:
    if token.startswith('"'):
        return str(json.loads(token))  # Go's interpreted strings escape like JSON's here
    if token.startswith("`"):
        return token[1:-1]
    return token


def _single(fields: dict[str, list[list[str]]], verb: str) -> str | None:
    values = fields.get(verb)
    return values[0][0] if values and values[0] else None


def _godebug(fields: dict[str, list[list[str]]]) -> tuple[str, ...]:
    # `godebug k=v`, or a block of them; "k = v" reads as three words, joined back.
    return tuple("".join(args) for args in fields.get("godebug", []) if args)


def _replace(args: list[str], source: str) -> Replace:
    if "=>" not in args:
        raise BuildError(f"reading {source}", f"replace without =>: {' '.join(args)}")
    arrow = args.index("=>")
    left, right = args[:arrow], args[arrow + 1:]
    if not left or not right:
        raise BuildError(f"reading {source}", f"incomplete replace: {' '.join(args)}")
    return Replace(path=left[0], version=left[1] if len(left) > 1 else None,
                   target=right[0], target_version=right[1] if len(right) > 1 else None)
