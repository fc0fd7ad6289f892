"""binary/verneed.py: the symbol versions a binary needs, on crafted and real files."""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from plugin_builder.binary.verneed import (
    SHT_GNU_VERNEED,
    SHT_GNU_VERSYM,
    glibc_release,
    read_version_needs,
)
from plugin_builder.errors import BinaryError

from .elffiles import STB_GLOBAL, SYMBOL, Section, symbol_sections, write_elf

SHT_DYNSYM = 11


def _glibc_binary(path: Path, imports: list[tuple[str, str]]) -> Path:
    """A binary importing each (symbol, GLIBC version) from libc.so.6, as ld writes it:
    undefined .dynsym entries, .gnu.version words, one Verneed with a Vernaux each."""
    sections = symbol_sections([("main.main", STB_GLOBAL)])
    strtab, dynsym = bytearray(sections[1].data), bytearray(sections[2].data)
    versions = list(dict.fromkeys(version for _, version in imports))

    def string(text: str) -> int:
        offset = len(strtab)
        strtab.extend(text.encode() + b"\0")
        return offset

    library = string("libc.so.6")
    words = [0, 1]  # the null symbol, main.main (global)
    for symbol, version in imports:
        dynsym += SYMBOL.pack(string(symbol), STB_GLOBAL << 4 | 2, 0, 0, 0, 0)
        words.append(2 + versions.index(version))
    aux = b"".join(struct.pack("<IHHII", 0, 0, 2 + index, string(version),
                               16 if index < len(versions) - 1 else 0)
                   for index, version in enumerate(versions))
    verneed = struct.pack("<HHIII", 1, len(versions), library, 16, 0) + aux
    sections[1] = Section(".dynstr", 3, bytes(strtab))
    sections[2] = Section(".dynsym", SHT_DYNSYM, bytes(dynsym), link=".dynstr",
                          entsize=SYMBOL.size)
    sections += [Section(".gnu.version", SHT_GNU_VERSYM, struct.pack(f"<{len(words)}H", *words),
                         link=".dynsym", entsize=2),
                 Section(".gnu.version_r", SHT_GNU_VERNEED, verneed, link=".dynstr")]
    write_elf(path, sections, interpreter="/lib64/ld-linux-x86-64.so.2")
    return path


def test_a_crafted_binary_names_each_symbol_and_its_version(tmp_path):
    binary = _glibc_binary(tmp_path / "host", [("memcpy", "GLIBC_2.14"),
                                               ("__libc_start_main", "GLIBC_2.34"),
                                               ("pthread_create", "GLIBC_2.34")])
    needs = read_version_needs(binary)
    assert needs.newest_glibc == "GLIBC_2.34"
    assert {(s.symbol, s.version) for s in needs.symbols} == {
        ("memcpy", "GLIBC_2.14"), ("__libc_start_main", "GLIBC_2.34"),
        ("pthread_create", "GLIBC_2.34")}
    too_new = needs.newer_than("2.28")
    assert [s.symbol for s in too_new] == ["pthread_create", "__libc_start_main"]
    assert all(s.library == "libc.so.6" for s in too_new)
    assert needs.newer_than("2.34") == []


def test_a_binary_without_versions_needs_none(tmp_path):
    write_elf(tmp_path / "musl", symbol_sections([("main.main", STB_GLOBAL)], ("libc.so",)))
    needs = read_version_needs(tmp_path / "musl")
    assert (needs.needs, needs.symbols, needs.newest_glibc) == ((), (), None)


def test_a_damaged_chain_ends_without_reading_past_the_section(tmp_path):
    binary = _glibc_binary(tmp_path / "host", [("memcpy", "GLIBC_2.14")])
    data = bytearray(binary.read_bytes())
    needs_at = data.index(struct.pack("<HH", 1, 1))  # vn_version 1, vn_cnt 1
    struct.pack_into("<I", data, needs_at + 8, 0x7FFFFFF0)  # vn_aux far past the end
    binary.write_bytes(bytes(data))
    assert read_version_needs(binary).needs == ()


def test_not_an_elf_file_is_a_binary_error(tmp_path):
    (tmp_path / "text").write_text("hello")
    with pytest.raises(BinaryError, match="not an ELF binary"):
        read_version_needs(tmp_path / "text")


@pytest.mark.parametrize("version, release", [("GLIBC_2.34", (2, 34)), ("GLIBC_2.3.2", (2, 3, 2)),
                                               ("GLIBC_PRIVATE", None), ("GCC_3.0", None)])
def test_glibc_releases(version, release):
    assert glibc_release(version) == release


@pytest.mark.skipif(not shutil.which("readelf"), reason="binutils' readelf is not installed")
def test_a_real_binary_reads_as_readelf_reads_it():
    binary = Path(shutil.which("ls") or "/bin/ls").resolve()
    shown = subprocess.run(["readelf", "-V", "--wide", str(binary)], capture_output=True,
                           text=True, check=True).stdout
    needed = set(re.findall(r"Name: (\S+)\s+Flags", shown))
    needs = read_version_needs(binary)
    assert {need.version for need in needs.needs} == needed
    # readelf's symbol list: "name@VERSION (n)" for each versioned import.
    dynsym = subprocess.run(["readelf", "--dyn-syms", "--wide", str(binary)],
                            capture_output=True, text=True, check=True).stdout
    imported = set(re.findall(r" UND (\S+?)@(\S+) \(", dynsym))
    assert {(s.symbol, s.version) for s in needs.symbols} == imported


# -- the glibc-floor rule ------------------------------------------------------------------


def _analyzed(tmp_path: Path, floor: str | None, host_needs, plugin_needs):
    from plugin_builder.binary.side import Side
    from plugin_builder.verify import Contract, RebuildHint, analyze

    host = Side.read(_glibc_binary(tmp_path / "host", host_needs), lookups=False)
    plugin = Side.read(_glibc_binary(tmp_path / "plugin.so", plugin_needs))
    hint = RebuildHint.for_host(host, "scheduler", "probe")
    return [f for f in analyze(host, plugin, Contract("scheduler", ()), hint, glibc_floor=floor)
            if f.rule == "glibc-floor"]


def test_the_floor_rule_names_the_symbol_and_the_binary(tmp_path):
    found = _analyzed(tmp_path, "2.28", [("memcpy", "GLIBC_2.14")],
                      [("memcpy", "GLIBC_2.14"), ("pthread_create", "GLIBC_2.34"),
                       ("pthread_join", "GLIBC_2.34"), ("stat", "GLIBC_2.33")])
    [finding] = found
    assert finding.severity == "error"
    assert finding.subject == "plugin plugin.so"
    assert finding.plugin_value == "pthread_join@GLIBC_2.34"
    assert "needs pthread_join@GLIBC_2.34 (and 1 more: pthread_create)" in finding.message
    assert "newer than the glibc floor 2.28" in finding.message
    assert "version `GLIBC_2.34' not found" in finding.message
    assert str(tmp_path / "plugin.so") in finding.message


def test_the_floor_rule_checks_the_host_too_and_is_quiet_without_a_floor(tmp_path):
    needs = [("__libc_start_main", "GLIBC_2.34")]
    assert [f.subject for f in _analyzed(tmp_path, "2.17", needs, [])] == ["host host"]
    assert _analyzed(tmp_path, "2.34", needs, needs) == []
    assert _analyzed(tmp_path, None, needs, needs) == []
