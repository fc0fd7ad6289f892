"""What the ELF headers of a host binary or a plugin say about how it can be loaded.

Go's ``plugin`` package loads a plugin with the C library's ``dlopen``, so whether a
plugin loads is decided first by ELF facts: the class and machine must match the host,
the host must be dynamically linked (it needs a dynamic loader to call ``dlopen``), and
host and plugin must expect the same C library. This module reads those facts with the
struct-based reader of :mod:`plugin_builder.binary.elfheaders` (pyelftools parses a whole
``.gnu.hash`` each time a section is looked up: most of verify's time went there);
comparing them is the job of :mod:`plugin_builder.verify`.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from typing import BinaryIO, NoReturn

from plugin_builder.binary.elfheaders import ElfHeaders, c_string, parse_elf
from plugin_builder.binary.elftables import SymbolTable

GLIBC = "glibc"
MUSL = "musl"

PT_DYNAMIC, PT_INTERP = 2, 3
SHT_DYNAMIC = 6
DT_NULL, DT_NEEDED, DT_STRTAB, DT_STRSZ = 0, 1, 5, 10
_TYPES = {1: "ET_REL", 2: "ET_EXEC", 3: "ET_DYN", 4: "ET_CORE"}
_MACHINES = {3: "EM_386", 8: "EM_MIPS", 21: "EM_PPC64", 22: "EM_S390", 40: "EM_ARM",
             62: "EM_X86_64", 183: "EM_AARCH64", 243: "EM_RISCV", 258: "EM_LOONGARCH"}
# e_machine -> GOARCH. Machines shared by several GOARCHes are split by class and byte
# order in _goarch().
_GOARCH_BY_MACHINE = {
    "EM_X86_64": "amd64",
    "EM_386": "386",
    "EM_AARCH64": "arm64",
    "EM_ARM": "arm",
    "EM_S390": "s390x",
    "EM_RISCV": "riscv64",
    "EM_LOONGARCH": "loong64",
}

# Sections only glibc's static startup code contributes. A static binary has neither an
# interpreter nor DT_NEEDED entries, so these are the one trace of which libc it carries.
_GLIBC_STATIC_SECTIONS = ("__libc_freeres_ptrs", "__libc_atexit", "__libc_subfreeres")


@dataclass(frozen=True)
class ElfFacts:
    """The load-relevant facts of one ELF file."""

    path: str
    elf_class: int  # 32 or 64
    machine: str  # e_machine by its ELF name, e.g. "EM_X86_64"
    goarch: str | None  # the GOARCH that produces this machine, None when Go has none
    elf_type: str  # "ET_EXEC" (executable), "ET_DYN" (shared object or PIE), ...
    interpreter: str | None  # PT_INTERP, the dynamic loader a host asks for
    is_dynamic: bool  # has a dynamic section; static binaries cannot dlopen
    needed: tuple[str, ...]  # DT_NEEDED, in file order
    libc: str | None  # "glibc", "musl" or None when no libc can be told
    exported_symbols: Collection[str]  # defined global dynamic symbols (DynamicSymbols)

    @property
    def is_dynamically_linked(self) -> bool:
        """True when the binary runs under a dynamic loader, which plugin.Open needs."""
        return self.interpreter is not None and self.is_dynamic


def read_elf(path: str | os.PathLike[str]) -> ElfFacts:
    """Read the ELF facts of ``path``; a missing or non-ELF file is a BinaryError."""
    def parse(path: str, elf: ElfHeaders, stream: BinaryIO) -> ElfFacts:
        return facts_from(path, elf, stream, DynamicSymbols(_symbol_table_or_none(elf, stream)))

    return parse_elf(os.fspath(path), parse)


def _symbol_table_or_none(elf: ElfHeaders, stream: BinaryIO) -> SymbolTable | None:
    try:
        return SymbolTable.read(elf, stream)
    except ValueError:
        return None  # a .dynsym without strings exports nothing anyone can look up


def facts_from(path: str, elf: ElfHeaders, stream: BinaryIO,
               exported: Collection[str]) -> ElfFacts:
    """The facts of an open binary that exports ``exported`` (a DynamicSymbols, or
    UNREAD when nobody will look them up)."""
    interpreter = _interpreter(elf, stream)
    dynamic = _dynamic_entries(elf, stream)
    needed = _needed(elf, stream, dynamic)
    machine = _MACHINES.get(elf.machine, f"EM_{elf.machine}")
    return ElfFacts(
        path=path,
        elf_class=64 if elf.format.is_64 else 32,
        machine=machine,
        goarch=_goarch(machine, elf),
        elf_type=_TYPES.get(elf.type, f"ET_{elf.type}"),
        interpreter=interpreter,
        is_dynamic=dynamic is not None,
        needed=needed,
        libc=_libc(elf, interpreter, needed),
        exported_symbols=exported,
    )


def _goarch(machine: str, elf: ElfHeaders) -> str | None:
    little = elf.format.byte_order == "<"
    if machine == "EM_PPC64":
        return "ppc64le" if little else "ppc64"
    if machine == "EM_MIPS":
        return ("mips64" if elf.format.is_64 else "mips") + ("le" if little else "")
    return _GOARCH_BY_MACHINE.get(machine)


def _interpreter(elf: ElfHeaders, stream: BinaryIO) -> str | None:
    segment = elf.segment(PT_INTERP)
    if segment is None:
        return None
    return elf.read_segment(stream, segment).split(b"\0", 1)[0].decode("utf-8", "replace")


def _dynamic_entries(elf: ElfHeaders, stream: BinaryIO) -> list[tuple[int, int]] | None:
    """(d_tag, d_val) pairs, from the section or, without section headers, the segment."""
    section = next((s for s in elf.sections if s.type == SHT_DYNAMIC), None)
    if section is not None:
        raw = elf.read_section(stream, section)
    else:
        segment = elf.segment(PT_DYNAMIC)
        if segment is None:
            return None
        raw = elf.read_segment(stream, segment)
    entry = elf.format.layout("qQ", "iI")
    entries = []
    for tag, value in entry.iter_unpack(raw[:len(raw) - len(raw) % entry.size]):
        if tag == DT_NULL:
            break
        entries.append((tag, value))
    return entries


def _needed(elf: ElfHeaders, stream: BinaryIO,
            dynamic: list[tuple[int, int]] | None) -> tuple[str, ...]:
    if not dynamic:
        return ()
    strings = _dynamic_strings(elf, stream, dict(dynamic))
    return tuple(c_string(strings, value) for tag, value in dynamic if tag == DT_NEEDED)


def _dynamic_strings(elf: ElfHeaders, stream: BinaryIO, tags: dict[int, int]) -> bytes:
    """The dynamic string table: the .dynamic section's link, else DT_STRTAB's address."""
    section = next((s for s in elf.sections if s.type == SHT_DYNAMIC), None)
    if section is not None and section.link < len(elf.sections):
        return elf.read_section(stream, elf.sections[section.link])
    address, size = tags.get(DT_STRTAB), tags.get(DT_STRSZ, 0)
    offset = elf.file_offset(address, size) if address is not None else None
    if offset is None:
        return b""
    stream.seek(offset)
    return stream.read(size)


def _libc(elf: ElfHeaders, interpreter: str | None, needed: tuple[str, ...]) -> str | None:
    """Which C library the binary expects, from the strongest evidence available."""
    if interpreter:
        loader = os.path.basename(interpreter)
        if loader.startswith("ld-musl-"):
            return MUSL
        if loader.startswith(("ld-linux", "ld64.so", "ld.so")):
            return GLIBC
    for name in needed:
        if name.startswith("libc.so.6"):
            return GLIBC
        # Alpine names musl libc.musl-<arch>.so.1; Debian's musl-gcc links a bare
        # "libc.so", which a glibc build never records (there it is a linker script
        # that resolves to libc.so.6).
        if name.startswith("libc.musl-") or name == "libc.so":
            return MUSL
    if any(elf.section(name) for name in _GLIBC_STATIC_SECTIONS):
        return GLIBC
    return None


class DynamicSymbols(Collection[str]):
    """The defined global symbols of ``.dynsym``, asked about by name (see elftables:
    a lookup searches the bytes; names are decoded only when iterated)."""

    def __init__(self, table: SymbolTable | None) -> None:
        self._table = table

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self._table is not None and self._table.defines(name)

    def __iter__(self) -> Iterator[str]:
        return iter(self._table.defined_names if self._table is not None else ())

    def __len__(self) -> int:
        return len(self._table.defined_names) if self._table is not None else 0


class _Unread(Collection[str]):
    """The exported symbols of a binary whose symbols nobody looks up (a host's, when its
    fingerprints were recorded): asking about them is a mistake, not an empty answer."""

    def _refuse(self) -> NoReturn:
        raise RuntimeError("the exported symbols of this binary were not read")

    def __contains__(self, name: object) -> bool:
        self._refuse()

    def __iter__(self) -> Iterator[str]:
        self._refuse()

    def __len__(self) -> int:
        self._refuse()


UNREAD = _Unread()
