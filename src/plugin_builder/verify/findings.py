"""What verify judges with and what it reports: the data types of the verdict.

A :class:`Comparison` is what the rules read (two sides, the contract, where fixes
point, the fingerprint verdict); a :class:`Finding` is what one rule reports, under one
:class:`RuleId`. The rules themselves, in order, are :data:`plugin_builder.verify.rules.RULES`.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from enum import StrEnum

from plugin_builder.binary.fingerprints import FingerprintVerdict
from plugin_builder.binary.side import Side
from plugin_builder.golang.goenv import fingerprint_flags
from plugin_builder.status import Severity

ERROR, WARNING = Severity

# What hosts print, as measured (tests/integration/test_inspect_real_binaries.py).
NO_PLUGIN_MODULE_DATA = "fatal error: runtime: no plugin module data"
NOT_IMPLEMENTED = "plugin: not implemented"
DYNAMIC_LOADING_NOT_SUPPORTED = "Dynamic loading not supported"


class RuleId(StrEnum):
    """Every rule a finding can name: its stable id in reports, JSON and the docs
    (docs/troubleshooting.md#rule-<id>). What each rule does is its record in RULES."""

    NOT_A_GO_HOST = "not-a-go-host"
    HOST_CGO_DISABLED = "host-cgo-disabled"
    HOST_STATIC = "host-static"
    ARCH = "arch"
    LIBC = "libc"
    GLIBC_FLOOR = "glibc-floor"
    NOT_A_GO_PLUGIN = "not-a-go-plugin"
    NOT_A_PLUGIN = "not-a-plugin"
    GO_VERSION = "go-version"
    BUILD_SETTING = "build-setting"
    MODULE_VERSION = "module-version"
    PACKAGE_FINGERPRINT = "package-fingerprint"
    ENTRY_SYMBOL = "entry-symbol"
    # Between the plugins a service loads together.
    PLUGIN_PATH = "plugin-path"
    PLUGIN_CONFLICT = "plugin-conflict"
    # Only a live load reports these.
    CONTRACT = "contract"
    PLUGIN_ERROR = "plugin-error"
    FILE_NAME = "file-name"
    LOAD_REFUSED = "load-refused"
    LOAD_CRASHED = "load-crashed"
    LOAD_INCOMPLETE = "load-incomplete"
    CONTRACT_UNCHECKED = "contract-unchecked"
    LOADER_NOT_BUILT = "loader-not-built"
    # The verify step reports these about the artifacts it was given.
    NOT_BUILT = "not-built"
    STALE_ARTIFACT = "stale-artifact"


@dataclass(frozen=True)
class ReturnCheck:
    """What the host checks of one value its call returns."""

    implements: str | None = None  # the Go type the value is asserted to
    is_nil: bool | None = None  # True: must be nil; False: must not be; None: unchecked
    has: tuple[tuple[str, str], ...] = ()  # map entries, values with {type} and {name}


@dataclass(frozen=True)
class ContractCall:
    """A function the host calls, what it passes and what it checks of the results."""

    symbol: str
    arguments: tuple[str, ...]  # Go literals, one per parameter
    returns: tuple[ReturnCheck, ...]  # one per result, in order


@dataclass(frozen=True)
class Contract:
    """What the host looks up in a plugin of one type, and as which Go type.

    ``types`` holds, for the symbols whose type is declared, exactly the Go type the
    host asserts the looked-up symbol to (``func() error``, ``*string`` for a variable,
    ``interface{ M() }`` for a variable whose pointer must implement it); ``optional``
    symbols may be missing, but when present must have their declared type. ``call``:
    the function the host calls and what it checks of the results.
    """

    plugin_type: str
    symbols: tuple[str, ...]  # required: the entry symbol, or every symbol the host requires
    optional: tuple[str, ...] = ()
    types: tuple[tuple[str, str], ...] = ()  # (symbol, Go type) for the declared ones
    imports: tuple[str, ...] = ()  # packages the Go types name
    call: ContractCall | None = None

    @classmethod
    def entry(cls, plugin_type: str, symbol: str = "DragonflyPluginInit") -> Contract:
        return cls(plugin_type=plugin_type, symbols=(symbol,))

    def type_of(self, symbol: str) -> str | None:
        return dict(self.types).get(symbol)

    @property
    def asserts(self) -> bool:
        """Whether a load checks more than that the symbols exist."""
        return bool(self.types) or self.call is not None

    def key_of(self, symbol: str) -> str:
        """The config key that declares ``symbol``'s type."""
        table = "optional_symbols" if symbol in self.optional else "symbols"
        return f"plugin_types.{self.plugin_type}.{table}.{symbol}"


@dataclass(frozen=True)
class ProjectView:
    """What the config has, so that a fix names only what exists: its plugin targets, the
    combinations of its matrix, the host module it builds and the C compiler of each libc.
    """

    config: str  # the path of buildconfig.toml
    targets: tuple[tuple[str, str], ...]  # ("type/name", the target's source folder)
    combinations: frozenset[str]
    default: tuple[str, str, str]  # (go, libc, arch) of matrix.default: what a flag left out is
    host_module: str  # the module path of the host it builds
    compilers: tuple[tuple[str, str], ...] = ()  # (libc, its cc on this machine's arch)

    @property
    def name(self) -> str:
        return self.config.rsplit("/", 1)[-1]

    def source_of(self, target: str) -> str | None:
        return dict(self.targets).get(target)


@dataclass(frozen=True)
class RebuildHint:
    """Where fixes point: the plugin target and the host's combination as detected, and,
    when known, what the project has (then a fix names only real targets and
    combinations, or says the binary is not one of them and gives the go command)."""

    plugin_type: str
    plugin_name: str | None = None
    go_version: str | None = None  # "1.27.3", no "go" prefix
    libc: str | None = None
    arch: str | None = None
    project: ProjectView | None = None
    plugin_file: str = "the plugin"  # its file name
    flags: tuple[str, ...] = ()  # the host's fingerprint flags (-trimpath, -tags=...)
    host_main: str = ""  # the host's main package path
    host_module: str = ""  # the host's main module path

    @classmethod
    def for_host(cls, host: Side, plugin_type: str, plugin_name: str | None = None, *,
                 project: ProjectView | None = None, plugin_file: str = "the plugin"
                 ) -> RebuildHint:
        info = host.buildinfo
        go_version = info.base_go_version.removeprefix("go") if info else None
        flags: tuple[str, ...] = ()
        if info is not None:
            flags = tuple(fingerprint_flags(trimpath=info.trimpath,
                                            tags=[t for t in info.setting("-tags").split(",")
                                                  if t],
                                            gcflags=info.setting("-gcflags")))
        return cls(plugin_type, plugin_name, go_version or None, host.elf.libc,
                   host.elf.goarch, project, plugin_file, flags,
                   info.path if info else "", info.main.path if info else "")

    def build_plugin_command(self, *, with_arch: bool = False) -> str:
        if self.project is None:
            return self._invoke("build-plugin", self._target_flags(),
                                self._legacy_flags(self.libc, with_arch))
        combination = self._combination(self.libc)
        target = f"{self.plugin_type}/{self.plugin_name}"
        if combination is not None and self.project.source_of(target) is not None:
            return self._invoke("build-plugin", self._target_flags(),
                                self._flags(combination, with_arch))
        build = ["build", "-buildmode=plugin", *self.flags, "-o", self.plugin_file, "."]
        return (f"{self.go_command(build, self.libc)}  (in the plugin's module folder: "
                f"{self.plugin_file} is not a plugin target of {self.project.name})")

    def build_host_command(self, libc_fallback: str | None = None, *,
                           the_projects: bool = False) -> str:
        """How to build the host again; ``the_projects``: the project's own host, whatever
        binary was given as the host (one that cannot load plugins at all)."""
        # A static host's libc often cannot be told, so the caller offers the plugin's.
        libc = self.libc or libc_fallback
        if self.project is None:
            return self._invoke("build-host", [], self._legacy_flags(libc, False))
        combination = self._combination(libc) or \
            (self.project.default if the_projects else None)
        ours = the_projects or self.host_module in ("", self.project.host_module)
        if combination is not None and ours:
            return self._invoke("build-host", [], self._flags(combination, False))
        name = self.host_main.rsplit("/", 1)[-1] or "HOST"
        build = ["build", *self.flags, "-o", name, self.host_main or "./cmd/HOST"]
        return (f"{self.go_command(build, libc)}  (in the host's module folder: it is not "
                f"the host {self.project.name} builds)")

    def go_command(self, args: list[str], libc: str | None = None) -> str:
        """A go command with the host's Go release: the project's own go through
        ``plugin-builder go`` for a combination of its matrix, else go told to fetch that
        release (``GOTOOLCHAIN``), with the libc's C compiler."""
        words = [shlex.quote(arg) for arg in args]
        combination = self._combination(libc or self.libc) if self.project else None
        if self.project is not None and combination is not None:
            flags = " ".join(self._flags(combination, True))
            return (f"plugin-builder go --config {shlex.quote(self.project.config)} {flags} "
                    f"-- {' '.join(words)}")
        env = [f"GOTOOLCHAIN=go{self.go_version}"] if self.go_version else []
        if args and args[0] == "build":
            env += ["CGO_ENABLED=1", f"GOARCH={self.arch or 'amd64'}",
                    f"CC={self._cc(libc or self.libc)}"]
        return " ".join([*env, "go", *words])

    def in_plugin_folder(self, command: str) -> str | None:
        """``command`` run in the plugin target's source folder; None: not a target."""
        if self.project is None:
            return None
        source = self.project.source_of(f"{self.plugin_type}/{self.plugin_name}")
        return None if source is None else f"(cd {shlex.quote(source)} && {command})"

    # -- the words --------------------------------------------------------------------

    def _combination(self, libc: str | None) -> tuple[str, str, str] | None:
        """(go, libc, arch) with the defaults a left-out flag takes, if the matrix has it."""
        assert self.project is not None
        go, default_libc, arch = self.project.default
        chosen = (self.go_version or go, libc or default_libc, self.arch or arch)
        return chosen if "go{}-{}-{}".format(*chosen) in self.project.combinations else None

    def _flags(self, combination: tuple[str, str, str], with_arch: bool) -> list[str]:
        assert self.project is not None
        go, libc, arch = combination
        flags = [f"--go {go}", f"--libc {libc}"]
        if with_arch or arch != self.project.default[2]:
            flags.append(f"--arch {arch}")
        return flags

    def _target_flags(self) -> list[str]:
        return [f"--type {self.plugin_type}"] + \
            ([f"--name {self.plugin_name}"] if self.plugin_name else [])

    @staticmethod
    def _invoke(task: str, target: list[str], flags: list[str]) -> str:
        return " ".join([f"invoke {task}", *target, *flags])

    def _legacy_flags(self, libc: str | None, with_arch: bool) -> list[str]:
        flags = [f"--go {self.go_version}"] if self.go_version else []
        if libc:
            flags.append(f"--libc {libc}")
        # amd64 is the combination everyone builds by default; other arches must be named.
        if self.arch and (with_arch or self.arch != "amd64"):
            flags.append(f"--arch {self.arch}")
        return flags

    def _cc(self, libc: str | None) -> str:
        known = dict(self.project.compilers) if self.project else {}
        return known.get(libc or "", _COMPILERS.get(libc or "", "gcc"))


# Each libc's C compiler as Debian names it, for a go build line outside any project.
_COMPILERS = {"glibc": "gcc", "musl": "musl-gcc"}


@dataclass(frozen=True)
class Finding:
    """One reason the plugin would not load (severity "error") or might not ("warning")."""

    rule: RuleId
    subject: str  # what differs: a setting, a module path, a symbol, "go", "libc", ...
    host_value: str
    plugin_value: str
    host_error: str  # what the real host prints; "" when it cannot be predicted
    fix: str  # the exact command or edit
    summary: str  # the difference in words, the start of `message`
    fix_action: str = "rebuild with"  # how `fix` is applied, e.g. "rebuild with"
    severity: Severity = ERROR
    host_crashes: bool = False  # the host process dies instead of getting an error
    # A go-version finding whose outcome was measured for this pair of releases.
    measured_across_releases: bool = False

    @property
    def message(self) -> str:
        fix = f"fix: {self.fix_action}: {self.fix}"
        if not self.host_error:
            return f"{self.summary}; {fix}"
        if self.host_crashes:
            outcome = "dies with"
        else:
            outcome = "may fail with" if self.severity == WARNING else "fails with"
        return f'{self.summary}: the host {outcome} "{self.host_error}"; {fix}'


@dataclass(frozen=True)
class Comparison:
    """What every rule reads: one host and one plugin, and what they are judged by."""

    host: Side
    plugin: Side
    contract: Contract
    hint: RebuildHint
    fingerprints: FingerprintVerdict
    # The oldest glibc host and plugin must run on ("2.28"), as libc.<name>.glibc_floor
    # declares it; None: no floor.
    glibc_floor: str | None = None

    def dlopen_error(self, error: str) -> str:
        """An error of dlopen as plugin.Open reports it."""
        return f'plugin.Open("{self.plugin.path}"): {error}'

    def package_error(self, package: str) -> str:
        """The Go runtime's refusal; by then plugin.Open has dropped ".so" from the name."""
        name = self.plugin.path.removesuffix(".so")
        return (
            f'plugin.Open("{name}"): plugin was built with a different version of package {package}'
        )

    def rebuild_plugin(self, **flags: bool) -> str:
        return self.hint.build_plugin_command(**flags)
