"""What the ELF headers of a host binary or a plugin say about how it can be loaded.

Go's ``plugin`` package loads a plugin with the C library's ``dlopen``, so whether a
plugin loads is decided first by ELF facts: the class and machine must match the host,
the host must be dynamically linked (it needs a dynamic loader to call ``dlopen``), and
host and plugin must expect the same C library. This module reads those facts with
pyelftools; comparing them is the job of :mod:`plugin_builder.verify.rules`.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass

from elftools.common.exceptions import ELFError
from elftools.elf.dynamic import DynamicSection, DynamicSegment
from elftools.elf.elffile import ELFFile
from elftools.elf.sections import SymbolTableSection
from elftools.elf.segments import InterpSegment

from plugin_builder.errors import BinaryError

GLIBC = "glibc"
MUSL = "musl"

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
    machine: str  # e_machine as pyelftools names it, e.g. "EM_X86_64"
    goarch: str | None  # the GOARCH that produces this machine, None when Go has none
    elf_type: str  # "ET_EXEC" (executable), "ET_DYN" (shared object or PIE), ...
    interpreter: str | None  # PT_INTERP, the dynamic loader a host asks for
    is_dynamic: bool  # has a dynamic section; static binaries cannot dlopen
    needed: tuple[str, ...]  # DT_NEEDED, in file order
    libc: str | None  # "glibc", "musl" or None when no libc can be told
    exported_symbols: frozenset[str]  # defined global dynamic symbols

    @property
    def is_dynamically_linked(self) -> bool:
        """True when the binary runs under a dynamic loader, which plugin.Open needs."""
        return self.interpreter is not None and self.is_dynamic


def read_elf(path: str | os.PathLike[str]) -> ElfFacts:
    """Read the ELF facts of ``path``; a missing or non-ELF file is a PluginBuilderError."""
    path = os.fspath(path)
    try:
        with open(path, "rb") as stream:
            return _facts_from(path, ELFFile(stream))
    except FileNotFoundError:
        raise BinaryError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise BinaryError(f"{path}: is a directory, not an ELF binary") from None
    except PermissionError:
        raise BinaryError(f"{path}: permission denied") from None
    except ELFError as error:
        raise BinaryError(f"{path}: not an ELF binary ({error})") from None


def _facts_from(path: str, elf: ELFFile) -> ElfFacts:
    interpreter = _interpreter(elf)
    dynamic = _dynamic_table(elf)
    needed = _needed(dynamic)
    return ElfFacts(
        path=path,
        elf_class=elf.elfclass,
        machine=elf.header.e_machine,
        goarch=_goarch(elf),
        elf_type=elf.header.e_type,
        interpreter=interpreter,
        is_dynamic=dynamic is not None,
        needed=needed,
        libc=_libc(elf, interpreter, needed),
        exported_symbols=_exported_symbols(elf),
    )


def _goarch(elf: ELFFile) -> str | None:
    machine = elf.header.e_machine
    little = elf.little_endian
    if machine == "EM_PPC64":
        return "ppc64le" if little else "ppc64"
    if machine == "EM_MIPS":
        bits = "mips64" if elf.elfclass == 64 else "mips"
        return bits + ("le" if little else "")
    return _GOARCH_BY_MACHINE.get(machine)


def _interpreter(elf: ELFFile) -> str | None:
    for segment in elf.iter_segments():
        if isinstance(segment, InterpSegment):
            return segment.get_interp_name()
    return None


def _dynamic_table(elf: ELFFile) -> DynamicSection | DynamicSegment | None:
    """The dynamic table, from the section or, if section headers were stripped, the segment."""
    for section in elf.iter_sections():
        if isinstance(section, DynamicSection):
            return section
    for segment in elf.iter_segments():
        if isinstance(segment, DynamicSegment):
            return segment
    return None


def _needed(dynamic: DynamicSection | DynamicSegment | None) -> tuple[str, ...]:
    if dynamic is None:
        return ()
    # pyelftools sets .needed on DT_NEEDED tags only, which its type hints cannot say.
    return tuple(tag.needed for tag in dynamic.iter_tags("DT_NEEDED"))  # type: ignore[attr-defined]


def _libc(elf: ELFFile, interpreter: str | None, needed: tuple[str, ...]) -> str | None:
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
    if any(elf.get_section_by_name(name) for name in _GLIBC_STATIC_SECTIONS):
        return GLIBC
    return None


def _exported_symbols(elf: ELFFile) -> frozenset[str]:
    dynsym = elf.get_section_by_name(".dynsym")
    if not isinstance(dynsym, SymbolTableSection):
        return frozenset()
    if elf.elfclass == 64 and elf.little_endian:
        return _exported_symbols_elf64le(elf, dynsym)
    return frozenset(
        symbol.name
        for symbol in dynsym.iter_symbols()
        if symbol["st_info"]["bind"] == "STB_GLOBAL" and symbol["st_shndx"] != "SHN_UNDEF"
    )


_ELF64_SYM = struct.Struct("<IBBHQQ")  # st_name, st_info, st_other, st_shndx, value, size
_STB_GLOBAL = 1


def _exported_symbols_elf64le(elf: ELFFile, dynsym: SymbolTableSection) -> frozenset[str]:
    """The same set, unpacked in bulk: a Go plugin exports ~12,000 dynamic symbols, which
    pyelftools parses one by one in about half a second; struct does it in milliseconds."""
    strings = elf.get_section(dynsym["sh_link"]).data()
    names = set()
    for name, info, _other, shndx, _value, _size in _ELF64_SYM.iter_unpack(dynsym.data()):
        if info >> 4 == _STB_GLOBAL and shndx != 0:  # 0 is SHN_UNDEF
            names.add(strings[name:strings.index(b"\0", name)].decode("utf-8", "replace"))
    return frozenset(names)
