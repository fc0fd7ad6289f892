"""buildconfig.toml, parsed once into frozen, typed objects.

Every later step takes these objects, never raw dicts. Every problem with the file is a
:class:`~plugin_builder.errors.ConfigError` that names the file, the key, the value and
the fix; unknown keys get a "did you mean" hint, so a typo never silently falls back to
a default.

Strings are data: every string of the file is one line of printable text of bounded
length, every pattern matches the whole value, and a value that reaches a go command
line can never be read as a flag. Paths are confined: every path the file names
resolves (after symlinks) inside the project folder unless the file says otherwise.
"""

from __future__ import annotations

import difflib
import os
import re
import string
import tomllib
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any, NamedTuple

from plugin_builder.combination import GO_VERSION_RE, NAME_RE, Combination
from plugin_builder.errors import ConfigError
from plugin_builder.golang.gomod import parse_gowork

CONFIG_NAME = "buildconfig.toml"
KNOWN_ARCHES = ("amd64", "arm64")
BACKENDS = ("local", "docker")
# Absurd sizes are mistakes (a pasted file, a generated value), never configuration.
MAX_FILE_BYTES = 4 * 2**20
MAX_TEXT = 4096  # characters of any string
MAX_NAME = 100  # characters of a name: target, type, service, libc, symbol
MAX_ITEMS = 1000  # items of any array
MAX_DEPTH = 16  # nesting of tables and arrays

# Every validation pattern is anchored with \A...\Z and used with fullmatch.
IDENTIFIER_RE = re.compile(r"\A[A-Za-z_][A-Za-z0-9_]*\Z")
EXPORTED_RE = re.compile(r"\A[A-Z][A-Za-z0-9_]*\Z")  # what plugin.Lookup can find
# Target, type and service names become file and Docker image names: lowercase words
# joined by one '-' or '_' ("hello-world", "my_plugin"), no leading dash, no separators.
TARGET_NAME_RE = re.compile(r"\A[a-z0-9]+(?:[-_][a-z0-9]+)*\Z")
TARGET_NAME_FIX = ("use lowercase letters and digits, in words joined by one '-' or '_' "
                   "(e.g. 'hello-world', 'my_plugin')")
TAG_RE = re.compile(r"\A[A-Za-z0-9_.]+\Z")
BINARY_RE = re.compile(r"\A[A-Za-z0-9_][A-Za-z0-9_.+-]*\Z")
# One element of a Go import path or package folder: never '-' or '.' first, so never a
# flag, never '..'.
_ELEMENT = r"[A-Za-z0-9_~+][A-Za-z0-9_.~+-]*"
IMPORT_PATH_RE = re.compile(rf"\A{_ELEMENT}(?:/{_ELEMENT})*\Z")
# "." or "./cmd/x" (a folder of the host module) or "example.com/m/cmd/x" (an import path)
MAIN_PACKAGE_RE = re.compile(rf"\A(?:\.|(?:\./)?{_ELEMENT}(?:/{_ELEMENT})*)\Z")
# An -X variable: an import path, a dot, a Go identifier ("example.com/m/version.Version").
STAMP_VARIABLE_RE = re.compile(r"\A[A-Za-z0-9_~+][A-Za-z0-9_.~+/-]*\.[A-Za-z_][A-Za-z0-9_]*\Z")
IMAGE_RE = re.compile(r"\A[A-Za-z0-9][A-Za-z0-9._/:@+-]*\Z")
DEBIAN_PACKAGE_RE = re.compile(r"\A[a-z0-9][a-z0-9+.-]+\Z")
# A package of another architecture (dpkg multiarch): "musl-dev:arm64".
QUALIFIED_PACKAGE_RE = re.compile(r"\A[a-z0-9][a-z0-9+.-]+(?::[a-z0-9]+)?\Z")
IN_IMAGE_PATH_RE = re.compile(r"\A(?:/[A-Za-z0-9_.+-]+)+/?\Z")

# The placeholders each kind of template may use.
STAMP_FIELDS = ("version", "combination", "go", "libc", "arch", "service", "commit", "time")
PLUGIN_STAMP_FIELDS = ("commit", "time", "version", "combination", "go", "libc", "arch",
                       "type", "name")
FILE_FIELDS = ("type", "name")
CHECK_FIELDS = ("binary", "plugin")
HEALTHCHECK_FIELDS = ("binary", "port")
# What a stamp renders to at config time: real values where the config has them, and the
# shape of the values the build step fills in (a commit hash, an RFC 3339 time).
_SAMPLE_VALUES = {"commit": "0" * 40, "time": "2026-01-01T00:00:00Z", "go": "1.26.6",
                  "libc": "glibc", "arch": "amd64", "combination": "go1.26.6-glibc-amd64"}
# A Docker repository: an optional registry host[:port]/, then lowercase path components.
_COMPONENT = r"[a-z0-9]+(?:[._-][a-z0-9]+)*"
REPOSITORY_RE = re.compile(rf"\A(?:[A-Za-z0-9.-]+(?::[0-9]+)?/)?{_COMPONENT}(?:/{_COMPONENT})*\Z")
# The schema: the keys each table of buildconfig.toml may hold ("<name>" stands for a
# table named by the user, "[]" for an item of an array of tables). The parser checks
# against it and docs/configuration.md documents exactly these keys (a test compares).
SCHEMA: dict[str, tuple[str, ...]] = {
    "": ("project", "matrix", "libc", "host", "plugin_types", "plugins", "docker"),
    "project": ("artifacts", "results", "allow_outside_paths", "toolchain_cache", "backend"),
    "matrix": ("go", "libc", "arch", "exclude", "default"),
    "matrix.exclude[]": ("go", "libc", "arch"),
    "libc.<name>": ("cc", "cc_package", "builder_base", "runtime_base", "arch"),
    "libc.<name>.arch.<arch>": ("cc", "packages", "runtime_base", "emulator_prefix"),
    "host": ("module", "version", "trimpath", "tags", "plugin_dir", "stamp", "services",
             "ldflags", "gcflags", "workspace"),
    "host.services.<name>": ("main", "binary", "check", "healthcheck"),
    "plugin_types.<type>": ("service", "file", "entry_symbol", "required_symbols",
                            "name_contains", "template", "name_pattern", "names", "symbols",
                            "optional_symbols", "imports", "check"),
    "plugins[]": ("type", "name", "source", "stamp"),
    "docker": ("builder_repository", "service_repository", "bootstrap_suite",
               "bootstrap_mirror"),
}
# Packaged plugin templates: a plugin_types.<type>.template not found in the project is
# looked up here (src/plugin_builder/templates/<type>).
PACKAGE_DIR = Path(__file__).resolve().parent
PACKAGED_TEMPLATES = PACKAGE_DIR / "templates"
# The import path a Go type's package qualifier most likely comes from, for the fix.
_KNOWN_IMPORTS = {"http": "net/http", "url": "net/url", "context": "context", "io": "io",
                  "fs": "io/fs", "json": "encoding/json", "time": "time", "slog": "log/slog",
                  "sql": "database/sql", "net": "net", "os": "os"}


@dataclass(frozen=True)
class CrossToolchain:
    """[libc.<name>.arch.<arch>]: how to build for (and run binaries of) another arch."""

    arch: str  # GOARCH, e.g. "arm64"
    cc: str  # the cross C compiler cgo uses, e.g. "aarch64-linux-gnu-gcc"
    # The Debian packages that provide cc and the target's libc ("musl-dev:arm64" is a
    # package of another architecture, installed through dpkg multiarch).
    packages: tuple[str, ...]
    runtime_base: str = ""  # base image of this arch's service images
    # Where qemu finds the target's loader and libc (qemu -L); "": the known places.
    emulator_prefix: str = ""


@dataclass(frozen=True)
class Libc:
    name: str
    cc: str  # the C compiler cgo uses for this libc on amd64 (and on this machine's arch)
    cc_package: str  # the Debian package that provides cc, named in errors
    builder_base: str  # base image of builder images (issue: docker backend)
    runtime_base: str  # base image of amd64 service images
    cross: tuple[CrossToolchain, ...] = ()  # one per [libc.<name>.arch.<arch>] table

    def toolchain(self, arch: str) -> CrossToolchain | None:
        """The [libc.<name>.arch.<arch>] table, or None when the config has none."""
        return next((entry for entry in self.cross if entry.arch == arch), None)

    def cc_for(self, arch: str) -> str:
        """The compiler command for ``arch``: its table's cross compiler, else ``cc``."""
        entry = self.toolchain(arch)
        return entry.cc if entry is not None else self.cc

    def runtime_base_for(self, arch: str) -> tuple[str, str]:
        """(image, config key) of the runtime base of this arch's service images."""
        entry = self.toolchain(arch)
        if entry is not None:
            return entry.runtime_base, f"libc.{self.name}.arch.{arch}.runtime_base"
        if arch == "amd64":
            return self.runtime_base, f"libc.{self.name}.runtime_base"
        return "", f"libc.{self.name}.arch.{arch}.runtime_base"


@dataclass(frozen=True)
class Exclude:
    go: str | None = None
    libc: str | None = None
    arch: str | None = None

    def matches(self, combination: Combination) -> bool:
        return all(
            wanted is None or wanted == actual
            for wanted, actual in (
                (self.go, combination.go),
                (self.libc, combination.libc),
                (self.arch, combination.arch),
            )
        )


@dataclass(frozen=True)
class Matrix:
    go: tuple[str, ...]
    libc: tuple[str, ...]
    arch: tuple[str, ...]
    exclude: tuple[Exclude, ...]
    default: Combination

    @property
    def combinations(self) -> tuple[Combination, ...]:
        every = (Combination(g, lc, a) for g in self.go for lc in self.libc for a in self.arch)
        return tuple(c for c in every if not any(e.matches(c) for e in self.exclude))


@dataclass(frozen=True)
class Service:
    name: str
    main: str  # the main package, relative to the host module ("./cmd/scheduler")
    binary: str
    # argv template of the service's own plugin check; empty: none. A relative program
    # path ("./tools/check") is already absolute here, resolved against the config's folder.
    check: tuple[str, ...]
    # argv template of the image HEALTHCHECK (run inside the service image); empty: none
    healthcheck: tuple[str, ...] = ()

    def healthcheck_argv(self, binary: str, port: int) -> list[str]:
        return [part.format(binary=binary, port=port) for part in self.healthcheck]

    def check_argv(self, binary: Path, plugin: Path) -> list[str]:
        return check_argv(self.check, binary, plugin)


@dataclass(frozen=True)
class Host:
    module: Path  # absolute path of the host's Go module folder
    version: str
    trimpath: bool
    tags: tuple[str, ...]
    plugin_dir: str  # where service images put plugins
    stamp: Mapping[str, str]  # -X variable -> template
    services: Mapping[str, Service]
    ldflags: tuple[str, ...] = ()  # extra linker flags of the host build ("-s", "-w")
    gcflags: str = ""  # passed as -gcflags=<value> to host and plugins; "": none
    # A go.work the host is built through (GOWORK=<this path>); None: GOWORK=off.
    workspace: Path | None = None


class Symbol(NamedTuple):
    """A symbol of a plugin contract, with the Go type the host asserts it to."""

    name: str
    go_type: str | None  # "func(map[string]string) (any, map[string]string, error)"; None: unknown
    required: bool


@dataclass(frozen=True)
class PluginType:
    name: str
    service: str
    file: str  # file name template, e.g. "d7y-{type}-plugin-{name}.so"
    entry_symbol: str | None
    required_symbols: tuple[str, ...]
    name_contains: str | None  # Dragonfly's rule: a scheduler plugin's name has "evaluator"
    template: Path | None = None  # the folder `invoke new-plugin` renders for this type
    name_pattern: str | None = None  # a regular expression the whole name must match
    names: tuple[str, ...] = ()  # the only names allowed; empty: any
    typed_symbols: tuple[Symbol, ...] = ()  # from `symbols` and `optional_symbols`
    imports: tuple[str, ...] = ()  # the packages the typed symbols' Go types name
    check: tuple[str, ...] = ()  # check argv for this type; empty: the service's

    @property
    def symbols(self) -> tuple[str, ...]:
        """Every symbol a plugin of this type must export."""
        entry = (self.entry_symbol,) if self.entry_symbol else ()
        typed = tuple(s.name for s in self.typed_symbols if s.required)
        return tuple(dict.fromkeys(entry + self.required_symbols + typed))

    @property
    def contract_symbols(self) -> tuple[Symbol, ...]:
        """Every symbol of the contract, the required first, each with its Go type if known."""
        types = {s.name: s.go_type for s in self.typed_symbols}
        required = tuple(Symbol(name, types.get(name), True) for name in self.symbols)
        return required + tuple(s for s in self.typed_symbols if not s.required)

    @property
    def name_rule(self) -> str:
        """The naming rule in words: what a valid name of this type is."""
        rules = ["lowercase words joined by one '-' or '_'"]
        if self.names:
            rules.append("one of " + ", ".join(repr(n) for n in self.names))
        if self.name_contains:
            rules.append(f"containing {self.name_contains!r}")
        if self.name_pattern:
            rules.append(f"matching {self.name_pattern!r} as a whole")
        return ", ".join(rules)

    def name_problem(self, name: str) -> str | None:
        """Why ``name`` cannot name a plugin of this type, or None when it can."""
        if len(name) > MAX_NAME:
            return f"{_show(name)} is {len(name)} characters long: a name has at most {MAX_NAME}"
        if not TARGET_NAME_RE.fullmatch(name):
            return f"{_show(name)} is not a valid name ({TARGET_NAME_RE.pattern[2:-2]})"
        broken = f"{_show(name)} breaks the {self.name} naming rule: a {self.name} plugin's name"
        if self.names and name not in self.names:
            return f"{broken} must be one of: {', '.join(self.names)}"
        if self.name_contains and self.name_contains not in name:
            return f"{broken} must contain {self.name_contains!r}"
        if self.name_pattern and not re.fullmatch(self.name_pattern, name):
            return f"{broken} must match {self.name_pattern!r}"
        return None

    def file_name(self, plugin_name: str) -> str:
        return self.file.format(type=self.name, name=plugin_name)


@dataclass(frozen=True)
class PluginTarget:
    type: str
    name: str
    source: Path  # absolute path of the plugin's folder (its own Go module, unless in_tree)
    # True: the folder has no go.mod and is a package of the host module (built in the
    # host's module, like Dragonfly's in-tree plugins); False: it is its own module.
    in_tree: bool = False
    # -X variable -> template of this plugin's build ({commit} {time} {version} ...).
    stamp: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}),
                                     hash=False)

    @property
    def id(self) -> str:
        return f"{self.type}/{self.name}"


@dataclass(frozen=True)
class Docker:
    """[docker]: image names, and how `invoke bootstrap-base` makes base images offline."""

    builder_repository: str = "plugin-builder/builder"  # tagged <repository>:<combination>
    service_repository: str = "plugin-builder/{service}"  # tagged <repository>:<combination>
    bootstrap_suite: str = "bookworm"  # Debian release debootstrap installs
    bootstrap_mirror: str = "http://deb.debian.org/debian"

    def builder_tag(self, combination: Combination) -> str:
        return f"{self.builder_repository}:{combination.id}"

    def service_tag(self, service: str, combination: Combination) -> str:
        return f"{self.service_repository.format(service=service)}:{combination.id}"


@dataclass(frozen=True)
class Config:
    path: Path
    root: Path  # the project folder: the folder that holds the config file
    artifacts: Path
    results: Path  # results/<combination>.{json,xml} of pipeline runs
    toolchain_cache: Path
    backend: str
    matrix: Matrix
    libcs: Mapping[str, Libc]
    host: Host
    plugin_types: Mapping[str, PluginType]
    plugins: tuple[PluginTarget, ...] = field(default=())
    docker: Docker = field(default_factory=Docker)

    def artifact_dir(self, combination: Combination) -> Path:
        return self.artifacts / combination.id

    def check_command(self, plugin_type: PluginType | str) -> tuple[str, ...]:
        """The check argv template for plugins of this type: the type's, else its service's."""
        kind = self.plugin_types[plugin_type] if isinstance(plugin_type, str) else plugin_type
        return kind.check or self.host.services[kind.service].check

    def check_argv(self, plugin_type: PluginType | str, binary: Path, plugin: Path) -> list[str]:
        """The check command of this type, filled in; empty when there is none."""
        return check_argv(self.check_command(plugin_type), binary, plugin)


def check_argv(template: Sequence[str], binary: str | os.PathLike[str],
               plugin: str | os.PathLike[str]) -> list[str]:
    """A check command template with {binary} and {plugin} filled in."""
    return [part.format(binary=os.fspath(binary), plugin=os.fspath(plugin)) for part in template]


def load(path: str | os.PathLike[str] = CONFIG_NAME) -> Config:
    """Read and validate a buildconfig.toml; raise ConfigError on the first problem."""
    path = Path(path).absolute()
    text = _read_text(path)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(path.name, None, f"TOML syntax error: {exc}",
                          fix="correct the syntax at that line") from None
    except RecursionError:
        raise ConfigError(path.name, None, "arrays or tables are nested too deeply",
                          fix="flatten the file: no key needs more than a few levels") from None
    return _Parser(path).config(data)


def _read_text(path: Path) -> str:
    """The file's text, or a ConfigError that says why it cannot be read."""
    name = path.name or str(path)
    try:
        if path.is_dir():
            raise ConfigError(name, None, f"{path} is a folder, not a config file",
                              fix=f"pass the file itself: --config {path / CONFIG_NAME}")
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise ConfigError(name, None, f"{path} is {size} bytes; a config is at most "
                                          f"{MAX_FILE_BYTES} bytes",
                              fix="pass the right file: --config PATH/buildconfig.toml")
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(name, None, f"no such file: {path}",
                          fix="run from the project folder or pass --config PATH") from None
    except PermissionError:
        raise ConfigError(name, None, f"cannot read {path}: permission denied",
                          fix=f"make it readable: chmod u+r {path}") from None
    except OSError as exc:
        raise ConfigError(name, None, f"cannot read {path}: {exc.strerror or exc}",
                          fix="pass the path of a readable file with --config PATH") from None
    return _decode(name, raw)


def _decode(name: str, raw: bytes) -> str:
    try:
        return raw.decode("utf-8-sig")  # a leading byte-order mark is harmless
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        raise ConfigError(name, None, f"is not UTF-8 text: byte 0x{raw[exc.start]:02x} on "
                                      f"line {line}",
                          fix="save the file as UTF-8 (TOML files are UTF-8), e.g. "
                              f"iconv -f latin1 -t utf-8 {name}") from None


def default_toolchain_cache() -> Path:
    """$PLUGIN_BUILDER_CACHE/toolchains, else the user's cache folder."""
    if os.environ.get("PLUGIN_BUILDER_CACHE"):
        return Path(os.environ["PLUGIN_BUILDER_CACHE"]).expanduser().resolve() / "toolchains"
    base = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
    return Path(base) / "plugin-builder" / "toolchains"


def did_you_mean(word: str, choices: Any) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else ""


_TYPE_NAMES = {str: "a string", bool: "true or false", int: "an integer",
               list: "an array", dict: "a table"}
_TYPE_EXAMPLES = {str: '"text"', bool: "true", int: "1", list: '["a", "b"]',
                  dict: '{ key = "value" } or a [section]'}
# Characters no config string may hold: C0 and C1 controls (NUL, tab, newline ...), DEL,
# line and paragraph separators, and bidirectional overrides that make text read unlike
# what it is.
_BIDI_CONTROLS = frozenset("\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_CONTROL_NAMES = {"\0": "NUL", "\t": "a tab", "\n": "a line feed", "\r": "a carriage return",
                  "\x7f": "DEL"}


def _control_character(text: str) -> tuple[int, str] | None:
    """The position and name of the first character a config string may not hold."""
    for index, char in enumerate(text):
        if char in _BIDI_CONTROLS or unicodedata.category(char) in ("Cc", "Zl", "Zp"):
            return index, _CONTROL_NAMES.get(char, f"U+{ord(char):04X}")
    return None


class _Parser:
    """Walks the TOML document; each method validates one section."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.root = path.parent
        self.real_root = path.parent.resolve()
        self.allow_outside = False

    def error(self, key: str | None, problem: str, fix: str | None = None) -> ConfigError:
        return ConfigError(self.path.name, key, problem, fix=fix)

    # -- generic checks --------------------------------------------------------------

    def plain_data(self, value: Any, key: str, depth: int = 0) -> None:
        """Every string of the document, keys too, is bounded single-line text."""
        if depth > MAX_DEPTH:
            raise self.error(key, "is nested too deeply", fix="flatten it")
        if isinstance(value, str):
            self.plain_text(key, value)
        elif isinstance(value, dict):
            for name, item in value.items():
                self.plain_text(_join(key, _show(name)), name, what="key")
                self.plain_data(item, _join(key, name), depth + 1)
        elif isinstance(value, list):
            if len(value) > MAX_ITEMS:
                raise self.error(key, f"has {len(value)} items; an array has at most {MAX_ITEMS}",
                                 fix="list only what the build needs")
            for index, item in enumerate(value):
                self.plain_data(item, f"{key}[{index}]", depth + 1)

    def plain_text(self, key: str, value: str, what: str = "value") -> None:
        if len(value) > MAX_TEXT:
            raise self.error(key, f"the {what} {_show(value)} is too long: at most "
                                  f"{MAX_TEXT} characters", fix="shorten it")
        control = _control_character(value)
        if control is not None:
            index, name = control
            raise self.error(key, f"the {what} {_show(value)} contains {name} at position "
                                  f"{index}",
                             fix="remove it: a config string is one line of printable text "
                                 "(use spaces, not tabs)")

    def table(self, data: Any, key: str, known: tuple[str, ...],
              required: tuple[str, ...] = ()) -> dict[str, Any]:
        """data as a table whose keys are all known and whose required keys exist."""
        if not isinstance(data, dict):
            raise self.error(key, f"expected a table, got {_describe(data)}",
                             fix=f"write it as {_TYPE_EXAMPLES[dict]}")
        for name in data:
            if name not in known:
                hint = did_you_mean(name, known)
                known_list = ", ".join(known)
                raise self.error(_join(key, name), "unknown key",
                                 fix=hint or f"the keys here are: {known_list}")
        for name in required:
            if name not in data:
                raise self.error(_join(key, name), "missing required key",
                                 fix=f"add {name} = ... under [{key or 'top level'}]")
        return data

    def value(self, data: dict[str, Any], key: str, name: str, kind: type,
              default: Any = None) -> Any:
        if name not in data:
            return default
        value = data[name]
        # bool is an int in Python; TOML keeps them apart, and so do we.
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise self.error(_join(key, name),
                             f"expected {_TYPE_NAMES[kind]}, got {_describe(value)}",
                             fix=f"write it as {_TYPE_EXAMPLES[kind]}")
        return value

    def strings(self, data: dict[str, Any], key: str, name: str,
                default: tuple[str, ...] = ()) -> tuple[str, ...]:
        items = self.value(data, key, name, list, default=list(default))
        for index, item in enumerate(items):
            if not isinstance(item, str):
                raise self.error(f"{_join(key, name)}[{index}]",
                                 f"expected a string, got {_describe(item)}",
                                 fix="quote it: every item of this array is a string")
        return tuple(items)

    def distinct(self, key: str, items: tuple[str, ...]) -> tuple[str, ...]:
        for index, item in enumerate(items):
            if item in items[:index]:
                raise self.error(key, f"'{item}' is listed twice",
                                 fix="list each value once")
        return items

    def unique_strings(self, data: dict[str, Any], key: str, name: str,
                       default: tuple[str, ...] = ()) -> tuple[str, ...]:
        items = self.distinct(_join(key, name), self.strings(data, key, name, default))
        if not items:
            raise self.error(_join(key, name), "is empty", fix="list at least one value")
        return items

    def resolve(self, key: str, value: str, base: Path | None = None) -> Path:
        """value as an absolute path, symlinks resolved; relative to the project folder."""
        try:
            return ((base or self.root) / os.path.expanduser(value)).resolve()
        except (OSError, RuntimeError) as exc:  # a symlink loop
            raise self.error(key, f"{_show(value)} cannot be resolved: {exc}",
                             fix="remove the symlink loop or name another path") from None

    def project_path(self, key: str, value: str) -> Path:
        """A path from the config, resolved against the project folder, kept inside it."""
        if not value:
            raise self.error(key, "is empty", fix="name a path relative to the project folder")
        path = self.resolve(key, value)
        if not self.allow_outside and not path.is_relative_to(self.real_root):
            raise self.error(key, f"'{value}' leaves the project folder {self.root} "
                                  f"(it resolves to {path})",
                             fix="use a path inside the project, or set "
                                 "[project] allow_outside_paths = true")
        return path

    def template(self, key: str, value: str, fields: tuple[str, ...]) -> str:
        """value as a str.format template that uses only these plain placeholders."""
        allowed = ", ".join("{" + f + "}" for f in fields) or "no placeholder"
        try:
            parts = list(string.Formatter().parse(value))
        except ValueError as exc:
            raise self.error(key, f"{_show(value)} is not a valid template: {exc}",
                             fix="close every '{' with '}' (write a literal brace as '{{' or "
                                 f"'}}}}'); placeholders here: {allowed}") from None
        for _, placeholder, spec, conversion in parts:
            if placeholder is None:
                continue
            if placeholder not in fields:
                raise self.error(key, f"unknown placeholder {{{placeholder}}} in '{value}'",
                                 fix=f"use only {allowed}")
            if spec or conversion:
                raise self.error(key, f"placeholder {{{placeholder}}} in '{value}' has a "
                                      "conversion or format spec",
                                 fix=f"write it plainly as {{{placeholder}}}")
        return value

    # -- sections --------------------------------------------------------------------

    def config(self, data: dict[str, Any]) -> Config:
        self.plain_data(data, "")
        self.table(data, "", SCHEMA[""], required=("matrix", "libc", "host", "plugin_types"))
        project = self.table(data.get("project", {}), "project", SCHEMA["project"])
        self.allow_outside = self.value(project, "project", "allow_outside_paths", bool, False)
        libcs = self.libcs(data["libc"])
        matrix = self.matrix(data["matrix"], libcs)
        host = self.host(data["host"])
        plugin_types = self.plugin_types(data["plugin_types"], host)
        plugins = self.plugins(data.get("plugins", []), plugin_types, host)
        self.file_collisions(plugin_types, plugins)
        artifacts, results = self.output_folders(project, host, plugin_types, plugins)
        return Config(
            path=self.path,
            root=self.root,
            artifacts=artifacts,
            results=results,
            toolchain_cache=self.toolchain_cache(project),
            backend=self.backend(project),
            matrix=matrix,
            libcs=MappingProxyType(libcs),
            host=host,
            plugin_types=MappingProxyType(plugin_types),
            plugins=plugins,
            docker=self.docker(data.get("docker", {})),
        )

    def backend(self, project: dict[str, Any]) -> str:
        backend: str = self.value(project, "project", "backend", str, "local")
        if backend not in BACKENDS:
            raise self.error("project.backend", f"unknown backend '{backend}'",
                             fix=f"use one of: {', '.join(BACKENDS)}")
        return backend

    def docker(self, data: Any) -> Docker:
        data = self.table(data, "docker", SCHEMA["docker"])
        default = Docker()
        values = {name: self.value(data, "docker", name, str, getattr(default, name))
                  for name in data}
        for name in ("builder_repository", "service_repository"):
            if name in values:
                self.repository(f"docker.{name}", values[name], name == "service_repository")
        mirror = values.get("bootstrap_mirror", default.bootstrap_mirror)
        if not mirror.startswith(("http://", "https://", "file:/")) or " " in mirror:
            raise self.error("docker.bootstrap_mirror", f"'{mirror}' is not a URL",
                             fix="give a Debian mirror, e.g. \"http://deb.debian.org/debian\"")
        if not NAME_RE.fullmatch(values.get("bootstrap_suite", default.bootstrap_suite)):
            raise self.error("docker.bootstrap_suite", "is not a Debian suite name",
                             fix="for example \"bookworm\"")
        return Docker(**values)

    def repository(self, key: str, value: str, per_service: bool) -> None:
        fields = ("service",) if per_service else ()
        self.template(key, value, fields)
        if per_service and "{service}" not in value:
            raise self.error(key, f"'{value}' does not contain {{service}}",
                             fix="every service needs its own repository, e.g. "
                                 "\"plugin-builder/{service}\"")
        if not REPOSITORY_RE.fullmatch(value.replace("{service}", "x")):
            raise self.error(key, f"'{value}' is not a Docker repository name",
                             fix="use lowercase letters, digits, '.', '_', '-' and '/', "
                                 "without a tag")

    def toolchain_cache(self, project: dict[str, Any]) -> Path:
        # A machine-wide cache shared by every project, so an absolute (or ~) path may
        # live outside this one; a relative path is the project's own and stays inside.
        configured = self.value(project, "project", "toolchain_cache", str, "")
        if not configured:
            return default_toolchain_cache()
        if os.path.isabs(os.path.expanduser(configured)):
            return self.resolve("project.toolchain_cache", configured)
        return self.project_path("project.toolchain_cache", configured)

    def libcs(self, data: Any) -> dict[str, Libc]:
        self.table(data, "libc", tuple(data) if isinstance(data, dict) else ())
        libcs = {name: self.libc(name, section) for name, section in data.items()}
        if not libcs:
            raise self.error("libc", "no libc is declared",
                             fix="add [libc.glibc] with cc = \"gcc\"")
        return libcs

    def libc(self, name: str, data: Any) -> Libc:
        key = f"libc.{name}"
        self.simple_name(key, name)
        data = self.table(data, key, SCHEMA["libc.<name>"], required=("cc",))
        cc = self.compiler(f"{key}.cc", self.value(data, key, "cc", str))
        package = self.value(data, key, "cc_package", str)
        if package is not None and not DEBIAN_PACKAGE_RE.fullmatch(package):
            raise self.error(f"{key}.cc_package", f"{_show(package)} is not a Debian "
                                                  "package name",
                             fix="name the package that installs the compiler, e.g. "
                                 "\"musl-tools\"")
        return Libc(name=name, cc=cc, cc_package=package or cc,
                    builder_base=self.image(data, key, "builder_base"),
                    runtime_base=self.image(data, key, "runtime_base"),
                    cross=self.cross_toolchains(key, self.value(data, key, "arch", dict, {})))

    def compiler(self, key: str, cc: str) -> str:
        if not cc.strip() or cc.startswith("-"):
            raise self.error(key, f"{_show(cc)} is not a C compiler command",
                             fix="name the compiler, e.g. cc = \"gcc\" or \"musl-gcc\"")
        return cc

    def cross_toolchains(self, key: str, data: dict[str, Any]) -> tuple[CrossToolchain, ...]:
        """[libc.<name>.arch.<arch>] tables: the cross compiler of each other arch."""
        entries = []
        for arch, section in data.items():
            where = f"{key}.arch.{arch}"
            self.known(where, arch, KNOWN_ARCHES, "arch", "supported arch")
            section = self.table(section, where, SCHEMA["libc.<name>.arch.<arch>"],
                                 required=("cc",))
            cc = self.compiler(f"{where}.cc", self.value(section, where, "cc", str))
            packages = self.distinct(f"{where}.packages",
                                     self.strings(section, where, "packages"))
            for index, package in enumerate(packages):
                if not QUALIFIED_PACKAGE_RE.fullmatch(package):
                    raise self.error(f"{where}.packages[{index}]",
                                     f"{_show(package)} is not a Debian package name",
                                     fix="name a package, with :<arch> for one of another "
                                         "architecture, e.g. \"gcc-aarch64-linux-gnu\" or "
                                         "\"musl-dev:arm64\"")
            prefix = self.value(section, where, "emulator_prefix", str, "")
            if prefix and (prefix != "/" and not IN_IMAGE_PATH_RE.fullmatch(prefix)
                           or "/../" in f"{prefix}/"):
                raise self.error(f"{where}.emulator_prefix",
                                 f"{_show(prefix)} is not an absolute folder path",
                                 fix="name the folder that holds the target's lib/ld-*.so.1, "
                                     "e.g. \"/usr/aarch64-linux-gnu\"")
            entries.append(CrossToolchain(arch=arch, cc=cc, packages=packages or (cc,),
                                          runtime_base=self.image(section, where,
                                                                  "runtime_base"),
                                          emulator_prefix=prefix))
        return tuple(entries)

    def image(self, data: dict[str, Any], key: str, name: str) -> str:
        value: str = self.value(data, key, name, str, "")
        if value and not IMAGE_RE.fullmatch(value):
            raise self.error(f"{key}.{name}", f"{_show(value)} is not an image reference",
                             fix="name an image, e.g. \"debian:bookworm-slim\"")
        return value

    def go_version(self, key: str, value: str) -> str:
        if not GO_VERSION_RE.fullmatch(value):
            raise self.error(key, f"'{value}' is not a Go release version",
                             fix="give a full release such as \"1.26.6\"")
        return value

    def matrix(self, data: Any, libcs: dict[str, Libc]) -> Matrix:
        data = self.table(data, "matrix", SCHEMA["matrix"],
                          required=("go", "libc", "default"))
        go = self.unique_strings(data, "matrix", "go")
        for index, version in enumerate(go):
            self.go_version(f"matrix.go[{index}]", version)
        libc = self.unique_strings(data, "matrix", "libc")
        for index, name in enumerate(libc):
            self.known(f"matrix.libc[{index}]", name, libcs, "libc", "[libc.NAME] table")
        arch = self.unique_strings(data, "matrix", "arch", ("amd64",))
        for index, name in enumerate(arch):
            self.known(f"matrix.arch[{index}]", name, KNOWN_ARCHES, "arch", "supported arch")
        excludes = self.excludes(data, go, libc, arch)
        default = self.default_combination(self.value(data, "matrix", "default", str))
        matrix = Matrix(go, libc, arch, excludes, default)
        if not matrix.combinations:
            raise self.error("matrix.exclude", "excludes every combination",
                             fix="remove an exclude so at least one combination is left")
        if default not in matrix.combinations:
            choices = ", ".join(c.id for c in matrix.combinations)
            raise self.error("matrix.default", f"'{default.id}' is not in the matrix",
                             fix=f"use one of: {choices}")
        return matrix

    def excludes(self, data: dict[str, Any], go: tuple[str, ...], libc: tuple[str, ...],
                 arch: tuple[str, ...]) -> tuple[Exclude, ...]:
        excludes: list[Exclude] = []
        for index, item in enumerate(self.value(data, "matrix", "exclude", list, [])):
            exclude = self.exclude(f"matrix.exclude[{index}]", item, go, libc, arch)
            if exclude in excludes:
                raise self.error(f"matrix.exclude[{index}]",
                                 f"repeats matrix.exclude[{excludes.index(exclude)}]",
                                 fix="list each exclude once")
            excludes.append(exclude)
        return tuple(excludes)

    def default_combination(self, value: str) -> Combination:
        combination = Combination.parse(value)
        if combination is None:
            raise self.error("matrix.default", f"'{value}' is not a combination identifier",
                             fix="write go<version>-<libc>-<arch>, e.g. \"go1.26.6-glibc-amd64\"")
        return combination

    def exclude(self, key: str, data: Any, go: tuple[str, ...], libc: tuple[str, ...],
                arch: tuple[str, ...]) -> Exclude:
        data = self.table(data, key, SCHEMA["matrix.exclude[]"])
        if not data:
            raise self.error(key, "an empty exclude would drop every combination",
                             fix="name go, libc or arch")
        values = {}
        for name, allowed in (("go", go), ("libc", libc), ("arch", arch)):
            value = self.value(data, key, name, str)
            if value is not None:
                self.known(_join(key, name), value, allowed, name, f"value in matrix.{name}")
            values[name] = value
        return Exclude(**values)

    def known(self, key: str, value: str, choices: Any, what: str, where: str) -> None:
        if value not in choices:
            hint = did_you_mean(value, choices)
            listed = ", ".join(choices)
            raise self.error(key, f"unknown {what} '{value}'",
                             fix=f"{hint + ' ' if hint else ''}use a {where}: {listed}")

    def name(self, key: str, value: str) -> str:
        """A target, type or service name: lowercase words joined by '-' or '_'."""
        self.short(key, value)
        if not TARGET_NAME_RE.fullmatch(value):
            raise self.error(key, f"'{value}' is not a valid name", fix=TARGET_NAME_FIX)
        return value

    def simple_name(self, key: str, value: str) -> str:
        """A libc name: part of the combination id, so letters and digits only."""
        self.short(key, value)
        if not NAME_RE.fullmatch(value):
            raise self.error(key, f"'{value}' is not a valid name",
                             fix="use only lowercase letters and digits ([a-z0-9]+): it is part "
                                 "of combination ids such as go1.26.6-musl-amd64")
        return value

    def short(self, key: str, value: str) -> None:
        if len(value) > MAX_NAME:
            raise self.error(key, f"{_show(value)} is {len(value)} characters long",
                             fix=f"use a name of at most {MAX_NAME} characters")

    # -- host ------------------------------------------------------------------------

    def host(self, data: Any) -> Host:
        data = self.table(data, "host", SCHEMA["host"], required=("module", "services"))
        module = self.project_path("host.module", self.value(data, "host", "module", str))
        if not (module / "go.mod").is_file():
            raise self.error("host.module", f"{module} has no go.mod",
                             fix="point host.module at the host's Go module folder")
        version = self.value(data, "host", "version", str, "0.0.0")
        services = self.services(self.value(data, "host", "services", dict))
        samples = {**_SAMPLE_VALUES, "version": version, "service": next(iter(services))}
        return Host(
            module=module,
            version=version,
            trimpath=self.value(data, "host", "trimpath", bool, True),
            tags=self.tags(data),
            plugin_dir=self.plugin_dir(data),
            stamp=self.stamp("host.stamp", self.value(data, "host", "stamp", dict, {}),
                             STAMP_FIELDS, samples),
            services=MappingProxyType(services),
            ldflags=self.ldflags(data),
            gcflags=self.gcflags(data),
            workspace=self.workspace(data, module),
        )

    def tags(self, data: dict[str, Any]) -> tuple[str, ...]:
        tags = self.distinct("host.tags", self.strings(data, "host", "tags"))
        for index, tag in enumerate(tags):
            if not TAG_RE.fullmatch(tag):
                raise self.error(f"host.tags[{index}]", f"{_show(tag)} is not a build tag",
                                 fix="a tag is letters, digits, '_' and '.', e.g. \"netgo\"")
        return tags

    def plugin_dir(self, data: dict[str, Any]) -> str:
        value: str = self.value(data, "host", "plugin_dir", str, "/usr/local/dragonfly/plugins")
        if not IN_IMAGE_PATH_RE.fullmatch(value) or "/../" in f"{value}/":
            raise self.error("host.plugin_dir", f"{_show(value)} is not an absolute folder "
                                                "path in the image",
                             fix="for example \"/usr/local/dragonfly/plugins\"")
        return value

    def stamp(self, key: str, table: dict[str, Any], fields: tuple[str, ...],
              samples: Mapping[str, str]) -> Mapping[str, str]:
        """-X variable -> template; each renders to one word the go command can pass on."""
        for variable in table:
            item = _join(key, variable)
            if not STAMP_VARIABLE_RE.fullmatch(variable):
                raise self.error(item, f"{_show(variable)} is not a Go variable to stamp",
                                 fix="name it <import path>.<variable>, e.g. "
                                     "\"example.com/host/version.Version\" or \"main.version\"")
            self.template(item, self.value(table, key, variable, str), fields)
            self.linker_word(item, f"-X={variable}={table[variable].format(**samples)}")
        return MappingProxyType(dict(table))

    def linker_word(self, key: str, word: str) -> None:
        # The go command splits -ldflags on spaces and takes a quoted word verbatim
        # (cmd/internal/quoted): a word with a space can be quoted with ' or ", not both.
        if any(c.isspace() for c in word) and "'" in word and '"' in word:
            raise self.error(key, f"renders to {_show(word)}, which holds a space and both "
                                  "kinds of quote, so the go command cannot pass it",
                             fix="drop the ' or the \" from the value (or from host.version)")

    def ldflags(self, data: dict[str, Any]) -> tuple[str, ...]:
        flags = self.strings(data, "host", "ldflags")
        for index, flag in enumerate(flags):
            self.ldflag(f"host.ldflags[{index}]", flag, flags[index + 1:index + 2])
        return flags

    def ldflag(self, key: str, flag: str, following: tuple[str, ...]) -> None:
        if not re.fullmatch(r"-[^\s'\"]+", flag):
            raise self.error(key, f"{_show(flag)} is not one linker flag",
                             fix='each item is one word starting with \'-\', a value after '
                                 '\'=\': ldflags = ["-s", "-w", "-linkmode=external"]')
        name, has_value, value = flag.lstrip("-").partition("=")
        value = value if has_value else "".join(following)
        dynamic = "plugins need a dynamically linked cgo host"
        if name == "X":
            raise self.error(key, f"{_show(flag)} sets a variable",
                             fix="stamp variables in [host.stamp] (\"pkg.Var\" = \"{version}\"), "
                                 "which also puts them in the build's inputs")
        if name == "d" or (name == "extldflags" and "-static" in value):
            raise self.error(key, f"{_show(flag)} links the host statically: {dynamic}",
                             fix="remove it; the host must stay dynamically linked")
        if name == "linkmode" and value == "internal":
            raise self.error(key, f"{_show(flag)} links without the C linker: {dynamic}",
                             fix="remove it (the default external link mode is what plugins "
                                 "need)")

    def gcflags(self, data: dict[str, Any]) -> str:
        value: str = self.value(data, "host", "gcflags", str, "")
        if value and _go_split(value) is None:
            raise self.error("host.gcflags", f"{_show(value)} has an unterminated quote",
                             fix="close the quote, e.g. gcflags = \"all=-N -l\"")
        return value

    def workspace(self, data: dict[str, Any], module: Path) -> Path | None:
        value = self.value(data, "host", "workspace", str)
        if value is None:
            return None
        path = self.project_path("host.workspace", value)
        fix = "name the host's go.work file, e.g. workspace = \"go.work\""
        if path.is_dir():
            raise self.error("host.workspace", f"{path} is a folder, not a go.work file", fix=fix)
        if not path.is_file():
            raise self.error("host.workspace", f"no go.work file at {path}", fix=fix)
        uses = self.workspace_uses(path)
        if module not in uses:
            relative = os.path.relpath(module, path.parent)
            raise self.error("host.workspace", f"{path} does not use the host module {module}",
                             fix=f"add 'use {relative}' to {path.name}, or drop host.workspace")
        return path

    def workspace_uses(self, path: Path) -> list[Path]:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise self.error("host.workspace", f"cannot read {path}: {exc}",
                             fix="name a readable UTF-8 go.work file") from None
        return [self.resolve("host.workspace", use, path.parent) for use in _go_work_uses(text)]

    def services(self, data: dict[str, Any]) -> dict[str, Service]:
        if not data:
            raise self.error("host.services", "no service is declared",
                             fix="add [host.services.NAME] with main = \"./cmd/NAME\"")
        services: dict[str, Service] = {}
        for name, section in data.items():
            service = self.service(name, section)
            owner = next((s.name for s in services.values() if s.binary == service.binary), None)
            if owner is not None:
                raise self.error(f"host.services.{name}.binary",
                                 f"'{service.binary}' is also the binary of service {owner}: "
                                 "one would overwrite the other in bin/",
                                 fix=f"give one of them another binary, e.g. binary = \"{name}\"")
            services[name] = service
        return services

    def service(self, name: str, data: Any) -> Service:
        key = f"host.services.{name}"
        self.name(key, name)
        data = self.table(data, key, SCHEMA["host.services.<name>"], required=("main",))
        healthcheck = self.argv(data, key, "healthcheck", HEALTHCHECK_FIELDS)
        return Service(
            name=name,
            main=self.main_package(f"{key}.main", self.value(data, key, "main", str)),
            binary=self.binary(f"{key}.binary", self.value(data, key, "binary", str, name)),
            check=self.check(data, key),
            healthcheck=healthcheck,
        )

    def main_package(self, key: str, value: str) -> str:
        if value.startswith("-"):
            raise self.error(key, f"{_show(value)} starts with '-', so go would read it as "
                                  "a flag, not a package",
                             fix="name the main package: \"./cmd/NAME\" (relative to the host "
                                 "module) or its import path")
        if not MAIN_PACKAGE_RE.fullmatch(value):
            raise self.error(key, f"{_show(value)} is not a package path inside the host module",
                             fix="use \"./cmd/NAME\" or an import path such as "
                                 "\"example.com/host/cmd/NAME\" (no '..', no absolute path)")
        return value

    def binary(self, key: str, value: str) -> str:
        if len(value) > MAX_NAME or not BINARY_RE.fullmatch(value):
            raise self.error(key, f"{_show(value)} is not a plain file name",
                             fix="name the file in bin/: letters, digits, '_', '.', '+', '-', "
                                 "no '/', not starting with '-' or '.'")
        return value

    def argv(self, data: dict[str, Any], key: str, name: str,
             fields: tuple[str, ...]) -> tuple[str, ...]:
        """An argv template: a program, then arguments, each with these placeholders."""
        argv = self.strings(data, key, name)
        for index, part in enumerate(argv):
            self.template(f"{key}.{name}[{index}]", part, fields)
        if argv and (not argv[0].strip() or argv[0].startswith("-")):
            raise self.error(f"{key}.{name}[0]", f"{_show(argv[0])} is not a program",
                             fix=f"start with the program, e.g. {name} = "
                                 "[\"{binary}\", \"check-plugin\", \"{plugin}\"]")
        return argv

    def check(self, data: dict[str, Any], key: str) -> tuple[str, ...]:
        argv = self.argv(data, key, "check", CHECK_FIELDS)
        if not argv:
            return ()
        if not any("{plugin}" in part for part in argv):
            raise self.error(f"{key}.check", "does not name {plugin}, so it checks no plugin",
                             fix="pass the plugin, e.g. "
                                 "check = [\"{binary}\", \"check-plugin\", \"{plugin}\"]")
        return (self.check_program(f"{key}.check[0]", argv[0]),) + argv[1:]

    def check_program(self, key: str, program: str) -> str:
        """A relative program path ("./tools/check") is the project's: made absolute here,
        so the check runs the same from any folder. Names and {binary} stay as they are."""
        if "/" not in program or os.path.isabs(program) or _placeholders(program):
            return program
        literal = program.replace("{{", "{").replace("}}", "}")
        self.project_path(key, literal)  # confined after symlinks, but run by its own name:
        path = str(self.root / literal)  # a multi-call binary reads its argv[0]
        return path.replace("{", "{{").replace("}", "}}")

    # -- plugin types ----------------------------------------------------------------

    def plugin_types(self, data: Any, host: Host) -> dict[str, PluginType]:
        self.table(data, "plugin_types", tuple(data) if isinstance(data, dict) else ())
        if not data:
            raise self.error("plugin_types", "no plugin type is declared",
                             fix="add [plugin_types.NAME] with service and file")
        types = {name: self.plugin_type(name, section, host) for name, section in data.items()}
        self.same_file_patterns(types)
        return types

    def plugin_type(self, name: str, data: Any, host: Host) -> PluginType:
        key = f"plugin_types.{name}"
        self.name(key, name)
        data = self.table(data, key, SCHEMA["plugin_types.<type>"], required=("service", "file"))
        service = self.value(data, key, "service", str)
        self.known(f"{key}.service", service, host.services, "service",
                   "service of [host.services]")
        entry, required = self.untyped_symbols(key, data)
        typed = self.typed_symbols(key, data, (entry,) if entry else (), required)
        plugin_type = PluginType(
            name=name, service=service, file=self.file_pattern(key, data, name),
            entry_symbol=entry, required_symbols=required,
            name_contains=self.name_contains(key, data),
            template=self.plugin_template(key, data),
            name_pattern=self.name_pattern(key, data),
            typed_symbols=typed, imports=self.imports(key, data, typed),
            check=self.check(data, key))
        return self.allowed_names(key, data, plugin_type)

    def file_pattern(self, key: str, data: dict[str, Any], type_name: str) -> str:
        file = self.template(f"{key}.file", self.value(data, key, "file", str), FILE_FIELDS)
        if "{name}" not in file or not file.endswith(".so"):
            raise self.error(f"{key}.file", f"'{file}' must contain {{name}} and end in .so",
                             fix="for example \"d7y-{type}-plugin-{name}.so\"")
        sample = file.format(type=type_name, name="x")
        if "/" in sample or "\\" in sample or sample.startswith(("-", ".")):
            raise self.error(f"{key}.file", f"'{file}' gives '{sample}', which is not a plain "
                                            "file name",
                             fix="no '/' and no leading '-' or '.': plugins land in "
                                 "<artifacts>/<combination>/plugins/, e.g. \"{name}.so\"")
        return file

    def same_file_patterns(self, types: dict[str, PluginType]) -> None:
        # Without {type}, two types with one pattern put same-named plugins on one file.
        seen: dict[str, str] = {}
        for plugin_type in types.values():
            if "{type}" in plugin_type.file:
                continue
            other = seen.setdefault(plugin_type.file, plugin_type.name)
            if other != plugin_type.name:
                raise self.error(f"plugin_types.{plugin_type.name}.file",
                                 f"'{plugin_type.file}' is also the pattern of type {other}: "
                                 "plugins of both with one name would land on one file",
                                 fix="put {type} in one of them, e.g. \"{type}-{name}.so\"")

    def untyped_symbols(self, key: str, data: dict[str, Any]) -> tuple[str | None, tuple[str, ...]]:
        required = self.strings(data, key, "required_symbols")
        entry = self.value(data, key, "entry_symbol", str)
        for index, symbol in enumerate(((entry,) if entry else ()) + required):
            if len(symbol) > MAX_NAME or not IDENTIFIER_RE.fullmatch(symbol):
                field_name = "entry_symbol" if entry and index == 0 else "required_symbols"
                raise self.error(f"{key}.{field_name}",
                                 f"'{symbol}' is not a Go identifier",
                                 fix="name an exported Go function or variable")
        return entry, required

    def typed_symbols(self, key: str, data: dict[str, Any], entry: tuple[str, ...],
                      required: tuple[str, ...]) -> tuple[Symbol, ...]:
        must = self.symbol_table(key, data, "symbols", required=True)
        may = self.symbol_table(key, data, "optional_symbols", required=False)
        needed = {s.name for s in must} | set(entry) | set(required)
        for symbol in may:
            if symbol.name in needed:
                raise self.error(f"{key}.optional_symbols.{symbol.name}",
                                 f"{symbol.name} is also a required symbol of this type",
                                 fix="list it either as required or as optional, not both")
        return must + may

    def symbol_table(self, key: str, data: dict[str, Any], name: str,
                     required: bool) -> tuple[Symbol, ...]:
        table = self.value(data, key, name, dict, {})
        symbols = []
        for symbol, go_type in table.items():
            item = f"{key}.{name}.{symbol}"
            if len(symbol) > MAX_NAME or not EXPORTED_RE.fullmatch(symbol):
                raise self.error(item, f"{_show(symbol)} is not an exported Go identifier",
                                 fix="plugin.Lookup finds only exported names: start it with an "
                                     "upper-case letter, e.g. \"Init\"")
            self.value(table, f"{key}.{name}", symbol, str)
            symbols.append(Symbol(symbol, self.go_type(item, go_type), required))
        return tuple(symbols)

    def go_type(self, key: str, value: str) -> str:
        """A Go type written on one line, as the host asserts the symbol to."""
        example = "e.g. \"func(map[string]string) (any, map[string]string, error)\" or \"*string\""
        problem = _go_type_problem(value)
        if problem:
            raise self.error(key, f"{_show(value)} is not a Go type: {problem}",
                             fix=f"write the type the host asserts the symbol to, {example}")
        return value.strip()

    def imports(self, key: str, data: dict[str, Any],
                symbols: tuple[Symbol, ...]) -> tuple[str, ...]:
        imports = self.distinct(f"{key}.imports", self.strings(data, key, "imports"))
        for index, path in enumerate(imports):
            if not IMPORT_PATH_RE.fullmatch(path):
                raise self.error(f"{key}.imports[{index}]", f"{_show(path)} is not an import path",
                                 fix="for example \"context\" or \"net/http\"")
        offered = {name: path for path in imports for name in _package_names(path)}
        used: set[str] = set()
        for symbol in symbols:
            for qualifier in _qualifiers(symbol.go_type or ""):
                if qualifier not in offered:
                    guess = _KNOWN_IMPORTS.get(qualifier, f"<import path of {qualifier}>")
                    raise self.error(f"{key}.imports", f"the type of {symbol.name} names package "
                                                       f"'{qualifier}', which is not imported",
                                     fix=f"add it: imports = [\"{guess}\"]")
                used.add(offered[qualifier])
        self.unused_imports(key, imports, used)
        return imports

    def unused_imports(self, key: str, imports: tuple[str, ...], used: set[str]) -> None:
        # The contract's types are compiled into Go code that imports exactly these, and
        # Go refuses an import nothing uses.
        for index, path in enumerate(imports):
            if path not in used:
                raise self.error(f"{key}.imports[{index}]",
                                 f"'{path}' is imported, but no symbol type names it",
                                 fix="remove it, or use it in a type of symbols / "
                                     "optional_symbols")

    def name_contains(self, key: str, data: dict[str, Any]) -> str | None:
        value = self.value(data, key, "name_contains", str)
        if value is not None and not re.fullmatch(r"[a-z0-9_-]+", value):
            raise self.error(f"{key}.name_contains", f"{_show(value)} can never be part of a name",
                             fix="use lowercase letters, digits, '-' or '_', e.g. \"evaluator\"")
        return value

    def name_pattern(self, key: str, data: dict[str, Any]) -> str | None:
        value = self.value(data, key, "name_pattern", str)
        if value is None:
            return None
        try:
            re.compile(value)
        except (re.error, OverflowError, RecursionError) as exc:
            raise self.error(f"{key}.name_pattern", f"{_show(value)} is not a regular "
                                                    f"expression: {exc}",
                             fix="correct it (Python re syntax; it must match the whole name), "
                                 "e.g. \"[a-z]+-hook\"") from None
        return value

    def allowed_names(self, key: str, data: dict[str, Any], kind: PluginType) -> PluginType:
        """kind with its `names`, each of which must satisfy the type's other rules."""
        if "names" not in data:
            return kind
        names = self.unique_strings(data, key, "names")
        for index, name in enumerate(names):
            problem = kind.name_problem(name)
            if problem:
                raise self.error(f"{key}.names[{index}]", problem,
                                 fix=f"list only names that are {kind.name_rule}")
        return replace(kind, names=names)

    def plugin_template(self, key: str, data: dict[str, Any]) -> Path | None:
        """The folder `invoke new-plugin` renders: in the project, else a packaged one."""
        value = self.value(data, key, "template", str)
        if value is None:
            return None
        in_project = self.resolve(f"{key}.template", value) if value else None
        if in_project is not None and in_project.is_dir():
            return self.project_path(f"{key}.template", value)
        packaged = self.resolve(f"{key}.template", value, PACKAGE_DIR) if value else None
        if packaged is not None and packaged.is_dir() \
                and packaged.is_relative_to(PACKAGED_TEMPLATES):
            return packaged
        raise self.error(f"{key}.template", f"no template folder '{value}' in the project "
                                            f"or among the packaged templates",
                         fix="create the folder, or use a packaged one such as "
                             "\"templates/resource\"")

    # -- plugins ---------------------------------------------------------------------

    def plugins(self, data: Any, types: dict[str, PluginType],
                host: Host) -> tuple[PluginTarget, ...]:
        if not isinstance(data, list):
            raise self.error("plugins", f"expected an array of tables, got {_describe(data)}",
                             fix="declare each target in its own [[plugins]] section")
        targets: dict[str, PluginTarget] = {}
        for index, item in enumerate(data):
            target = self.plugin(f"plugins[{index}]", item, types, host)
            if target.id in targets:
                raise self.error(f"plugins[{index}]", f"duplicate target {target.id}",
                                 fix="remove one of the two [[plugins]] entries")
            targets[target.id] = target
        return tuple(targets.values())

    def plugin(self, key: str, data: Any, types: dict[str, PluginType],
               host: Host) -> PluginTarget:
        data = self.table(data, key, SCHEMA["plugins[]"], required=("type", "name", "source"))
        type_name = self.value(data, key, "type", str)
        self.known(f"{key}.type", type_name, types, "plugin type", "type of [plugin_types]")
        name = self.target_name(f"{key}.name", self.value(data, key, "name", str),
                                types[type_name])
        source = self.project_path(f"{key}.source", self.value(data, key, "source", str))
        samples = {**_SAMPLE_VALUES, "version": host.version, "type": type_name, "name": name}
        return PluginTarget(
            type=type_name, name=name, source=source,
            in_tree=self.in_tree(f"{key}.source", source, host.module),
            stamp=self.stamp(f"{key}.stamp", self.value(data, key, "stamp", dict, {}),
                             PLUGIN_STAMP_FIELDS, samples))

    def target_name(self, key: str, name: str, kind: PluginType) -> str:
        problem = kind.name_problem(name)
        if problem is None:
            return name
        if len(name) > MAX_NAME or not TARGET_NAME_RE.fullmatch(name):
            fix = TARGET_NAME_FIX
        elif kind.names and name not in kind.names:
            hint = did_you_mean(name, kind.names)
            fix = f"{hint + ' ' if hint else ''}use one of: {', '.join(kind.names)}"
        elif kind.name_contains and kind.name_contains not in name:
            fix = f"rename it, e.g. '{name}{kind.name_contains}'"
        else:
            fix = f"rename it: a {kind.name} plugin's name is {kind.name_rule}"
        raise self.error(key, problem, fix=fix)

    def in_tree(self, key: str, source: Path, module: Path) -> bool:
        """False for a plugin that is its own Go module; True for a package of the host's."""
        if not source.is_dir():
            raise self.error(key, f"folder {source} does not exist",
                             fix="create the plugin folder or correct the path")
        if source == module:
            raise self.error(key, f"{source} is the host module itself",
                             fix="point it at the plugin's own folder")
        if (source / "go.mod").is_file():
            return False
        if not source.is_relative_to(module):
            raise self.error(key, f"{source} has no go.mod and is not inside the host module",
                             fix="a plugin is its own Go module: run 'go mod init' there; or "
                                 f"move it into the host module {module} as an in-tree plugin")
        nested = next((p for p in source.parents if p != module and p.is_relative_to(module)
                       and (p / "go.mod").is_file()), None)
        if nested is not None:
            raise self.error(key, f"{source} belongs to the Go module in {nested}, not to the "
                                  "host module",
                             fix=f"give the plugin its own go.mod, or point source at {nested}")
        return True

    # -- whole-file checks -----------------------------------------------------------

    def file_collisions(self, types: dict[str, PluginType],
                        targets: tuple[PluginTarget, ...]) -> None:
        """No two configured plugins land on one file name."""
        landed: dict[str, str] = {}
        for target in targets:
            file = types[target.type].file_name(target.name)
            other = landed.setdefault(file, target.id)
            if other != target.id:
                raise self.error(f"plugin_types.{target.type}.file",
                                 f"plugins {other} and {target.id} both land on '{file}'",
                                 fix="rename one of them, or put {type} in the file patterns")

    def output_folders(self, project: dict[str, Any], host: Host,
                       types: dict[str, PluginType],
                       targets: tuple[PluginTarget, ...]) -> tuple[Path, Path]:
        """artifacts and results: folders of their own, apart from every source."""
        folders = {}
        for name in ("artifacts", "results"):
            key = f"project.{name}"
            value = self.value(project, "project", name, str, name)
            folders[name] = self.project_path(key, value) if value else self.real_root
            self.apart_from_sources(key, value, folders[name], host, types, targets)
            if folders[name].exists() and not folders[name].is_dir():
                raise self.error(key, f"{_show(value)} is a file, not a folder",
                                 fix="remove the file, or name another folder")
        if folders["artifacts"] == folders["results"]:
            raise self.error("project.results", "is the same folder as project.artifacts",
                             fix="give each its own folder: artifacts = \"artifacts\", "
                                 "results = \"results\"")
        return folders["artifacts"], folders["results"]

    def apart_from_sources(self, key: str, value: str, folder: Path, host: Host,
                           types: dict[str, PluginType],
                           targets: tuple[PluginTarget, ...]) -> None:
        fix = "use a folder of its own, e.g. \"artifacts\" or \"build/artifacts\""
        if folder == self.real_root:
            raise self.error(key, f"{_show(value)} is the project folder itself", fix=fix)
        for what, source in self.sources(host, types, targets):
            if source.is_relative_to(folder):
                raise self.error(key, f"{_show(value)} holds {what} ({source}): writing and "
                                      "cleaning it would touch your sources", fix=fix)
            # A folder inside the host module is fine (a real host keeps its config at the
            # module root): build inputs are the files Go reads, never a folder's listing.
            if what not in ("the config file", "the host module") and \
                    folder.is_relative_to(source):
                raise self.error(key, f"{_show(value)} lies inside {what} ({source}): built "
                                      "files would change its sources and their digest",
                                 fix=fix + ", outside " + what)

    def sources(self, host: Host, types: dict[str, PluginType],
                targets: tuple[PluginTarget, ...]) -> Iterable[tuple[str, Path]]:
        yield "the config file", self.path.resolve()
        yield "the host module", host.module
        if host.workspace is not None:
            yield "the host's go.work", host.workspace
        for target in targets:
            yield f"the source of plugin {target.id}", target.source
        for kind in types.values():
            if kind.template is not None and kind.template.is_relative_to(self.real_root):
                yield f"the template of type {kind.name}", kind.template


def _placeholders(template: str) -> list[str]:
    return [name for _, name, _, _ in string.Formatter().parse(template) if name is not None]


def _go_split(text: str) -> list[str] | None:
    """Split flags as the go command does (cmd/internal/quoted.Split): on spaces, with a
    word that starts with ' or " taken to its closing quote; None: a quote is unclosed."""
    words: list[str] = []
    index = 0
    while index < len(text):
        char = text[index]
        if char.isspace():
            index += 1
        elif char in "'\"":
            end = text.find(char, index + 1)
            if end < 0:
                return None
            words.append(text[index + 1:end])
            index = end + 1
        else:
            end = index
            while end < len(text) and not text[end].isspace():
                end += 1
            words.append(text[index:end])
            index = end
    return words


def _go_work_uses(text: str) -> list[str]:
    """The folders a go.work's `use` directives name (single and block form)."""
    return list(parse_gowork(text).uses)


_BRACKETS = {")": "(", "]": "[", "}": "{"}


def _go_type_problem(value: str) -> str | None:
    """Why value cannot be a Go type written on one line, or None."""
    if not value.strip():
        return "it is empty"
    if any(mark in value for mark in ("\"", "'", "`", "//", "/*")):
        return "quotes and comments have no place in a symbol's type"
    stack: list[str] = []
    for char in value:
        if char in "([{":
            stack.append(char)
        elif char in _BRACKETS:
            if not stack or stack.pop() != _BRACKETS[char]:
                return f"'{char}' closes nothing"
        elif char == ";" and not stack:
            return "';' ends the type"
    return f"'{stack[-1]}' is not closed" if stack else None


_QUALIFIER_RE = re.compile(r"(?<![A-Za-z0-9_.])([A-Za-z_][A-Za-z0-9_]*)\.[A-Za-z_]")


def _qualifiers(go_type: str) -> set[str]:
    """The package names a Go type refers to ("http" in "func(http.Handler)")."""
    return set(_QUALIFIER_RE.findall(go_type))


def _package_names(import_path: str) -> set[str]:
    """The names a package of this import path is likely to have: its last element, less a
    major-version element (/v2), a gopkg.in suffix (.v3) or a go- prefix."""
    elements = import_path.split("/")
    last = elements[-1]
    names = {last, re.sub(r"\.v[0-9]+$", "", last), last.removeprefix("go-").replace("-", "_"),
             last.replace("-", "")}
    if re.fullmatch(r"v[0-9]+", last) and len(elements) > 1:
        names.add(elements[-2].removeprefix("go-").replace("-", ""))
    return names


def _join(key: str, name: str) -> str:
    return f"{key}.{name}" if key else name


def _show(value: str, limit: int = 60) -> str:
    """A value as an error message shows it: quoted, escaped, and cut when long."""
    if len(value) > limit:
        return f"{value[:limit]!r}... ({len(value)} characters)"
    return repr(value)


def _describe(value: Any) -> str:
    kind = {bool: "boolean", int: "integer", float: "float", str: "string",
            list: "array", dict: "table"}.get(type(value), type(value).__name__)
    if isinstance(value, str):
        return f"{_show(value)} ({kind})"
    return f"{value!r} ({kind})" if not isinstance(value, (list, dict)) else kind
