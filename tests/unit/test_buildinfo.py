"""read_buildinfo and parse_modinfo on hand-made inputs; no Go needed.

The expected values are what Go's runtime/debug.ParseBuildInfo returns for the same
input (checked against it while writing: tests/integration/test_fingerprints_real.py
compares whole binaries with ``go version -m -json``).
"""

from __future__ import annotations

import os
import struct
from pathlib import Path

import pytest

from plugin_builder.binary import elfheaders
from plugin_builder.binary.buildinfo import (
    DEVEL,
    ElfHeaders,
    Module,
    parse_buildinfo_json,
    parse_modinfo,
    read_buildinfo,
)
from plugin_builder.errors import PluginBuilderError

MAGIC = b"\xff Go buildinf:"
SENTINEL_START = bytes.fromhex("3077af0c9274080241e1c107e6d618e6")
SENTINEL_END = bytes.fromhex("f932433186182072008242104116d8f2")

MODINFO = (
    b"path\texample.com/host\n"
    b"mod\texample.com/host\t(devel)\t\n"
    b"dep\texample.com/dep\tv1.2.0\n"
    b"=>\t../dep\t(devel)\t\n"
    b"dep\tgithub.com/google/uuid\tv1.6.0\th1:NIvaJDMOsjHA8n1jAhLSgzrAzy1Hgr+hNrb57e+94F0=\n"
    b"build\t-buildmode=exe\n"
    b'build\t-ldflags="-s -w"\n'
    b"build\t-tags=x,y\n"
    b"build\t-trimpath=true\n"
    b"build\tCGO_ENABLED=1\n"
    b"build\tGOARCH=amd64\n"
    b"build\tGOOS=linux\n"
    b"build\tGOAMD64=v1\n"
)


# -- parse_modinfo ------------------------------------------------------------------------


def test_modules_replacements_and_settings_are_parsed():
    info = parse_modinfo(MODINFO, go_version="go1.26.8")
    assert info.go_version == "go1.26.8"
    assert info.path == "example.com/host"
    assert info.main == Module("example.com/host", DEVEL)
    dep, uuid = info.deps
    assert dep == Module("example.com/dep", "v1.2.0", replace=Module("../dep", DEVEL))
    assert dep.label == "v1.2.0 => ../dep"
    assert uuid.sum.startswith("h1:NIva")
    assert info.ldflags == "-s -w"
    assert info.tags == ("x", "y")
    assert (info.trimpath, info.cgo_enabled, info.goarch, info.goos) == (
        True, True, "amd64", "linux"
    )


@pytest.mark.parametrize(
    ("line", "key", "value"),
    [
        (b'build\t-gcflags="all=-N -l"', "-gcflags", "all=-N -l"),
        (b"build\tk=`raw \\n value`", "k", "raw \\n value"),
        (b"build\tk=`carriage\rreturn`", "k", "carriagereturn"),  # raw strings drop \r
        (
            b'build\tk="\\t\\n\\x41\\u00e9\\U0001F600\\101\\\\\\""',
            "k",
            "\t\nA\u00e9\U0001f600A\\\"",
        ),
        (b'build\tk="\\xff"', "k", "\ufffd"),  # a byte that is no UTF-8
        (b'build\t"key with space"=v', "key with space", "v"),
        (b'build\t"k=1"="v 1"', "k=1", "v 1"),
        (b"build\tk=", "k", ""),
        (b'build\tk=""', "k", ""),
        (b"build\tDefaultGODEBUG=tlsrsakex=1,x509keypairleaf=0", "DefaultGODEBUG",
         "tlsrsakex=1,x509keypairleaf=0"),
    ],
)
def test_build_settings_are_unquoted_as_strconv_does(line, key, value):
    assert dict(parse_modinfo(line + b"\n").settings) == {key: value}


def test_invalid_utf8_becomes_one_replacement_character_per_byte_as_in_go():
    info = parse_modinfo(b"path\tp\xe2\x82x\xff\n")
    assert info.path == "p\ufffd\ufffdx\ufffd"


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        (b"build\t", "missing '='"),
        (b"build\t=v", "missing key"),
        (b"build\tkey", "missing '=' after key"),
        (b"build\tk=a b", "must be quoted"),
        (b"build\tk a=b", "must be quoted"),
        (b'build\tk="open', "invalid quoted value"),
        (b'build\tk="a"b', "invalid quoted value"),
        (b'build\tk="\\q"', "invalid quoted value"),
        (b"build\tk=\"\\'\"", "invalid quoted value"),  # \' only in rune literals
        (b'build\tk="\\777"', "invalid quoted value"),  # octal above 255
        (b'build\tk="\\ud800"', "invalid quoted value"),  # a surrogate is no rune
        (b'build\t"k"v', "unexpected character after quoted key"),
        (b'build\t"k"', "missing '=' after quoted key"),
        (b"mod\tonly-a-path", "expected 2 or 3 columns; got 1"),
        (b"=>\t../x\t(devel)", "expected 3 columns for replacement; got 2"),
        (b"=>\t../x\t(devel)\t", "replacement with no module on previous line"),
    ],
)
def test_malformed_lines_are_errors_naming_the_line(line, problem):
    with pytest.raises(PluginBuilderError, match=rf"x: .*line 2: .*{problem}"):
        parse_modinfo(b"path\tp\n" + line + b"\n", source="x")


def test_unknown_lines_and_the_text_after_the_last_newline_are_skipped_as_go_does():
    info = parse_modinfo(b"go\tgo1.26.8\nfuture\tthing\nnotab\npath\tp\nbuild\tk=v")
    assert (info.path, dict(info.settings)) == ("p", {})


def test_a_second_replacement_of_one_module_is_an_error():
    with pytest.raises(PluginBuilderError, match="line 4: replacement with no module"):
        parse_modinfo(b"dep\td\tv1\n=>\t../a\t(devel)\t\n\n=>\t../b\t(devel)\t\n")


def test_json_of_go_version_is_still_read():
    text = '{"GoVersion": "go1.26.8", "Path": "p", "Main": {"Path": "m"},'
    text += ' "Settings": [{"Value": "no key"}, {"Key": "GOOS", "Value": "linux"}]}'
    info = parse_buildinfo_json(text)
    assert (info.go_version, info.main.path, dict(info.settings)) == (
        "go1.26.8", "m", {"": "no key", "GOOS": "linux"}
    )


# -- read_buildinfo on hand-made ELF files ------------------------------------------------


def buildinfo_blob(version: bytes, modinfo: bytes, flags: int = 0x2) -> bytes:
    """The .go.buildinfo contents Go 1.18+ writes: header, then varint-prefixed strings."""
    header = MAGIC + bytes([8, flags]) + bytes(16)
    framed = SENTINEL_START + modinfo + SENTINEL_END
    return header + _varint(len(version)) + version + _varint(len(framed)) + framed


def _varint(value: int) -> bytes:
    out = bytearray()
    while value >= 0x80:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    return bytes(out + bytes([value]))


def elf_file(path: Path, data: bytes, *, data_offset: int = 0x1000, sections: bool = True,
             data_address: int = 0x401000) -> Path:
    """A minimal ELF64 little-endian file: one writable PT_LOAD holding ``data`` and,
    with ``sections``, a .go.buildinfo section over it and a section name table."""
    names = b"\0.go.buildinfo\0.shstrtab\0"
    names_offset = data_offset + len(data)
    section_offset = (names_offset + len(names) + 7) & ~7
    program_header = struct.pack(
        "<IIQQQQQQ", 1, 0x6, data_offset, data_address, data_address, len(data), len(data),
        0x1000,
    )  # PT_LOAD, PF_R|PF_W
    section_headers = b"".join(
        [
            bytes(64),
            struct.pack("<IIQQQQIIQQ", 1, 1, 3, data_address, data_offset, len(data), 0, 0, 16, 0),
            struct.pack("<IIQQQQIIQQ", 15, 3, 0, 0, names_offset, len(names), 0, 0, 1, 0),
        ]
    )
    header = b"\x7fELF" + bytes([2, 1, 1]) + bytes(9) + struct.pack(
        "<HHIQQQIHHHHHH", 3, 62, 1, 0, 64, section_offset if sections else 0, 0, 64, 56, 1,
        64, 3 if sections else 0, 2 if sections else 0,
    )
    image = bytearray(header + program_header)
    image += bytes(data_offset - len(image)) + data + names
    image += bytes(section_offset - len(image))
    if sections:
        image += section_headers
    path.write_bytes(bytes(image))
    return path


def test_reads_the_go_buildinfo_section(tmp_path):
    binary = elf_file(tmp_path / "a.out", buildinfo_blob(b"go1.26.8", MODINFO))
    info = read_buildinfo(binary)
    assert info == parse_modinfo(MODINFO, go_version="go1.26.8")
    assert dict(info.settings) == dict(parse_modinfo(MODINFO).settings)


def test_without_section_headers_the_writable_segment_is_searched_at_aligned_addresses(
    tmp_path,
):
    # A decoy magic 8 bytes into the segment is not 16-byte aligned and must be skipped.
    decoy = bytes(8) + MAGIC + bytes(10)
    data = decoy + bytes(-len(decoy) % 16) + buildinfo_blob(b"go1.24.11", MODINFO)
    binary = elf_file(tmp_path / "a.out", data, sections=False)
    with binary.open("rb") as stream:
        assert ElfHeaders.read(stream).sections == ()
    assert read_buildinfo(binary).go_version == "go1.24.11"


def test_alignment_is_of_addresses_not_file_offsets(tmp_path):
    # The segment starts 8 bytes past an aligned address: the header is at offset 8.
    data = bytes(8) + buildinfo_blob(b"go1.25.5", MODINFO)
    binary = elf_file(tmp_path / "a.out", data, sections=False, data_address=0x401008)
    assert read_buildinfo(binary).go_version == "go1.25.5"


def test_modinfo_without_sentinels_is_no_module_information(tmp_path):
    blob = MAGIC + bytes([8, 2]) + bytes(16) + _varint(8) + b"go1.26.8" + _varint(5) + b"short"
    info = read_buildinfo(elf_file(tmp_path / "a.out", blob))
    assert (info.go_version, info.path, info.deps, dict(info.settings)) == ("go1.26.8", "", (), {})


def test_go_releases_before_1_18_are_reported_as_unsupported(tmp_path):
    binary = elf_file(tmp_path / "a.out", buildinfo_blob(b"go1.17", MODINFO, flags=0x0))
    with pytest.raises(PluginBuilderError, match="before 1.18.*not supported"):
        read_buildinfo(binary)


@pytest.mark.parametrize(
    "data",
    [
        bytes(64),  # no magic at all
        buildinfo_blob(b"", MODINFO),  # an empty Go version means "not Go" to debug/buildinfo
        (MAGIC + bytes([8, 2]) + bytes(16) + _varint(1 << 40))[:40],  # a length past the end
        (MAGIC + bytes([8, 2]) + bytes(16) + b"\xff" * 12)[:48],  # no varint ends
    ],
)
def test_elf_files_without_readable_go_build_info_have_none(tmp_path, data):
    assert read_buildinfo(elf_file(tmp_path / "a.out", data)) is None


def test_an_elf_file_whose_sections_name_no_go_buildinfo_is_not_go(tmp_path):
    binary = elf_file(tmp_path / "a.out", buildinfo_blob(b"go1.26.8", MODINFO))
    image = bytearray(binary.read_bytes())
    image[image.index(b".go.buildinfo")] = ord("_")  # rename the section
    binary.write_bytes(bytes(image))
    assert read_buildinfo(binary) is None


def test_non_elf_and_damaged_elf_files_have_none(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("not a binary\n")
    truncated = tmp_path / "truncated"
    truncated.write_bytes(b"\x7fELF\x02\x01\x01" + bytes(20))
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    assert [read_buildinfo(path) for path in (text, truncated, empty)] == [None, None, None]


def test_go_keyword_is_accepted_and_ignored(tmp_path):
    binary = elf_file(tmp_path / "a.out", buildinfo_blob(b"go1.26.8", MODINFO))
    assert read_buildinfo(binary, go="/no/such/go") == read_buildinfo(binary)


# -- paths that are no binary -------------------------------------------------------------


def test_a_missing_file_is_an_error_naming_it(tmp_path):
    with pytest.raises(PluginBuilderError, match=r"missing\.so: no such file"):
        read_buildinfo(tmp_path / "missing.so")
    with pytest.raises(PluginBuilderError, match="no such file"):
        read_buildinfo(tmp_path / "missing" / "below")


def test_a_directory_is_an_error(tmp_path):
    with pytest.raises(PluginBuilderError, match="is a directory, not a Go binary"):
        read_buildinfo(tmp_path)


def test_a_symlink_loop_is_an_error(tmp_path):
    loop = tmp_path / "loop"
    loop.symlink_to(loop)
    with pytest.raises(PluginBuilderError, match="loop: symbolic link loop"):
        read_buildinfo(loop)


def test_a_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(PluginBuilderError, match="not a regular file"):
        read_buildinfo(fifo)


def test_an_unreadable_file_is_an_error(tmp_path, monkeypatch):
    binary = elf_file(tmp_path / "a.out", buildinfo_blob(b"go1.26.8", MODINFO))

    def denied(*_args, **_kwargs):
        raise PermissionError(13, "Permission denied")

    # Root reads files of mode 0, so the refusal is simulated where the module opens.
    monkeypatch.setattr(elfheaders, "open", denied, raising=False)
    with pytest.raises(PluginBuilderError, match=r"a\.out: permission denied"):
        read_buildinfo(binary)
