"""`plugin-builder init --libc musl` (or ``--go``, ``--arch``) in a project that has its
buildconfig.toml: the values are added to the matrix in place.

The file is edited with tomlkit, as `invoke new-plugin` edits it, so every comment and
edit of the user's stays; a libc the file has no table for gets the table init writes
for it. Nothing is replaced and ``--force`` is not needed (it rewrites the whole file).
:func:`plan` reads, :func:`render` makes the new text, :func:`write` lands it once it
loads.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomlkit
import tomlkit.exceptions

from plugin_builder.config import CONFIG_NAME
from plugin_builder.errors import UsageError
from plugin_builder.files import write_atomically
from plugin_builder.init import land
from plugin_builder.init import options as flags

# What the matrix holds when a key is left out (the config model's defaults).
IMPLIED = {"arch": ["amd64"]}


@dataclass(frozen=True)
class MatrixUpdate:
    config: Path
    text: str  # the file as it is
    added: dict[str, tuple[str, ...]]  # matrix key -> values to append
    new_libc_tables: tuple[str, ...] = ()
    notes: list[str] = field(default_factory=list)

    @property
    def changes(self) -> bool:
        return any(self.added.values())


@dataclass(frozen=True)
class Outcome:
    update: MatrixUpdate
    written: tuple[str, ...]


def plan(folder: Path, *, go: Sequence[str] = (), libc: Sequence[str] = (),
         arch: Sequence[str] = ()) -> MatrixUpdate:
    """What to add to the matrix of ``folder``'s buildconfig.toml."""
    config = folder.absolute() / CONFIG_NAME
    text = config.read_text(encoding="utf-8")
    document = _parse(config, text)
    matrix = document.get("matrix", {})
    tables = dict(document.get("libc", {}))
    wanted = {"go": flags.go_releases(go),
              "libc": flags.libcs(libc, known=[*tables, *flags.LIBCS]) if libc else (),
              "arch": flags.arches(arch) if arch else ()}
    added = {}
    for name, values in wanted.items():
        present = [str(v) for v in matrix.get(name, IMPLIED.get(name, []))]
        added[name] = tuple(v for v in values if v not in present)
    return MatrixUpdate(config=config, text=text, added=added,
                        new_libc_tables=tuple(v for v in added["libc"] if v not in tables))


def render(update: MatrixUpdate) -> str:
    """The file with the values appended to its matrix arrays, comments kept."""
    document = _parse(update.config, update.text)
    matrix = document.setdefault("matrix", tomlkit.table())
    for name, values in update.added.items():
        if not values:
            continue
        if name not in matrix:
            matrix[name] = tomlkit.item(list(IMPLIED.get(name, [])))
        for item in values:
            matrix[name].append(item)
    for name in update.new_libc_tables:
        document.setdefault("libc", tomlkit.table(is_super_table=True))[name] = _libc_table(name)
    return tomlkit.dumps(document)


def write(update: MatrixUpdate, text: str) -> Outcome:
    """Land the new text once it loads; nothing is written when nothing is added."""
    if not update.changes:
        return Outcome(update, ())
    land.validate(update.config.parent, text)
    if update.config.read_text(encoding="utf-8") != update.text:
        raise UsageError(f"{update.config} changed while init was adding to it",
                         fix="run the same command again")
    write_atomically(update.config, text)
    return Outcome(update, (CONFIG_NAME,))


def _libc_table(name: str) -> Any:
    cc, package, builder, runtime = flags.LIBCS[name]
    table = tomlkit.table()
    table.update({"cc": cc, "cc_package": package, "builder_base": builder,
                  "runtime_base": runtime})
    return table


def _parse(config: Path, text: str) -> tomlkit.TOMLDocument:
    try:
        return tomlkit.parse(text)
    except tomlkit.exceptions.ParseError as error:
        raise UsageError(f"{config}: not TOML ({error}): init cannot add to its matrix",
                         fix="correct the file, then run the same command again") from None
