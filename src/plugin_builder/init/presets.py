"""The presets `plugin-builder init` starts from: TOML files, one per host family.

A preset names a host family's conventions: how to recognise the family (its ``[marks]``:
the symbols its plugins export, its host module paths), its services (by the folder name
of their main package, or ``@loader``: the main packages that load plugins), its plugin
types (file pattern, symbols and their Go types, naming rules, the template `new-plugin`
renders) and the plugin folder of its images. The files are ``plugin_builder/presets/``
and every folder ``$PLUGIN_BUILDER_PRESETS`` names (``:``-separated), so a new family
needs a TOML file, never Python; docs/configuration.md describes the format.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from plugin_builder.errors import UsageError

PRESETS_DIR = Path(__file__).resolve().parent.parent / "presets"
SEARCH_ENV = "PLUGIN_BUILDER_PRESETS"  # more folders of presets, os.pathsep-separated
LOADER = "@loader"  # a type's service: the main package(s) of the host that load plugins
STYLES = ("explained", "short")  # every key explained where it stands / only what is set


@dataclass(frozen=True)
class Marks:
    """How a host of the family is recognised."""

    symbols: tuple[str, ...] = ()  # a package main exporting one is a plugin of the family
    modules: tuple[str, ...] = ()  # host module paths, exactly
    module_prefixes: tuple[str, ...] = ()
    module_substrings: tuple[str, ...] = ()
    guess_by_symbols: bool = True  # plugins exporting `symbols` alone name the family

    def module_rank(self, module: str) -> int:
        """How closely the host module path names this family: 3 exactly ... 0 not at all."""
        if module in self.modules:
            return 3
        if any(module.startswith(prefix) for prefix in self.module_prefixes):
            return 2
        return 1 if any(part in module for part in self.module_substrings) else 0


@dataclass(frozen=True)
class ServiceRule:
    name: str
    folders: tuple[str, ...]  # folder names its main package may have
    check: tuple[str, ...] = ()
    healthcheck: tuple[str, ...] = ()


@dataclass(frozen=True)
class TypeRule:
    name: str
    about: str
    service: str  # a service name, or LOADER
    file: str
    entry_symbol: str | None = None
    symbols: dict[str, str] = field(default_factory=dict)
    hooks: dict[str, str] = field(default_factory=dict)  # optional symbols, Go types
    imports: tuple[str, ...] = ()  # the packages the types name (the host's own, too)
    call: dict[str, Any] = field(default_factory=dict)  # [plugin_types.<t>.call], as TOML
    check: tuple[str, ...] = ()  # the type's own check command (a flag per kind)
    names: tuple[str, ...] = ()  # the only names a plugin of the type may have
    name_pattern: str | None = None
    name_contains: str | None = None
    template: str | None = None  # <preset folder>/templates/<this>, copied into the project
    packaged_template: str | None = None  # a template packaged with the tool
    words: tuple[str, ...] = ()  # path words that say a found plugin is of this type
    example_symbols: dict[str, str] = field(default_factory=dict)  # shown commented out
    # Filled in for a host (init.planning): what the host's build list cannot assert.
    presence: tuple[str, ...] = ()  # required symbols whose type names no package it has
    unasserted: dict[str, str] = field(default_factory=dict)  # such symbols, their types
    missing_imports: tuple[str, ...] = ()  # the packages its build list lacks


@dataclass(frozen=True)
class Preset:
    name: str
    summary: str
    folder: Path  # where its file is: its templates are in templates/ there
    plugin_dir: str
    marks: Marks
    services: tuple[ServiceRule, ...]
    types: tuple[TypeRule, ...]
    version: str = "0.0.0"
    tags: tuple[str, ...] = ()  # build tags the host loads plugins with (Tyk's goplugin)
    plugins_json: str | None = None  # file name of a JSON plugins config to write
    order: int = 100  # where it is listed (then by name)
    fallback: bool = False  # guessed when no preset's marks match the host
    style: str = "explained"

    def template_folder(self, rule: TypeRule) -> Path | None:
        return self.folder / "templates" / rule.template if rule.template else None

    def contract_packages(self) -> tuple[str, ...]:
        """The packages outside the standard library its types' contracts name."""
        return tuple(dict.fromkeys(path for rule in self.types for path in rule.imports
                                   if "." in path.split("/")[0]))


# -- finding and reading presets ------------------------------------------------------------


def folders() -> list[Path]:
    extra = [Path(p).expanduser() for p in os.environ.get(SEARCH_ENV, "").split(os.pathsep)
             if p]
    return [PRESETS_DIR, *extra]


def files() -> dict[str, Path]:
    """name -> file of every preset; a later folder's file of the same name wins."""
    found: dict[str, Path] = {}
    for folder in folders():
        for path in sorted(folder.glob("*.toml")):
            found[path.stem] = path
    return found


def available() -> list[Preset]:
    """Every preset, in listing order."""
    return sorted((_load_file(path) for path in files().values()),
                  key=lambda p: (p.order, p.name))


def names() -> tuple[str, ...]:
    return tuple(p.name for p in available())


def builtin_names() -> tuple[str, ...]:
    """The tool's own presets, in listing order (without reading anyone else's files)."""
    builtin = (_load_file(path) for path in sorted(PRESETS_DIR.glob("*.toml")))
    return tuple(p.name for p in sorted(builtin, key=lambda p: (p.order, p.name)))


def load(name: str) -> Preset:
    path = files().get(name)
    if path is None:
        raise UsageError(f"--preset {name}: no such preset",
                         fix=f"use one of: {', '.join(names())}")
    return _load_file(path)


def summaries() -> dict[str, str]:
    return {p.name: p.summary for p in available()}


def guess(presets: Sequence[Preset], module: str,
          plugin_exports: Iterable[frozenset[str]],
          borne_out: Callable[[Preset], bool] | None = None) -> Preset:
    """The preset whose marks fit the host best: its module path first, then the symbols
    the plugins found export (the most plugins), then the fallback preset. A mere
    substring of the module path (a gateway of one's own named after a family) counts
    only when ``borne_out`` says the host is of the family in fact (None: always)."""
    def module_rank(preset: Preset) -> int:
        found = preset.marks.module_rank(module)
        if found == 1 and borne_out is not None and not borne_out(preset):
            return 0
        return found

    ranked = [(module_rank(p), -index, p) for index, p in enumerate(presets)]
    rank, _, best = max(ranked, key=lambda r: r[:2])
    if rank:
        return best
    exports = list(plugin_exports)
    counted = [(sum(1 for e in exports if e & set(p.marks.symbols)), -index, p)
               for index, p in enumerate(presets) if p.marks.guess_by_symbols]
    if counted:
        count, _, best = max(counted, key=lambda c: c[:2])
        if count:
            return best
    fallback = [p for p in presets if p.fallback]
    if not fallback:
        raise UsageError("no preset matches this host and none is marked fallback = true",
                         fix="pass --preset NAME")
    return fallback[0]


def _load_file(path: Path) -> Preset:
    reader = _Reader(path)
    data = reader.data
    reader.only(data, "", ("summary", "plugin_dir", "marks", "services", "types", "version",
                           "tags", "plugins_json", "order", "fallback", "style"))
    style = reader.text(data, "style", "explained")
    if style not in STYLES:
        reader.fail("style", f"{style!r} is not one of {', '.join(STYLES)}")
    return Preset(
        name=path.stem, summary=reader.text(data, "summary"), folder=path.parent,
        plugin_dir=reader.text(data, "plugin_dir"), marks=_marks(reader, data),
        services=tuple(_service(reader, name, value)
                       for name, value in reader.table(data, "services").items()),
        types=tuple(_type(reader, name, value)
                    for name, value in reader.table(data, "types", required=True).items()),
        version=reader.text(data, "version", "0.0.0"), tags=reader.words(data, "tags"),
        plugins_json=reader.text(data, "plugins_json", None),
        order=reader.typed(data, "order", int, 100),
        fallback=reader.typed(data, "fallback", bool, False), style=style)


def _marks(reader: _Reader, data: dict[str, Any]) -> Marks:
    marks = reader.table(data, "marks")
    reader.only(marks, "marks", ("symbols", "modules", "module_prefixes", "module_substrings",
                                 "guess_by_symbols"))
    return Marks(symbols=reader.words(marks, "marks.symbols"),
                 modules=reader.words(marks, "marks.modules"),
                 module_prefixes=reader.words(marks, "marks.module_prefixes"),
                 module_substrings=reader.words(marks, "marks.module_substrings"),
                 guess_by_symbols=reader.typed(marks, "marks.guess_by_symbols", bool, True))


def _service(reader: _Reader, name: str, value: Any) -> ServiceRule:
    where = f"services.{name}"
    value = reader.as_table(value, where)
    reader.only(value, where, ("folders", "check", "healthcheck"))
    return ServiceRule(name=name, folders=reader.words(value, f"{where}.folders"),
                       check=reader.words(value, f"{where}.check"),
                       healthcheck=reader.words(value, f"{where}.healthcheck"))


def _type(reader: _Reader, name: str, value: Any) -> TypeRule:
    where = f"types.{name}"
    value = reader.as_table(value, where)
    reader.only(value, where, ("about", "service", "file", "entry_symbol", "symbols", "hooks",
                               "imports", "call", "check", "names", "name_pattern",
                               "name_contains", "template", "packaged_template", "words",
                               "example_symbols"))
    def text(key: str, default: Any = None) -> Any:
        return reader.text(value, f"{where}.{key}", default)

    return TypeRule(
        name=name, about=text("about", _REQUIRED), service=text("service", _REQUIRED),
        file=text("file", _REQUIRED), entry_symbol=text("entry_symbol"),
        symbols=reader.strings(value, f"{where}.symbols"),
        hooks=reader.strings(value, f"{where}.hooks"),
        imports=reader.words(value, f"{where}.imports"),
        call=reader.table(value, f"{where}.call"),
        check=reader.words(value, f"{where}.check"),
        names=reader.words(value, f"{where}.names"), name_pattern=text("name_pattern"),
        name_contains=text("name_contains"),
        template=text("template"), packaged_template=text("packaged_template"),
        words=reader.words(value, f"{where}.words"),
        example_symbols=reader.strings(value, f"{where}.example_symbols"))


_REQUIRED = object()


class _Reader:
    """Typed reads of one preset file; every mistake names the file and the key."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self.data: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
            raise UsageError(f"preset {path}: {error}",
                             fix="make it a readable UTF-8 TOML file") from None

    def fail(self, key: str, problem: str) -> None:
        raise UsageError(f"preset {self.path}: {key}: {problem}",
                         fix="see 'Presets of plugin-builder init' in docs/configuration.md")

    def only(self, table: dict[str, Any], where: str, known: tuple[str, ...]) -> None:
        for key in table:
            if key not in known:
                self.fail(f"{where}.{key}" if where else key,
                          f"unknown key (known: {', '.join(known)})")

    def typed(self, table: dict[str, Any], key: str, kind: type, default: Any = _REQUIRED) -> Any:
        name = key.rsplit(".", 1)[-1]
        if name not in table:
            if default is _REQUIRED:
                self.fail(key, "required")
            return default
        item = table[name]
        if not isinstance(item, kind) or (kind is int and isinstance(item, bool)):
            self.fail(key, f"must be a {kind.__name__}, not {item!r}")
        return item

    def text(self, table: dict[str, Any], key: str, default: Any = _REQUIRED) -> Any:
        return self.typed(table, key, str, default)

    def table(self, data: dict[str, Any], key: str, *, required: bool = False) -> dict[str, Any]:
        return self.as_table(self.typed(data, key, dict, _REQUIRED if required else {}), key)

    def as_table(self, item: Any, key: str) -> dict[str, Any]:
        if not isinstance(item, dict):
            self.fail(key, "must be a table")
        return item

    def words(self, table: dict[str, Any], key: str) -> tuple[str, ...]:
        items = self.typed(table, key, list, [])
        if not all(isinstance(i, str) for i in items):
            self.fail(key, "must be an array of strings")
        return tuple(items)

    def strings(self, table: dict[str, Any], key: str) -> dict[str, str]:
        items = self.typed(table, key, dict, {})
        if not all(isinstance(v, str) for v in items.values()):
            self.fail(key, "must be a table of strings")
        return dict(items)


__all__ = ["LOADER", "Marks", "Preset", "ServiceRule", "TypeRule", "available", "guess",
           "load", "names"]
