"""buildconfig.toml's model: every key declared once, as a field of a frozen dataclass.

``key(default, example, doc, *checks)`` declares a key: its TOML type is the field's
annotation, then its default (``REQUIRED``: none), one TOML line of example, one line of
meaning (docs/configuration.md's table, init's comments and the JSON Schema are made
from them) and the named checks of :mod:`.checks`, run in order. A table's ``CHECKS``
run on the object built from it; fields that are no key are derived while parsing.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from itertools import product
from pathlib import Path
from typing import Any, ClassVar, NamedTuple

from plugin_builder.combination import Combination
from plugin_builder.config import calls, flags
from plugin_builder.config import checks as c
from plugin_builder.config import targets as t
from plugin_builder.config.parse import MAX_NAME, REQUIRED, key, label, show
from plugin_builder.config.pattern import compile_pattern

CHECK = '["{binary}", "check-plugin", "{plugin}"]'
SYMBOL_TYPES = "func(map[string]string) (any, map[string]string, error)"


@dataclass(frozen=True)
class Project:
    """[project]. artifacts and results stay as written here: they are resolved, apart from
    every source, once the whole file is read (Config.artifacts, Config.results)."""

    artifacts: str = key(
        "artifacts", 'artifacts = "build/artifacts"',
        "where artifacts land: `<artifacts>/<combination>/{bin,plugins,manifest.json}`; a "
        'folder of its own (see "Outputs are apart from sources")')
    results: str = key(
        "results", 'results = "results"', "where each pipeline run writes `<combination>.json` "
        "and `.xml` (JUnit); a folder of its own, not `artifacts`")
    allow_outside_paths: bool = key(
        False, "allow_outside_paths = true", "let configured paths leave the project folder",
        c.outside_paths_allowed)
    toolchain_cache: Path = key(
        "", 'toolchain_cache = "/opt/go-toolchains"', "where provisioned Go releases are "
        "kept (each with the manifest it is checked against before use, see "
        "[toolchain-error](troubleshooting.md#toolchain-error)); "
        "an absolute or `~` path may be outside the project (the cache is machine-wide), a "
        "relative one stays inside", c.toolchain_cache,
        shown="`~/.cache/plugin-builder/toolchains` (or `$PLUGIN_BUILDER_CACHE/toolchains`)")
    backend: str = key(
        "local", 'backend = "docker"', "where build commands run: `local` or `docker` "
        "(`--backend` overrides)", c.backend)


@dataclass(frozen=True)
class CrossToolchain:
    """[libc.<name>.arch.<arch>]: how to build for (and run binaries of) another arch."""

    arch: str = label(c.one_of(c.KNOWN_ARCHES, "arch", "supported arch"))
    cc: str = key(
        REQUIRED, 'cc = "aarch64-linux-gnu-gcc"', "the cross C compiler cgo uses for this libc "
        "on `<arch>` (`amd64` or `arm64`), an arch other than this machine's; Go cross-compiles "
        "with `GOARCH=<arch>`, `CGO_ENABLED=1`. Without the table, building for another arch "
        "stops with a [toolchain-error](troubleshooting.md#toolchain-error)", c.compiler)
    packages: tuple[str, ...] = key(
        (), 'packages = ["gcc-aarch64-linux-gnu", "musl-dev:arm64"]', "the Debian packages that "
        "provide the cross compiler and the target's libc; `name:arch` is a package of another "
        "architecture (dpkg multiarch). Named in errors and by `invoke doctor`; `invoke "
        "bootstrap-base` installs them into the builder base", c.distinct,
        c.each(c.cross_package), shown="`[<the table's cc>]`")
    runtime_base: str = key(
        "", 'runtime_base = "plugin-builder/runtime:bookworm-glibc-arm64"', "base image of this "
        "arch's service images: a `linux/<arch>` image (`build-service-image` requires it)",
        c.image)
    emulator_prefix: str = key(
        "", 'emulator_prefix = "/usr/aarch64-linux-gnu"', "the absolute folder where qemu finds "
        "the target's loader and libc (`qemu -L`), to run this arch's hosts for live checks: "
        '`"/usr/aarch64-linux-gnu"` for glibc\'s cross libc, `"/"` for Debian\'s multiarch '
        "`musl:arm64`", c.emulator_prefix, shown='`""` (the known places)')

    def __post_init__(self) -> None:
        object.__setattr__(self, "packages", self.packages or (self.cc,))


@dataclass(frozen=True)
class Libc:
    name: str = label(c.libc_name)
    cc: str = key(
        REQUIRED, 'cc = "musl-gcc"', "the C compiler cgo uses for this libc on this machine's "
        "arch (amd64); `<name>` is `[a-z0-9]+` (it is part of combination ids)", c.compiler)
    cc_package: str = key(
        None, 'cc_package = "musl-tools"', "the Debian package named when the compiler is "
        "missing (errors, `invoke doctor`)", c.debian_package, shown="the value of `cc`")
    builder_base: str = key(
        "", 'builder_base = "plugin-builder/bootstrap:bookworm"', "base image of builder "
        "images; needs `/bin/sh` and the libc's `cc` (the docker backend requires it)", c.image)
    runtime_base: str = key(
        "", 'runtime_base = "plugin-builder/runtime:bookworm-musl"', "base image of amd64 "
        "service images (`build-service-image` requires it)", c.image)
    cross: tuple[CrossToolchain, ...] = key(
        (), "", "[libc.<name>.arch.<arch>]: the cross toolchain of another arch",
        toml="arch", each="<arch>")
    glibc_floor: str | None = key(
        None, 'glibc_floor = "2.28"', "the oldest glibc the hosts and plugins of this libc must "
        "run: verify fails a host or plugin needing a newer `GLIBC_x.y` symbol "
        "([glibc-floor](troubleshooting.md#rule-glibc-floor)), and cgo links with `zig cc "
        "-target <arch>-linux-gnu.<floor>` (PyPI's `ziglang`, provisioned into the "
        "toolchain cache) instead of `cc`",
        c.one_of([f"2.{minor}" for minor in range(17, 42)], "glibc release", "glibc release"))

    def __post_init__(self) -> None:
        object.__setattr__(self, "cc_package", self.cc_package or self.cc)

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
    CHECKS: ClassVar = (c.exclude_names_something,)
    go: str | None = key(None, 'exclude = [{ go = "1.27.3", libc = "musl" }]',
                         "an exclude drops the combinations matching all of its keys",
                         c.in_matrix("go"))
    libc: str | None = key(None, 'exclude = [{ libc = "musl" }]', "see `matrix.exclude[].go`",
                           c.in_matrix("libc"))
    arch: str | None = key(None, 'exclude = [{ arch = "arm64" }]', "see `matrix.exclude[].go`",
                           c.in_matrix("arch"))

    def matches(self, combination: Combination) -> bool:
        return all(wanted is None or wanted == actual for wanted, actual in (
            (self.go, combination.go), (self.libc, combination.libc),
            (self.arch, combination.arch)))


@dataclass(frozen=True, kw_only=True)
class Matrix:
    CHECKS: ClassVar = (c.bounded_matrix, c.combinations_left)
    go: tuple[str, ...] = key(REQUIRED, 'go = ["1.26.6", "1.27.3"]',
                              "exact Go releases to build for", c.distinct, c.not_empty,
                              c.each(c.go_version))
    libc: tuple[str, ...] = key(
        REQUIRED, 'libc = ["glibc", "musl"]', "names of `[libc.<name>]` tables", c.distinct,
        c.not_empty)  # each a [libc.<name>] table: t.matrix_libcs_declared
    arch: tuple[str, ...] = key(("amd64",), 'arch = ["amd64", "arm64"]', "GOARCH values",
                                c.distinct, c.not_empty,
                                c.each(c.one_of(c.KNOWN_ARCHES, "arch", "supported arch")))
    exclude: tuple[Exclude, ...] = key((), "", "combinations left out", c.excludes_once,
                                       each="exclude")
    default: Combination = key(REQUIRED, 'default = "go1.26.6-glibc-amd64"',
                               "the combination used without `--go` / `--libc` / `--all`",
                               c.combination_id)

    @cached_property
    def combinations(self) -> tuple[Combination, ...]:
        """go x libc x arch less the excludes, computed once: an exclude is a pattern with
        holes, so a combination is dropped when one of its 8 patterns is excluded."""
        dropped = {(e.go, e.libc, e.arch) for e in self.exclude}
        return tuple(Combination(*values) for values in product(self.go, self.libc, self.arch)
                     if not dropped.intersection(product(*((v, None) for v in values))))

    @cached_property
    def combination_set(self) -> frozenset[Combination]:
        return frozenset(self.combinations)


@dataclass(frozen=True, kw_only=True)
class Service:
    name: str = label(c.target_name)
    main: str | None = key(
        None, 'main = "./cmd/scheduler"', "the service's main package: a folder of the host "
        'module (`"./cmd/x"`, no `..`) or an import path (`"example.com/host/cmd/x"`); never '
        "starts with `-`; required with `host.module`, and none with a released host (its "
        "binary is the service's). `<name>` is lowercase words joined by `-` or `_` "
        "(`bifrost-http`)", c.main_package, shown="required with `host.module`")
    binary: str = key(
        None, 'binary = "bifrost-http"', "binary name in `bin/`: a plain file name (no `/`, not "
        "starting with `-` or `.`), different for every service", c.binary_name,
        shown="the service name")
    check: tuple[str, ...] = key(
        (), f"check = {CHECK}", "the service's own plugin check, run by `invoke verify`; "
        "placeholders `{binary}` `{plugin}` (required); a relative program path with a `/` "
        '(`"./tools/check"`) is resolved against this file\'s folder', c.check_command,
        shown="`[]` (none: the stand-in loader alone)")
    healthcheck: tuple[str, ...] = key(
        (), 'healthcheck = ["{binary}", "healthcheck", "http://127.0.0.1:{port}/healthz"]',
        "HEALTHCHECK of the service image (exec form); placeholders `{binary}` `{port}`; "
        "`verify --image` polls it", c.argv(c.HEALTHCHECK_FIELDS))

    def __post_init__(self) -> None:
        object.__setattr__(self, "binary", self.binary or self.name)

    def healthcheck_argv(self, binary: str, port: int) -> list[str]:
        return [part.format(binary=binary, port=port) for part in self.healthcheck]

    def check_argv(self, binary: Path, plugin: Path) -> list[str]:
        return check_argv(self.check, binary, plugin)


@dataclass(frozen=True, kw_only=True)
class Host:
    """[host]: the host's source module, or a released host (a binary, an image holding
    it, or its recipe): exactly one of them (t.one_host_source)."""

    CHECKS: ClassVar = (t.one_host_source, t.services_of_the_source)
    module: Path | None = key(
        None, 'module = "host"', "the host's Go module folder; `\".\"` when this file sits at "
        "the host repository's root. One of `module`, `binary`, `image`, `recipe`",
        c.project_path, c.has_go_mod, shown="none")
    binary: Path | None = key(
        None, 'binary = "dist/gateway"', "a released host binary, built outside this tool: "
        "plugins are built for what Go recorded in it (its Go release, settings, main module "
        "and dependencies; see README \"Plugins for a released host\"); a path in the "
        "project unless `allow_outside_paths`", c.project_path, c.regular_file,
        shown="none")
    image: str | None = key(
        None, 'image = "example/gateway:1.4.0"', "an image holding the released host binary "
        "at `image_binary`: the binary is copied out of a container of it; `verify --image` "
        "loads the plugins in a container of it", c.image, shown="none")
    image_binary: str | None = key(
        None, 'image_binary = "/usr/local/bin/gateway"', "the host binary's absolute path in "
        "`image`", c.in_image_folder, shown="none")
    recipe: Path | None = key(
        None, 'recipe = "host.recipe.json"', "a released host's recipe (`plugin-builder recipe "
        "--json`, published beside its release): plugins are built from it as from the "
        "binary; verify needs the binary (`verify --host`)", c.project_path, c.regular_file,
        shown="none")
    version: str = key("0.0.0", 'version = "0.1.0 beta"', "version stamped into the host "
                       "(`{version}` in stamps); free text, spaces and quotes allowed")
    trimpath: bool = key(True, "trimpath = false", "build host and plugins with `-trimpath` "
                         "(a released host's are taken from its binary)", c.source_host_only)
    tags: tuple[str, ...] = key((), 'tags = ["netgo"]', "build tags of host and plugins; each "
                                "`[A-Za-z0-9_.]+`", c.source_host_only, c.distinct,
                                c.each(c.build_tag))
    plugin_dir: str = key("/usr/local/dragonfly/plugins", 'plugin_dir = "/app/plugins"',
                          "the plugin folder in service images", c.in_image_folder)
    stamp: Mapping[str, str] = key(
        {}, '"example.com/host/version.Version" = "{version}"', "a `-ldflags -X` value of every "
        "service; the variable is `<import path>.<name>`; placeholders `{version}` "
        "`{combination}` `{go}` `{libc}` `{arch}` `{service}` `{commit}` `{time}`",
        c.source_host_only, c.host_stamp, each="<go variable>", shown="none (no stamp)")
    services: Mapping[str, Service] = key(
        REQUIRED, "", "the host's binaries",
        c.declared("service", 'add [host.services.NAME] with main = "./cmd/NAME"'),
        c.binaries_apart, each="<name>")
    ldflags: tuple[str, ...] = key(
        (), 'ldflags = ["-s", "-w"]', "extra linker flags of the host build, each one word "
        "starting with `-` (a value after `=`), from an allow-list of flags that are data: "
        "`-s`, `-w`, `-linkmode=external`, `-extldflags=-Wl,...` (`--build-id`, `-z,relro`, "
        "`-z,now`, `--as-needed`, `-O1`, `--hash-style=...`, `--compress-debug-sections=...`, "
        "`--gc-sections`, `--strip-debug`), `-buildid=...`, `-compressdwarf=false`, "
        "`-B=gobuildid`. No `-X` (use `host.stamp`), no `-d`, no `-static`, no "
        "`-linkmode=internal`: plugins need a dynamically linked cgo host", c.source_host_only,
        flags.ldflags)
    gcflags: str = key(
        "", 'gcflags = "all=-N -l"', "passed as `-gcflags=<value>` to the host and every plugin "
        "(it feeds package fingerprints, so both sides get it): an optional package pattern "
        "(`all=`), then flags from an allow-list: `-N`, `-l`, `-B`, `-C`, `-S`, `-m`, `-m=N`, "
        "`-c=N`, `-dwarf=false`, `-spectre=...`, `-d=checkptr`", c.source_host_only,
        flags.gcflags)
    # A go.work the host is built through (GOWORK=<this path>); None: GOWORK=off.
    workspace: Path | None = key(
        None, 'workspace = "go.work"', "a go.work file (relative to this file) the host is "
        "built through (`GOWORK=<its absolute path>`); must exist and `use` the host module",
        c.source_host_only, c.project_path, c.uses_the_host, shown="none (`GOWORK=off`)")

    @property
    def released(self) -> bool:
        """A host given as a binary, an image or a recipe, not as its source module."""
        return self.module is None

    @property
    def source(self) -> tuple[str, str]:
        """(key, value) of where the host comes from: ("module", "/abs/host"), ("binary",
        ...), ("image", "tag"), ("recipe", ...)."""
        return next((name, str(value)) for name in ("module", "binary", "image", "recipe")
                    if (value := getattr(self, name)) is not None)


@dataclass(frozen=True, kw_only=True)
class Returned:
    """[[plugin_types.<type>.call.returns]]: what the host checks of one returned value."""

    implements: str | None = key(
        None, 'implements = "evaluator.Evaluator"', "the value must be of this Go type (an "
        "interface it implements, or the type itself), as the host asserts it; a package it "
        "names is in `imports`", calls.returned_type)
    is_nil: bool | None = key(
        None, "is_nil = false", "`true`: the value must be nil (an error the call returns); "
        "`false`: it must not be", shown="none (not checked)")
    has: Mapping[str, str] = key(
        {}, 'has = { type = "{type}", name = "{name}" }', "for a `map[string]string` value: "
        "the entries it must hold; placeholders `{type}` (the plugin type) and `{name}` (the "
        "plugin's name, as its file name gives it)", calls.has_entries,
        shown="`{}` (none)")


@dataclass(frozen=True, kw_only=True)
class Call:
    """[plugin_types.<type>.call]: the host calls a function of the plugin and checks what
    it returns (Dragonfly calls DragonflyPluginInit with an option map)."""

    symbol: str = key(
        REQUIRED, 'symbol = "DragonflyPluginInit"', "the function the host calls: a symbol of "
        "`symbols` or `optional_symbols` with a `func` type (an optional one is called when "
        "present)", calls.exported)
    arguments: tuple[Any, ...] = key(
        (), "arguments = [{}]", "what the host passes, one TOML value per parameter, written "
        "as Go literals of the parameter's type: string, bool, integer and float types, "
        "`any` (tables become `map[string]any`, arrays `[]any`, integers `int64`), "
        "`map[string]string`, `map[string]any`, `[]string`, `[]any`; strings are always "
        "quoted data, never code")
    returns: tuple[Returned, ...] = key(
        (), "", "what the host checks of each returned value, one table per result in order "
        "(`{}`: not checked); values that must be nil are checked first, as a host returns "
        "early on an error", each="returned value")


class Symbol(NamedTuple):
    """A symbol of a plugin contract, with the Go type the host asserts it to."""

    name: str
    go_type: str | None  # "func(map[string]string) (any, map[string]string, error)"; None: unknown
    required: bool


@dataclass(frozen=True, kw_only=True)
class PluginType:
    CHECKS: ClassVar = (calls.call_fits, t.imports_used, t.names_follow_rules)
    name: str = label(c.target_name)
    service: str = key(REQUIRED, 'service = "scheduler"', "the service that loads plugins of "
                       "this type", c.one_of(lambda ctx: ctx.open[""]["host"].services,
                                             "service", "service of [host.services]"))
    file: str = key(
        REQUIRED, 'file = "d7y-{type}-plugin-{name}.so"', "artifact file name; placeholders "
        "`{type}` `{name}`; must contain `{name}`, end in `.so` and give a plain file name (no "
        "`/`, not starting with `-` or `.`) of at most 200 bytes with a 100-character name. "
        "`<type>` is lowercase words joined by `-` or `_`", t.file_pattern)
    entry_symbol: str | None = key(
        None, 'entry_symbol = "DragonflyPluginInit"', "the exported symbol the host looks up "
        "first (its type, if known, goes in `symbols`)", t.identifiers)
    required_symbols: tuple[str, ...] = key(
        (), 'required_symbols = ["GetName", "Init", "Cleanup"]', "more symbols a plugin must "
        "export, type unknown (verify checks each)", t.identifiers)
    name_contains: str | None = key(None, 'name_contains = "evaluator"', "naming rule: a "
                                    "plugin's name must contain it", t.name_contains)
    template: Path | None = key(
        None, 'template = "templates/scheduler"', "the folder of `*.tmpl` files `invoke "
        "new-plugin` renders: in the project, else among plugin-builder's packaged templates "
        "(`templates/resource`, `templates/scheduler`, `templates/manager`)",
        t.plugin_template, shown="none (`new-plugin` refuses the type)")
    name_pattern: str | None = key(
        None, 'name_pattern = "[a-z]+-hook"', "naming rule: a regular expression (Python "
        "syntax) the whole name must match; matched by an automaton in time linear in the "
        "name, so without backreferences, lookarounds, `\\b`, atomic groups or possessive "
        "quantifiers", t.name_pattern)
    names: tuple[str, ...] = key(
        (), 'names = ["evaluator"]', "naming rule: the only names a plugin of this type may have "
        "(a host that loads exactly one name per type)", c.distinct, c.not_empty,
        shown="`[]` (any name)")
    symbol_types: Mapping[str, str] = key(
        {}, f'symbols = {{ DragonflyPluginInit = "{SYMBOL_TYPES}" }}', "required symbols with "
        "the Go type the host asserts each to: a function type, a pointer to a variable "
        '(`"*string"`), or an interface the variable\'s pointer implements; names are exported '
        "Go identifiers, types one line with balanced brackets", t.symbol_types, toml="symbols")
    optional_symbols: Mapping[str, str] = key(
        {}, 'optional_symbols = { Cleanup = "func() error" }', "symbols a plugin may export, "
        "with their Go types; not also required", t.symbol_types, t.not_also_required)
    imports: tuple[str, ...] = key(
        (), 'imports = ["context", "net/http"]', "the packages the types of `symbols` / "
        '`optional_symbols` name (`http.Handler` needs `"net/http"`); each one used',
        c.distinct, c.each(c.import_path))
    check: tuple[str, ...] = key(
        (), 'check = ["{binary}", "test-plugin", "-s", "{plugin}"]', "the check command for "
        "plugins of this type, instead of its service's (a host that checks each kind with "
        "another flag); same rules as `host.services.<name>.check`", c.check_command,
        shown="`[]` (the service's `check`)")
    call: Call | None = key(
        None, "", "the function the host calls, what it passes and what it checks of the "
        "results; the stand-in loader calls it as the host does", shown="none (no call)")

    @property
    def declared_types(self) -> tuple[tuple[str, str], ...]:
        """(what, Go type) of every type the contract names: each symbol's, and each
        type a returned value of the call must have."""
        symbols = {**self.symbol_types, **self.optional_symbols}.items()
        returned = [] if self.call is None else [
            (f"{self.call.symbol}'s result {index + 1}", value.implements)
            for index, value in enumerate(self.call.returns) if value.implements]
        return tuple(symbols) + tuple(returned)

    @property
    def typed_symbols(self) -> tuple[Symbol, ...]:
        """The symbols of `symbols` (required) and `optional_symbols`, with their types."""
        return tuple(Symbol(name, go_type, True) for name, go_type in self.symbol_types.items()) \
            + tuple(Symbol(name, go_type, False) for name, go_type in self.optional_symbols.items())

    @property
    def symbols(self) -> tuple[str, ...]:
        """Every symbol a plugin of this type must export."""
        entry = (self.entry_symbol,) if self.entry_symbol else ()
        return tuple(dict.fromkeys(entry + self.required_symbols + tuple(self.symbol_types)))

    @property
    def contract_symbols(self) -> tuple[Symbol, ...]:
        """Every symbol of the contract, the required first, each with its Go type if known."""
        required = tuple(Symbol(name, self.symbol_types.get(name), True) for name in self.symbols)
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
            return f"{show(name)} is {len(name)} characters long: a name has at most {MAX_NAME}"
        if not c.TARGET_NAME_RE.fullmatch(name):
            return f"{show(name)} is not a valid name ({c.TARGET_NAME_RE.pattern[2:-2]})"
        broken = f"{show(name)} breaks the {self.name} naming rule: a {self.name} plugin's name"
        if self.names and name not in self.names:
            return f"{broken} must be one of: {', '.join(self.names)}"
        if self.name_contains and self.name_contains not in name:
            return f"{broken} must contain {self.name_contains!r}"
        if self.name_pattern and not compile_pattern(self.name_pattern).fullmatch(name):
            return f"{broken} must match {self.name_pattern!r}"
        return None

    def file_name(self, plugin_name: str) -> str:
        return self.file.format(type=self.name, name=plugin_name)


@dataclass(frozen=True, kw_only=True)
class PluginTarget:
    CHECKS: ClassVar = (t.source_layout,)
    type: str = key(REQUIRED, 'type = "scheduler"', "a plugin target's type (a `[plugin_types]` "
                    "table)", c.one_of(lambda ctx: ctx.open[""]["plugin_types"], "plugin type",
                                       "type of [plugin_types]"))
    name: str = key(
        REQUIRED, 'name = "hello-world"', "its name: lowercase words joined by one `-` or `_` "
        "(`[a-z0-9]+(?:[-_][a-z0-9]+)*`), following the type's rules (`names`, "
        "`name_contains`, `name_pattern`)", t.plugin_name)
    source: Path = key(
        REQUIRED, 'source = "plugins/scheduler/evaluator"', "its folder: a Go module of its own "
        "(its go.mod; out of tree), or a folder without go.mod inside the host module (an "
        "in-tree plugin, built as a package of the host's module)", c.project_path)
    stamp: Mapping[str, str] = key(
        {}, 'stamp = { "main.buildCommit" = "{commit}", "main.buildTime" = "{time}" }',
        "`-ldflags -X` values of this plugin's build; placeholders `{commit}` `{time}` "
        "`{version}` `{combination}` `{go}` `{libc}` `{arch}` `{type}` `{name}`",
        c.plugin_stamp, each="<go variable>", shown="none (no stamp)")
    # True: the folder has no go.mod and is a package of the host module (built in the
    # host's module, like Dragonfly's in-tree plugins); False: it is its own module.
    in_tree: bool = False

    @property
    def id(self) -> str:
        return f"{self.type}/{self.name}"


@dataclass(frozen=True)
class Docker:
    """[docker]: image names, and how `invoke bootstrap-base` makes base images offline."""

    builder_repository: str = key(
        "plugin-builder/builder", 'builder_repository = "registry.example.com/pb/builder"',
        "builder images are `<repository>:<combination>`", c.repository(per_service=False))
    service_repository: str = key(
        "plugin-builder/{service}", 'service_repository = "registry.example.com/{service}"',
        "service images are `<repository>:<combination>`; must contain `{service}`",
        c.repository(per_service=True))
    bootstrap_suite: str = key("bookworm", 'bootstrap_suite = "trixie"', "the Debian release "
                               "`invoke bootstrap-base` debootstraps", c.debian_suite)
    bootstrap_mirror: str = key(
        "http://deb.debian.org/debian", 'bootstrap_mirror = "http://mirror.example.com/debian"',
        "the Debian mirror it uses", c.mirror_url)

    def builder_tag(self, combination: Combination) -> str:
        return f"{self.builder_repository}:{combination.id}"

    def service_tag(self, service: str, combination: Combination) -> str:
        return f"{self.service_repository.format(service=service)}:{combination.id}"


# What provides a bare `go-cacher` in [cache] prog: bradfitz/go-tool-cache has no tags; this
# pseudo-version is the module proxy's latest (`go list -m -versions` lists none).
GO_CACHER = "github.com/bradfitz/go-tool-cache/cmd/go-cacher@v0.0.0-20260722201841-0bb331e19f64"


@dataclass(frozen=True)
class Cache:
    """[cache]: a compile cache shared by machines, checkouts and CI jobs (GOCACHEPROG)."""

    prog: str = key(
        "", 'prog = "go-cacher --cache-server=http://cache:31364"', "a `GOCACHEPROG` command "
        "(Go 1.24 and later; older releases keep their local cache): the program and its "
        "flags, split as Go splits it (on spaces; `'...'` or `\"...\"` around a word), no "
        "shell. Set for every go command, locally and in builder images, and linked "
        "artifacts are kept in it too; `GOCACHEPROG` in the environment overrides it. Hits "
        "across checkouts need `host.trimpath` (or the same paths)", c.cache_prog,
        shown='`""` (none)')
    install: str = key(
        GO_CACHER, f'install = "{GO_CACHER}"', "the Go package, at an exact version, that "
        "provides `prog`'s program when `prog` names it bare (`go-cacher`): built with the "
        "combination's Go into the toolchain cache and into builder images "
        "(`/usr/local/bin`)", c.go_install, shown="go-cacher of bradfitz/go-tool-cache, pinned")

    @property
    def program(self) -> str:
        """The name of the program `install` makes ("go-cacher"; as go install names it,
        a major version suffix "/v2" is not the name)."""
        elements = self.install.split("@", 1)[0].split("/")
        versioned = len(elements) > 1 and re.fullmatch(r"v[0-9]+", elements[-1])
        return elements[-2] if versioned else elements[-1]


@dataclass(frozen=True, kw_only=True)
class Config:
    CHECKS: ClassVar = (t.matrix_libcs_declared, t.file_collisions, t.output_folders,
                        t.released_host_fits)
    path: Path
    root: Path  # the project folder: the folder that holds the config file
    # Declared first: its allow_outside_paths governs every path read after it.
    project: Project = key(Project(), "", "where outputs go, and where paths may lead")
    matrix: Matrix = key(REQUIRED, "", "the Go releases x libcs x arches to build for")
    libcs: Mapping[str, Libc] = key(REQUIRED, "", "the C toolchain of each libc", c.declared(
        "libc", 'add [libc.glibc] with cc = "gcc"'), toml="libc", each="<name>")
    host: Host = key(REQUIRED, "", "the host module and how it is built")
    plugin_types: Mapping[str, PluginType] = key(
        REQUIRED, "", "the kinds of plugin and their contracts",
        c.declared("plugin type", "add [plugin_types.NAME] with service and file"),
        t.same_file_patterns, each="<type>")
    plugins: tuple[PluginTarget, ...] = key((), "", "the plugins to build", t.targets_once,
                                            each="target")
    docker: Docker = key(Docker(), "", "image names, and how base images are made")
    cache: Cache = key(Cache(), "", "a compile cache shared by machines, checkouts and CI jobs")
    artifacts: Path = field(default=Path())  # project.artifacts and .results, resolved and
    results: Path = field(default=Path())  # checked apart from every source (output_folders)

    @property
    def toolchain_cache(self) -> Path:
        return self.project.toolchain_cache

    @property
    def backend(self) -> str:
        return self.project.backend

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
