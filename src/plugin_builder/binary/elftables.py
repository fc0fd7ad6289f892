"""ELF tables read in bulk: the dynamic symbol table and the dynamic relocations.

pyelftools parses table entries one by one (0.3 to 0.9 s for a plugin's 27,000 symbols
and 37,000 relocations). Here a table stays the bytes it is in the file: a column is
sliced out of them at C speed, names are found by searching the string table, and only
the entries that matter are unpacked. A lookup by name costs a search of the strings and
of one column, not the decoding of every name (tens of milliseconds per plugin).
"""

from __future__ import annotations

import itertools
import struct
import sys
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass
from functools import cached_property
from typing import BinaryIO

from plugin_builder.binary.elfheaders import ElfFormat, ElfHeaders, ElfSection, c_string

SHT_RELA, SHT_DYNSYM, SHT_REL = 4, 11, 9
SHN_UNDEF = 0
_STB_GLOBAL = 1


@dataclass(frozen=True)
class Symbol:
    name: str
    value: int  # the address
    size: int
    section: int  # st_shndx; 0 (SHN_UNDEF) for a symbol another object defines


class SymbolTable:
    """``.dynsym`` and its string table, as bytes."""

    def __init__(self, index: int, elf_format: ElfFormat, symbols: bytes,
                 strings: bytes) -> None:
        self.index = index  # the section's index, which relocation sections name in sh_link
        self.format = elf_format
        self.symbols = symbols
        self.strings = strings
        # ELF64: st_name, st_info, st_other, st_shndx, st_value, st_size
        # ELF32: st_name, st_value, st_size, st_info, st_other, st_shndx
        self.entry = elf_format.layout("IBBHQQ", "IIIBBH")

    @classmethod
    def read(cls, elf: ElfHeaders, stream: BinaryIO) -> SymbolTable | None:
        """The binary's ``.dynsym``; None when it has none (a static binary)."""
        section = next((s for s in elf.sections if s.type == SHT_DYNSYM), None)
        if section is None:
            return None
        if section.link >= len(elf.sections):
            raise ValueError(f"{section.name} names no string table")
        return cls(section.index, elf.format, elf.read_section(stream, section),
                   elf.read_section(stream, elf.sections[section.link]))

    def symbols_named(self, *prefixes: str) -> dict[int, Symbol]:
        """symbol index -> symbol, for the symbols whose names start with a prefix."""
        names = self._names_starting_with(prefixes)
        return {index: self._symbol(index, names[self._name_column[index]])
                for index in indices_of(names.keys(), self._name_column)}

    def defines(self, name: str) -> bool:
        """True when a defined global symbol is called ``name``.

        Linear in the size of the table however often the name is written: a linker
        may share a name as the tail of a longer one, and a crafted file may write it
        tens of thousands of times, each for a symbol of its own.
        """
        places = self._places_of(name.encode() + b"\0")
        if len(places) == 1:  # the usual case: one scan of the names, to the first match
            return self._defines_global_at(places[0])
        return any(self._is_defined_global(index)
                   for index in indices_of(set(places), self._name_column))

    @cached_property
    def defined_names(self) -> tuple[str, ...]:
        """Every defined global symbol's name, in string-table order (decoded on demand:
        only a plugin built from a file list needs them)."""
        info, sections = self._info_column, self._section_column
        offsets = {offset for offset, binding, section
                   in zip(self._name_column, info, sections, strict=True)
                   if binding >> 4 == _STB_GLOBAL and section != SHN_UNDEF}
        return tuple(c_string(self.strings, offset) for offset in sorted(offsets))

    def undefined_names(self) -> dict[int, str]:
        """symbol index -> name, for every symbol another object defines (the symbols it
        needs); index 0, the null symbol, is none."""
        sections, names = self._section_column, self._name_column
        return {index: c_string(self.strings, names[index])
                for index in indices_of({SHN_UNDEF}, sections) if index and names[index]}

    def _places_of(self, needle: bytes) -> list[int]:
        """Every offset of the string table where ``needle`` is."""
        places = []
        start = self.strings.find(needle)
        while start >= 0:
            places.append(start)
            start = self.strings.find(needle, start + 1)
        return places

    def _defines_global_at(self, name_offset: int) -> bool:
        names = self._name_column
        index = _find(names, name_offset, 0)
        while index is not None:
            if self._is_defined_global(index):
                return True
            index = _find(names, name_offset, index + 1)
        return False

    def _is_defined_global(self, index: int) -> bool:
        return (self._info_column[index] >> 4 == _STB_GLOBAL
                and self._section_column[index] != SHN_UNDEF)

    def _symbol(self, index: int, name: str) -> Symbol:
        raw = self.entry.unpack_from(self.symbols, index * self.entry.size)
        if self.format.is_64:
            return Symbol(name, value=raw[4], size=raw[5], section=raw[3])
        return Symbol(name, value=raw[1], size=raw[2], section=raw[5])

    @cached_property
    def _name_column(self) -> list[int]:
        return column(self.symbols, self.entry, 0)

    @cached_property
    def _info_column(self) -> list[int]:
        return column(self.symbols, self.entry, 1 if self.format.is_64 else 3)

    @cached_property
    def _section_column(self) -> list[int]:
        return column(self.symbols, self.entry, 3 if self.format.is_64 else 5)

    def _names_starting_with(self, prefixes: tuple[str, ...]) -> dict[int, str]:
        """string-table offset -> name, for every occurrence of a prefix (a linker may
        share a string's tail with a longer name, so occurrences are not only at starts)."""
        names = {}
        for prefix in prefixes:
            needle = prefix.encode()
            start = self.strings.find(needle)
            while start >= 0:
                end = self.strings.find(b"\0", start)
                end = len(self.strings) if end < 0 else end
                names[start] = self.strings[start:end].decode("utf-8", "replace")
                start = self.strings.find(needle, end)
        return names


@dataclass(frozen=True)
class Relocations:
    """One dynamic relocation section (.rela.dyn, .rela.plt, .rel.dyn ...), as bytes."""

    format: ElfFormat
    with_addend: bool
    data: bytes

    @classmethod
    def read(cls, elf: ElfHeaders, section: ElfSection, stream: BinaryIO) -> Relocations:
        return cls(elf.format, section.type == SHT_RELA, elf.read_section(stream, section))

    @classmethod
    def against_table(cls, elf: ElfHeaders, stream: BinaryIO,
                      table: SymbolTable) -> Iterator[Relocations]:
        """Every relocation section whose symbols are ``table``'s."""
        for section in elf.sections:
            if section.type in (SHT_RELA, SHT_REL) and section.link == table.index:
                yield cls.read(elf, section, stream)

    @property
    def entry(self) -> struct.Struct:
        # r_offset, r_info and, in RELA, r_addend
        return self.format.layout("QQq" if self.with_addend else "QQ",
                                  "IIi" if self.with_addend else "II")

    def against(self, symbols: Iterable[int]) -> Iterator[tuple[int, int]]:
        """(patched address, symbol index) of the relocations against ``symbols``."""
        entry = self.entry
        indices = self._symbol_indices()
        for index in indices_of(set(symbols), indices):
            yield entry.unpack_from(self.data, index * entry.size)[0], indices[index]

    def _symbol_indices(self) -> list[int]:
        """The symbol index of each entry: r_info >> 32 in ELF64, r_info >> 8 in ELF32."""
        if self.format.is_64:
            # r_info's two halves as fields of their own: the index is a column to slice.
            halves = struct.Struct(self.format.byte_order + ("QIIq" if self.with_addend else "QII"))
            return column(self.data, halves, 2 if self.format.byte_order == "<" else 1)
        return [info >> 8 for info in column(self.data, self.entry, 1)]


def indices_of(wanted: Collection[int], values: list[int]) -> list[int]:
    """The positions in ``values`` of the values in ``wanted``, looped over in C."""
    return list(itertools.compress(range(len(values)), map(wanted.__contains__, values)))


def column(data: bytes, entry: struct.Struct, field: int) -> list[int]:
    """Field number ``field`` of every entry of a table of ``entry`` structs.

    Where the table is in the machine's byte order and the field aligned, a strided
    slice of a memoryview gives the column at C speed instead of unpacking each entry.
    """
    usable = len(data) - len(data) % entry.size
    code = entry.format[1 + field]  # the format is a byte order, then one letter per field
    size = struct.calcsize(code)
    offset = struct.calcsize(entry.format[: 1 + field])  # "<", "=", ">": no padding
    native = entry.format[0] == ("<" if sys.byteorder == "little" else ">")
    if native and offset % size == 0 and entry.size % size == 0:
        words = memoryview(data[:usable]).cast(code)  # type: ignore[call-overload]
        return words[offset // size :: entry.size // size].tolist()
    return [values[field] for values in entry.iter_unpack(data[:usable])]


def _find(values: list[int], value: int, start: int) -> int | None:
    try:
        return values.index(value, start)
    except ValueError:
        return None
