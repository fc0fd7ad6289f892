"""The commands users type, independent of the front end that parses their flags.

tasks.py (invoke) and noxfile.py only translate flags into these calls. Errors the user
can act on end here as one message and an exit code, never a traceback.
"""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console as RichConsole
from rich.table import Table

from plugin_builder import config as config_module
from plugin_builder import selection
from plugin_builder.config import Config
from plugin_builder.console import Console
from plugin_builder.errors import PluginBuilderError
from plugin_builder.pipeline import CombinationResult, Session


@contextmanager
def guard() -> Iterator[None]:
    """Turn a PluginBuilderError into its message on stderr and its exit code."""
    try:
        yield
    except PluginBuilderError as error:
        print(f"error: {error}", file=sys.stderr)
        raise SystemExit(error.return_code) from None
    except KeyboardInterrupt:
        print("interrupted: nothing half-written was kept", file=sys.stderr)
        raise SystemExit(130) from None


def load(config_path: str) -> Config:
    return config_module.load(config_path)


def build_host(config_path: str, *, go: str | None = None, libc: str | None = None,
               every: bool = False, backend: str | None = None) -> list[CombinationResult]:
    config = load(config_path)
    session = Session(config, Console(), backend)
    results = []
    for combination in selection.combinations(config, go=go, libc=libc, every=every):
        result = CombinationResult(combination)
        session.build_host(combination, result)
        results.append(result)
    return results


def build_plugin(config_path: str, *, type_: str | None = None, name: str | None = None,
                 go: str | None = None, libc: str | None = None, every: bool = False,
                 backend: str | None = None) -> list[CombinationResult]:
    config = load(config_path)
    targets = selection.plugins(config, type_=type_, name=name)
    combinations = selection.combinations(config, go=go, libc=libc, every=every)
    session = Session(config, Console(), backend)
    results = []
    for combination in combinations:
        result = CombinationResult(combination)
        session.build_plugins(combination, targets, result)
        results.append(result)
    return results


def pipeline(config_path: str, *, go: str | None = None, libc: str | None = None,
             every: bool = False, backend: str | None = None) -> list[CombinationResult]:
    config = load(config_path)
    combinations = selection.combinations(config, go=go, libc=libc, every=every)
    session = Session(config, Console(), backend)
    results = [session.pipeline(combination) for combination in combinations]
    print_summary(results)
    return results


def print_summary(results: list[CombinationResult]) -> None:
    table = Table(title="plugin-builder pipeline")
    table.add_column("combination")
    for name in ("host", "plugins"):
        table.add_column(name)
    table.add_column("total")
    for result in results:
        cells = []
        for step in result.steps:
            cells.append(f"{step.built}/{len(step.outcomes)} built, {step.seconds:.1f}s")
        total = sum(step.seconds for step in result.steps)
        table.add_row(result.combination.id, *cells, f"{total:.1f}s")
    RichConsole(stderr=False).print(table)


def list_targets(config_path: str, *, as_json: bool = False) -> None:
    config = load(config_path)
    listing = {
        "default": config.matrix.default.id,
        "combinations": [c.id for c in config.matrix.combinations],
        "services": {name: s.binary for name, s in config.host.services.items()},
        "plugins": [
            {"type": p.type, "name": p.name, "source": str(p.source.relative_to(config.root))
             if p.source.is_relative_to(config.root) else str(p.source),
             "file": config.plugin_types[p.type].file_name(p.name)}
            for p in config.plugins
        ],
    }
    if as_json:
        print(json.dumps(listing, indent=2))
        return
    print("combinations (default marked *):")
    for identifier in listing["combinations"]:
        print(f"  {'*' if identifier == listing['default'] else ' '} {identifier}")
    print("plugin targets:")
    for plugin in listing["plugins"]:
        print(f"    {plugin['type']:<10} {plugin['name']:<16} {plugin['source']} -> {plugin['file']}")


def clean(config_path: str, *, go: str | None = None, libc: str | None = None) -> list[Path]:
    """Remove one combination's artifacts (--go/--libc) or all of them."""
    config = load(config_path)
    if go or libc:
        folders = [config.artifact_dir(c)
                   for c in selection.combinations(config, go=go, libc=libc, every=True)]
    else:
        folders = [config.artifacts]
    for folder in folders:
        shutil.rmtree(folder, ignore_errors=True)
        print(f"removed {folder}")
    return folders
