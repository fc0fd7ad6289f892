"""The presets `plugin-builder init` starts from: data in ``plugin_builder/presets/``.

A preset is a TOML file naming a host family's conventions: its services (by the folder
name of their main package, or ``@loader``: the main packages that load plugins), its
plugin types (file pattern, symbols and their Go types, naming rules, the template
`new-plugin` renders), the symbols that mark a ``package main`` as one of its plugins,
and the plugin folder of its images. Nothing in Python knows a host family.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PRESETS_DIR = Path(__file__).resolve().parent.parent / "presets"
TEMPLATES_DIR = PRESETS_DIR / "templates"
NAMES = ("reference", "dragonfly", "bifrost", "blank")
LOADER = "@loader"  # a type's service: the main package(s) of the host that load plugins


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
    name_contains: str | None = None
    template: str | None = None  # presets/templates/<this>, copied into the project
    packaged_template: str | None = None  # a template packaged with the tool
    words: tuple[str, ...] = ()  # path words that say a found plugin is of this type


@dataclass(frozen=True)
class Preset:
    name: str
    summary: str
    plugin_dir: str
    marks: tuple[str, ...]
    services: tuple[ServiceRule, ...]
    types: tuple[TypeRule, ...]
    version: str = "0.0.0"
    plugins_json: str | None = None  # file name of a JSON plugins config to write


def load(name: str) -> Preset:
    data: dict[str, Any] = tomllib.loads((PRESETS_DIR / f"{name}.toml").read_text())
    services = tuple(
        ServiceRule(name=key, folders=tuple(value.get("folders", ())),
                    check=tuple(value.get("check", ())),
                    healthcheck=tuple(value.get("healthcheck", ())))
        for key, value in data.get("services", {}).items())
    types = tuple(
        TypeRule(name=key, about=value["about"], service=value["service"], file=value["file"],
                 entry_symbol=value.get("entry_symbol"), symbols=dict(value.get("symbols", {})),
                 hooks=dict(value.get("hooks", {})), name_contains=value.get("name_contains"),
                 template=value.get("template"),
                 packaged_template=value.get("packaged_template"),
                 words=tuple(value.get("words", ())))
        for key, value in data["types"].items())
    return Preset(name=name, summary=data["summary"], plugin_dir=data["plugin_dir"],
                  marks=tuple(data.get("marks", ())), services=services, types=types,
                  version=data.get("version", "0.0.0"), plugins_json=data.get("plugins_json"))


def summaries() -> dict[str, str]:
    return {name: load(name).summary for name in NAMES}
