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

import functools
import hashlib
import os
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, BinaryIO

from plugin_builder.binary import elfheaders, elftables
from plugin_builder.binary.elfheaders import ElfHeaders, parse_elf, read_at
from plugin_builder.binary.elftables import SHN_UNDEF, Relocations, Symbol, SymbolTable
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


# -- records: the fingerprints of a landed artifact, kept in its manifest entry -----------
# Reading them costs a pass over a symbol table and a relocation table (2-5 ms a binary,
# growing with its size); the record is written when the artifact lands, next to the
# sha256 its content is checked against, so verifying an unchanged artifact reads none.


def record_for(path: str | os.PathLike[str]) -> dict[str, Any] | None:
    """What to keep of ``path``'s fingerprints; None when they cannot be read (verify
    then reads the binary itself and reports why)."""
    try:
        prints = read_fingerprints(path)
    except BinaryError:
        return None
    return {
        "reader": reader_version(),
        "packages": {package: value.hex() for package, value in prints.hashes.items()},
        "order": list(prints.check_order) if prints.check_order is not None else None,
        "why_none": prints.why_none,
    }


def from_record(path: str | os.PathLike[str], record: object) -> Fingerprints | None:
    """The fingerprints a record holds; None unless this very reader wrote it whole (a
    record of another plugin-builder, or a damaged one, is read again from the binary)."""
    if not isinstance(record, dict) or record.get("reader") != reader_version():
        return None
    packages, order, why = record.get("packages"), record.get("order"), record.get("why_none")
    if not (isinstance(packages, dict) and isinstance(why, str)
            and (order is None or isinstance(order, list))):
        return None
    try:
        hashes = {str(package): bytes.fromhex(value) for package, value in packages.items()}
    except (TypeError, ValueError):
        return None
    if any(len(value) != FINGERPRINT_SIZE for value in hashes.values()):
        return None
    check_order = tuple(str(package) for package in order) if order is not None else None
    return Fingerprints(os.fspath(path), MappingProxyType(hashes), check_order, why)


@functools.cache
def reader_version() -> str:
    """A digest of the code that reads fingerprints: a record made by any other version
    of it, however slightly changed, is not trusted."""
    digest = hashlib.sha256()
    try:
        for module in (elfheaders, elftables, sys.modules[__name__]):
            digest.update(Path(module.__file__ or "").read_bytes())
    except OSError:
        return os.urandom(8).hex()  # no source to tell versions apart: trust no record
    return digest.hexdigest()[:16]


# -- reading ------------------------------------------------------------------------------

_MAX_SPAN = 1 << 20  # fingerprints further apart than this are read one by one


def read_fingerprints(path: str | os.PathLike[str]) -> Fingerprints:
    """The package fingerprints ``path`` exports in ``.dynsym`` (none for a binary that
    cannot use plugins) and, for a plugin, the order ``plugin.Open`` checks them.

    A missing, unreadable or non-ELF file is a BinaryError, and so is a
    fingerprint symbol of a size other than 8 bytes (a Go linker this code does not know).
    """
    def parse(path: str, elf: ElfHeaders, stream: BinaryIO) -> Fingerprints:
        return fingerprints_from(path, elf, stream, SymbolTable.read(elf, stream))

    return parse_elf(os.fspath(path), parse)


def fingerprints_from(path: str, elf: ElfHeaders, stream: BinaryIO,
                      table: SymbolTable | None) -> Fingerprints:
    """The fingerprints of an open binary whose ``.dynsym`` is ``table``."""
    if table is None:
        return Fingerprints(path, why_none=_why_no_dynamic_symbols(elf))
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
    path: str, elf: ElfHeaders, stream: BinaryIO, symbols: Mapping[int, Symbol]
) -> dict[str, bytes]:
    """package -> fingerprint, from the defined ``go:link.pkghashbytes.*`` symbols."""
    addresses: dict[str, int] = {}
    for symbol in symbols.values():
        if not symbol.name.startswith(HASH_BYTES_PREFIX) or symbol.section == SHN_UNDEF:
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
    elf: ElfHeaders, stream: BinaryIO, table: SymbolTable, pointers: Mapping[int, str]
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
    elf: ElfHeaders, stream: BinaryIO, table: SymbolTable, pointers: Mapping[int, str]
) -> Iterator[tuple[int, str]]:
    """(patched address, package) of each dynamic relocation against a pointer symbol."""
    if not pointers:
        return
    for relocations in Relocations.against_table(elf, stream, table):
        for address, symbol in relocations.against(pointers.keys()):
            yield address, pointers[symbol]
