"""compare() on made-up fingerprints, read_fingerprints() on hand-made ELF files.

The ELF files carry what a Go linker leaves for plugin.Open: ``go:link.pkghashbytes.P``
(8 bytes) and ``go:link.pkghash.P`` (a string header) in .dynsym, and, in a plugin, a
``pkghashes`` array whose runtimehash words are dynamic relocations against the
``go:link.pkghash.P`` symbols. Every ELF class and byte order Go targets is built, so
the bulk readers' slow paths are exercised too; tests/integration/test_fingerprints_real.py
checks the same against binaries the real toolchain built.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from plugin_builder.binary import elfheaders, elftables, fingerprints
from plugin_builder.binary.fingerprints import (
    DIFFER,
    MATCH,
    UNREADABLE,
    Fingerprints,
    compare,
    from_record,
    read_fingerprints,
    reader_version,
    record_for,
)
from plugin_builder.binary.side import Side
from plugin_builder.errors import PluginBuilderError

H1, H2, H3 = b"\x01" * 8, b"\x02" * 8, b"\x03" * 8


def prints(hashes: dict[str, bytes], order: tuple[str, ...] | None = None) -> Fingerprints:
    return Fingerprints("x", hashes, order)


# -- compare ------------------------------------------------------------------------------


def test_identical_shared_packages_match():
    host = prints({"runtime": H1, "net/http": H2, "main": H3})
    plugin = prints({"runtime": H1, "net/http": H2, "example.com/plug": H3},
                    ("runtime", "net/http", "example.com/plug"))
    verdict = compare(host, plugin)
    assert (verdict.status, verdict.differing, verdict.first, verdict.shared) == (
        MATCH, (), None, 2
    )
    assert verdict.order_known


def test_the_first_differing_package_is_the_first_in_the_plugins_check_order():
    host = prints({"a": H1, "b": H1, "c": H1, "d": H1})
    plugin = prints({"a": H2, "b": H1, "c": H2, "d": H2}, ("d", "b", "c", "a"))
    verdict = compare(host, plugin)
    assert (verdict.status, verdict.differing, verdict.first) == (DIFFER, ("d", "c", "a"), "d")


def test_packages_only_one_side_has_never_differ():
    # The plugin's relocation then resolves to its own symbol: the runtime compares a
    # fingerprint with itself.
    host = prints({"a": H1})
    plugin = prints({"a": H1, "only/plugin": H2}, ("only/plugin", "a"))
    assert compare(host, plugin).status == MATCH


def test_without_the_plugins_order_the_differing_set_is_exact_but_first_is_unknown():
    host = prints({"b": H1, "a": H1})
    plugin = prints({"b": H2, "a": H2}, order=None)
    verdict = compare(host, plugin)
    assert (verdict.status, verdict.differing, verdict.first) == (DIFFER, ("a", "b"), None)
    assert not verdict.order_known


@pytest.mark.parametrize(
    ("host", "plugin", "reason"),
    [
        ({}, {"a": H1}, "the host exports no package fingerprints: only a plugin"),
        ({"a": H1}, {}, "the plugin exports no package fingerprints: only a plugin"),
        ({}, {}, "the host exports no package fingerprints; the plugin exports no"),
    ],
)
def test_a_side_without_fingerprints_is_unreadable(host, plugin, reason):
    verdict = compare(prints(host), prints(plugin, ("a",) if plugin else None))
    assert (verdict.status, verdict.differing, verdict.first, verdict.shared) == (
        UNREADABLE, (), None, 0
    )
    assert verdict.reason.startswith(reason) and 'imports "plugin"' in verdict.reason


def test_the_reason_a_side_has_no_fingerprints_is_passed_on():
    static = Fingerprints("host", why_none="has no dynamic symbols (it is statically linked)")
    verdict = compare(static, prints({"a": H1}, ("a",)))
    assert verdict.reason.startswith("the host has no dynamic symbols (it is statically linked)")


def test_fingerprints_print_as_hex():
    assert prints({"a": bytes.fromhex("5d3ba0c5219b280b")}).hex("a") == "5d3ba0c5219b280b"
    assert prints({}).hex("a") is None


# -- read_fingerprints on hand-made ELF files ---------------------------------------------

SHT_PROGBITS, SHT_STRTAB, SHT_RELA, SHT_REL, SHT_DYNSYM = 1, 3, 4, 9, 11
BASE = 0x400000  # every address is BASE + file offset: one PT_LOAD maps the whole file


@dataclass
class FakeGoBinary:
    """What a Go linker leaves for plugin.Open, in an ELF file of any class and order."""

    hashes: dict[str, bytes]
    check_order: tuple[str, ...] = ()  # a plugin's pkghashes order; () for a host
    is_64: bool = True
    big_endian: bool = False
    with_addend: bool = True  # .rela.dyn (RELA) or .rel.dyn (REL)
    hash_size: int = 8
    extra_relocations: list[tuple[int, str]] = field(default_factory=list)  # (address, sym)

    @property
    def word(self) -> int:
        return 8 if self.is_64 else 4

    def pack(self, fields64: str, fields32: str, *values: int) -> bytes:
        order = ">" if self.big_endian else "<"
        return struct.pack(order + (fields64 if self.is_64 else fields32), *values)

    def write(self, path: Path) -> Path:
        header_size = 64 if self.is_64 else 52
        phdr_size = 56 if self.is_64 else 32
        data_offset = header_size + phdr_size
        data_offset += -data_offset % 8  # where .rodata starts, aligned
        rodata, symbols, array = self._rodata(BASE + data_offset)
        strings, dynsym, index = self._dynamic_symbols(symbols)
        relocations = self._relocations(array, index)
        return self._assemble(path, data_offset, rodata, strings, dynsym, relocations)

    def _rodata(self, address: int) -> tuple[bytes, list[tuple[str, int, int]], int]:
        """The fingerprints, the string headers pointing at them, then the pkghashes
        array: (contents, (name, address, size) of each symbol, the array's address)."""
        rodata = bytearray(b"noise...")
        symbols = [("noise.symbol", address, 8)]
        for package, value in self.hashes.items():
            symbols.append((f"go:link.pkghashbytes.{package}", address + len(rodata),
                            self.hash_size))
            rodata += value[: self.hash_size].ljust(self.hash_size, b"\0")
        for package in self.hashes:
            symbols.append((f"go:link.pkghash.{package}", address + len(rodata), 2 * self.word))
            rodata += bytes(2 * self.word)
        array = address + len(rodata)
        rodata += bytes(5 * self.word * len(self.check_order))
        return bytes(rodata), symbols, array

    def _dynamic_symbols(
        self, symbols: list[tuple[str, int, int]]
    ) -> tuple[bytes, bytes, dict[str, int]]:
        """.dynstr, .dynsym (in reverse, so not in check order) and each name's index."""
        strings = bytearray(b"\0")
        dynsym = bytearray(self._symbol(0, 0, 0, 0))
        index = {}
        for name, value, size in reversed(symbols):
            index[name] = len(dynsym) // len(self._symbol(0, 0, 0, 0))
            dynsym += self._symbol(len(strings), value, size, 1)
            strings += name.encode() + b"\0"
        return bytes(strings), bytes(dynsym), index

    def _relocations(self, array: int, index: dict[str, int]) -> bytes:
        """The runtimehash word of each pkghashes entry, relocated against its pkghash
        symbol, among relocations against nothing (R_*_RELATIVE), in reverse order."""
        relocations = [
            (array + i * 5 * self.word + 4 * self.word, f"go:link.pkghash.{package}")
            for i, package in enumerate(self.check_order)
        ] + self.extra_relocations
        relocations += [(BASE + 8 * i, "") for i in range(20)]
        return b"".join(
            self._relocation(address, index.get(name, 0)) for address, name in reversed(relocations)
        )

    def _symbol(self, name: int, value: int, size: int, section: int) -> bytes:
        info = 0x11  # STB_GLOBAL, STT_OBJECT
        if self.is_64:
            return self.pack("IBBHQQ", "", name, info, 0, section, value, size)
        return self.pack("", "IIIBBH", name, value, size, info, 0, section)

    def _relocation(self, address: int, symbol: int) -> bytes:
        kind = 1 if symbol else 8  # R_X86_64_64 / R_X86_64_RELATIVE; any type works
        info = (symbol << 32 | kind) if self.is_64 else (symbol << 8 | kind)
        if self.with_addend:
            return self.pack("QQq", "IIi", address, info, 0)
        return self.pack("QQ", "II", address, info)

    def _assemble(
        self, path: Path, data_offset: int, rodata: bytes, strings: bytes, dynsym: bytes,
        relocations: bytes,
    ) -> Path:
        section_names = b"\0.rodata\0.dynstr\0.dynsym\0.rela.dyn\0.shstrtab\0"
        blobs = [rodata, strings, dynsym, relocations, section_names]
        image = bytearray()
        placed = []
        offset = data_offset
        for blob in blobs:
            offset += -offset % 8
            placed.append(offset)
            image += bytes(offset - data_offset - len(image)) + blob
            offset += len(blob)
        section_offset = data_offset + len(image) + (-(data_offset + len(image)) % 8)
        image += bytes(section_offset - data_offset - len(image))
        sym_size = len(self._symbol(0, 0, 0, 0))
        rel_size = len(self._relocation(0, 0))
        rel_type = SHT_RELA if self.with_addend else SHT_REL
        sections = [
            (0, 0, 0, 0, 0, 0),
            (1, SHT_PROGBITS, placed[0], len(rodata), 0, 0),
            (9, SHT_STRTAB, placed[1], len(strings), 0, 0),
            (17, SHT_DYNSYM, placed[2], len(dynsym), 2, sym_size),
            (25, rel_type, placed[3], len(relocations), 3, rel_size),
            (35, SHT_STRTAB, placed[4], len(section_names), 0, 0),
        ]
        for name, kind, at, size, link, entsize in sections:
            address = BASE + at if kind else 0
            image += self.pack(
                "IIQQQQIIQQ", "IIIIIIIIII", name, kind, 2, address, at, size, link, 0, 8, entsize
            )
        file_size = data_offset + len(image)
        program_header = self.pack(
            "IIQQQQQQ", "IIIIIIII",
            *((1, 4, 0, BASE, BASE, file_size, file_size, 0x1000) if self.is_64
              else (1, 0, BASE, BASE, file_size, file_size, 4, 0x1000)),
        )
        header = self.pack(
            "HHIQQQIHHHHHH", "HHIIIIIHHHHHH",
            3, 62, 1, 0, len(self._ident()) + (48 if self.is_64 else 36), section_offset, 0,
            64 if self.is_64 else 52, len(program_header), 1,
            64 if self.is_64 else 40, len(sections), 5,
        )
        headers = self._ident() + header + program_header
        path.write_bytes(headers + bytes(data_offset - len(headers)) + image)
        return path

    def _ident(self) -> bytes:
        elf_class, byte_order = (2 if self.is_64 else 1), (2 if self.big_endian else 1)
        return b"\x7fELF" + bytes([elf_class, byte_order, 1]) + bytes(9)


HASHES = {"internal/goarch": H1, "runtime": H2, "net/http": H3}
ORDER = ("internal/goarch", "runtime", "net/http")
FORMATS = [
    pytest.param(dict(is_64=True, big_endian=False), id="elf64-le"),
    pytest.param(dict(is_64=True, big_endian=True), id="elf64-be"),
    pytest.param(dict(is_64=False, big_endian=False, with_addend=False), id="elf32-le-rel"),
    pytest.param(dict(is_64=False, big_endian=True), id="elf32-be"),
]


@pytest.mark.parametrize("elf_format", FORMATS)
def test_a_plugins_fingerprints_and_check_order_are_read(tmp_path, elf_format):
    binary = FakeGoBinary(HASHES, ORDER, **elf_format).write(tmp_path / "p.so")
    read = read_fingerprints(binary)
    assert (dict(read.hashes), read.check_order, read.path) == (HASHES, ORDER, str(binary))


@pytest.mark.parametrize("elf_format", FORMATS)
def test_a_host_has_fingerprints_and_no_check_order(tmp_path, elf_format):
    binary = FakeGoBinary(HASHES, **elf_format).write(tmp_path / "host")
    read = read_fingerprints(binary)
    assert (dict(read.hashes), read.check_order) == (HASHES, None)


def test_a_relocation_outside_the_array_makes_the_order_unknown(tmp_path):
    # A second reference to a pkghash symbol: the relocations no longer are one evenly
    # spaced array, so which package the runtime meets first is not claimed.
    stray = [(BASE + 0x10, "go:link.pkghash.runtime")]
    binary = FakeGoBinary(HASHES, ORDER, extra_relocations=stray).write(tmp_path / "p.so")
    read = read_fingerprints(binary)
    assert (dict(read.hashes), read.check_order) == (HASHES, None)


def test_an_array_that_misses_a_package_makes_the_order_unknown(tmp_path):
    binary = FakeGoBinary(HASHES, ORDER[:2]).write(tmp_path / "p.so")
    assert read_fingerprints(binary).check_order is None


def test_a_fingerprint_of_another_size_is_an_error(tmp_path):
    binary = FakeGoBinary(HASHES, ORDER, hash_size=16).write(tmp_path / "p.so")
    with pytest.raises(PluginBuilderError, match="is 16 bytes, not 8"):
        read_fingerprints(binary)


def test_a_binary_without_fingerprints_has_none(tmp_path):
    read = read_fingerprints(FakeGoBinary({}).write(tmp_path / "c-program"))
    assert (len(read), read.check_order, read.why_none) == (0, None, "")


def test_a_binary_without_section_headers_says_why_it_has_none(tmp_path):
    binary = FakeGoBinary(HASHES, ORDER).write(tmp_path / "p.so")
    image = bytearray(binary.read_bytes())
    image[0x28:0x30] = bytes(8)  # e_shoff = 0, as sstrip leaves it
    binary.write_bytes(bytes(image))
    read = read_fingerprints(binary)
    assert (len(read), read.why_none) == (0, "has no section headers, so its dynamic symbols "
                                             "cannot be read")


def test_non_elf_missing_and_directory_paths_are_errors(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("not a binary\n")
    with pytest.raises(PluginBuilderError, match=r"not an ELF binary \(no ELF magic number\)"):
        read_fingerprints(text)
    with pytest.raises(PluginBuilderError, match="no such file"):
        read_fingerprints(tmp_path / "missing.so")
    with pytest.raises(PluginBuilderError, match="is a directory"):
        read_fingerprints(tmp_path)


def test_damaged_section_headers_are_an_error(tmp_path):
    binary = FakeGoBinary(HASHES, ORDER).write(tmp_path / "p.so")
    binary.write_bytes(binary.read_bytes()[:-10])  # the section headers run past the end
    with pytest.raises(PluginBuilderError, match=r"not an ELF binary \(section headers past"):
        read_fingerprints(binary)


# -- records kept in the manifest ----------------------------------------------------------


@pytest.mark.parametrize("order", [ORDER, ()], ids=["plugin", "host"])
def test_a_record_gives_back_the_fingerprints_it_was_made_from(tmp_path, order):
    binary = FakeGoBinary(HASHES, order).write(tmp_path / "p.so")
    read = read_fingerprints(binary)
    kept = from_record(binary, record_for(binary))
    assert kept == read and dict(kept.hashes) == HASHES
    assert kept.check_order == (ORDER if order else None)


def test_a_record_of_a_binary_without_fingerprints_keeps_why(tmp_path):
    binary = FakeGoBinary(HASHES, ORDER).write(tmp_path / "p.so")
    image = bytearray(binary.read_bytes())
    image[0x28:0x30] = bytes(8)  # no section headers
    binary.write_bytes(bytes(image))
    kept = from_record(binary, record_for(binary))
    assert (len(kept), kept.why_none) == (0, read_fingerprints(binary).why_none)


def test_no_record_is_made_of_fingerprints_that_cannot_be_read(tmp_path):
    binary = FakeGoBinary(HASHES, ORDER, hash_size=16).write(tmp_path / "p.so")
    assert record_for(binary) is None


def _damaged(record: dict, change) -> dict:
    copy = {**record, "packages": dict(record["packages"])}
    change(copy)
    return copy


@pytest.mark.parametrize("change", [
    pytest.param(lambda r: r.update(reader="0123456789abcdef"), id="another-reader"),
    pytest.param(lambda r: r.pop("reader"), id="no-reader"),
    pytest.param(lambda r: r.update(packages=["runtime"]), id="packages-not-a-table"),
    pytest.param(lambda r: r["packages"].update(runtime="zz" * 8), id="not-hex"),
    pytest.param(lambda r: r["packages"].update(runtime="01" * 7), id="seven-bytes"),
    pytest.param(lambda r: r["packages"].update(runtime=8), id="not-a-string"),
    pytest.param(lambda r: r.update(order="runtime"), id="order-not-a-list"),
    pytest.param(lambda r: r.update(why_none=None), id="why-not-a-string"),
])
def test_a_record_of_another_reader_or_damaged_is_not_trusted(tmp_path, change):
    binary = FakeGoBinary(HASHES, ORDER).write(tmp_path / "p.so")
    record = record_for(binary)
    assert from_record(binary, record) is not None
    assert from_record(binary, _damaged(record, change)) is None


@pytest.mark.parametrize("record", [None, "record", [], {}])
def test_no_record_is_no_fingerprints(record):
    assert from_record("p.so", record) is None


def test_the_reader_version_is_a_digest_of_the_code_that_reads():
    digest = hashlib.sha256()
    for module in (elfheaders, elftables, fingerprints):
        digest.update(Path(module.__file__).read_bytes())
    assert reader_version() == digest.hexdigest()[:16]


def test_a_side_takes_recorded_fingerprints_and_reads_a_hosts_symbols_only_when_asked(
        tmp_path):
    binary = FakeGoBinary(HASHES, ORDER).write(tmp_path / "p.so")
    recorded = Fingerprints(str(binary), {"runtime": H3}, ("runtime",))
    host = Side.read(binary, recorded, lookups=False)
    assert host.fingerprints is recorded  # the binary's own differ: the record was used
    with pytest.raises(RuntimeError, match="not read"):
        "noise.symbol" in host.elf.exported_symbols  # noqa: B015
    plugin = Side.read(binary, recorded)
    assert "noise.symbol" in plugin.elf.exported_symbols
    assert dict(Side.read(binary).fingerprints.hashes) == HASHES
