"""Which plugin goes with which host, and the verdict on one such pair.

A :class:`Pair` is one plugin and the host binary that must load it, with the contract
the host checks and how to load it for real (the host's own check command, or a
stand-in loader). Pairs come from a combination's build outcomes (steps.verify) or from
binaries named on the command line (:func:`explicit_pairs`). :func:`judge` turns what
was read and what a live load did into one :class:`PluginResult`.
"""

from __future__ import annotations

import dataclasses
import errno
import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from plugin_builder import __version__
from plugin_builder.binary.fingerprints import Fingerprints
from plugin_builder.binary.side import Side
from plugin_builder.config import Config, PluginType, check_argv
from plugin_builder.errors import BinaryError, PluginBuilderError, UsageError
from plugin_builder.files import digest
from plugin_builder.golang.gomod import read_gomod
from plugin_builder.selection import plugin_type_named
from plugin_builder.status import Severity
from plugin_builder.verify.findings import Contract, Finding, ProjectView, RebuildHint
from plugin_builder.verify.live import LiveResult
from plugin_builder.verify.report import HOST_CHECK, STAND_IN, PluginResult
from plugin_builder.verify.rules import BY_ID, RULE_IDS, analyze, fingerprint_verdict
from plugin_builder.verify.runtime import contract_unchecked, live_finding


@dataclass(frozen=True)
class Pair:
    """One plugin and the host binary that must load it."""

    host: Path
    plugin: Path
    contract: Contract
    plugin_name: str | None
    check: tuple[str, ...]  # the check command template; empty: a stand-in loader
    combination: str | None = None
    # Digest of both binaries' sha256 and the contract: a pair that passed with this key
    # before is the same pair, so its proof still holds (None: always check).
    cache_key: str | None = None
    # The fingerprints recorded when each binary landed, if it is unchanged since
    # (None: verify reads them from the binary).
    host_fingerprints: Fingerprints | None = None
    plugin_fingerprints: Fingerprints | None = None
    # What the config has, so fixes name only its targets and combinations (None: fixes
    # name what the binaries say, unchecked).
    project: ProjectView | None = None

    def check_argv(self) -> list[str]:
        return check_argv(self.check, self.host, self.plugin)


def project_view(config: Config) -> ProjectView:
    """What fixes may name: the config's targets, combinations, host and C compilers."""
    default = config.matrix.default
    try:
        host_module = read_gomod(config.host.module).module
    except PluginBuilderError:
        host_module = ""  # the build of the host would say what is wrong with its go.mod
    return ProjectView(
        config=str(config.path),
        targets=tuple((target.id, str(target.source)) for target in config.plugins),
        combinations=frozenset(c.id for c in config.matrix.combinations),
        default=(default.go, default.libc, default.arch),
        host_module=host_module,
        compilers=tuple((name, libc.cc) for name, libc in config.libcs.items()))


def contract_of(plugin_type: PluginType) -> Contract:
    """What a host looks up in a plugin of this type, with the declared Go types."""
    symbols = plugin_type.contract_symbols
    return Contract(
        plugin_type.name,
        symbols=tuple(s.name for s in symbols if s.required),
        optional=tuple(s.name for s in symbols if not s.required),
        types=tuple((s.name, s.go_type) for s in symbols if s.go_type),
        imports=tuple(plugin_type.imports),
    )


def cache_key(host_sha256: str, plugin_sha256: str, contract: Contract,
              check: tuple[str, ...]) -> str:
    return digest(__version__, RULE_IDS, host_sha256, plugin_sha256, contract, check)


def judge(pair: Pair, host: Side, plugin: Side, live: LiveResult | None) -> PluginResult:
    """One verdict from three authorities, each deciding only what it knows.

    The package fingerprints decide whether the runtime accepts the packages; the
    host's own check command is a real load and decides everything it saw; a stand-in
    loader (for a host without one) decides the contract only: that each symbol exists
    with the declared type. Its refusal for any other reason is not a verdict.
    """
    hint = RebuildHint.for_host(host, pair.contract.plugin_type, pair.plugin_name,
                                project=pair.project, plugin_file=pair.plugin.name)
    verdict = fingerprint_verdict(host, plugin)
    findings = tuple(analyze(host, plugin, pair.contract, hint, verdict))
    by = None
    if live is not None:
        by = HOST_CHECK if pair.check else STAND_IN
        findings += _live_findings(live, by, findings, hint)
    return PluginResult(str(pair.plugin), str(pair.host), findings, live, pair.combination,
                        fingerprints=verdict, live_by=by)


def _live_findings(live: LiveResult, by: str, findings: tuple[Finding, ...],
                   hint: RebuildHint) -> tuple[Finding, ...]:
    found = live_finding(live, hint)
    if found is None:
        return ()
    explained = any(f.severity == Severity.ERROR for f in findings)
    if BY_ID[found.rule].contract:
        return (found,)  # what a symbol or its type is, whatever else is wrong
    if by == HOST_CHECK:
        return () if explained else (found,)
    if explained:
        return ()  # the loader met the package difference the fingerprints already name
    return (contract_unchecked(live),)


def explicit_pairs(config: Config, host: str | None, plugins: Sequence[str],
                   type_: str | None, host_check: bool) -> list[Pair]:
    """Pairs for binaries named on the command line, built by this tool or not."""
    if not host or not plugins:
        raise UsageError("--host and --plugin go together",
                         fix="invoke verify --host PATH --plugin PATH [--plugin PATH ...]")
    for path in (host, *plugins):
        _require_file(path)
    view = project_view(config)
    return [dataclasses.replace(_explicit_pair(config, Path(host), Path(plugin), type_,
                                               host_check), project=view)
            for plugin in plugins]


def _explicit_pair(config: Config, host: Path, plugin: Path, type_: str | None,
                   host_check: bool) -> Pair:
    plugin_type = _plugin_type_of(config, plugin, type_)
    check: tuple[str, ...] = ()
    if host_check and plugin_type:
        check = config.check_command(plugin_type)
    contract = contract_of(plugin_type) if plugin_type else Contract("plugin", ())
    return Pair(host.absolute(), plugin.absolute(), contract,
                name_from_file(plugin_type, plugin), check)


def _require_file(path: str) -> None:
    """The same class and exit code for every binary that is not there to read."""
    try:
        mode = os.stat(path).st_mode
    except OSError as error:
        what = {errno.ELOOP: "a symbolic link loop", errno.ENOENT: "no such file",
                errno.ENOTDIR: "no such file"}.get(error.errno or 0, error.strerror)
        raise BinaryError(f"{path}: {what}", fix="give the path of a built binary") from None
    if not stat.S_ISREG(mode):
        what = "a folder" if stat.S_ISDIR(mode) else "not a regular file"
        raise BinaryError(f"{path}: {what}", fix="give the path of a built binary")


def _plugin_type_of(config: Config, plugin: Path, type_: str | None) -> PluginType | None:
    """--type, else the type whose file pattern the plugin's file name matches, else None."""
    if type_ is not None:
        return plugin_type_named(config, type_)
    for plugin_type in config.plugin_types.values():
        if name_from_file(plugin_type, plugin) is not None:
            return plugin_type
    return None


def name_from_file(plugin_type: PluginType | None, plugin: Path) -> str | None:
    """The target name a file name gives under the type's file pattern, if it fits."""
    if plugin_type is None:
        return None
    head, _, tail = plugin_type.file.format(type=plugin_type.name, name="\0").partition("\0")
    name = plugin.name
    if name.startswith(head) and name.endswith(tail) and len(name) > len(head) + len(tail):
        return name[len(head):len(name) - len(tail)]
    return None
