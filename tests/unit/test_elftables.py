"""SymbolTable lookups on hand-made .dynsym bytes: which names are defined globals."""

from __future__ import annotations

import struct
import time

import pytest

from plugin_builder.binary import elftables
from plugin_builder.binary.elfheaders import ElfFormat
from plugin_builder.binary.elftables import SymbolTable, column, indices_of

STB_LOCAL, STB_GLOBAL, STB_WEAK = 0, 1, 2
UNDEF, TEXT = 0, 12


def table(symbols: list[tuple[str | int, int, int]], *, is_64: bool = True,
          byte_order: str = "<") -> SymbolTable:
    """A .dynsym of (name or string offset, binding, section) entries and its strings.
    Names given as text are appended to the strings; an int points into them."""
    strings = bytearray(b"\0")
    entries = bytearray()
    layout = struct.Struct(byte_order + ("IBBHQQ" if is_64 else "IIIBBH"))
    for name, binding, section in [("", STB_LOCAL, UNDEF), *symbols]:
        if isinstance(name, str):
            offset = len(strings) if name else 0
            strings += name.encode() + b"\0" if name else b""
        else:
            offset = name
        info = binding << 4 | 2  # STT_FUNC
        values = (offset, info, 0, section, 0x1000, 8) if is_64 else \
            (offset, 0x1000, 8, info, 0, section)
        entries += layout.pack(*values)
    return SymbolTable(1, ElfFormat(is_64, byte_order), bytes(entries), bytes(strings))


FORMATS = [pytest.param(True, "<", id="elf64-le"), pytest.param(True, ">", id="elf64-be"),
           pytest.param(False, "<", id="elf32-le"), pytest.param(False, ">", id="elf32-be")]


@pytest.mark.parametrize(("is_64", "byte_order"), FORMATS)
def test_only_defined_global_symbols_are_exported(is_64, byte_order):
    symbols = table([("main.Init", STB_GLOBAL, TEXT), ("libc.puts", STB_GLOBAL, UNDEF),
                     ("main.local", STB_LOCAL, TEXT), ("main.Weak", STB_WEAK, TEXT)],
                    is_64=is_64, byte_order=byte_order)
    assert symbols.defines("main.Init")
    assert not symbols.defines("libc.puts")  # another object defines it
    assert not symbols.defines("main.local")
    assert not symbols.defines("main.Weak")
    assert not symbols.defines("main.Ini")  # a prefix of a name is not the name
    assert not symbols.defines("ain.Init")  # nor is a tail no symbol points at
    assert symbols.defined_names == ("main.Init",)


def test_a_name_shared_as_the_tail_of_a_longer_one_is_found():
    # Linkers may store "Init" once, inside "main.Init": the short symbol points into it.
    symbols = table([("main.Init", STB_LOCAL, TEXT), (1 + len("main."), STB_GLOBAL, TEXT)])
    assert symbols.defines("Init")
    assert not symbols.defines("main.Init")
    assert symbols.defined_names == ("Init",)


def test_a_name_defined_by_its_second_symbol_is_found():
    symbols = table([("main.Init", STB_GLOBAL, UNDEF), (1, STB_GLOBAL, TEXT)])
    assert symbols.defines("main.Init")


def test_an_empty_table_exports_nothing():
    empty = table([])
    assert not empty.defines("main.Init") and empty.defined_names == ()


def test_symbols_named_finds_every_name_with_a_prefix():
    symbols = table([("go:link.pkghash.a", STB_GLOBAL, TEXT), ("other", STB_GLOBAL, TEXT),
                     ("go:link.pkghash.b", STB_GLOBAL, UNDEF)])
    found = symbols.symbols_named("go:link.pkghash.")
    assert sorted((s.name, s.section) for s in found.values()) == [
        ("go:link.pkghash.a", TEXT), ("go:link.pkghash.b", UNDEF)]


@pytest.mark.parametrize("byte_order", ["<", ">"])
def test_a_column_is_the_field_of_every_entry(byte_order):
    entry = struct.Struct(byte_order + "IBBHQQ")
    data = b"".join(entry.pack(n, 1, 0, n * 2, n * 3, 8) for n in range(5)) + b"\0" * 7
    assert column(data, entry, 0) == [0, 1, 2, 3, 4]
    assert column(data, entry, 3) == [0, 2, 4, 6, 8]
    assert column(data, entry, 4) == [0, 3, 6, 9, 12]


def test_indices_of_are_the_positions_of_the_wanted_values():
    assert indices_of({3, 7}, [1, 3, 5, 7, 3]) == [1, 3, 4]


NAME = "example.com/probe.DragonflyPluginInit"
MANY = 100_000


@pytest.mark.parametrize("written", ["once", "once-per-symbol"])
@pytest.mark.parametrize("defined", [True, False])
def test_a_name_many_symbols_have_is_looked_up_in_linear_time(monkeypatch, written, defined):
    """A crafted plugin names its entry symbol for 100,000 local symbols, each with its
    own copy of the string or all sharing one: the lookup scans each symbol's name about
    once (it took 13 CPU-seconds for a 1.9 MB file when each copy meant a new scan)."""
    first = (NAME, STB_LOCAL, TEXT)
    same = first if written == "once-per-symbol" else (1, STB_LOCAL, TEXT)
    last = (same[0], STB_GLOBAL if defined else STB_LOCAL, TEXT)
    symbols = table([first, *[same] * MANY, last])
    scanned = []
    real_find, real_indices_of = elftables._find, elftables.indices_of

    def find(values, value, start):
        found = real_find(values, value, start)
        scanned.append((len(values) if found is None else found + 1) - start)
        return found

    def indices_of(wanted, values):
        scanned.append(len(values))
        return real_indices_of(wanted, values)

    monkeypatch.setattr(elftables, "_find", find)
    monkeypatch.setattr(elftables, "indices_of", indices_of)
    started = time.process_time()
    assert symbols.defines(NAME) is defined
    assert time.process_time() - started < 1.0  # quadratic: minutes
    assert sum(scanned) <= 2 * (MANY + 3)
