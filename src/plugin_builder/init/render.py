"""buildconfig.toml as `init` writes it: valid, and every key explained where it stands.

The comments come from the config model (``plugin_builder.config.key_docs``, which also
makes docs/configuration.md's table), so the generated file and the reference cannot
disagree: each key of the model (``plugin_builder.config.SCHEMA``) is explained once, at
its first place in the file, and a key init leaves at its default is shown as a commented
example.
"""

from __future__ import annotations

import json
import re
import textwrap
from collections.abc import Iterable, Mapping
from functools import cache

from plugin_builder import config
from plugin_builder.config import SCHEMA, KeyDoc

WIDTH = 92
_BARE_KEY = re.compile(r"\A[A-Za-z0-9_-]+\Z")


@cache
def key_docs() -> dict[str, KeyDoc]:
    """The config model's documented keys: row ("host.services.<name>.main") -> its doc."""
    return {doc.row: doc for doc in config.key_docs()}


def value(item: object) -> str:
    """A Python value as TOML: strings, booleans, arrays and inline tables of them."""
    if isinstance(item, bool):
        return "true" if item else "false"
    if isinstance(item, str):
        return json.dumps(item, ensure_ascii=False)
    if isinstance(item, (list, tuple)):
        return "[" + ", ".join(value(i) for i in item) + "]"
    if isinstance(item, Mapping):
        if not item:
            return "{}"
        return "{ " + ", ".join(f"{key(k)} = {value(v)}" for k, v in item.items()) + " }"
    raise TypeError(f"no TOML for {item!r}")


def key(name: str) -> str:
    return name if _BARE_KEY.fullmatch(name) else json.dumps(name, ensure_ascii=False)


class Document:
    """The file, section by section; knows which keys it has explained already."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.explained: set[str] = set()

    def text(self) -> str:
        while self.lines and not self.lines[-1]:
            self.lines.pop()
        return "\n".join(self.lines) + "\n"

    def comment(self, text: str, indent: str = "") -> None:
        for paragraph in text.split("\n"):
            wrapped = textwrap.wrap(paragraph, WIDTH - len(indent) - 2,
                                    break_on_hyphens=False, break_long_words=False) or [""]
            self.lines.extend(f"{indent}# {line}".rstrip() for line in wrapped)

    def blank(self) -> None:
        if self.lines and self.lines[-1]:
            self.lines.append("")

    def section(self, header: str, about: str | None = None) -> None:
        self.blank()
        if about:
            self.comment(about)
        self.lines.append(header)

    def explain(self, row: str) -> None:
        """The doc of a key, once per file."""
        if row in self.explained:
            return
        self.explained.add(row)
        doc = key_docs().get(row)
        if doc is not None:
            default = "required" if doc.default == "required" \
                else f"default {_unquote(doc.default)}"
            self.comment(f"{row} ({doc.kind}, {default}): {_unquote(doc.meaning)}")

    def set(self, row: str, name: str, item: object, note: str | None = None) -> None:
        self.explain(row)
        line = f"{key(name)} = {value(item)}"
        self.lines.append(f"{line}  # {note}" if note else line)

    def unset(self, row: str) -> None:
        """A key left at its default: its doc, and its example commented out."""
        if row in self.explained:
            return
        self.explain(row)
        doc = key_docs().get(row)
        if doc is not None and doc.example:
            self.lines.append(f"# {doc.example}")

    def rest(self, section: str, prefix: str, skip: tuple[str, ...] = ()) -> None:
        """Every key of a SCHEMA section not shown yet, as a commented example (keys in
        ``skip`` are tables the caller writes as sections of their own)."""
        for name in SCHEMA.get(section, ()):
            if name in skip:
                continue
            row = f"{prefix}.{name}" if prefix else name
            if any(r == row or r.startswith((f"{row}.", f"{row}[].")) for r in self.explained):
                continue
            rows = [r for r in key_docs() if r == row or r.startswith((f"{row}.", f"{row}[]."))]
            for found in rows or [row]:
                self.unset(found)


def _unquote(text: str) -> str:
    return text.replace("`", "")


def documented_rows() -> Iterable[str]:
    return key_docs().keys()
