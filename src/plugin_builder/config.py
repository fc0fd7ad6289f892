"""buildconfig.toml, parsed once into frozen, typed objects.

Every later step takes these objects, never raw dicts. Every problem with the file is a
:class:`~plugin_builder.errors.ConfigError` that names the file, the key and the fix;
unknown keys get a "did you mean" hint, so a typo never silently falls back to a default.
"""

from __future__ import annotations

import difflib
import os
import re
import string
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from plugin_builder.combination import GO_VERSION_RE, NAME_RE, Combination
from plugin_builder.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised only on Python 3.10
    import tomli as tomllib

CONFIG_NAME = "buildconfig.toml"
KNOWN_ARCHES = ("amd64", "arm64")
BACKENDS = ("local", "docker")
IDENTIFIER_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# The placeholders a -X stamp template may use, and what each becomes.
STAMP_FIELDS = ("version", "combination", "go", "libc", "arch", "service")
FILE_FIELDS = ("type", "name")
CHECK_FIELDS = ("binary", "plugin")
HEALTHCHECK_FIELDS = ("binary", "port")
# A Docker repository: an optional registry host[:port]/, then lowercase path components.
_COMPONENT = r"[a-z0-9]+(?:[._-][a-z0-9]+)*"
REPOSITORY_RE = re.compile(rf"^(?:[A-Za-z0-9.-]+(?::[0-9]+)?/)?{_COMPONENT}(?:/{_COMPONENT})*$")
# The schema: the keys each table of buildconfig.toml may hold ("<name>" stands for a
# table named by the user, "[]" for an item of an array of tables). The parser checks
# against it and docs/configuration.md documents exactly these keys (a test compares).
SCHEMA: dict[str, tuple[str, ...]] = {
    "": ("project", "matrix", "libc", "host", "plugin_types", "plugins", "docker"),
    "project": ("artifacts", "results", "allow_outside_paths", "toolchain_cache", "backend"),
    "matrix": ("go", "libc", "arch", "exclude", "default"),
    "matrix.exclude[]": ("go", "libc", "arch"),
    "libc.<name>": ("cc", "cc_package", "builder_base", "runtime_base"),
    "host": ("module", "version", "trimpath", "tags", "plugin_dir", "stamp", "services"),
    "host.services.<name>": ("main", "binary", "check", "healthcheck"),
    "plugin_types.<type>": ("service", "file", "entry_symbol", "required_symbols",
                            "name_contains", "template"),
    "plugins[]": ("type", "name", "source"),
    "docker": ("builder_repository", "service_repository", "bootstrap_suite",
               "bootstrap_mirror"),
}
# Packaged plugin templates: a plugin_types.<type>.template not found in the project is
# looked up here (src/plugin_builder/templates/<type>).
PACKAGE_DIR = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Libc:
    name: str
    cc: str  # the C compiler cgo uses for this libc
    cc_package: str  # the Debian package that provides cc, named in errors
    builder_base: str  # base image of builder images (issue: docker backend)
    runtime_base: str  # base image of service images


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
    check: tuple[str, ...]  # argv template of the service's own plugin check; empty: none
    # argv template of the image HEALTHCHECK (run inside the service image); empty: none
    healthcheck: tuple[str, ...] = ()

    def healthcheck_argv(self, binary: str, port: int) -> list[str]:
        return [part.format(binary=binary, port=port) for part in self.healthcheck]

    def check_argv(self, binary: Path, plugin: Path) -> list[str]:
        values = {"binary": str(binary), "plugin": str(plugin)}
        return [part.format(**values) for part in self.check]


@dataclass(frozen=True)
class Host:
    module: Path  # absolute path of the host's Go module folder
    version: str
    trimpath: bool
    tags: tuple[str, ...]
    plugin_dir: str  # where service images put plugins
    stamp: Mapping[str, str]  # -X variable -> template
    services: Mapping[str, Service]


@dataclass(frozen=True)
class PluginType:
    name: str
    service: str
    file: str  # file name template, e.g. "d7y-{type}-plugin-{name}.so"
    entry_symbol: str | None
    required_symbols: tuple[str, ...]
    name_contains: str | None  # Dragonfly's rule: a scheduler plugin's name has "evaluator"
    template: Path | None = None  # the folder `invoke new-plugin` renders for this type

    @property
    def symbols(self) -> tuple[str, ...]:
        """Every symbol a plugin of this type must export."""
        entry = (self.entry_symbol,) if self.entry_symbol else ()
        return entry + tuple(s for s in self.required_symbols if s != self.entry_symbol)

    def file_name(self, plugin_name: str) -> str:
        return self.file.format(type=self.name, name=plugin_name)


@dataclass(frozen=True)
class PluginTarget:
    type: str
    name: str
    source: Path  # absolute path of the plugin's Go module folder

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


def load(path: str | os.PathLike[str] = CONFIG_NAME) -> Config:
    """Read and validate a buildconfig.toml; raise ConfigError on the first problem."""
    path = Path(path).absolute()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            path.name, None, f"no such file: {path}",
            fix="run from the project folder or pass --config PATH",
        ) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(path.name, None, f"TOML syntax error: {exc}",
                          fix="correct the syntax at that line") from None
    return _Parser(path).config(data)


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


class _Parser:
    """Walks the TOML document; each method validates one section."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.root = path.parent
        self.allow_outside = False

    def error(self, key: str | None, problem: str, fix: str | None = None) -> ConfigError:
        return ConfigError(self.path.name, key, problem, fix=fix)

    # -- generic checks --------------------------------------------------------------

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

    def unique_strings(self, data: dict[str, Any], key: str, name: str,
                       default: tuple[str, ...] = ()) -> tuple[str, ...]:
        items = self.strings(data, key, name, default)
        for item in items:
            if items.count(item) > 1:
                raise self.error(_join(key, name), f"'{item}' is listed twice",
                                 fix="list each value once")
        if not items:
            raise self.error(_join(key, name), "is empty", fix="list at least one value")
        return items

    def project_path(self, key: str, value: str) -> Path:
        """A path from the config, resolved against the project folder, kept inside it."""
        path = (self.root / os.path.expanduser(value)).resolve()
        if not self.allow_outside and not path.is_relative_to(self.root.resolve()):
            raise self.error(key, f"'{value}' leaves the project folder {self.root}",
                             fix="use a path inside the project, or set "
                                 "[project] allow_outside_paths = true")
        return path

    def template(self, key: str, value: str, fields: tuple[str, ...]) -> str:
        for _, placeholder, _, _ in string.Formatter().parse(value):
            if placeholder is not None and placeholder not in fields:
                allowed = ", ".join("{" + f + "}" for f in fields)
                raise self.error(key, f"unknown placeholder {{{placeholder}}} in '{value}'",
                                 fix=f"use only {allowed}")
        return value

    # -- sections --------------------------------------------------------------------

    def config(self, data: dict[str, Any]) -> Config:
        self.table(data, "", SCHEMA[""],
                   required=("matrix", "libc", "host", "plugin_types"))
        project = self.table(data.get("project", {}), "project", SCHEMA["project"])
        self.allow_outside = self.value(project, "project", "allow_outside_paths", bool, False)
        libcs = self.libcs(data["libc"])
        matrix = self.matrix(data["matrix"], libcs)
        host = self.host(data["host"])
        plugin_types = self.plugin_types(data["plugin_types"], host)
        backend = self.value(project, "project", "backend", str, "local")
        if backend not in BACKENDS:
            raise self.error("project.backend", f"unknown backend '{backend}'",
                             fix=f"use one of: {', '.join(BACKENDS)}")
        return Config(
            path=self.path,
            root=self.root,
            artifacts=self.project_path(
                "project.artifacts", self.value(project, "project", "artifacts", str, "artifacts")),
            results=self.project_path(
                "project.results", self.value(project, "project", "results", str, "results")),
            toolchain_cache=self.toolchain_cache(project),
            backend=backend,
            matrix=matrix,
            libcs=MappingProxyType(libcs),
            host=host,
            plugin_types=MappingProxyType(plugin_types),
            plugins=self.plugins(data.get("plugins", []), plugin_types),
            docker=self.docker(data.get("docker", {})),
        )

    def docker(self, data: Any) -> Docker:
        data = self.table(data, "docker", SCHEMA["docker"])
        default = Docker()
        values = {name: self.value(data, "docker", name, str, getattr(default, name))
                  for name in data}
        for name in ("builder_repository", "service_repository"):
            if name in values:
                self.repository(f"docker.{name}", values[name], name == "service_repository")
        mirror = values.get("bootstrap_mirror", default.bootstrap_mirror)
        if not mirror.startswith(("http://", "https://", "file:/")):
            raise self.error("docker.bootstrap_mirror", f"'{mirror}' is not a URL",
                             fix="give a Debian mirror, e.g. \"http://deb.debian.org/debian\"")
        if not NAME_RE.match(values.get("bootstrap_suite", default.bootstrap_suite)):
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
        if not REPOSITORY_RE.match(value.replace("{service}", "x")):
            raise self.error(key, f"'{value}' is not a Docker repository name",
                             fix="use lowercase letters, digits, '.', '_', '-' and '/', "
                                 "without a tag")

    def toolchain_cache(self, project: dict[str, Any]) -> Path:
        # A machine-wide cache shared by every project, so it may live outside this one.
        configured = self.value(project, "project", "toolchain_cache", str, "")
        if configured:
            return (self.root / os.path.expanduser(configured)).resolve()
        return default_toolchain_cache()

    def libcs(self, data: Any) -> dict[str, Libc]:
        self.table(data, "libc", tuple(data) if isinstance(data, dict) else ())
        libcs = {}
        for name, section in data.items():
            key = f"libc.{name}"
            self.name(key, name)
            section = self.table(section, key, SCHEMA["libc.<name>"], required=("cc",))
            cc = self.value(section, key, "cc", str)
            libcs[name] = Libc(
                name=name,
                cc=cc,
                cc_package=self.value(section, key, "cc_package", str, cc),
                builder_base=self.value(section, key, "builder_base", str, ""),
                runtime_base=self.value(section, key, "runtime_base", str, ""),
            )
        if not libcs:
            raise self.error("libc", "no libc is declared",
                             fix="add [libc.glibc] with cc = \"gcc\"")
        return libcs

    def go_version(self, key: str, value: str) -> str:
        if not GO_VERSION_RE.match(value):
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
        excludes = tuple(self.exclude(f"matrix.exclude[{i}]", item, go, libc, arch)
                         for i, item in enumerate(self.value(data, "matrix", "exclude", list, [])))
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
        if not NAME_RE.match(value):
            raise self.error(key, f"'{value}' is not a valid name",
                             fix="use only lowercase letters and digits ([a-z0-9]+)")
        return value

    def host(self, data: Any) -> Host:
        data = self.table(data, "host", SCHEMA["host"],
                          required=("module", "services"))
        module = self.project_path("host.module", self.value(data, "host", "module", str))
        if not (module / "go.mod").is_file():
            raise self.error("host.module", f"{module} has no go.mod",
                             fix="point host.module at the host's Go module folder")
        stamp = self.table(self.value(data, "host", "stamp", dict, {}), "host.stamp",
                           tuple(data.get("stamp", {})))
        for variable, template in stamp.items():
            self.value(stamp, "host.stamp", variable, str)
            self.template(f"host.stamp.{variable}", template, STAMP_FIELDS)
        services = self.value(data, "host", "services", dict)
        if not services:
            raise self.error("host.services", "no service is declared",
                             fix="add [host.services.NAME] with main = \"./cmd/NAME\"")
        return Host(
            module=module,
            version=self.value(data, "host", "version", str, "0.0.0"),
            trimpath=self.value(data, "host", "trimpath", bool, True),
            tags=self.strings(data, "host", "tags"),
            plugin_dir=self.value(data, "host", "plugin_dir", str, "/usr/local/dragonfly/plugins"),
            stamp=MappingProxyType(dict(stamp)),
            services=MappingProxyType({name: self.service(name, section)
                                       for name, section in services.items()}),
        )

    def service(self, name: str, data: Any) -> Service:
        key = f"host.services.{name}"
        self.name(key, name)
        data = self.table(data, key, SCHEMA["host.services.<name>"], required=("main",))
        check = self.strings(data, key, "check")
        for index, part in enumerate(check):
            self.template(f"{key}.check[{index}]", part, CHECK_FIELDS)
        healthcheck = self.strings(data, key, "healthcheck")
        for index, part in enumerate(healthcheck):
            self.template(f"{key}.healthcheck[{index}]", part, HEALTHCHECK_FIELDS)
        return Service(
            name=name,
            main=self.value(data, key, "main", str),
            binary=self.value(data, key, "binary", str, name),
            check=check,
            healthcheck=healthcheck,
        )

    def plugin_types(self, data: Any, host: Host) -> dict[str, PluginType]:
        self.table(data, "plugin_types", tuple(data) if isinstance(data, dict) else ())
        return {name: self.plugin_type(name, section, host) for name, section in data.items()}

    def plugin_type(self, name: str, data: Any, host: Host) -> PluginType:
        key = f"plugin_types.{name}"
        self.name(key, name)
        data = self.table(data, key, SCHEMA["plugin_types.<type>"],
                          required=("service", "file"))
        service = self.value(data, key, "service", str)
        self.known(f"{key}.service", service, host.services, "service",
                   "service of [host.services]")
        file = self.template(f"{key}.file", self.value(data, key, "file", str), FILE_FIELDS)
        if "{name}" not in file or not file.endswith(".so"):
            raise self.error(f"{key}.file", f"'{file}' must contain {{name}} and end in .so",
                             fix="for example \"d7y-{type}-plugin-{name}.so\"")
        symbols = self.strings(data, key, "required_symbols")
        entry = self.value(data, key, "entry_symbol", str)
        for index, symbol in enumerate(((entry,) if entry else ()) + symbols):
            if not IDENTIFIER_RE.match(symbol):
                field_name = "entry_symbol" if entry and index == 0 else "required_symbols"
                raise self.error(f"{key}.{field_name}",
                                 f"'{symbol}' is not a Go identifier",
                                 fix="name an exported Go function or variable")
        return PluginType(name=name, service=service, file=file, entry_symbol=entry,
                          required_symbols=symbols,
                          name_contains=self.value(data, key, "name_contains", str),
                          template=self.plugin_template(key, data))

    def plugin_template(self, key: str, data: dict[str, Any]) -> Path | None:
        """The folder `invoke new-plugin` renders: in the project, else a packaged one."""
        value = self.value(data, key, "template", str)
        if value is None:
            return None
        for base in (self.root, PACKAGE_DIR):
            folder = (base / value).resolve()
            if folder.is_dir():
                return folder
        raise self.error(f"{key}.template", f"no template folder '{value}' in the project "
                                            f"or among the packaged templates",
                         fix="create the folder, or use a packaged one such as "
                             "\"templates/resource\"")

    def plugins(self, data: Any, types: dict[str, PluginType]) -> tuple[PluginTarget, ...]:
        if not isinstance(data, list):
            raise self.error("plugins", f"expected an array of tables, got {_describe(data)}",
                             fix="declare each target in its own [[plugins]] section")
        targets: dict[str, PluginTarget] = {}
        for index, item in enumerate(data):
            target = self.plugin(f"plugins[{index}]", item, types)
            if target.id in targets:
                raise self.error(f"plugins[{index}]", f"duplicate target {target.id}",
                                 fix="remove one of the two [[plugins]] entries")
            targets[target.id] = target
        return tuple(targets.values())

    def plugin(self, key: str, data: Any, types: dict[str, PluginType]) -> PluginTarget:
        data = self.table(data, key, SCHEMA["plugins[]"],
                          required=("type", "name", "source"))
        type_name = self.value(data, key, "type", str)
        self.known(f"{key}.type", type_name, types, "plugin type", "type of [plugin_types]")
        name = self.name(f"{key}.name", self.value(data, key, "name", str))
        rule = types[type_name].name_contains
        if rule and rule not in name:
            raise self.error(f"{key}.name", f"'{name}' breaks the {type_name} naming rule: "
                                            f"a {type_name} plugin's name must contain '{rule}'",
                             fix=f"rename it, e.g. '{name}{rule}'")
        source = self.project_path(f"{key}.source", self.value(data, key, "source", str))
        if not source.is_dir():
            raise self.error(f"{key}.source", f"folder {source} does not exist",
                             fix="create the plugin folder or correct the path")
        if not (source / "go.mod").is_file():
            raise self.error(f"{key}.source", f"{source} has no go.mod",
                             fix="a plugin is its own Go module: run 'go mod init' there")
        return PluginTarget(type=type_name, name=name, source=source)


def _join(key: str, name: str) -> str:
    return f"{key}.{name}" if key else name


def _describe(value: Any) -> str:
    kind = {bool: "boolean", int: "integer", float: "float", str: "string",
            list: "array", dict: "table"}.get(type(value), type(value).__name__)
    return f"{value!r} ({kind})" if not isinstance(value, (list, dict)) else kind
