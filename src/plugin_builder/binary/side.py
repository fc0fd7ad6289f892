"""One binary of a comparison, read once: what verify needs from a host or a plugin.

:class:`Side` gathers the ELF facts, the Go build information and the package
fingerprints of one binary in one pass over its headers. Nothing here judges it;
:mod:`plugin_builder.verify` compares two sides.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import BinaryIO

from plugin_builder.binary.buildinfo import BuildInfo, buildinfo_from
from plugin_builder.binary.elffacts import UNREAD, DynamicSymbols, ElfFacts, facts_from
from plugin_builder.binary.elfheaders import ElfHeaders, parse_elf
from plugin_builder.binary.elftables import SymbolTable
from plugin_builder.binary.fingerprints import Fingerprints, fingerprints_from
from plugin_builder.errors import BinaryError


@dataclass(frozen=True)
class Side:
    """One binary of the comparison: a host or a plugin."""

    elf: ElfFacts
    buildinfo: BuildInfo | None  # None: no Go build information (not a Go binary)
    path: str
    # The package fingerprints it exports (None: none readable, and why).
    fingerprints: Fingerprints | None = None
    no_fingerprints: str = ""

    @classmethod
    def read(cls, path: str | os.PathLike[str], recorded: Fingerprints | None = None, *,
             lookups: bool = True) -> Side:
        """Everything verify needs from one binary, read in one pass over its headers.

        ``recorded``: its fingerprints as kept when it landed, if it is unchanged since.
        ``lookups``: False for a host, whose symbols nobody looks up; with recorded
        fingerprints, its symbol table (1-2 MB) is then not read at all.
        """
        def parse(path: str, elf: ElfHeaders, stream: BinaryIO) -> Side:
            table: SymbolTable | None
            prints: Fingerprints | str
            if lookups or recorded is None:
                table, prints = _table_and_fingerprints(path, elf, stream, recorded)
            else:
                table, prints = None, recorded
            fingerprints, why = _usable(prints)
            exported = DynamicSymbols(table) if lookups else UNREAD
            return cls(elf=facts_from(path, elf, stream, exported),
                       buildinfo=buildinfo_from(os.path.abspath(path), elf, stream),
                       path=path, fingerprints=fingerprints, no_fingerprints=why)

        return parse_elf(os.fspath(path), parse)


def _table_and_fingerprints(
    path: str, elf: ElfHeaders, stream: BinaryIO, recorded: Fingerprints | None,
) -> tuple[SymbolTable | None, Fingerprints | str]:
    """The binary's .dynsym and its fingerprints (``recorded`` if given), or why none.
    A table the headers place outside the file, or link to nothing, is a ValueError:
    the file is damaged, and nothing read from it would be trusted."""
    table = SymbolTable.read(elf, stream)
    if recorded is not None:
        return table, recorded
    return table, _fingerprints_read(path, elf, stream, table)


def _fingerprints_read(path: str, elf: ElfHeaders, stream: BinaryIO,
                       table: SymbolTable | None) -> Fingerprints | str:
    """The binary's fingerprints, or why a Go linker's fingerprints cannot be read."""
    try:
        return fingerprints_from(path, elf, stream, table)
    except BinaryError as error:
        return error.message


def _usable(fingerprints: Fingerprints | str) -> tuple[Fingerprints | None, str]:
    """(fingerprints, "") when there are any; else (None, why there are none)."""
    if isinstance(fingerprints, str):
        return None, fingerprints
    if not fingerprints.hashes:
        return None, fingerprints.why_none or "it exports no fingerprints"
    return fingerprints, ""
