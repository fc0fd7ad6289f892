"""Go types as the config writes them, and Go literals of TOML data.

A plugin type's contract names Go types as text (``func(map[string]string) (any,
map[string]string, error)``); the stand-in loader compiles them. This module reads
just enough of that text to know a function's parameters and results, and turns TOML
values into Go literals of a parameter's type. Every string becomes a Go string literal
through :func:`go_string`, character by character, so no value of the config is ever
Go code.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

_OPEN, _CLOSE = "([{", ")]}"
_KEYWORDS = frozenset({"chan", "func", "map", "interface", "struct"})
_NAMED_RE = re.compile(r"\A([A-Za-z_][A-Za-z0-9_]*)\s+(\S.*)\Z", re.S)
_INTEGERS = {"int": 64, "int8": 8, "int16": 16, "int32": 32, "int64": 64, "uint": 64,
             "uint8": 8, "uint16": 16, "uint32": 32, "uint64": 64, "uintptr": 64,
             "byte": 8, "rune": 32}
_FLOATS = ("float32", "float64")
_ANY = ("any", "interface{}")
SUPPORTED_ARGUMENTS = ("string, bool, the integer and float types, any, map[string]string, "
                       "map[string]any, []string, []any")


class GoTypeError(ValueError):
    """The text is no Go type this module can read, or the value does not fit the type."""


@dataclass(frozen=True)
class Signature:
    """A function type: its parameter types and result types, in order."""

    params: tuple[str, ...]
    results: tuple[str, ...]
    variadic: bool = False


def func_signature(go_type: str) -> Signature | None:
    """The signature of a function type; None when ``go_type`` is not one."""
    text = go_type.strip()
    if not re.match(r"func\s*\(", text):
        return None
    start = text.index("(")
    end = _closing(text, start)
    params = _types(text[start + 1:end])
    rest = text[end + 1:].strip()
    if rest.startswith("(") and _closing(rest, 0) == len(rest) - 1:
        results = _types(rest[1:-1])
    else:
        results = (rest,) if rest else ()
    variadic = bool(params) and params[-1].startswith("...")
    return Signature(params, results, variadic)


def _closing(text: str, start: int) -> int:
    """The index of the bracket that closes the one at ``start``."""
    depth = 0
    for index in range(start, len(text)):
        if text[index] in _OPEN:
            depth += 1
        elif text[index] in _CLOSE:
            depth -= 1
            if depth == 0:
                return index
    raise GoTypeError(f"{text!r}: '{text[start]}' is not closed")


def _split(text: str) -> list[str]:
    """``text`` split at the commas outside brackets, each part stripped."""
    parts: list[str] = []
    current: list[str] = []
    depth = 0
    for char in text:
        if char in _OPEN:
            depth += 1
        elif char in _CLOSE:
            depth -= 1
        if char == "," and depth == 0:
            parts.append("".join(current).strip())
            current = []
        else:
            current.append(char)
    last = "".join(current).strip()
    if last or parts:
        parts.append(last)
    return parts


def _types(text: str) -> tuple[str, ...]:
    """The types of a parameter or result list, names dropped (``a, b int`` is two ints)."""
    parts = _split(text)
    named = [_NAMED_RE.match(part) for part in parts]
    if not any(m and m[1] not in _KEYWORDS for m in named):
        return tuple(parts)
    types: list[str] = []
    pending = 0  # names seen without a type: they take the next type written
    for match in named:
        if match and match[1] not in _KEYWORDS:
            types += [match[2].strip()] * (pending + 1)
            pending = 0
        else:
            pending += 1
    if pending:
        raise GoTypeError(f"({text}): a parameter name without a type")
    return tuple(types)


def normalized(go_type: str) -> str:
    """A type as compared here: no spaces, ``interface{}`` spelled ``any``."""
    compact = re.sub(r"\s+", "", go_type)
    return re.sub(r"interface\{\}", "any", compact)


# -- literals -------------------------------------------------------------------------------


def go_string(text: str) -> str:
    """A Go interpreted string literal of ``text``: printable ASCII as it is, every other
    character as a \\u or \\U escape, so the literal is one line of inert data."""
    out = ['"']
    for char in text:
        code = ord(char)
        if char in '"\\':
            out.append("\\" + char)
        elif 0x20 <= code < 0x7F:
            out.append(char)
        elif 0xD800 <= code <= 0xDFFF:
            raise GoTypeError(f"{text!r} holds a lone surrogate U+{code:04X}")
        elif code <= 0xFFFF:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    return "".join(out) + '"'


def literal(go_type: str, value: Any) -> str:
    """A Go expression of type ``go_type`` holding the TOML value ``value``."""
    kind = normalized(go_type)
    if kind in _ANY:
        return _any_literal(value)
    if kind == "string":
        return go_string(_expect(value, str, "a string", go_type))
    if kind == "bool":
        return "true" if _expect(value, bool, "true or false", go_type) else "false"
    if kind in _INTEGERS:
        return _integer(kind, value, go_type)
    if kind in _FLOATS:
        return f"{kind}({_float(value, go_type)})"
    if kind == "map[string]string":
        table = _expect(value, Mapping, "a table of strings", go_type)
        items = [f"{go_string(k)}: {literal('string', v)}" for k, v in sorted(table.items())]
        return "map[string]string{" + ", ".join(items) + "}"
    if kind == "map[string]any":
        table = _expect(value, Mapping, "a table", go_type)
        items = [f"{go_string(k)}: {_any_literal(v)}" for k, v in sorted(table.items())]
        return "map[string]any{" + ", ".join(items) + "}"
    if kind == "[]string":
        items = [literal("string", v) for v in _expect(value, Sequence, "an array", go_type)]
        return "[]string{" + ", ".join(items) + "}"
    if kind == "[]any":
        items = [_any_literal(v) for v in _expect(value, Sequence, "an array", go_type)]
        return "[]any{" + ", ".join(items) + "}"
    raise GoTypeError(f"no argument can be written for a parameter of type {go_type} "
                      f"(supported: {SUPPORTED_ARGUMENTS})")


def _any_literal(value: Any) -> str:
    """TOML data as the Go values a JSON decoder gives: map[string]any, []any, string,
    bool, int64, float64."""
    if isinstance(value, bool):
        return literal("bool", value)
    if isinstance(value, str):
        return literal("string", value)
    if isinstance(value, int):
        return literal("int64", value)
    if isinstance(value, float):
        return literal("float64", value)
    if isinstance(value, Mapping):
        return literal("map[string]any", value)
    if isinstance(value, list | tuple):
        return literal("[]any", value)
    raise GoTypeError(f"{value!r} ({type(value).__name__}) has no Go literal: use strings, "
                      "numbers, booleans, arrays and tables")


def _expect(value: Any, kind: type, what: str, go_type: str) -> Any:
    wrong = isinstance(value, str) and kind is Sequence or \
        kind is not bool and isinstance(value, bool)
    if wrong or not isinstance(value, kind):
        raise GoTypeError(f"{value!r} is not {what}, as a {go_type} parameter needs")
    return value


def _integer(kind: str, value: Any, go_type: str) -> str:
    number = _expect(value, int, "an integer", go_type)
    bits = _INTEGERS[kind]
    low, high = (0, 2**bits - 1) if kind.startswith("u") or kind == "byte" \
        else (-(2**(bits - 1)), 2**(bits - 1) - 1)
    if not low <= number <= high:
        raise GoTypeError(f"{number} does not fit a {go_type}")
    return f"{kind}({number})"


def _float(value: Any, go_type: str) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise GoTypeError(f"{value!r} is not a number, as a {go_type} parameter needs")
    if not math.isfinite(value):
        raise GoTypeError(f"{value!r} has no Go literal")
    return repr(float(value))
