"""What verify judges with and what it reports: the data types of the verdict.

A :class:`Comparison` is what the rules read (two sides, the contract, where fixes
point, the fingerprint verdict); a :class:`Finding` is what one rule reports, under one
:class:`RuleId`. The rules themselves, in order, are :data:`plugin_builder.verify.rules.RULES`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from plugin_builder.binary.fingerprints import FingerprintVerdict
from plugin_builder.binary.side import Side
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
class RebuildHint:
    """Where fixes point: the plugin target and the host's combination as detected."""

    plugin_type: str
    plugin_name: str | None = None
    go_version: str | None = None  # "1.27.3", no "go" prefix
    libc: str | None = None
    arch: str | None = None

    @classmethod
    def for_host(cls, host: Side, plugin_type: str, plugin_name: str | None = None) -> RebuildHint:
        go_version = host.buildinfo.base_go_version.removeprefix("go") if host.buildinfo else None
        return cls(plugin_type, plugin_name, go_version or None, host.elf.libc, host.elf.goarch)

    def build_plugin_command(self, *, with_arch: bool = False) -> str:
        words = ["invoke build-plugin", f"--type {self.plugin_type}"]
        if self.plugin_name:
            words.append(f"--name {self.plugin_name}")
        return " ".join(words + self._combination_flags(self.libc, with_arch))

    def build_host_command(self, libc_fallback: str | None = None) -> str:
        # A static host's libc often cannot be told, so the caller offers the plugin's.
        flags = self._combination_flags(self.libc or libc_fallback, with_arch=False)
        return " ".join(["invoke build-host", *flags])

    def _combination_flags(self, libc: str | None, with_arch: bool) -> list[str]:
        flags = [f"--go {self.go_version}"] if self.go_version else []
        if libc:
            flags.append(f"--libc {libc}")
        # amd64 is the combination everyone builds by default; other arches must be named.
        if self.arch and (with_arch or self.arch != "amd64"):
            flags.append(f"--arch {self.arch}")
        return flags


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
