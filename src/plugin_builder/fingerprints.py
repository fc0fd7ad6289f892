"""The package fingerprints the Go runtime compares when ``plugin.Open`` loads a plugin.

A Go binary that can use plugins (it imports ``plugin`` and is dynamically linked) and
every plugin export, in ``.dynsym``, two symbols per package they were linked with:

* ``go:link.pkghashbytes.<package>``: the package's 8-byte link-time fingerprint, and
* ``go:link.pkghash.<package>``: a Go string header pointing at those 8 bytes.

A plugin also carries ``moduledata.pkghashes``, one entry per package in the linker's
``ctxt.Library`` order: the package name, its fingerprint when the plugin was linked and
a pointer to ``go:link.pkghash.<package>``. That pointer is a dynamic relocation against
the symbol, so the dynamic loader resolves it to the first definition in the process:
the host's when the host has the package, else the plugin's own. ``plugin.Open`` walks
the array and refuses with "plugin was built with a different version of package P" for
the first P whose two fingerprints differ (``runtime/plugin.go``).

So the packages that can stop a load are those both binaries export, and the one named
is the first of them, in array order, whose fingerprint differs. The array order is
read exactly from the plugin's dynamic relocations against ``go:link.pkghash.*``, sorted
by the address they patch: the i-th array entry's pointer lies at a fixed stride after
the (i-1)-th. The relocations, like ``.dynsym``, survive ``-ldflags "-s -w"`` and
``strip``; the order of ``.dynsym`` itself is the linker's hash-bucket order and says
nothing.
"""

from __future__ import annotations

import itertools
import os
import struct
import sys
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import BinaryIO

from plugin_builder.elfheaders import ElfFormat, ElfHeaders, ElfSection, parse_elf, read_at
from plugin_builder.errors import BinaryError

HASH_BYTES_PREFIX = "go:link.pkghashbytes."
HASH_POINTER_PREFIX = "go:link.pkghash."
FINGERPRINT_SIZE = 8  # cmd/internal/goobj.FingerprintType is [8]byte

MATCH = "match"
DIFFER = "differ"
UNREADABLE = "unreadable"

# A moduledata.pkghashes entry: modulename and linktimehash (two string headers of two
# words each), then the runtimehash pointer: five pointer-sized words.
_PKGHASH_ENTRY_WORDS = 5


@dataclass(frozen=True)
class Fingerprints:
    """The package fingerprints one binary exports, and the order a plugin checks them."""

    path: str
    # package path -> 8-byte fingerprint; immutable but not hashable, so out of hash()
    hashes: Mapping[str, bytes] = field(default_factory=lambda: MappingProxyType({}), hash=False)
    # The packages in the order plugin.Open compares them, when this is a plugin whose
    # order could be read; None for a host (which checks nothing) or an unknown order.
    check_order: tuple[str, ...] | None = None
    # Why a binary without fingerprints has none, when more is known than "it exports
    # none" (which is what a Go program that does not import "plugin" does).
    why_none: str = ""

    def __len__(self) -> int:
        return len(self.hashes)

    def hex(self, package: str) -> str | None:
        """The fingerprint of ``package`` as hex, as people compare them; None when absent."""
        value = self.hashes.get(package)
        return None if value is None else value.hex()


@dataclass(frozen=True)
class FingerprintVerdict:
    """Whether a plugin's package fingerprints agree with its host's."""

    status: str  # MATCH, DIFFER or UNREADABLE
    differing: tuple[str, ...] = ()  # in the order the runtime checks them, when known
    first: str | None = None  # the package plugin.Open names; None when not predictable
    shared: int = 0  # packages both binaries export
    reason: str = ""  # for UNREADABLE: which side exports none

    @property
    def order_known(self) -> bool:
        """False when packages differ but which one the runtime names cannot be told."""
        return self.status != DIFFER or self.first is not None


def compare(host: Fingerprints, plugin: Fingerprints) -> FingerprintVerdict:
    """What ``plugin.Open`` decides about the packages ``host`` and ``plugin`` share."""
    missing = [(side, prints) for side, prints in (("host", host), ("plugin", plugin))
               if not prints]
    if missing:
        return FingerprintVerdict(UNREADABLE, reason=_no_fingerprints_reason(missing))
    shared = host.hashes.keys() & plugin.hashes.keys()
    order = plugin.check_order if plugin.check_order is not None else sorted(shared)
    differing = tuple(
        package for package in order
        if package in shared and host.hashes[package] != plugin.hashes[package]
    )
    if not differing:
        return FingerprintVerdict(MATCH, shared=len(shared))
    # Without the plugin's order the differing set is still exact, but not which the
    # runtime meets first: say so rather than guess.
    first = differing[0] if plugin.check_order is not None else None
    return FingerprintVerdict(DIFFER, differing=differing, first=first, shared=len(shared))


def _no_fingerprints_reason(missing: list[tuple[str, Fingerprints]]) -> str:
    reasons = [
        f"the {side} {prints.why_none or 'exports no package fingerprints'}"
        for side, prints in missing
    ]
    return (
        "; ".join(reasons) + ": only a plugin, or a dynamically linked Go program that"
        ' imports "plugin", has them'
    )


# -- reading ------------------------------------------------------------------------------

_SHT_RELA, _SHT_DYNSYM, _SHT_REL = 4, 11, 9
_SHN_UNDEF = 0
_MAX_SPAN = 1 << 20  # fingerprints further apart than this are read one by one


def read_fingerprints(path: str | os.PathLike[str]) -> Fingerprints:
    """The package fingerprints ``path`` exports in ``.dynsym`` (none for a binary that
    cannot use plugins) and, for a plugin, the order ``plugin.Open`` checks them.

    A missing, unreadable or non-ELF file is a BinaryError, and so is a
    fingerprint symbol of a size other than 8 bytes (a Go linker this code does not know).
    """
    return parse_elf(os.fspath(path), _fingerprints_of)


def _fingerprints_of(path: str, elf: ElfHeaders, stream: BinaryIO) -> Fingerprints:
    dynsym = next((s for s in elf.sections if s.type == _SHT_DYNSYM), None)
    if dynsym is None:
        return Fingerprints(path, why_none=_why_no_dynamic_symbols(elf))
    table = _SymbolTable.read(elf, dynsym, stream)
    symbols = table.symbols_named(HASH_BYTES_PREFIX, HASH_POINTER_PREFIX)
    hashes = _hash_values(path, elf, stream, symbols)
    pointers = {
        index: symbol.name[len(HASH_POINTER_PREFIX) :]
        for index, symbol in symbols.items()
        if symbol.name.startswith(HASH_POINTER_PREFIX)
    }
    order = _check_order(elf, stream, table, pointers)
    if order is not None and set(order) != hashes.keys():
        order = None  # the array must list every package the plugin has, no other
    return Fingerprints(path, MappingProxyType(hashes), order)


def _why_no_dynamic_symbols(elf: ElfHeaders) -> str:
    if not elf.sections:
        # sstrip and packers remove section headers; .dynsym is then found only through
        # the dynamic segment, which this reader does not follow.
        return "has no section headers, so its dynamic symbols cannot be read"
    return "has no dynamic symbols (it is statically linked)"


def _hash_values(
    path: str, elf: ElfHeaders, stream: BinaryIO, symbols: Mapping[int, _Symbol]
) -> dict[str, bytes]:
    """package -> fingerprint, from the defined ``go:link.pkghashbytes.*`` symbols."""
    addresses: dict[str, int] = {}
    for symbol in symbols.values():
        if not symbol.name.startswith(HASH_BYTES_PREFIX) or symbol.section == _SHN_UNDEF:
            continue
        if symbol.size != FINGERPRINT_SIZE:
            raise BinaryError(
                f"{path}: {symbol.name} is {symbol.size} bytes, not {FINGERPRINT_SIZE}: "
                "a Go linker whose package fingerprints plugin-builder cannot read"
            )
        addresses[symbol.name[len(HASH_BYTES_PREFIX) :]] = symbol.value
    return _read_fingerprint_bytes(path, elf, stream, addresses)


def _read_fingerprint_bytes(
    path: str, elf: ElfHeaders, stream: BinaryIO, addresses: Mapping[str, int]
) -> dict[str, bytes]:
    """The 8 bytes at each address. The linker puts the symbols side by side in
    .rodata, so one read of the span they cover serves them all."""
    if not addresses:
        return {}
    low = min(addresses.values())
    span = max(addresses.values()) + FINGERPRINT_SIZE - low
    span_offset = elf.file_offset(low, span)
    if span_offset is not None and span <= _MAX_SPAN:
        data = read_at(stream, span_offset, span)
        return {
            package: data[address - low : address - low + FINGERPRINT_SIZE]
            for package, address in addresses.items()
        }
    values = {}
    for package, address in addresses.items():
        offset = elf.file_offset(address, FINGERPRINT_SIZE)
        if offset is None:
            raise BinaryError(f"{path}: the fingerprint of {package} is not in the file")
        values[package] = read_at(stream, offset, FINGERPRINT_SIZE)
    return values


def _check_order(
    elf: ElfHeaders, stream: BinaryIO, table: _SymbolTable, pointers: Mapping[int, str]
) -> tuple[str, ...] | None:
    """The plugin's ``pkghashes`` order: its dynamic relocations against the
    ``go:link.pkghash.*`` symbols, by the address they patch. None when the binary has no
    such relocations (a host) or they are not the evenly spaced array they should be."""
    patched = sorted(_relocations_against(elf, stream, table, pointers))
    if not patched:
        return None
    stride = _PKGHASH_ENTRY_WORDS * (8 if elf.format.is_64 else 4)
    addresses = [address for address, _package in patched]
    packages = tuple(package for _address, package in patched)
    gaps = {after - before for before, after in zip(addresses, addresses[1:], strict=False)}
    if gaps - {stride} or len(set(packages)) != len(packages):
        return None  # not one array: something else refers to a pkghash; order unknown
    return packages


def _relocations_against(
    elf: ElfHeaders, stream: BinaryIO, table: _SymbolTable, pointers: Mapping[int, str]
) -> Iterator[tuple[int, str]]:
    """(patched address, package) of each dynamic relocation against a pointer symbol."""
    if not pointers:
        return
    for section in elf.sections:
        if section.type not in (_SHT_RELA, _SHT_REL) or section.link != table.index:
            continue
        relocations = _Relocations.read(elf, section, stream)
        for address, symbol in relocations.against(pointers.keys()):
            yield address, pointers[symbol]


# -- ELF tables in bulk -------------------------------------------------------------------
# pyelftools parses table entries one by one (0.3 to 0.9 s for a plugin's 27,000 symbols
# and 37,000 relocations); here a column is sliced out of the table's bytes at C speed
# and only the entries that matter are unpacked.


@dataclass(frozen=True)
class _Symbol:
    name: str
    value: int  # the address
    size: int
    section: int  # st_shndx; 0 (SHN_UNDEF) for a symbol another object defines


@dataclass(frozen=True)
class _SymbolTable:
    """``.dynsym`` and its string table, as bytes."""

    index: int  # the section's index, which relocation sections name in sh_link
    format: ElfFormat
    symbols: bytes
    strings: bytes

    @classmethod
    def read(cls, elf: ElfHeaders, section: ElfSection, stream: BinaryIO) -> _SymbolTable:
        if section.link >= len(elf.sections):
            raise ValueError(f"{section.name} names no string table")
        strings = elf.sections[section.link]
        return cls(
            index=section.index,
            format=elf.format,
            symbols=elf.read_section(stream, section),
            strings=elf.read_section(stream, strings),
        )

    @property
    def entry(self) -> struct.Struct:
        # ELF64: st_name, st_info, st_other, st_shndx, st_value, st_size
        # ELF32: st_name, st_value, st_size, st_info, st_other, st_shndx
        return self.format.layout("IBBHQQ", "IIIBBH")

    def symbols_named(self, *prefixes: str) -> dict[int, _Symbol]:
        """symbol index -> symbol, for the symbols whose names start with a prefix.

        The names are found in the string table first, so that only the symbols whose
        st_name points at one are unpacked.
        """
        names = self._names_starting_with(prefixes)
        entry = self.entry
        found = {}
        for index in _indices_of(names.keys(), _column(self.symbols, entry, 0)):
            raw = entry.unpack_from(self.symbols, index * entry.size)
            value, size, section = (
                (raw[4], raw[5], raw[3]) if self.format.is_64 else (raw[1], raw[2], raw[5])
            )
            found[index] = _Symbol(names[raw[0]], value, size, section)
        return found

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
class _Relocations:
    """One dynamic relocation section (.rela.dyn, .rela.plt, .rel.dyn ...), as bytes."""

    format: ElfFormat
    with_addend: bool
    data: bytes

    @classmethod
    def read(cls, elf: ElfHeaders, section: ElfSection, stream: BinaryIO) -> _Relocations:
        return cls(elf.format, section.type == _SHT_RELA, elf.read_section(stream, section))

    @property
    def entry(self) -> struct.Struct:
        # r_offset, r_info and, in RELA, r_addend
        return self.format.layout("QQq" if self.with_addend else "QQ",
                                  "IIi" if self.with_addend else "II")

    def against(self, symbols: Iterable[int]) -> Iterator[tuple[int, int]]:
        """(patched address, symbol index) of the relocations against ``symbols``."""
        entry = self.entry
        indices = self._symbol_indices()
        for index in _indices_of(set(symbols), indices):
            yield entry.unpack_from(self.data, index * entry.size)[0], indices[index]

    def _symbol_indices(self) -> list[int]:
        """The symbol index of each entry: r_info >> 32 in ELF64, r_info >> 8 in ELF32."""
        if self.format.is_64:
            # r_info's two halves as fields of their own: the index is a column to slice.
            halves = struct.Struct(self.format.byte_order + ("QIIq" if self.with_addend else "QII"))
            return _column(self.data, halves, 2 if self.format.byte_order == "<" else 1)
        return [info >> 8 for info in _column(self.data, self.entry, 1)]


def _indices_of(wanted: Collection[int], column: list[int]) -> list[int]:
    """The positions in ``column`` of the values in ``wanted``, looped over in C."""
    return list(itertools.compress(range(len(column)), map(wanted.__contains__, column)))


def _column(data: bytes, entry: struct.Struct, field: int) -> list[int]:
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


