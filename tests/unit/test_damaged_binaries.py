"""ELF files with a valid header and damaged tables, fed to verify as a plugin or a host.

Each shape is a sound Go-plugin-shaped file (tests/unit/elffiles.py) with one field
made wrong: an offset or size past the end of the file, a link to no section, a count
no file holds, build information that is not. verify must refuse each in about a second:
a BinaryError naming the file (exit code 4, one message), or, where the damage only
hides what makes it a Go plugin, a failing verdict. Never another exception, never a
hang. Issue 23 ran 14 such shapes by hand; they are kept here with more.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from plugin_builder import commands
from plugin_builder.binary.side import Side
from plugin_builder.errors import BinaryError
from plugin_builder.status import Verdict

from . import elffiles
from .elffiles import (
    E_PHNUM,
    E_SHNUM,
    E_SHOFF,
    E_SHSTRNDX,
    P_FILESZ,
    P_OFFSET,
    SH_LINK,
    SH_OFFSET,
    SH_SIZE,
    SYMBOL_NAME,
    poke,
    program_header,
    section_header,
)

PLUGIN_NAME = "d7y-scheduler-plugin-evaluator.so"  # the scheduler type's file pattern
HUGE = 1 << 40
REFUSED, FAILS, JUDGED = "refused", "fails", "judged"  # JUDGED: any verdict, in time


def plugin(path: Path) -> elffiles.Layout:
    return elffiles.go_plugin(path)


def damaged_section(name: str, field_: tuple[int, str], value: int | None = None):
    def damage(path: Path) -> None:
        layout = plugin(path)
        poke(path, section_header(layout, name), field_,
             path.stat().st_size if value is None else value)
    return damage


def damaged_header(field_: tuple[int, str], value: int):
    def damage(path: Path) -> None:
        plugin(path)
        poke(path, 0, field_, value)
    return damage


def interpreter_past_the_end(path: Path) -> None:
    layout = elffiles.write_elf(path, elffiles.symbol_sections([]), interpreter="/lib/ld.so")
    poke(path, program_header(layout, 1), P_FILESZ, HUGE)  # PT_LOAD, then PT_INTERP


def dynamic_segment_past_the_end_without_sections(path: Path) -> None:
    layout = plugin(path)
    poke(path, 0, E_SHOFF, 0)  # no section headers: the segment is all there is
    poke(path, program_header(layout, 1), P_OFFSET, HUGE)  # PT_LOAD, then PT_DYNAMIC


def extended_section_count_past_the_end(path: Path) -> None:
    layout = plugin(path)
    poke(path, 0, E_SHNUM, 0)  # the count is then section 0's sh_size
    poke(path, layout.section_headers, SH_SIZE, 1 << 30)


def symbol_names_past_the_strings(path: Path) -> None:
    layout = plugin(path)
    offset, _ = layout.sections[".dynsym"]
    poke(path, offset + elffiles.SYMBOL.size, SYMBOL_NAME, 1 << 31)


def buildinfo(modinfo: str, go_version: str = "go1.26.8", flags: int = 0x2):
    def damage(path: Path) -> None:
        section = elffiles.go_buildinfo(modinfo, go_version)
        data = bytearray(section.data)
        data[len(elffiles.GO_MAGIC) + 1] = flags
        section.data = bytes(data)
        sections = elffiles.symbol_sections([("example.com/probe.DragonflyPluginInit", 1)])
        elffiles.write_elf(path, [*sections, section])
    return damage


def buildinfo_length_past_the_end(path: Path) -> None:
    layout = plugin(path)
    offset, _ = layout.sections[".go.buildinfo"]
    data = bytearray(path.read_bytes())
    version_length = offset + len(elffiles.GO_MAGIC) + 2 + 16
    data[version_length:version_length + 5] = b"\xff\xff\xff\xff\x0f"  # 4 GiB
    path.write_bytes(bytes(data))


def many_symbols_of_one_name(path: Path) -> None:
    """The crafted plugin of issue 23: its entry symbol's name written 60,000 times,
    each for a local symbol, before the one definition (quadratic: minutes)."""
    name = "example.com/probe.DragonflyPluginInit"
    sections = elffiles.symbol_sections([(name, elffiles.STB_LOCAL)] * 60_000
                                        + [(name, elffiles.STB_GLOBAL)])
    strings = bytearray(b"\0")
    for _ in range(60_001):  # a copy of the name per symbol, as the crafted file had
        strings += name.encode() + b"\0"
    offsets = [1 + i * (len(name) + 1) for i in range(60_001)]
    table = bytearray(sections[2].data)
    for index, offset in enumerate(offsets, start=1):
        elffiles.SYMBOL.pack_into(table, index * elffiles.SYMBOL.size,
                                  offset, *elffiles.SYMBOL.unpack_from(
                                      table, index * elffiles.SYMBOL.size)[1:])
    sections[1].data, sections[2].data = bytes(strings + b"libc.so.6\0"), bytes(table)
    modinfo = elffiles.plugin_modinfo()
    elffiles.write_elf(path, [*sections[:3], elffiles.go_buildinfo(modinfo)])


SHAPES: dict[str, tuple[Callable[[Path], object], str]] = {
    "section headers past the end": (damaged_header(E_SHOFF, 1 << 20), REFUSED),
    "a section count no file holds": (damaged_header(E_SHNUM, 65_000), REFUSED),
    "a program header count no file holds": (damaged_header(E_PHNUM, 65_000), REFUSED),
    "a name table index out of range": (damaged_header(E_SHSTRNDX, 200), REFUSED),
    "the name table past the end": (damaged_section(".shstrtab", SH_OFFSET, HUGE), REFUSED),
    ".dynsym past the end": (damaged_section(".dynsym", SH_SIZE, HUGE), REFUSED),
    ".dynsym linked to no section": (damaged_section(".dynsym", SH_LINK, 99), REFUSED),
    ".dynstr past the end": (damaged_section(".dynstr", SH_OFFSET), REFUSED),
    ".dynamic past the end": (damaged_section(".dynamic", SH_SIZE, HUGE), REFUSED),
    ".go.buildinfo past the end": (damaged_section(".go.buildinfo", SH_OFFSET), REFUSED),
    "PT_INTERP past the end": (interpreter_past_the_end, REFUSED),
    "PT_DYNAMIC past the end, no sections": (dynamic_segment_past_the_end_without_sections,
                                             REFUSED),
    "an extended section count past the end": (extended_section_count_past_the_end, REFUSED),
    "a malformed build information line": (buildinfo("path\texample.com/probe\nmod\tx\n"),
                                           REFUSED),
    "build information of Go before 1.18": (buildinfo(elffiles.plugin_modinfo(), flags=0),
                                            REFUSED),
    "a build information length past the end": (buildinfo_length_past_the_end, FAILS),
    "symbol names past the string table": (symbol_names_past_the_strings, FAILS),
    "one name for 60,000 symbols": (many_symbols_of_one_name, JUDGED),
}


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return elffiles.go_host(tmp_path_factory.mktemp("host") / "scheduler")


@pytest.mark.parametrize("shape", SHAPES)
def test_a_damaged_plugin_is_refused_in_about_a_second(project, host, tmp_path, shape):
    write, outcome = SHAPES[shape]
    damaged = tmp_path / PLUGIN_NAME
    write(damaged)
    context = commands.Context.open(project.config_path)
    started = time.process_time()
    if outcome == REFUSED:
        with pytest.raises(BinaryError) as raised:
            commands.verify_binaries(context, str(host), [str(damaged)], live=False)
        assert str(damaged) in raised.value.message and "\n" not in raised.value.message
    else:
        [result] = commands.verify_binaries(context, str(host), [str(damaged)], live=False)
        assert result.verdict == Verdict.FAIL or outcome == JUDGED, result.findings
    assert time.process_time() - started < 2.0


@pytest.mark.parametrize("shape", [s for s, (_, outcome) in SHAPES.items() if outcome == REFUSED])
def test_a_damaged_host_is_refused(tmp_path, shape):
    damaged = tmp_path / "scheduler"
    SHAPES[shape][0](damaged)
    with pytest.raises(BinaryError):
        Side.read(damaged, lookups=False)


def test_the_command_says_so_in_one_message_with_its_exit_code(project, host, tmp_path):
    (project.root / "tasks.py").write_text("from plugin_builder.tasks import ns  # noqa\n")
    damaged = tmp_path / PLUGIN_NAME
    damaged_section(".dynsym", SH_LINK, 99)(damaged)
    run = subprocess.run(
        [sys.executable, "-m", "invoke", "verify", "--static-only", "--host", str(host),
         "--plugin", str(damaged), "--config", str(project.config_path)],
        cwd=project.root, capture_output=True, text=True, timeout=120)
    assert run.returncode == BinaryError.return_code, run.stderr
    assert run.stderr.startswith(f"error: {damaged}: not an ELF binary (")
    assert "Traceback" not in run.stderr
