"""Hand-made ELF files for the tests that read whole files: a Go plugin's shape, a C
library's, a crafted few hundred bytes, and damaged variants of each.

One writer lays out any list of sections (ELF64, little-endian, x86-64): the ELF
header, the program headers (one PT_LOAD over the whole file, PT_DYNAMIC and PT_INTERP
where wanted), the sections' contents, the section name table and the section headers.
Every address is BASE + file offset. ``Layout`` is what was written where, so a test can
damage one field of it.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path

BASE = 0x400000
SHT_PROGBITS, SHT_STRTAB, SHT_RELA, SHT_DYNAMIC, SHT_DYNSYM = 1, 3, 4, 6, 11
PT_LOAD, PT_DYNAMIC, PT_INTERP = 1, 2, 3
DT_NULL, DT_NEEDED, DT_STRTAB, DT_STRSZ = 0, 1, 5, 10
ET_EXEC, ET_DYN = 2, 3
STB_LOCAL, STB_GLOBAL = 0, 1

HEADER = struct.Struct("<16sHHIQQQIHHHHHH")
PROGRAM_HEADER = struct.Struct("<IIQQQQQQ")
SECTION_HEADER = struct.Struct("<IIQQQQIIQQ")
SYMBOL = struct.Struct("<IBBHQQ")
DYNAMIC = struct.Struct("<qQ")
IDENT = b"\x7fELF\x02\x01\x01" + bytes(9)

GO_MAGIC = b"\xff Go buildinf:"
_SENTINEL_START = bytes.fromhex("3077af0c9274080241e1c107e6d618e6")
_SENTINEL_END = bytes.fromhex("f932433186182072008242104116d8f2")


@dataclass
class Section:
    name: str
    type: int
    data: bytes
    link: str = ""  # the name of the section sh_link points at
    entsize: int = 0


@dataclass
class Layout:
    """Where the writer put things, by file offset."""

    section_headers: int = 0
    sections: dict[str, tuple[int, int]] = field(default_factory=dict)  # name -> (offset, size)
    section_index: dict[str, int] = field(default_factory=dict)
    program_headers: int = 0


def write_elf(path: Path, sections: list[Section], *, elf_type: int = ET_DYN,
              interpreter: str | None = None) -> Layout:
    """Write the file; PT_DYNAMIC covers a ".dynamic" section when there is one."""
    layout = Layout()
    all_sections = list(sections)
    if interpreter is not None:
        all_sections.insert(0, Section(".interp", SHT_PROGBITS, interpreter.encode() + b"\0"))
    names = b"\0" + b"".join(s.name.encode() + b"\0" for s in all_sections) + b".shstrtab\0"
    all_sections.append(Section(".shstrtab", SHT_STRTAB, names))
    layout.section_index = {s.name: index for index, s in enumerate(all_sections, start=1)}
    segments = 1 + (".dynamic" in layout.section_index) + (interpreter is not None)
    layout.program_headers = HEADER.size
    body = bytearray(bytes(HEADER.size + segments * PROGRAM_HEADER.size))
    for section in all_sections:
        body += bytes(-len(body) % 16)  # Go's build info header is 16-byte aligned
        layout.sections[section.name] = (len(body), len(section.data))
        body += section.data
    body += bytes(-len(body) % 8)
    layout.section_headers = len(body)
    name_offset = 1
    headers = bytes(SECTION_HEADER.size)
    for section in all_sections:
        offset, size = layout.sections[section.name]
        link = layout.section_index.get(section.link, 0)
        headers += SECTION_HEADER.pack(name_offset, section.type, 2, BASE + offset, offset,
                                       size, link, 0, 8, section.entsize)
        name_offset += len(section.name) + 1
    body += headers
    file_size = len(body)
    programs = [PROGRAM_HEADER.pack(PT_LOAD, 6, 0, BASE, BASE, file_size, file_size, 0x1000)]
    for name, kind in ((".interp", PT_INTERP), (".dynamic", PT_DYNAMIC)):
        if name in layout.sections:
            offset, size = layout.sections[name]
            programs.append(PROGRAM_HEADER.pack(kind, 4, offset, BASE + offset, BASE + offset,
                                                size, size, 8))
    header = HEADER.pack(IDENT, elf_type, 62, 1, 0, HEADER.size, layout.section_headers, 0,
                         HEADER.size, PROGRAM_HEADER.size, len(programs), SECTION_HEADER.size,
                         len(all_sections) + 1, len(all_sections))
    body[: HEADER.size + len(programs) * PROGRAM_HEADER.size] = header + b"".join(programs)
    path.write_bytes(bytes(body))
    return layout


def symbol_sections(symbols: list[tuple[str, int]], needed: tuple[str, ...] = ("libc.so.6",)
                    ) -> list[Section]:
    """.text, .dynstr, .dynsym of (name, binding) symbols defined in .text, and .dynamic."""
    strings = bytearray(b"\0")
    offsets = {}
    for name in dict.fromkeys([*needed, *(name for name, _ in symbols)]):
        offsets[name] = len(strings)
        strings += name.encode() + b"\0"
    table = bytes(SYMBOL.size) + b"".join(
        SYMBOL.pack(offsets[name], binding << 4 | 2, 0, 1, BASE, 8) for name, binding in symbols)
    dynamic = b"".join(DYNAMIC.pack(DT_NEEDED, offsets[name]) for name in needed)
    dynamic += DYNAMIC.pack(DT_STRSZ, len(strings)) + DYNAMIC.pack(DT_NULL, 0)
    return [
        Section(".text", SHT_PROGBITS, b"\xc3" * 16),
        Section(".dynstr", SHT_STRTAB, bytes(strings)),
        Section(".dynsym", SHT_DYNSYM, table, link=".dynstr", entsize=SYMBOL.size),
        Section(".dynamic", SHT_DYNAMIC, dynamic, link=".dynstr", entsize=DYNAMIC.size),
    ]


def go_buildinfo(modinfo: str, go_version: str = "go1.26.8") -> Section:
    """A .go.buildinfo section as Go 1.18+ writes it."""
    framed = _SENTINEL_START + modinfo.encode() + _SENTINEL_END
    data = (GO_MAGIC + bytes([8, 0x2]) + bytes(16) + _varint(len(go_version))
            + go_version.encode() + _varint(len(framed)) + framed)
    return Section(".go.buildinfo", SHT_PROGBITS, data)


def plugin_modinfo(package: str = "example.com/probe", buildmode: str = "plugin") -> str:
    return (f"path\t{package}\nmod\t{package}\t(devel)\t\nbuild\t-buildmode={buildmode}\n"
            "build\t-compiler=gc\nbuild\tCGO_ENABLED=1\nbuild\tGOARCH=amd64\n"
            "build\tGOOS=linux\nbuild\tGOAMD64=v1\n")


def go_plugin(path: Path, package: str = "example.com/probe",
              symbol: str = "DragonflyPluginInit") -> Layout:
    """A file of a Go plugin's shape: build info saying -buildmode=plugin, the entry
    symbol exported (no fingerprints: verify says it compares by build info)."""
    sections = symbol_sections([(f"{package}.{symbol}", STB_GLOBAL)])
    return write_elf(path, [*sections, go_buildinfo(plugin_modinfo(package))])


def go_host(path: Path) -> Path:
    """A file of a Go host's shape: dynamically linked, build info saying -buildmode=exe."""
    modinfo = plugin_modinfo("d7y.io/dragonfly", buildmode="exe")
    write_elf(path, [*symbol_sections([("main.main", STB_GLOBAL)]), go_buildinfo(modinfo)],
              elf_type=ET_EXEC, interpreter="/lib64/ld-linux-x86-64.so.2")
    return path


def c_library(path: Path, symbol: str = "DragonflyPluginInit") -> Layout:
    """A C shared library: dynamic, exporting the entry symbol, no Go build info."""
    return write_elf(path, symbol_sections([(symbol, STB_GLOBAL)]))


def crafted(path: Path, size: int = 304) -> Path:
    """A few hundred bytes: a valid ELF header and one PT_LOAD, nothing else."""
    header = HEADER.pack(IDENT, ET_DYN, 62, 1, 0, HEADER.size, 0, 0, HEADER.size,
                         PROGRAM_HEADER.size, 1, SECTION_HEADER.size, 0, 0)
    load = PROGRAM_HEADER.pack(PT_LOAD, 5, 0, 0, 0, size, size, 0x1000)
    path.write_bytes((header + load).ljust(size, b"\0"))
    return path


# Where the fields a damaged file changes are: (offset, struct format).
E_PHNUM, E_SHOFF, E_SHNUM, E_SHSTRNDX = (56, "<H"), (40, "<Q"), (60, "<H"), (62, "<H")
SH_OFFSET, SH_SIZE, SH_LINK = (24, "<Q"), (32, "<Q"), (40, "<I")
P_OFFSET, P_FILESZ = (8, "<Q"), (32, "<Q")
SYMBOL_NAME = (0, "<I")


def poke(path: Path, at: int, field_: tuple[int, str], value: int) -> None:
    """Write ``value`` into one field of the structure at ``at``."""
    offset, fmt = field_
    data = bytearray(path.read_bytes())
    struct.pack_into(fmt, data, at + offset, value)
    path.write_bytes(bytes(data))


def section_header(layout: Layout, name: str) -> int:
    """The file offset of a section's header."""
    return layout.section_headers + layout.section_index[name] * SECTION_HEADER.size


def program_header(layout: Layout, index: int) -> int:
    return layout.program_headers + index * PROGRAM_HEADER.size


def _varint(value: int) -> bytes:
    out = bytearray()
    while value >= 0x80:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    return bytes(out + bytes([value]))
