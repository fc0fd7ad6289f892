"""The walker: a TOML document into the model's frozen dataclasses, every key checked.

A key is declared once, as a field made by :func:`key` on a dataclass of
:mod:`.model`; its annotation says the TOML type, its metadata the default, the docs and
the named checks. From that, this module reads the file (a regular file, bounded),
refuses unknown keys with a "did you mean" hint, checks TOML types, applies defaults
and runs the checks in declaration order, so a check may read the keys declared before
it (``ctx.open``). Nothing here names a key of the config.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
import stat
import typing
import unicodedata
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from types import MappingProxyType, UnionType
from typing import Any, NamedTuple

from plugin_builder.errors import ConfigError

CONFIG_NAME = "buildconfig.toml"
# Absurd sizes are mistakes (a pasted file, a generated value), never configuration.
MAX_FILE_BYTES = 4 * 2**20
MAX_TEXT = 4096  # characters of any string
MAX_NAME = 100  # characters of a name: target, type, service, libc, symbol
MAX_ITEMS = 1000  # items of any array
MAX_DEPTH = 16  # nesting of tables and arrays
REQUIRED: Any = dataclasses.MISSING

Check = Callable[["Context", str, Any], Any]  # (ctx, key, value) -> the value, checked


class Key(NamedTuple):
    """What a field declares about its TOML key, besides its type and default."""

    example: str  # one TOML line
    doc: str  # one line of meaning
    checks: tuple[Check, ...]
    toml: str | None  # the TOML name, when not the field's
    shown: str | None  # the default as the docs show it, when not a literal
    each: str | None  # "<name>" of a table of tables you name; the noun of an array item


def key(default: Any, example: str, doc: str, *checks: Check, toml: str | None = None,
        shown: str | None = None, each: str | None = None) -> Any:
    """A field that is a key of buildconfig.toml. Checks run in order on the value
    written; a default runs through them only when it is a string (TOML text to read as
    if written: a path, an image); any other default is final."""
    meta = {"key": Key(example, doc, checks, toml, shown, each)}
    if default is REQUIRED:
        return field(metadata=meta)
    if isinstance(default, Mapping):  # a mapping hashes not, and names no object
        return field(default_factory=lambda: MappingProxyType(dict(default)), hash=False,
                     metadata=meta)
    return field(default=default, metadata=meta)


def label(*checks: Check) -> Any:
    """The field that holds the name you gave its table ([libc.<name>]), checked so."""
    return field(metadata={"label": checks})


@dataclass
class Context:
    path: Path
    root: Path
    real_root: Path
    allow_outside: bool = False
    # Section ("plugins[]", "libc.<name>") -> the keys of its open table parsed so far.
    open: dict[str, dict[str, Any]] = field(default_factory=dict)

    def error(self, key: str | None, problem: str, fix: str | None = None) -> ConfigError:
        return ConfigError(self.path.name, key, problem, fix=fix)


class Field(NamedTuple):
    name: str  # the Python field
    toml: str
    key: Key
    shape: str  # see _shape()
    child: type | None  # the dataclass of a table, tables, or array of tables
    default: Any  # REQUIRED when there is none
    in_tuple: bool  # the tables you name are kept in a tuple (else a mapping by name)


@cache
def fields(cls: type) -> tuple[Field, ...]:
    """The TOML keys of a model class, in declaration order."""
    hints = typing.get_type_hints(cls)
    found = []
    for item in dataclasses.fields(cls):
        meta = item.metadata.get("key")
        if meta is not None:
            shape, child = _shape(hints[item.name], meta)
            default = item.default_factory() if item.default_factory is not dataclasses.MISSING \
                else item.default
            found.append(Field(item.name, meta.toml or item.name, meta, shape, child, default,
                               typing.get_origin(hints[item.name]) is tuple))
    return tuple(found)


def is_table(cls: Any) -> bool:
    return dataclasses.is_dataclass(cls) and any("key" in f.metadata
                                                 for f in dataclasses.fields(cls))


def _shape(hint: Any, meta: Key) -> tuple[str, type | None]:
    """string, bool, integer, strings, values (an array of any TOML data), table of
    strings, table, tables (named by you), array of tables; anything else (a Path, a
    Combination) is written as a string."""
    args = typing.get_args(hint)
    if isinstance(hint, UnionType) or typing.get_origin(hint) is typing.Union:
        return _shape(next(a for a in args if a is not type(None)), meta)
    if hint in (bool, int):
        return ("bool" if hint is bool else "integer"), None
    if is_table(hint):
        return "table", hint
    origin = typing.get_origin(hint)
    item = args[1] if origin is Mapping else args[0] if origin is tuple else None
    if item is str:
        return ("table of strings" if origin is Mapping else "strings"), None
    if item is Any and origin is tuple:
        return "values", None
    if is_table(item):
        named = origin is Mapping or (meta.each or "").startswith("<")
        return ("tables" if named else "array of tables"), item
    return "string", None


def sections(cls: type, section: str = "") -> Iterator[tuple[str, type, tuple[Field, ...]]]:
    """Every table of the model below ``cls``: (section, class, its keys)."""
    keys = fields(cls)
    yield section, cls, keys
    for item in keys:
        if item.child is not None:
            yield from sections(item.child, child_section(section, item))


def child_section(section: str, item: Field) -> str:
    path = _join(section, item.toml)
    return {"table": path, "tables": f"{path}.{item.key.each}"}.get(item.shape, f"{path}[]")


# -- walking ---------------------------------------------------------------------------

_NAMES = {"string": "a string", "bool": "true or false", "integer": "an integer"}
_EXAMPLES = {"string": '"text"', "bool": "true", "integer": "1", "array": '["a", "b"]',
             "table": '{ key = "value" } or a [section]'}
_PYTHON = {"string": str, "bool": bool, "integer": int}


def build(ctx: Context, cls: type, data: Any, where: str, section: str,
          known: Mapping[str, Any] = MappingProxyType({})) -> Any:
    """One table of the document as ``cls``; ``known`` holds values not read from it."""
    keys = fields(cls)
    table = _table(ctx, where, data, [k.toml for k in keys],
                   [k.toml for k in keys if k.default is REQUIRED])
    values = dict(known)
    for item in keys:
        at = _join(where, item.toml)
        # A table with a default table is built from {} when absent; one whose default
        # is None (an optional table) stays None.
        if item.toml in table or item.shape == "table" and item.default not in (REQUIRED,
                                                                                  None):
            value = _convert(ctx, at, table.get(item.toml, {}), item, child_section(section, item))
        elif item.default is REQUIRED:
            continue
        else:
            value = item.default
            if not isinstance(value, str):
                values[item.name] = value
                continue
        ctx.open[section] = values  # a nested table may have opened its own since
        for check in item.key.checks:
            value = check(ctx, at, value)
        values[item.name] = value
    made = cls(**values)
    for check in getattr(cls, "CHECKS", ()):
        made = check(ctx, where, made)
    return made


def _convert(ctx: Context, where: str, value: Any, item: Field, section: str) -> Any:
    shape = item.shape
    if shape in _PYTHON:
        kind = _PYTHON[shape]
        # bool is an int in Python; TOML keeps them apart, and so do we.
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise ctx.error(where, f"expected {_NAMES[shape]}, got {describe(value)}",
                            fix=f"write it as {_EXAMPLES[shape]}")
        return value
    if shape == "strings":
        _expect(ctx, where, value, list, "an array", f"write it as {_EXAMPLES['array']}")
        for index, part in enumerate(value):
            if not isinstance(part, str):
                raise ctx.error(f"{where}[{index}]", f"expected a string, got {describe(part)}",
                                fix="quote it: every item of this array is a string")
        return tuple(value)
    if shape == "values":  # data, bounded by plain_data; what it must be, a check says
        _expect(ctx, where, value, list, "an array", f"write it as {_EXAMPLES['array']}")
        return tuple(value)
    if shape == "array of tables":
        _expect(ctx, where, value, list, "an array of tables",
                f"declare each {item.key.each} in its own [[{where}]] section")
        return tuple(build(ctx, item.child, part, f"{where}[{index}]", section)  # type: ignore
                     for index, part in enumerate(value))
    _expect(ctx, where, value, dict, "a table", f"write it as {_EXAMPLES['table']}")
    if shape == "table of strings":
        for name, part in value.items():
            if not isinstance(part, str):
                raise ctx.error(_join(where, name), f"expected a string, got {describe(part)}",
                                fix=f"write it as {_EXAMPLES['string']}")
        return MappingProxyType(dict(value))
    if shape == "table":
        return build(ctx, item.child, value, where, section)  # type: ignore[arg-type]
    built = {name: _named(ctx, item.child, name, part, f"{where}.{name}", section)
             for name, part in value.items()}
    return tuple(built.values()) if item.in_tuple else MappingProxyType(built)


def _named(ctx: Context, cls: Any, name: str, data: Any, where: str, section: str) -> Any:
    """A table you named: its name checked first, then its keys."""
    (labelled,) = [f for f in dataclasses.fields(cls) if "label" in f.metadata]
    for check in labelled.metadata["label"]:
        name = check(ctx, where, name)
    return build(ctx, cls, data, where, section, {labelled.name: name})


def _expect(ctx: Context, where: str, value: Any, kind: type, what: str, fix: str) -> None:
    if not isinstance(value, kind):
        raise ctx.error(where, f"expected {what}, got {describe(value)}", fix=fix)


def _table(ctx: Context, where: str, data: Any, known: list[str],
           required: list[str]) -> dict[str, Any]:
    """data as a table whose keys are all known and whose required keys exist."""
    _expect(ctx, where, data, dict, "a table", f"write it as {_EXAMPLES['table']}")
    for name in data:
        if name not in known:
            raise ctx.error(_join(where, name), "unknown key",
                            fix=did_you_mean(name, known)
                            or f"the keys here are: {', '.join(known)}")
    for name in required:
        if name not in data:
            raise ctx.error(_join(where, name), "missing required key",
                            fix=f"add {name} = ... under [{where or 'top level'}]")
    return data


# -- the whole document ----------------------------------------------------------------

# Characters no config string may hold: C0 and C1 controls (NUL, tab, newline ...), DEL,
# line and paragraph separators, and bidirectional overrides that make text read unlike
# what it is.
_BIDI_CONTROLS = frozenset("\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_CONTROL_NAMES = {"\0": "NUL", "\t": "a tab", "\n": "a line feed", "\r": "a carriage return",
                  "\x7f": "DEL"}


def plain_data(ctx: Context, value: Any, key: str, depth: int = 0) -> None:
    """Every string of the document, keys too, is bounded single-line text."""
    if depth > MAX_DEPTH:
        raise ctx.error(key, "is nested too deeply", fix="flatten it")
    if isinstance(value, str):
        _plain_text(ctx, key, value)
    elif isinstance(value, dict):
        for name, item in value.items():
            _plain_text(ctx, _join(key, show(name)), name, what="key")
            plain_data(ctx, item, _join(key, name), depth + 1)
    elif isinstance(value, list):
        if len(value) > MAX_ITEMS:
            raise ctx.error(key, f"has {len(value)} items; an array has at most {MAX_ITEMS}",
                            fix="list only what the build needs")
        for index, item in enumerate(value):
            plain_data(ctx, item, f"{key}[{index}]", depth + 1)


def _plain_text(ctx: Context, key: str, value: str, what: str = "value") -> None:
    if len(value) > MAX_TEXT:
        raise ctx.error(key, f"the {what} {show(value)} is too long: at most {MAX_TEXT} "
                             "characters", fix="shorten it")
    for index, char in enumerate(value):
        if char in _BIDI_CONTROLS or unicodedata.category(char) in ("Cc", "Zl", "Zp"):
            name = _CONTROL_NAMES.get(char, f"U+{ord(char):04X}")
            raise ctx.error(key, f"the {what} {show(value)} contains {name} at position "
                                 f"{index}",
                            fix="remove it: a config string is one line of printable text "
                                "(use spaces, not tabs)")


def read_text(path: Path) -> str:
    """The file's text: a regular file (never a FIFO or a device, which would block or
    never end), read to at most MAX_FILE_BYTES + 1 bytes; else a ConfigError why not."""
    name = path.name or str(path)
    fix = "pass the right file: --config PATH/buildconfig.toml"
    try:
        if path.is_dir():
            raise ConfigError(name, None, f"{path} is a folder, not a config file",
                              fix=f"pass the file itself: --config {path / CONFIG_NAME}")
        handle = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
        with os.fdopen(handle, "rb") as stream:
            mode = os.fstat(handle).st_mode
            if not stat.S_ISREG(mode):
                kind = _file_kind(mode)
                raise ConfigError(name, None, f"{path} is not a regular file (it is a {kind})",
                                  fix=fix)
            raw = stream.read(MAX_FILE_BYTES + 1)
            size = max(os.fstat(handle).st_size, len(raw))
    except FileNotFoundError:
        raise ConfigError(name, None, f"no such file: {path}",
                          fix="run from the project folder or pass --config PATH") from None
    except PermissionError:
        raise ConfigError(name, None, f"cannot read {path}: permission denied",
                          fix=f"make it readable: chmod u+r {path}") from None
    except OSError as exc:
        raise ConfigError(name, None, f"cannot read {path}: {exc.strerror or exc}",
                          fix="pass the path of a readable file with --config PATH") from None
    if size > MAX_FILE_BYTES:
        raise ConfigError(name, None, f"{path} is {size} bytes; a config is at most "
                                      f"{MAX_FILE_BYTES} bytes", fix=fix)
    try:
        return raw.decode("utf-8-sig")  # a leading byte-order mark is harmless
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        raise ConfigError(name, None, f"is not UTF-8 text: byte 0x{raw[exc.start]:02x} on "
                                      f"line {line}",
                          fix="save the file as UTF-8 (TOML files are UTF-8), e.g. "
                              f"iconv -f latin1 -t utf-8 {name}") from None


def _file_kind(mode: int) -> str:
    kinds = {stat.S_ISFIFO: "FIFO", stat.S_ISCHR: "character device",
             stat.S_ISBLK: "block device", stat.S_ISSOCK: "socket"}
    return next((kind for test, kind in kinds.items() if test(mode)), "special file")


# -- words of messages -----------------------------------------------------------------

def did_you_mean(word: str, choices: Any) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else ""


def _join(key: str, name: str) -> str:
    return f"{key}.{name}" if key else name


def show(value: str, limit: int = 60) -> str:
    """A value as an error message shows it: quoted, escaped, and cut when long."""
    if len(value) > limit:
        return f"{value[:limit]!r}... ({len(value)} characters)"
    return repr(value)


def describe(value: Any) -> str:
    kind = {bool: "boolean", int: "integer", float: "float", str: "string",
            list: "array", dict: "table"}.get(type(value), type(value).__name__)
    if isinstance(value, str):
        return f"{show(value)} ({kind})"
    return f"{value!r} ({kind})" if not isinstance(value, (list, dict)) else kind
