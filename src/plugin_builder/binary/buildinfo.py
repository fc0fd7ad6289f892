"""The Go build information embedded in a binary, read as ``go version -m`` reads it.

Every input of a Go package's fingerprint that the toolchain records (Go version, module
versions, -trimpath, -tags, GOEXPERIMENT, ...) is in this build information, which is why
the verifier compares it between a host and its plugins.

The linker writes it into the ``.go.buildinfo`` section in a format that has not changed
since Go 1.18: a 32-byte header (magic, pointer size, flags), then two varint-prefixed
strings, the Go version and the module information ``runtime/debug.ParseBuildInfo``
reads. Reading it here, rather than asking ``go version -m -json`` (a flag only Go 1.25
and later have), needs no Go on the machine and takes well under a millisecond.
"""

from __future__ import annotations

import codecs
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import BinaryIO

from plugin_builder.binary.elfheaders import (
    PF_W,
    PF_X,
    PT_LOAD,
    SHT_NOBITS,
    ElfHeaders,
    open_binary,
    read_at,
)
from plugin_builder.errors import BinaryError

DEVEL = "(devel)"  # the version Go records for main and workspace modules


@dataclass(frozen=True)
class Module:
    """One module line of the build information (``mod``, ``dep`` or ``=>``)."""

    path: str
    version: str = ""
    sum: str = ""
    replace: Module | None = None

    @property
    def is_local_directory(self) -> bool:
        """True for a replacement by a directory (Go records those as "(devel)")."""
        return self.version == DEVEL or self.path.startswith((".", "/"))

    @property
    def label(self) -> str:
        """The version as a person reads it: "v1.2.0", "v1.2.0 => ../shared"."""
        version = self.version or DEVEL
        if self.replace is None:
            return version
        target = self.replace
        if target.is_local_directory:
            return f"{version} => {target.path}"
        return f"{version} => {target.path} {target.version}"


@dataclass(frozen=True)
class BuildInfo:
    """What the Go toolchain recorded about how a binary was built."""

    go_version: str  # as recorded, e.g. "go1.26.8" or "go1.26.8-X:nogreenteagc"
    path: str  # the main package path; a plugin's symbols are prefixed with it
    main: Module
    deps: tuple[Module, ...] = ()
    # Mapping is immutable (MappingProxyType) but not hashable, so it stays out of hash().
    settings: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}), hash=False)

    # -- the Go release ---------------------------------------------------------------

    @property
    def base_go_version(self) -> str:
        """The Go version without the "-X:experiment" suffix GOEXPERIMENT adds to it."""
        return self.go_version.split("-X:", 1)[0].split(" ", 1)[0]

    @property
    def go_release(self) -> str:
        """The major release ("go1.26"); plugins never load across releases."""
        return ".".join(self.base_go_version.split(".")[:2])

    # -- build settings -----------------------------------------------------------------

    def setting(self, key: str, default: str = "") -> str:
        return self.settings.get(key, default)

    @property
    def buildmode(self) -> str:
        return self.setting("-buildmode", "exe")

    @property
    def cgo_enabled(self) -> bool | None:
        value = self.settings.get("CGO_ENABLED")
        return None if value is None else value == "1"

    @property
    def trimpath(self) -> bool:
        return self.setting("-trimpath") == "true"

    @property
    def tags(self) -> tuple[str, ...]:
        return tuple(tag for tag in self.setting("-tags").split(",") if tag)

    @property
    def goos(self) -> str:
        return self.setting("GOOS")

    @property
    def goarch(self) -> str:
        return self.setting("GOARCH")

    @property
    def goamd64(self) -> str:
        # Go omits nothing here today, but v1 is what an absent value means.
        return self.setting("GOAMD64", "v1") if self.goarch == "amd64" else ""

    @property
    def goexperiment(self) -> str:
        return self.setting("GOEXPERIMENT")

    @property
    def gcflags(self) -> str:
        return self.setting("-gcflags")

    @property
    def ldflags(self) -> str:
        return self.setting("-ldflags")

    @property
    def race(self) -> bool:
        return self.setting("-race") == "true"

    @property
    def msan(self) -> bool:
        return self.setting("-msan") == "true"

    @property
    def asan(self) -> bool:
        return self.setting("-asan") == "true"

    @property
    def mod_vendor(self) -> bool:
        return self.setting("-mod") == "vendor"

    # -- modules ------------------------------------------------------------------------

    def modules_by_path(self) -> dict[str, Module]:
        """Every module of the build, the main module included, keyed by module path."""
        modules = {dep.path: dep for dep in self.deps}
        modules[self.main.path] = self.main
        return modules


# -- reading a binary ---------------------------------------------------------------------

_MAGIC = b"\xff Go buildinf:"
_HEADER_SIZE = 32  # magic (14), pointer size (1), flags (1), then 16 bytes of padding
_ALIGN = 16  # the linker aligns the header; an unaligned match is a coincidence
_FLAGS_OFFSET = 15
_FLAG_INLINE_STRINGS = 0x2  # Go 1.18+: the strings follow the header, varint-prefixed
_SENTINEL_SIZE = 16  # modinfo is framed by two 16-byte markers the runtime looks for
_SEARCH_CHUNK = 1 << 20  # a multiple of _ALIGN, so an aligned magic never straddles two
_VARINT_MAX = 10


def read_buildinfo(path: str | os.PathLike[str], go: str | None = None) -> BuildInfo | None:
    """The build information of ``path``; None when it carries none (not ELF, not Go).

    ``go`` is ignored: it is left from when this asked ``go version -m`` and goes once no
    caller passes it. A missing file, a directory or an unreadable path is a
    BinaryError naming it, and so are a binary of a Go release before 1.18 and
    module information Go itself could not parse.
    """
    del go
    path = os.path.abspath(os.fspath(path))
    with open_binary(path) as stream:
        try:
            elf = ElfHeaders.read(stream)
            return None if elf is None else buildinfo_from(path, elf, stream)
        except ValueError:
            return None  # a damaged ELF file: Go calls it an unrecognized format


def buildinfo_from(path: str, elf: ElfHeaders, stream: BinaryIO) -> BuildInfo | None:
    """The build information of an open ELF binary whose headers are ``elf``; ValueError
    when the place the headers give it is not in the file."""
    raw = _raw_buildinfo(elf, stream, path)
    if raw is None:
        return None
    go_version, modinfo = raw
    return parse_modinfo(modinfo, go_version=_go_string(go_version), source=path)


def _raw_buildinfo(elf: ElfHeaders, stream: BinaryIO, path: str) -> tuple[bytes, bytes] | None:
    """The Go version and modinfo strings, as ``debug/buildinfo`` reads them from ELF."""
    region = _buildinfo_region(elf)
    if region is None:
        return None
    header_offset = _find_magic(stream, *region)
    if header_offset is None:
        return None
    header = read_at(stream, header_offset, _HEADER_SIZE)
    if len(header) < _HEADER_SIZE:
        return None
    if not header[_FLAGS_OFFSET] & _FLAG_INLINE_STRINGS:
        raise BinaryError(
            f"{path}: built by a Go release before 1.18, whose build information "
            "format is not supported",
            fix="rebuild it with Go 1.18 or later",
        )
    version = _varint_string(stream, header_offset + _HEADER_SIZE, elf.file_size)
    if version is None or not version[0]:
        return None
    modinfo = _varint_string(stream, version[1], elf.file_size)
    if modinfo is None:
        return None
    return version[0], _strip_sentinels(modinfo[0])


def _buildinfo_region(elf: ElfHeaders) -> tuple[int, int, int] | None:
    """(file offset, size, address) of where the header is: the ``.go.buildinfo``
    section, or, when section headers were stripped, the first writable non-executable
    PT_LOAD segment the linker puts it in (where ``debug/buildinfo`` looks too).

    Unlike ``debug/buildinfo``, a file whose section headers name no ``.go.buildinfo``
    is not searched: every Go linker names the section, and searching a C binary's data
    segment costs up to 100 ms to find nothing.
    """
    if elf.sections:
        section = elf.section(".go.buildinfo")
        if section is None or section.type == SHT_NOBITS:
            return None
        return _within(elf, section.offset, section.size, section.address, section.name)
    for segment in elf.segments:
        if segment.type == PT_LOAD and segment.flags & (PF_X | PF_W) == PF_W:
            return _within(elf, segment.offset, segment.file_size, segment.address,
                           "the writable segment")
    return None


def _within(elf: ElfHeaders, offset: int, size: int, address: int,
            what: str) -> tuple[int, int, int]:
    """A damaged file is refused, not searched as far as it goes."""
    if offset + size > elf.file_size:
        raise ValueError(f"{what} past the end of the file")
    return offset, size, address


def _find_magic(stream: BinaryIO, offset: int, size: int, address: int) -> int | None:
    """The file offset of the first magic at a 16-byte aligned address in the region."""
    position = -address % _ALIGN  # alignment is of addresses, not of file offsets
    while position < size:
        chunk = read_at(stream, offset + position, min(_SEARCH_CHUNK, size - position))
        if not chunk:
            return None
        hit = chunk.find(_MAGIC)
        while hit >= 0:
            if hit % _ALIGN == 0:
                return offset + position + hit
            hit = chunk.find(_MAGIC, hit + 1)
        position += len(chunk)
    return None


def _varint_string(stream: BinaryIO, offset: int, file_size: int) -> tuple[bytes, int] | None:
    """A uvarint length, then that many bytes: (the bytes, the offset after them)."""
    head = read_at(stream, offset, _VARINT_MAX)
    decoded = _uvarint(head)
    if decoded is None:
        return None
    length, used = decoded
    start = offset + used
    if start + length > file_size:  # garbage, not a string: never read it
        return None
    return read_at(stream, start, length), start + length


def _uvarint(data: bytes) -> tuple[int, int] | None:
    """Go's binary.Uvarint: (value, bytes used), or None when ``data`` holds none."""
    value = 0
    for index, byte in enumerate(data[:_VARINT_MAX]):
        value |= (byte & 0x7F) << (7 * index)
        if byte < 0x80:
            return value, index + 1
    return None


def _strip_sentinels(modinfo: bytes) -> bytes:
    # The same test as debug/buildinfo: anything else means "no module information".
    if len(modinfo) >= 2 * _SENTINEL_SIZE + 1 and modinfo[-_SENTINEL_SIZE - 1] == ord("\n"):
        return modinfo[_SENTINEL_SIZE:-_SENTINEL_SIZE]
    return b""


def _go_replace(error: UnicodeError) -> tuple[str, int]:
    """Replace each byte that is not UTF-8 by U+FFFD, as Go's JSON encoder and strconv do
    (Python's "replace" folds a truncated sequence into one)."""
    if not isinstance(error, UnicodeDecodeError):
        raise error
    return "\ufffd", error.start + 1


codecs.register_error("plugin_builder.go_replace", _go_replace)


def _go_string(data: bytes) -> str:
    return data.decode("utf-8", "plugin_builder.go_replace")


def parse_modinfo(modinfo: bytes, go_version: str = "", source: str = "<modinfo>") -> BuildInfo:
    """Parse module information exactly as ``runtime/debug.ParseBuildInfo`` does.

    ``modinfo`` is without its sentinels. Lines that are not ``path``, ``mod``, ``dep``,
    ``=>`` or ``build`` are skipped, as Go skips them; a malformed known line is a
    BinaryError.
    """
    parser = _ModinfoParser()
    lines = modinfo.split(b"\n")[:-1]  # Go stops at the last newline: drop what follows
    for number, line in enumerate(lines, start=1):
        try:
            parser.feed(line)
        except ValueError as error:
            raise BinaryError(
                f"{source}: unreadable build information: line {number}: {error}"
            ) from None
    return parser.result(go_version)


class _ModinfoParser:
    """The state ParseBuildInfo keeps between lines: the module an ``=>`` line replaces."""

    def __init__(self) -> None:
        self.path = ""
        self.main: _ModuleFields = _ModuleFields()
        self.deps: list[_ModuleFields] = []
        self.settings: dict[str, str] = {}
        self.last: _ModuleFields | None = None

    def feed(self, line: bytes) -> None:
        word, tab, rest = line.partition(b"\t")
        if not tab:  # not a line Go knows
            return
        if word == b"path":
            self.path = _go_string(rest)
        elif word == b"mod":
            self.main = self.last = _module_line(rest)
        elif word == b"dep":
            self.last = _module_line(rest)
            self.deps.append(self.last)
        elif word == b"=>":
            self._replace(rest)
        elif word == b"build":
            key, value = _build_line(rest)
            # Go would keep a repeated key twice; the go command never writes one twice.
            self.settings[key] = value

    def _replace(self, rest: bytes) -> None:
        columns = rest.split(b"\t")
        if len(columns) != 3:
            raise ValueError(f"expected 3 columns for replacement; got {len(columns)}")
        if self.last is None:
            raise ValueError("replacement with no module on previous line")
        self.last.replace = _ModuleFields(*columns)
        self.last = None

    def result(self, go_version: str) -> BuildInfo:
        return BuildInfo(
            go_version=go_version,
            path=self.path,
            main=self.main.module(),
            deps=tuple(dep.module() for dep in self.deps),
            settings=MappingProxyType(self.settings),
        )


class _ModuleFields:
    """A module line while its ``=>`` line may still follow (Module is frozen)."""

    def __init__(self, path: bytes = b"", version: bytes = b"", sum: bytes = b"") -> None:
        self.path, self.version, self.sum = path, version, sum
        self.replace: _ModuleFields | None = None

    def module(self) -> Module:
        return Module(
            path=_go_string(self.path),
            version=_go_string(self.version),
            sum=_go_string(self.sum),
            replace=self.replace.module() if self.replace else None,
        )


def _module_line(rest: bytes) -> _ModuleFields:
    columns = rest.split(b"\t")
    if len(columns) not in (2, 3):
        raise ValueError(f"expected 2 or 3 columns; got {len(columns)}")
    return _ModuleFields(*columns)


def _build_line(kv: bytes) -> tuple[str, str]:
    """``key=value``, either side strconv-quoted when it holds a space, tab, quote, ..."""
    if not kv:
        raise ValueError("build line missing '='")
    if kv[:1] == b"=":
        raise ValueError("build line with missing key")
    if kv[:1] in (b"`", b'"'):
        quoted = _unquote_prefix(kv)
        if quoted is None:
            raise ValueError("invalid quoted key in build line")
        key, used = quoted
        if used == len(kv):
            raise ValueError("build line missing '=' after quoted key")
        if kv[used : used + 1] != b"=":
            raise ValueError(f"unexpected character after quoted key: {kv[used : used + 1]!r}")
        raw_value = kv[used + 1 :]
    else:
        key, equals, raw_value = kv.partition(b"=")
        if not equals:
            raise ValueError("build line missing '=' after key")
        if not key or any(c in key for c in b'= \t\r\n"`'):
            raise ValueError(f"unquoted key {_go_string(key)!r} must be quoted")
    return _go_string(key), _go_string(_build_value(raw_value))


def _build_value(raw: bytes) -> bytes:
    if raw[:1] in (b"`", b'"'):
        quoted = _unquote_prefix(raw)
        if quoted is None or quoted[1] != len(raw):
            raise ValueError("invalid quoted value in build line")
        return quoted[0]
    if any(c in raw for c in b' \t\r\n"`'):
        raise ValueError(f"unquoted value {_go_string(raw)!r} must be quoted")
    return raw


# -- strconv.Unquote ----------------------------------------------------------------------

_SIMPLE_ESCAPES = {
    ord("a"): 0x07, ord("b"): 0x08, ord("f"): 0x0C, ord("n"): 0x0A,
    ord("r"): 0x0D, ord("t"): 0x09, ord("v"): 0x0B, ord("\\"): 0x5C, ord('"'): 0x22,
}  # fmt: skip
_HEX_ESCAPE_DIGITS = {ord("x"): 2, ord("u"): 4, ord("U"): 8}
_OCTAL = b"01234567"
_HEX = b"0123456789abcdefABCDEF"


def _unquote_prefix(data: bytes) -> tuple[bytes, int] | None:
    """The Go string literal at the start of ``data``: (its value, its length in bytes),
    or None when it is not a valid literal. Go's strconv.QuotedPrefix plus Unquote."""
    if data[:1] == b"`":
        end = data.find(b"`", 1)
        if end < 0:
            return None
        return data[1:end].replace(b"\r", b""), end + 1  # raw strings drop \r
    if data[:1] != b'"':
        return None
    value = bytearray()
    index = 1
    while index < len(data) and data[index] != ord('"'):
        step = _unquote_char(data, index, value)
        if step is None:
            return None
        index = step
    if index >= len(data):
        return None  # no closing quote
    return bytes(value), index + 1


def _unquote_char(data: bytes, index: int, value: bytearray) -> int | None:
    """Append the character at ``index`` of a "-quoted literal; the index after it."""
    byte = data[index]
    if byte == ord("\n"):
        return None
    if byte != ord("\\"):
        if byte < 0x80:
            value.append(byte)
            return index + 1
        return _append_utf8_rune(data, index, value)
    if index + 1 >= len(data):
        return None
    kind = data[index + 1]
    if kind in _SIMPLE_ESCAPES:
        value.append(_SIMPLE_ESCAPES[kind])
        return index + 2
    if kind in _HEX_ESCAPE_DIGITS:
        return _append_hex_escape(data, index + 2, _HEX_ESCAPE_DIGITS[kind], kind, value)
    if kind in _OCTAL:
        digits = data[index + 1 : index + 4]
        if len(digits) < 3 or any(d not in _OCTAL for d in digits) or int(digits, 8) > 255:
            return None
        value.append(int(digits, 8))
        return index + 4
    return None  # \' and unknown escapes are invalid in a "-quoted string


def _append_hex_escape(
    data: bytes, start: int, count: int, kind: int, value: bytearray
) -> int | None:
    digits = data[start : start + count]
    if len(digits) < count or any(d not in _HEX for d in digits):
        return None
    code = int(digits, 16)
    if kind == ord("x"):
        value.append(code)  # \xHH is a byte, not a character
        return start + count
    if code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        return None  # not a valid rune
    value += chr(code).encode("utf-8")
    return start + count


def _append_utf8_rune(data: bytes, index: int, value: bytearray) -> int:
    """A multi-byte character, copied; an invalid byte becomes U+FFFD as in Go."""
    for size in (2, 3, 4):
        try:
            data[index : index + size].decode("utf-8")
        except UnicodeDecodeError:
            continue
        value += data[index : index + size]
        return index + size
    value += "\ufffd".encode()
    return index + 1


# -- the JSON of go version -m -json ------------------------------------------------------


def parse_buildinfo_json(text: str, source: str = "<json>") -> BuildInfo:
    """Build a BuildInfo from the JSON ``go version -m -json`` prints (Go 1.25+)."""
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as error:
        raise BinaryError(f"{source}: unreadable build information ({error})") from None
    settings = {item.get("Key", ""): item.get("Value", "") for item in raw.get("Settings") or ()}
    return BuildInfo(
        go_version=raw.get("GoVersion", ""),
        path=raw.get("Path", ""),
        main=_module(raw.get("Main") or {}),
        deps=tuple(_module(dep) for dep in raw.get("Deps") or ()),
        settings=MappingProxyType(settings),
    )


def _module(raw: Mapping[str, object]) -> Module:
    replace = raw.get("Replace")
    return Module(
        path=str(raw.get("Path", "")),
        version=str(raw.get("Version", "")),
        sum=str(raw.get("Sum", "")),
        replace=_module(replace) if isinstance(replace, Mapping) else None,
    )
