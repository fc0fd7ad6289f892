"""The symbol versions a binary needs from its libraries: ``.gnu.version_r`` and
``.gnu.version``, read with ``struct`` as ``readelf -V`` shows them.

A binary linked against glibc records, for each symbol it imports, the version of it
it was linked with (``memcpy@GLIBC_2.14``, ``__libc_start_main@GLIBC_2.34``); the
dynamic loader refuses to start it (or ``dlopen`` refuses a plugin) on a machine whose
glibc is older: ``version `GLIBC_2.34' not found``. A glibc floor is checked against
these, naming the symbol that needs the newest version.

Layout (the same in ELF32 and ELF64): ``.gnu.version_r`` is a chain of Verneed entries
(vn_version, vn_cnt, vn_file, vn_aux, vn_next), each with a chain of Vernaux entries
(vna_hash, vna_flags, vna_other, vna_name, vna_next); ``vna_other`` is the index that
``.gnu.version``, one 16-bit word per ``.dynsym`` entry, gives each symbol.
"""

from __future__ import annotations

import os
import re
import struct
from collections.abc import Iterable
from dataclasses import dataclass
from typing import BinaryIO

from plugin_builder.binary.elfheaders import ElfHeaders, c_string, parse_elf
from plugin_builder.binary.elftables import SymbolTable

SHT_GNU_VERNEED, SHT_GNU_VERSYM = 0x6FFFFFFE, 0x6FFFFFFF
_HIDDEN = 0x8000  # a versym bit: the version is not the default one
_VERSION_RE = re.compile(r"\AGLIBC_([0-9]+)\.([0-9]+)(?:\.([0-9]+))?\Z")


@dataclass(frozen=True)
class VersionNeed:
    """One version a library must provide: ("libc.so.6", "GLIBC_2.34")."""

    library: str
    version: str


@dataclass(frozen=True)
class SymbolVersion:
    """One imported symbol and the version it was linked with."""

    symbol: str
    version: str
    library: str


@dataclass(frozen=True)
class VersionNeeds:
    """What a binary needs of its libraries' versions."""

    needs: tuple[VersionNeed, ...] = ()
    symbols: tuple[SymbolVersion, ...] = ()

    def newer_than(self, floor: str) -> list[SymbolVersion]:
        """The symbols that need a GLIBC_x.y newer than ``floor`` ("2.28"), newest first;
        a version needed by no symbol (only named in .gnu.version_r) counts as one
        needed by "(no symbol)"."""
        limit = parse_release(floor)
        found = [s for s in self.symbols if (glibc_release(s.version) or ()) > limit]
        named = {s.version for s in self.symbols}
        found += [SymbolVersion("(no symbol)", need.version, need.library) for need in self.needs
                  if need.version not in named and (glibc_release(need.version) or ()) > limit]
        return sorted(found, key=lambda s: (glibc_release(s.version), s.symbol), reverse=True)

    @property
    def newest_glibc(self) -> str | None:
        """The newest GLIBC_x.y needed ("GLIBC_2.34"), None when none is."""
        versions = [need.version for need in self.needs if glibc_release(need.version)]
        return max(versions, key=glibc_release, default=None)  # type: ignore[arg-type]


def glibc_release(version: str) -> tuple[int, ...] | None:
    """(2, 34) of "GLIBC_2.34"; None for another library's version or GLIBC_PRIVATE."""
    match = _VERSION_RE.fullmatch(version)
    return None if match is None else tuple(int(part) for part in match.groups() if part)


def parse_release(release: str) -> tuple[int, ...]:
    """(2, 28) of "2.28"."""
    return tuple(int(part) for part in release.split("."))


def read_version_needs(path: str | os.PathLike[str]) -> VersionNeeds:
    """The versions ``path`` needs; a file that is not ELF or is damaged is a BinaryError."""
    return parse_elf(os.fspath(path), lambda _, elf, stream: version_needs(elf, stream))


def version_needs(elf: ElfHeaders, stream: BinaryIO) -> VersionNeeds:
    """The versions an open binary needs (none for a static binary or a musl one: musl
    has no symbol versions); ValueError for tables that leave the file."""
    section = next((s for s in elf.sections if s.type == SHT_GNU_VERNEED), None)
    if section is None or section.link >= len(elf.sections):
        return VersionNeeds()
    strings = elf.read_section(stream, elf.sections[section.link])
    by_index = dict(_entries(elf.read_section(stream, section), strings, elf.format.byte_order))
    needs = tuple(dict.fromkeys(by_index.values()))
    return VersionNeeds(needs, tuple(_symbols(elf, stream, by_index)))


def _entries(data: bytes, strings: bytes, order: str) -> Iterable[tuple[int, VersionNeed]]:
    """(vna_other, the need) of every Vernaux entry, following both chains; an entry
    whose offsets leave the section ends its chain (a damaged file says no more)."""
    offset, seen = 0, 0
    while 0 <= offset <= len(data) - 16 and seen < len(data) // 16:
        _, count, file, aux, following = _unpack(order + "HHIII", data, offset)
        library = c_string(strings, file)
        at = offset + aux
        for _ in range(count):
            if not 0 <= at <= len(data) - 16:
                break
            _, _, other, name, next_aux = _unpack(order + "IHHII", data, at)
            yield other, VersionNeed(library, c_string(strings, name))
            seen += 1
            if not next_aux:
                break
            at += next_aux
        if not following:
            return
        offset += following
        seen += 1


def _unpack(fmt: str, data: bytes, offset: int) -> tuple[int, ...]:
    return struct.unpack_from(fmt, data, offset)


def _symbols(elf: ElfHeaders, stream: BinaryIO,
             by_index: dict[int, VersionNeed]) -> Iterable[SymbolVersion]:
    """Each imported symbol whose .gnu.version entry names a needed version."""
    versym = next((s for s in elf.sections if s.type == SHT_GNU_VERSYM), None)
    table = SymbolTable.read(elf, stream) if versym is not None else None
    if versym is None or table is None:
        return
    words = elf.read_section(stream, versym)
    count = len(words) // 2
    indices = struct.unpack_from(f"{elf.format.byte_order}{count}H", words)
    for index, name in table.undefined_names().items():
        need = by_index.get(indices[index] & ~_HIDDEN) if index < count else None
        if need is not None:
            yield SymbolVersion(name, need.version, need.library)
