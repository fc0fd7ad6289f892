"""Predict, without loading anything, whether a plugin loads into its host.

Each rule compares one thing that DESIGN.md section 5 lists as a reason plugins fail to
load, and reports it as a :class:`Finding` carrying the error the real host would show
and the exact command that fixes it. :func:`analyze` runs the rules in the order the
host itself would trip over the problems, so the first finding is the root cause.

The host errors quoted here were reproduced with Go 1.26/1.27 on glibc and musl hosts
(see tests/integration/test_inspect_real_binaries.py).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import BinaryIO

from plugin_builder.binary.buildinfo import DEVEL, BuildInfo, Module, buildinfo_from
from plugin_builder.binary.elffacts import GLIBC, MUSL, UNREAD, DynamicSymbols, ElfFacts, facts_from
from plugin_builder.binary.elfheaders import ElfHeaders, parse_elf
from plugin_builder.binary.elftables import SymbolTable
from plugin_builder.binary.fingerprints import (
    DIFFER,
    MATCH,
    UNREADABLE,
    Fingerprints,
    FingerprintVerdict,
    compare,
    fingerprints_from,
)
from plugin_builder.errors import BinaryError
from plugin_builder.status import Severity

ERROR, WARNING = Severity

NO_PLUGIN_MODULE_DATA = "fatal error: runtime: no plugin module data"
NOT_IMPLEMENTED = "plugin: not implemented"
DYNAMIC_LOADING_NOT_SUPPORTED = "Dynamic loading not supported"

# The package path Go records for a plugin built from a list of .go files.
_FILE_LIST_PACKAGE = "command-line-arguments"

# glibc's library directory per GOARCH, where a glibc host finds the libc.so linker
# script that a musl plugin's bare DT_NEEDED "libc.so" resolves to.
_GLIBC_LIBDIR = {
    "amd64": "/lib/x86_64-linux-gnu",
    "arm64": "/lib/aarch64-linux-gnu",
    "386": "/lib/i386-linux-gnu",
    "arm": "/lib/arm-linux-gnueabihf",
}

# Package-fingerprint settings, in the order findings list them. Measured on Go 1.26.8:
# the package the runtime names first when the setting differs (None: not measured).
_FINGERPRINT_SETTINGS = {
    "-trimpath": "internal/goarch",
    "-race": None,  # measured: sync/atomic, or internal/runtime/sys: it depends on the host
    "-msan": None,
    "-asan": None,
    "GOEXPERIMENT": "internal/goexperiment",
    "-gcflags": "internal/abi",
    "-tags": None,
    "-mod": None,
}
# CGO_ENABLED feeds fingerprints too, but -buildmode=plugin needs cgo, so a difference
# always restates host-cgo-disabled or not-a-plugin and is not compared on its own.


# -- inputs -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Side:
    """One binary of the comparison: a host or a plugin."""

    elf: ElfFacts
    buildinfo: BuildInfo | None
    path: str
    # The package fingerprints it exports (None: none readable, and why).
    fingerprints: Fingerprints | None = None
    no_fingerprints: str = ""

    @classmethod
    def read(cls, path: str | os.PathLike[str], recorded: Fingerprints | None = None, *,
             lookups: bool = True) -> Side:
        """Everything verify needs from one binary, read in one pass over its headers.

        ``recorded``: its fingerprints as kept when it landed, if it is unchanged since.
        ``lookups``: False for a host, whose symbols nobody looks up; with recorded
        fingerprints, its symbol table (1-2 MB) is then not read at all.
        """
        def parse(path: str, elf: ElfHeaders, stream: BinaryIO) -> Side:
            table: SymbolTable | None
            prints: Fingerprints | str
            if lookups or recorded is None:
                table, prints = _table_and_fingerprints(path, elf, stream, recorded)
            else:
                table, prints = None, recorded
            fingerprints, why = _usable(prints)
            exported = DynamicSymbols(table) if lookups else UNREAD
            return cls(elf=facts_from(path, elf, stream, exported),
                       buildinfo=buildinfo_from(os.path.abspath(path), elf, stream),
                       path=path, fingerprints=fingerprints, no_fingerprints=why)

        return parse_elf(os.fspath(path), parse)


def _table_and_fingerprints(
    path: str, elf: ElfHeaders, stream: BinaryIO, recorded: Fingerprints | None,
) -> tuple[SymbolTable | None, Fingerprints | str]:
    """The binary's .dynsym and its fingerprints (``recorded`` if given), or why none."""
    try:
        table = SymbolTable.read(elf, stream)
    except ValueError as error:  # a .dynsym without strings: nothing to look up
        return None, f"{path}: not an ELF binary ({error})"
    if recorded is not None:
        return table, recorded
    return table, _fingerprints_read(path, elf, stream, table)


def _fingerprints_read(path: str, elf: ElfHeaders, stream: BinaryIO,
                       table: SymbolTable | None) -> Fingerprints | str:
    """The binary's fingerprints, or why they cannot be read."""
    try:
        return fingerprints_from(path, elf, stream, table)
    except BinaryError as error:
        return error.message
    except ValueError as error:
        return f"{path}: not an ELF binary ({error})"


def _usable(fingerprints: Fingerprints | str) -> tuple[Fingerprints | None, str]:
    """(fingerprints, "") when there are any; else (None, why there are none)."""
    if isinstance(fingerprints, str):
        return None, fingerprints
    if not fingerprints.hashes:
        return None, fingerprints.why_none or "it exports no fingerprints"
    return fingerprints, ""


def fingerprint_verdict(host: Side, plugin: Side) -> FingerprintVerdict:
    """What the runtime's own check finds: every shared package's fingerprint compared."""
    if host.fingerprints is None or plugin.fingerprints is None:
        missing = [f"{role}: {side.no_fingerprints}" for role, side in
                   (("host", host), ("plugin", plugin)) if side.fingerprints is None]
        return FingerprintVerdict(UNREADABLE, reason="; ".join(missing))
    return compare(host.fingerprints, plugin.fingerprints)


@dataclass(frozen=True)
class Contract:
    """What the host looks up in a plugin of one type, and as which Go type.

    ``types`` holds, for the symbols whose type is declared, exactly the Go type the
    host asserts the looked-up symbol to (``func() error``, ``*string`` for a variable,
    ``interface{ M() }`` for a variable whose pointer must implement it); ``optional``
    symbols may be missing, but when present must have their declared type.
    """

    plugin_type: str
    symbols: tuple[str, ...]  # required: the entry symbol, or every symbol the host requires
    optional: tuple[str, ...] = ()
    types: tuple[tuple[str, str], ...] = ()  # (symbol, Go type) for the declared ones
    imports: tuple[str, ...] = ()  # packages the Go types name

    @classmethod
    def entry(cls, plugin_type: str, symbol: str = "DragonflyPluginInit") -> Contract:
        return cls(plugin_type=plugin_type, symbols=(symbol,))

    def type_of(self, symbol: str) -> str | None:
        return dict(self.types).get(symbol)


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


# -- output -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    """One reason the plugin would not load (severity "error") or might not ("warning")."""

    rule: str  # stable kebab-case id, see RULES
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


# -- the comparison -----------------------------------------------------------------------


@dataclass(frozen=True)
class _Pair:
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


def analyze(
    host: Side, plugin: Side, contract: Contract, rebuild_hint: RebuildHint,
    fingerprints: FingerprintVerdict | None = None,
) -> list[Finding]:
    """Every reason ``plugin`` would not load into ``host``, root cause first.

    Where both binaries' fingerprints can be read, they decide whether the runtime
    accepts the packages (the ``package-fingerprint`` rule); the build info rules then
    explain a difference, and a difference that changes no shared package is a warning.
    """
    verdict = fingerprints or fingerprint_verdict(host, plugin)
    pair = _Pair(host, plugin, contract, rebuild_hint, verdict)
    findings: list[Finding] = []
    for rule in RULES.values():
        findings.extend(rule(pair))
    return _weigh_by_fingerprints(_drop_consequences(findings), pair)


# Rules whose findings predict a package mismatch from build info; fingerprints decide.
_EXPLAINING_RULES = ("go-version", "build-setting", "module-version")


def _weigh_by_fingerprints(findings: list[Finding], pair: _Pair) -> list[Finding]:
    """Build info differences are explanations of the fingerprint verdict, not verdicts:
    with matching fingerprints they are warnings; with differing ones they carry the
    refusal exactly as the runtime words it."""
    verdict = pair.fingerprints
    if verdict.status == UNREADABLE:
        return findings
    weighed = []
    for finding in findings:
        if finding.rule in _EXPLAINING_RULES and not finding.measured_across_releases:
            if verdict.status == MATCH:
                finding = dataclasses.replace(
                    finding, severity=WARNING, host_error="",
                    summary=finding.summary + " (no package both binaries contain differs: "
                    "the runtime accepts it)")
            else:
                finding = dataclasses.replace(finding, host_error=_exact_refusal(pair))
        weighed.append(finding)
    return weighed


def _exact_refusal(pair: _Pair) -> str:
    verdict = pair.fingerprints
    if verdict.first:
        return pair.package_error(verdict.first)
    return pair.package_error(f"<one of {_listed(verdict.differing)}>")


def _drop_consequences(findings: list[Finding]) -> list[Finding]:
    """Remove findings that only restate an earlier one, so the root cause stays visible."""
    fired = {finding.rule for finding in findings}

    def is_consequence(finding: Finding) -> bool:
        if finding.rule == "package-fingerprint" and finding.severity == WARNING:
            # No fingerprints to read is what a host that cannot load plugins looks like.
            return bool(fired & {"host-static", "host-cgo-disabled", "not-a-plugin", "arch",
                                 "no-buildinfo"})
        if finding.rule == "host-static":
            return "host-cgo-disabled" in fired  # a cgo-less build is static by consequence
        if finding.rule == "entry-symbol":
            return "not-a-plugin" in fired  # what a refused file exports does not matter
        return False

    return [finding for finding in findings if not is_consequence(finding)]


# -- rules: the host can load plugins at all ---------------------------------------------


def _host_cgo_disabled(pair: _Pair) -> Iterator[Finding]:
    info = pair.host.buildinfo
    if info is None or info.cgo_enabled is not False:
        return
    yield Finding(
        rule="host-cgo-disabled",
        subject="CGO_ENABLED",
        host_value="0",
        plugin_value="1",
        host_error=NOT_IMPLEMENTED,
        fix=pair.hint.build_host_command(pair.plugin.elf.libc),
        fix_action="rebuild the host with cgo (hosts built by plugin-builder always have it)",
        summary="host built with CGO_ENABLED=0, which compiles plugin.Open as a stub",
    )


def _host_static(pair: _Pair) -> Iterator[Finding]:
    host = pair.host.elf
    if host.is_dynamically_linked:
        return
    # Measured: a static glibc host gets through dlopen and then the Go runtime finds no
    # module data; a static musl host's dlopen refuses outright.
    crashes = host.libc == GLIBC
    error = NO_PLUGIN_MODULE_DATA if crashes else pair.dlopen_error(DYNAMIC_LOADING_NOT_SUPPORTED)
    missing = "no PT_INTERP" if host.is_dynamic else "no PT_INTERP, no dynamic section"
    yield Finding(
        rule="host-static",
        subject="host",
        host_value=f"static ({missing})",
        plugin_value="needs a dynamically linked host",
        host_error=error,
        fix=pair.hint.build_host_command(pair.plugin.elf.libc),
        fix_action="rebuild the host dynamically linked (no -extldflags -static) with",
        summary="host is statically linked, so it cannot dlopen plugins",
        host_crashes=crashes,
    )


# -- rules: dlopen accepts the file ------------------------------------------------------


def _arch(pair: _Pair) -> Iterator[Finding]:
    host, plugin = pair.host.elf, pair.plugin.elf
    host_arch = _arch_label(host, pair.host.buildinfo)
    plugin_arch = _arch_label(plugin, pair.plugin.buildinfo)
    if (host.elf_class, host.machine) != (
        plugin.elf_class,
        plugin.machine,
    ) or host_arch != plugin_arch:
        yield Finding(
            rule="arch",
            subject="GOARCH",
            host_value=host_arch,
            plugin_value=plugin_arch,
            host_error=pair.dlopen_error(_wrong_arch_error(host, plugin)),
            fix=pair.rebuild_plugin(with_arch=True),
            summary=f"plugin is {plugin_arch} ({_elf_label(plugin)}), "
            f"host is {host_arch} ({_elf_label(host)})",
        )
        return
    yield from _goamd64(pair)


def _arch_label(elf: ElfFacts, info: BuildInfo | None) -> str:
    return (info.goarch if info and info.goarch else None) or elf.goarch or elf.machine


def _elf_label(elf: ElfFacts) -> str:
    return f"ELFCLASS{elf.elf_class} {elf.machine}"


def _wrong_arch_error(host: ElfFacts, plugin: ElfFacts) -> str:
    if host.elf_class != plugin.elf_class:
        return f"{plugin.path}: wrong ELF class: ELFCLASS{plugin.elf_class}"
    # Measured: glibc skips a library of another machine as if it were not there.
    return f"{plugin.path}: cannot open shared object file: No such file or directory"


def _goamd64(pair: _Pair) -> Iterator[Finding]:
    host, plugin = pair.host.buildinfo, pair.plugin.buildinfo
    if not host or not plugin or host.goarch != "amd64" or plugin.goamd64 <= host.goamd64:
        return
    # Measured: GOAMD64 is not part of package fingerprints, so the plugin loads; but the
    # host checks the CPU only for its own level, and a plugin needing a higher one dies
    # on the first instruction the CPU lacks.
    yield Finding(
        rule="arch",
        subject="GOAMD64",
        host_value=host.goamd64,
        plugin_value=plugin.goamd64,
        host_error="SIGILL: illegal instruction",
        fix=pair.rebuild_plugin(),
        fix_action=f"rebuild with GOAMD64={host.goamd64}",
        summary=f"plugin needs GOAMD64={plugin.goamd64}, host only {host.goamd64}",
        severity=WARNING,
        host_crashes=True,
    )


def _libc(pair: _Pair) -> Iterator[Finding]:
    host, plugin = pair.host.elf, pair.plugin.elf
    if (
        not host.libc
        or not plugin.libc
        or host.libc == plugin.libc
        or not host.is_dynamically_linked
    ):
        return
    yield Finding(
        rule="libc",
        subject="libc",
        host_value=host.libc,
        plugin_value=plugin.libc,
        host_error=pair.dlopen_error(_wrong_libc_error(host, plugin)),
        fix=pair.rebuild_plugin(),
        summary=f"plugin linked against {plugin.libc}, host against {host.libc}",
        # Measured: a musl host loads a glibc plugin (musl maps libc.so.6 onto itself) and
        # fails only once the plugin needs a glibc-only symbol. Claim no certain failure.
        severity=WARNING if host.libc == MUSL else ERROR,
    )


def _wrong_libc_error(host: ElfFacts, plugin: ElfFacts) -> str:
    if host.libc == MUSL:
        # Measured: musl resolves libc.so.6 to itself, so a glibc plugin loads until it
        # needs a symbol only glibc has.
        return f"Error relocating {plugin.path}: <glibc-only symbol>: symbol not found"
    musl_names = [name for name in plugin.needed if name.startswith("libc.musl-")]
    if musl_names:
        return f"{musl_names[0]}: cannot open shared object file: No such file or directory"
    libdir = _GLIBC_LIBDIR.get(host.goarch or "", "/lib")
    return f"{libdir}/libc.so: invalid ELF header"


def _not_a_plugin(pair: _Pair) -> Iterator[Finding]:
    plugin, info = pair.plugin.elf, pair.plugin.buildinfo
    buildmode = info.buildmode if info else None
    if plugin.elf_type == "ET_DYN" and buildmode in (None, "plugin") and not plugin.interpreter:
        return
    error, crashes = _not_a_plugin_error(pair)
    built_as = f"-buildmode={buildmode}" if buildmode else plugin.elf_type
    yield Finding(
        rule="not-a-plugin",
        subject="-buildmode",
        host_value="plugin",
        plugin_value=buildmode or plugin.elf_type,
        host_error=error,
        fix=pair.rebuild_plugin(),
        summary=f"plugin file was built as {built_as}, not -buildmode=plugin",
        host_crashes=crashes,
    )


def _not_a_plugin_error(pair: _Pair) -> tuple[str, bool]:
    plugin = pair.plugin.elf
    if plugin.elf_type == "ET_EXEC":
        return pair.dlopen_error(f"{plugin.path}: cannot dynamically load executable"), False
    if plugin.interpreter:
        error = f"{plugin.path}: cannot dynamically load position-independent executable"
        return pair.dlopen_error(error), False
    # Measured for -buildmode=c-shared: dlopen succeeds, the Go runtime finds no plugin.
    return NO_PLUGIN_MODULE_DATA, True


# -- rules: the Go runtime accepts the packages ------------------------------------------


def _no_buildinfo(pair: _Pair) -> Iterator[Finding]:
    for role, side in (("host", pair.host), ("plugin", pair.plugin)):
        if side.buildinfo is not None:
            continue
        fix = (
            pair.hint.build_host_command(pair.plugin.elf.libc)
            if role == "host"
            else pair.rebuild_plugin()
        )
        yield Finding(
            rule="no-buildinfo",
            subject=role,
            host_value="present" if pair.host.buildinfo else "missing",
            plugin_value="present" if pair.plugin.buildinfo else "missing",
            host_error="",
            fix=fix,
            summary=f"{role} {side.path} carries no Go build information, so its Go version, "
            "settings and modules cannot be compared",
            severity=WARNING,
        )


def _go_version(pair: _Pair) -> Iterator[Finding]:
    host, plugin = pair.host.buildinfo, pair.plugin.buildinfo
    if not host or not plugin or host.base_go_version == plugin.base_go_version:
        return
    summary = f"plugin built by {plugin.base_go_version}, host by {host.base_go_version}"
    if host.go_release == plugin.go_release:
        # Within a release, only the standard packages whose export data changed between
        # the patch versions are refused: the package-fingerprint rule names them.
        yield Finding(rule="go-version", subject="go", host_value=host.base_go_version,
                      plugin_value=plugin.base_go_version, fix=pair.rebuild_plugin(),
                      host_error=pair.package_error("<a standard package that changed>"),
                      summary=summary)
        return
    error, crashes = _across_releases(pair, plugin.go_release, host.go_release)
    yield Finding(rule="go-version", subject="go", host_value=host.base_go_version,
                  plugin_value=plugin.base_go_version, host_error=error,
                  fix=pair.rebuild_plugin(), summary=summary,
                  host_crashes=crashes, measured_across_releases=True)


# What a host of one release did with a plugin of another, measured here (plugin release,
# host release): None: it died with NO_PLUGIN_MODULE_DATA; a package: it refused, naming
# it. Pairs not listed are said to be refused or to die, as nobody measured which.
MEASURED_ACROSS_RELEASES: dict[tuple[str, str], str | None] = {
    ("go1.26", "go1.27"): None,  # tests/integration/test_real_pairs.py
    ("go1.27", "go1.26"): None,  # tests/integration/test_inspect_real_binaries.py
    ("go1.23", "go1.25"): "internal/goarch",  # tests/integration/test_real_pairs.py
}


def _across_releases(pair: _Pair, plugin_release: str, host_release: str) -> tuple[str, bool]:
    key = (plugin_release, host_release)
    if key not in MEASURED_ACROSS_RELEASES:
        return (f"{pair.package_error('<a runtime package>')} or {NO_PLUGIN_MODULE_DATA} "
                f"(not measured for {plugin_release} in {host_release})", False)
    package = MEASURED_ACROSS_RELEASES[key]
    return (NO_PLUGIN_MODULE_DATA, True) if package is None \
        else (pair.package_error(package), False)


def _package_fingerprints(pair: _Pair) -> Iterator[Finding]:
    """The runtime's own check: each package both contain, compared by fingerprint."""
    verdict = pair.fingerprints
    if verdict.status == UNREADABLE:
        yield Finding(
            rule="package-fingerprint", subject="fingerprints", host_value="", plugin_value="",
            host_error="", fix=pair.rebuild_plugin(), severity=WARNING,
            fix_action="build the host with `import \"plugin\"` and dynamically linked, or "
                       "rebuild the plugin with",
            summary=f"package fingerprints cannot be read ({verdict.reason}), so shared "
                    "packages are compared by build info only")
        return
    if verdict.status != DIFFER:
        return
    causes = explain_differences(pair, verdict.differing)
    first = verdict.first
    named = first or verdict.differing[0]
    yield Finding(
        rule="package-fingerprint",
        subject=named,
        host_value=f"{verdict.shared} packages in common",
        plugin_value=f"{len(verdict.differing)} differ: " + _listed(verdict.differing),
        host_error=_exact_refusal(pair),
        fix=pair.rebuild_plugin(),
        fix_action="make the plugin's build match the host's (" + "; ".join(causes)
                   + "), then rebuild with",
        summary=f"{len(verdict.differing)} of the {verdict.shared} packages both binaries "
                f"contain were compiled differently" + (f", first checked: {first}" if first
                                                         else "") + f"; cause: {'; '.join(causes)}",
    )


def _listed(packages: tuple[str, ...], most: int = 5) -> str:
    shown = ", ".join(packages[:most])
    return shown + (f" (+{len(packages) - most} more)" if len(packages) > most else "")


def explain_differences(pair: _Pair, packages: tuple[str, ...]) -> list[str]:
    """Why these packages differ, as far as the two build infos can tell, most first."""
    host, plugin = pair.host.buildinfo, pair.plugin.buildinfo
    if host is None or plugin is None:
        return ["unknown: a binary carries no build information"]
    counts: dict[str, int] = {}
    for package in packages:
        cause = _cause_of(package, host, plugin)
        counts[cause] = counts.get(cause, 0) + 1
    return [f"{cause} ({n} package{'s' if n != 1 else ''})"
            for cause, n in sorted(counts.items(), key=lambda item: -item[1])]


def _cause_of(package: str, host: BuildInfo, plugin: BuildInfo) -> str:
    module = _module_of(package, host) or _module_of(package, plugin)
    if module is not None:
        host_module = host.modules_by_path().get(module)
        plugin_module = plugin.modules_by_path().get(module)
        if host_module and plugin_module and host_module.label != plugin_module.label:
            return f"module {module}: host {host_module.label}, plugin {plugin_module.label}"
    settings = [key for key in _FINGERPRINT_SETTINGS
                if _fingerprint_value(host, key) != _fingerprint_value(plugin, key)]
    if settings:
        return "build setting " + ", ".join(
            f"{key} (host {_fingerprint_value(host, key) or 'none'}, plugin "
            f"{_fingerprint_value(plugin, key) or 'none'})" for key in settings)
    if module is None and host.base_go_version != plugin.base_go_version:
        return f"Go release: host {host.base_go_version}, plugin {plugin.base_go_version}"
    if not host.trimpath:
        return ("source paths: without -trimpath a package's fingerprint holds the folder "
                "it was compiled from")
    return "not visible in the build information (a source edit, or a flag Go does not record)"


def _module_of(package: str, info: BuildInfo) -> str | None:
    """The module that provides ``package`` in this build (the longest matching path)."""
    paths = [path for path in info.modules_by_path()
             if path and (package == path or package.startswith(path + "/"))]
    return max(paths, key=len) if paths else None


def _build_settings(pair: _Pair) -> Iterator[Finding]:
    host, plugin = pair.host.buildinfo, pair.plugin.buildinfo
    if not host or not plugin:
        return
    for key, package in _FINGERPRINT_SETTINGS.items():
        host_value, plugin_value = _fingerprint_value(host, key), _fingerprint_value(plugin, key)
        if host_value == plugin_value:
            continue
        culprit = package or "<a package both import>"
        host_shown, plugin_shown = host_value or "(none)", plugin_value or "(none)"
        yield Finding(
            rule="build-setting",
            subject=key,
            host_value=host_shown,
            plugin_value=plugin_shown,
            host_error=pair.package_error(culprit),
            fix=pair.rebuild_plugin(),
            fix_action=f"set the plugin's {key} to the host's ({host_shown}) and rebuild with",
            summary=f"plugin built with {key}={plugin_shown}, host with {key}={host_shown}",
            severity=_setting_severity(key, host_value, plugin_value),
        )


def _fingerprint_value(info: BuildInfo, key: str) -> str:
    """The setting as it affects fingerprints, with Go's defaults filled in."""
    if key == "-tags":
        return ",".join(sorted(info.tags))  # order on the command line does not matter
    if key == "-mod":
        return "vendor" if info.mod_vendor else "mod"  # only vendoring changes file names
    if key == "GOEXPERIMENT":
        return ",".join(sorted(info.goexperiment.split(","))) if info.goexperiment else ""
    if key in ("-trimpath", "-race", "-msan", "-asan"):
        return info.setting(key, "false")
    return info.setting(key)


def _setting_severity(key: str, host_value: str, plugin_value: str) -> Severity:
    # Measured: an extra tag that selects no file, or -gcflags without a package pattern
    # (it then applies to the plugin's own package only), leave shared packages intact.
    if key == "-tags":
        return WARNING
    if key == "-gcflags" and not (
        _has_package_pattern(host_value) or _has_package_pattern(plugin_value)
    ):
        return WARNING
    return ERROR


def _has_package_pattern(gcflags: str) -> bool:
    head, equals, _ = gcflags.partition("=")
    return bool(equals) and not head.startswith("-")


def _module_versions(pair: _Pair) -> Iterator[Finding]:
    host, plugin = pair.host.buildinfo, pair.plugin.buildinfo
    if not host or not plugin:
        return
    host_modules, plugin_modules = host.modules_by_path(), plugin.modules_by_path()
    trimpath = host.trimpath
    for path in sorted(host_modules.keys() & plugin_modules.keys()):
        host_module, plugin_module = host_modules[path], plugin_modules[path]
        host_is_main, plugin_is_main = path == host.main.path, path == plugin.main.path
        host_source = _source_identity(host_module, host_is_main, trimpath)
        plugin_source = _source_identity(plugin_module, plugin_is_main, trimpath)
        if _same_source(host_source, plugin_source):
            continue
        yield _module_finding(pair, host_module, host_is_main, plugin_module, plugin_is_main)


# A module compiled from a directory the build information does not name (a main module,
# or a go.work `use`): without -trimpath its fingerprint holds that directory, unknown here.
_UNKNOWN_DIRECTORY = ("directory", None)


def _source_identity(module: Module, is_main: bool, trimpath: bool) -> tuple[str | None, ...]:
    """What of a module enters its packages' fingerprints, as measured on Go 1.26.

    The compiler records each file's name. Without -trimpath that is the absolute path,
    so the directory counts and the version label does not; with -trimpath it is
    "module@version/file.go" (just "module/file.go" for main and workspace modules),
    so the label counts even for identical source.
    """
    if is_main or (module.version == DEVEL and module.replace is None):
        return ("workspace",) if trimpath else _UNKNOWN_DIRECTORY
    replace = module.replace
    if replace is not None and replace.is_local_directory:
        return ("labelled", module.version) if trimpath else ("directory", replace.path)
    target = replace or module
    return ("module", module.version, target.path, target.version, target.sum)


def _same_source(host: tuple[str | None, ...], plugin: tuple[str | None, ...]) -> bool:
    if _UNKNOWN_DIRECTORY in (host, plugin):
        # Directories the build info cannot pin are given the benefit of the doubt.
        return host[0] == plugin[0] == "directory"
    if host[0] == plugin[0] == "module":
        # A -mod=vendor build records no sums; compare sums only when both have one.
        host_sum, plugin_sum = host[4], plugin[4]
        if not host_sum or not plugin_sum:
            return host[:4] == plugin[:4]
    return host == plugin


def _module_finding(
    pair: _Pair,
    host_module: Module,
    host_is_main: bool,
    plugin_module: Module,
    plugin_is_main: bool,
) -> Finding:
    path = host_module.path
    host_label = f"{DEVEL} (host main module)" if host_is_main else host_module.label
    plugin_label = f"{DEVEL} (plugin main module)" if plugin_is_main else plugin_module.label
    return Finding(
        rule="module-version",
        subject=path,
        host_value=host_label,
        plugin_value=plugin_label,
        host_error=pair.package_error(path),
        fix=_module_fix(host_module, host_is_main, plugin_module),
        fix_action="in the plugin's module run",
        summary=f"plugin uses {path} {plugin_label}, host {host_label}",
    )


def _module_fix(host_module: Module, host_is_main: bool, plugin_module: Module) -> str:
    path = host_module.path
    if host_is_main or (host_module.version == DEVEL and host_module.replace is None):
        # The host compiled this module as a main/workspace module; only a go.work
        # `use` gives the plugin the same label, a `replace` never does.
        drop = f"go mod edit -dropreplace={path} && " if plugin_module.replace else ""
        return f"{drop}go work init . <directory of {path}>"
    edits = [f"-require={path}@{host_module.version}"]
    replace = host_module.replace
    if replace is None:
        if plugin_module.replace is not None:
            edits.append(f"-dropreplace={path}")
    elif replace.is_local_directory:
        edits.append(f"-replace={path}=<the host's {replace.path}>")
    else:
        edits.append(f"-replace={path}={replace.path}@{replace.version}")
    return f"go mod edit {' '.join(edits)} && go mod tidy"


# -- rules: the host finds what it looks up ----------------------------------------------


def _entry_symbols(pair: _Pair) -> Iterator[Finding]:
    plugin_path = _plugin_package_path(pair.plugin)
    for symbol in pair.contract.symbols:
        if _exports(pair.plugin, symbol):
            continue
        yield Finding(
            rule="entry-symbol",
            subject=symbol,
            host_value=f"looks up {symbol}",
            plugin_value="not exported",
            host_error=f"plugin: symbol {symbol} not found in plugin {plugin_path}",
            fix=pair.rebuild_plugin(),
            fix_action=f"declare {symbol} in the plugin's package main as the "
            f"{pair.contract.plugin_type} contract defines it, then rebuild with",
            summary=f"plugin does not export {symbol}",
        )


def symbol_prefix(package: str) -> str:
    """The package path as the linker writes it in symbol names (cmd/internal/objabi
    PathToPrefix): control bytes, space, '%', '"', non-ASCII, and a '.' in the last path
    element become %xx, so example.com/probe.v2 names its symbols example.com/probe%2ev2.S."""
    raw = package.encode()
    last_slash = raw.rfind(b"/")
    return "".join(
        f"%{byte:02x}" if byte <= 0x20 or byte >= 0x7F or byte in b'%"'
        or (byte == ord(".") and index > last_slash) else chr(byte)
        for index, byte in enumerate(raw))


def _plugin_package_path(plugin: Side) -> str:
    info = plugin.buildinfo
    if info and info.path and info.path != _FILE_LIST_PACKAGE:
        return info.path
    return os.path.basename(plugin.path).removesuffix(".so")


def _exports(plugin: Side, symbol: str) -> bool:
    """True when package main of the plugin defines ``symbol`` (Go names it "pkgpath.S")."""
    info = plugin.buildinfo
    if info and info.path and info.path != _FILE_LIST_PACKAGE:
        return f"{symbol_prefix(info.path)}.{symbol}" in plugin.elf.exported_symbols
    # Built from a file list, package main is named "plugin/unnamed-<hash>"; without build
    # info the package is unknown, so any package-level (not method) symbol counts.
    prefix = "plugin/unnamed-" if info else ""
    for name in plugin.elf.exported_symbols:
        package, _, member = name.rpartition(".")
        if member == symbol and package.startswith(prefix) and "(" not in package:
            return True
    return False


# Rules in the order the host meets the problems: it cannot load plugins at all, dlopen
# refuses the file, the runtime refuses its packages, the lookup fails.
RULES: dict[str, Callable[[_Pair], Iterator[Finding]]] = {
    "host-cgo-disabled": _host_cgo_disabled,
    "host-static": _host_static,
    "arch": _arch,
    "libc": _libc,
    "not-a-plugin": _not_a_plugin,
    "no-buildinfo": _no_buildinfo,
    "go-version": _go_version,
    "build-setting": _build_settings,
    "module-version": _module_versions,
    "package-fingerprint": _package_fingerprints,
    "entry-symbol": _entry_symbols,
}
RULE_IDS = tuple(RULES)
