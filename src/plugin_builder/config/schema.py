"""What the model's declarations give besides parsing: the keys of each table, the
reference table of docs/configuration.md, the documented keys init comments with, and the
JSON Schema of buildconfig.toml.

    python -m plugin_builder.config    # rewrite the committed schema and doc table
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, NamedTuple

from plugin_builder.config.model import Config
from plugin_builder.config.parse import MAX_ITEMS, MAX_TEXT, REQUIRED, Field, sections

HERE = Path(__file__).resolve().parent
SCHEMA_FILE = HERE / "buildconfig.schema.json"
DOC_FILE = HERE.parent / "docs" / "configuration.md"
TABLE_BEGIN = "<!-- keys: made by python -m plugin_builder.config -->"
TABLE_END = "<!-- end of keys -->"
# The keys each table of buildconfig.toml may hold ("<name>" stands for a table named by
# you, "[]" for an item of an array of tables).
SCHEMA: dict[str, tuple[str, ...]] = {
    section: tuple(item.toml for item in keys) for section, _, keys in sections(Config)}
_KINDS = {"strings": "array of strings", "tables": "table", "values": "array"}


class KeyDoc(NamedTuple):
    """One row of the reference: a key that holds a value (not a table of keys)."""

    row: str  # "host.services.<name>.main"
    section: str  # the table that holds it: "host.services.<name>"
    name: str  # its TOML name there: "main"
    kind: str  # "string", "array of strings" ...
    default: str  # "required", "none", a TOML literal in backticks, or words
    example: str  # one TOML line
    meaning: str


def key_docs(section: str | None = None) -> Iterator[KeyDoc]:
    """Every documented key, or those of one table (``"libc.<name>"``), in model order."""
    for where, _, keys in sections(Config):
        for item in keys:
            if item.child is None and (section is None or where == section):
                each = f".{item.key.each}" if item.key.each else ""
                row = f"{where}.{item.toml}" if where else item.toml
                kind = "string" if each else _KINDS.get(item.shape, item.shape)
                yield KeyDoc(row + each, where, item.toml, kind, _default(item),
                             item.key.example, item.key.doc)


def _default(item: Field) -> str:
    if item.key.shown:
        return item.key.shown
    if item.default is REQUIRED:
        return "required"
    return "none" if item.default is None else f"`{toml_value(item.default)}`"


def toml_value(value: Any) -> str:
    """A default as TOML: strings, booleans, arrays and (empty) tables."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (tuple, list)):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "{}"
    return json.dumps(value, ensure_ascii=False)


def reference_table() -> str:
    """The key table of docs/configuration.md."""
    lines = ["| key | type | default | example | meaning |", "| --- | --- | --- | --- | --- |"]
    lines += [f"| `{d.row}` | {d.kind} | {d.default} | `{d.example}` | {d.meaning} |"
              for d in key_docs()]
    return "\n".join(lines)


def json_schema() -> dict[str, Any]:
    """buildconfig.toml as JSON Schema (draft 2020-12): its tables, keys, types, defaults."""
    definitions = {cls.__name__: _object(keys) for _, cls, keys in sections(Config)}
    return {"$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": "https://plugin-builder.dev/buildconfig.schema.json",
            "title": "buildconfig.toml of plugin-builder",
            **definitions.pop("Config"), "$defs": definitions}


def _object(keys: tuple[Field, ...]) -> dict[str, Any]:
    return {"type": "object", "additionalProperties": False,
            "properties": {item.toml: _property(item) for item in keys},
            "required": [item.toml for item in keys if item.default is REQUIRED]}


def _property(item: Field) -> dict[str, Any]:
    text: dict[str, Any] = {"type": "string", "maxLength": MAX_TEXT}
    child = {"$ref": f"#/$defs/{item.child.__name__}"} if item.child else {}
    shape = {
        "string": text, "bool": {"type": "boolean"}, "integer": {"type": "integer"},
        "strings": {"type": "array", "maxItems": MAX_ITEMS, "items": text},
        "values": {"type": "array", "maxItems": MAX_ITEMS},
        "table of strings": {"type": "object", "additionalProperties": text},
        "table": child, "tables": {"type": "object", "additionalProperties": child},
        "array of tables": {"type": "array", "maxItems": MAX_ITEMS, "items": child},
    }[item.shape]
    about: dict[str, Any] = {"description": item.key.doc} if item.key.doc else {}
    example = tomllib.loads(item.key.example) if item.key.example else {}
    if item.toml in example:  # the example's line sets this key
        about["examples"] = [example[item.toml]]
    if item.default not in (REQUIRED, None) and item.child is None and not item.key.shown:
        about["default"] = json.loads(json.dumps(item.default, default=dict))  # as JSON
    return {**shape, **about}


def write() -> None:
    """Rewrite the committed JSON Schema and docs/configuration.md's key table."""
    SCHEMA_FILE.write_text(json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n")
    page = DOC_FILE.read_text(encoding="utf-8")
    before, rest = page.split(TABLE_BEGIN)
    after = rest.split(TABLE_END)[1]
    DOC_FILE.write_text(f"{before}{TABLE_BEGIN}\n{reference_table()}\n{TABLE_END}{after}",
                        encoding="utf-8")
