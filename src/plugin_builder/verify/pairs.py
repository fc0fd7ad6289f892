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
from plugin_builder.binary.elffacts import read_elf
from plugin_builder.binary.fingerprints import UNREADABLE, Fingerprints, FingerprintVerdict
from plugin_builder.binary.side import Side
from plugin_builder.config import Config, PluginType, check_argv
from plugin_builder.errors import BinaryError, ConfigError, PluginBuilderError, UsageError
from plugin_builder.files import digest
from plugin_builder.golang.gomod import read_gomod
from plugin_builder.golang.gotypes import func_signature, literal
from plugin_builder.selection import plugin_type_named
from plugin_builder.status import Severity
from plugin_builder.verify.findings import (
    Contract,
    ContractCall,
    Finding,
    ProjectView,
    RebuildHint,
    ReturnCheck,
    RuleId,
)
from plugin_builder.verify.live import INCOMPLETE, LiveResult
from plugin_builder.verify.load_rules import exports
from plugin_builder.verify.report import HOST_CHECK, STAND_IN, PluginResult
from plugin_builder.verify.rules import BY_ID, RULE_IDS, analyze, fingerprint_verdict
from plugin_builder.verify.runtime import (
    contract_unchecked,
    live_finding,
    load_incomplete,
    loader_not_built,
    stand_in_finding,
)


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
    # libc.<name>.glibc_floor of the host's libc: no side may need a newer GLIBC_x.y.
    glibc_floor: str | None = None

    def check_argv(self) -> list[str]:
        return check_argv(self.check, self.host, self.plugin)


def project_view(config: Config) -> ProjectView:
    """What fixes may name: the config's targets, combinations, host and C compilers."""
    default = config.matrix.default
    try:
        host_module = read_gomod(config.host.module).module if config.host.module \
            else ""  # a released host: a fix never rebuilds it
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
    """What a host looks up in a plugin of this type, with the declared Go types, and the
    function it calls with the Go literals of its arguments."""
    symbols = plugin_type.contract_symbols
    return Contract(
        plugin_type.name,
        symbols=tuple(s.name for s in symbols if s.required),
        optional=tuple(s.name for s in symbols if not s.required),
        types=tuple((s.name, s.go_type) for s in symbols if s.go_type),
        imports=tuple(plugin_type.imports),
        call=_call_of(plugin_type),
    )


def _call_of(plugin_type: PluginType) -> ContractCall | None:
    call = plugin_type.call
    if call is None:
        return None
    declared = {**plugin_type.symbol_types, **plugin_type.optional_symbols}
    signature = func_signature(declared[call.symbol])
    params = signature.params if signature else ()
    return ContractCall(
        call.symbol,
        arguments=tuple(literal(go_type, value)
                        for go_type, value in zip(params, call.arguments, strict=True)),
        returns=tuple(ReturnCheck(r.implements, r.is_nil, tuple(r.has.items()))
                      for r in call.returns))


def cache_key(host_sha256: str, plugin_sha256: str, contract: Contract,
              check: tuple[str, ...], loaded_before: tuple[str, ...] = (),
              glibc_floor: str | None = None) -> str:
    """Names a proof: the two binaries, the contract, the check command, the plugins
    the service loads before this one (they decide which copy of a package it meets)
    and the glibc floor they were held to."""
    return digest(__version__, RULE_IDS, host_sha256, plugin_sha256, contract, check,
                  loaded_before, *([glibc_floor] if glibc_floor else []))


@dataclass(frozen=True)
class Evidence:
    """What was learnt about one plugin beyond its own binary and its host's."""

    together: tuple[Finding, ...] = ()  # the rules between the plugins its service loads
    host_check: LiveResult | None = None  # the host's own check command, when it ran
    stand_in: LiveResult | None = None  # the stand-in loader's outcome for this plugin
    # Symbols whose declared type it could not assert ("Symbol()": the call it did not make).
    unchecked: tuple[str, ...] = ()
    why_unchecked: str = ""
    loader_problem: PluginBuilderError | None = None  # why no stand-in loader was built
    live_wanted: bool = False  # a live load was asked for (not --static-only)


def judge(pair: Pair, host: Side, plugin: Side, evidence: Evidence = Evidence()
          ) -> PluginResult:
    """One verdict from three authorities, each deciding only what it knows, each said.

    The package fingerprints decide whether the runtime accepts the packages; the rules
    between plugins whether they load together; the stand-in loader (built like the host,
    in its module graph) decides the contract: each symbol with its declared type, the
    call and its results, and that the load completed; the host's own check command is a
    real load and decides everything it saw, except that a run the stand-in loader saw
    end early (a plugin's init that exits) is no pass, whatever the exit code said.
    """
    hint = RebuildHint.for_host(host, pair.contract.plugin_type, pair.plugin_name,
                                project=pair.project, plugin_file=pair.plugin.name)
    verdict = fingerprint_verdict(host, plugin)
    static = tuple(analyze(host, plugin, pair.contract, hint, verdict,
                           pair.glibc_floor)) + evidence.together
    explained = any(f.severity == Severity.ERROR for f in static)
    by_host = _host_check_findings(evidence.host_check, explained, hint)
    # What the host's own load already reported (a crash both loads died of) is said once,
    # by the host: the stand-in loader adds only what the host's load did not say.
    said = {finding.rule for finding in by_host}
    findings = static + by_host + tuple(
        f for f in _stand_in_findings(pair.contract, evidence, explained, hint)
        if f.rule not in said)
    findings += _unchecked_findings(pair.contract, evidence, explained)
    live, by = ((evidence.host_check, HOST_CHECK) if evidence.host_check is not None
                else (evidence.stand_in, STAND_IN if evidence.stand_in else None))
    loads = tuple((who, run) for who, run in ((HOST_CHECK, evidence.host_check),
                                              (STAND_IN, evidence.stand_in)) if run)
    config_error = evidence.loader_problem if isinstance(evidence.loader_problem,
                                                         ConfigError) else None
    return PluginResult(
        str(pair.plugin), str(pair.host), findings, live, pair.combination,
        fingerprints=verdict, live_by=by, loads=loads,
        symbols=symbol_statuses(pair.contract, plugin, evidence),
        authority=authorities(pair.contract, verdict, evidence),
        config_error=config_error)


def _host_check_findings(live: LiveResult | None, explained: bool,
                         hint: RebuildHint) -> tuple[Finding, ...]:
    found = live_finding(live, hint) if live is not None else None
    if found is None:
        return ()
    if BY_ID[found.rule].contract or not explained:
        return (found,)  # what a symbol or its type is, whatever else is wrong
    return ()


def _stand_in_findings(contract: Contract, evidence: Evidence, explained: bool,
                       hint: RebuildHint) -> tuple[Finding, ...]:
    """A refusal at a step of the contract, a crash, a hang or an early end fail the
    plugin; a refusal to open it that no static rule explains is no verdict on the host
    (the loader is built like the host, not as it: the fingerprints decide packages),
    only on the contract, which then went unchecked."""
    live = evidence.stand_in
    if evidence.loader_problem is not None:
        return (loader_not_built(evidence.loader_problem),)
    if live is None or live.ok:
        return ()
    if live.status == INCOMPLETE:
        fooled = evidence.host_check is not None and evidence.host_check.ok
        return (load_incomplete(live, hint, host_check_fooled=fooled),)
    found = stand_in_finding(live, hint)
    if BY_ID[found.rule].contract:
        return (found,)
    if explained:
        return ()  # the loader met what a static rule already names
    if found.rule == RuleId.LOAD_REFUSED:
        symbols = (*contract.symbols, *contract.optional)
        return (contract_unchecked(contract, symbols, "the stand-in loader could not open "
                                   f"the plugin ({live.error_line}), though no static rule "
                                   "finds a reason the host would not"),)
    return (found,)


def _unchecked_findings(contract: Contract, evidence: Evidence,
                        explained: bool) -> tuple[Finding, ...]:
    if evidence.unchecked:
        return (contract_unchecked(contract, evidence.unchecked, evidence.why_unchecked),)
    if (evidence.live_wanted and evidence.stand_in is None and evidence.loader_problem is None
            and contract.asserts and not explained):
        return (contract_unchecked(contract, tuple(dict(contract.types)),
                                   evidence.why_unchecked or "no stand-in loader ran"),)
    return ()


def symbol_statuses(contract: Contract, plugin: Side,
                    evidence: Evidence) -> tuple[tuple[str, str], ...]:
    """What was decided about each symbol of the contract, in words."""
    asserted = evidence.stand_in is not None and evidence.stand_in.ok
    statuses = []
    for symbol in (*contract.symbols, *contract.optional):
        go_type = contract.type_of(symbol)
        exported = exports(plugin, symbol)
        if not exported:
            said = "missing" if symbol in contract.symbols else "absent (optional)"
        elif go_type is None:
            said = "found (type not checked)"
        elif symbol in evidence.unchecked or not asserted:
            said = f"found (type not checked: {evidence.why_unchecked or 'no live load'})"
        else:
            said = f"asserted: {go_type}"
            if f"{symbol}()" in evidence.unchecked:
                said += f"; not called ({evidence.why_unchecked})"
            elif contract.call and contract.call.symbol == symbol:
                said += "; called, results checked"
        statuses.append((symbol, said))
    return tuple(statuses)


def authorities(contract: Contract, verdict: FingerprintVerdict,
                evidence: Evidence) -> tuple[tuple[str, str], ...]:
    """Who decided each point of the verdict."""
    packages = ("package fingerprints" if verdict.status != UNREADABLE
                else "build information")
    if evidence.host_check is not None:
        packages += ", and the host's own load"
    stand_in = evidence.stand_in
    if stand_in is None:
        contract_by = ("not decided: the stand-in loader was not built"
                       if evidence.loader_problem else "exported symbols (no live load)")
    elif not stand_in.ok:
        contract_by = f"the stand-in loader: {stand_in.status}: {stand_in.error_line}"
    elif not contract.asserts:
        contract_by = ("the stand-in loader: it loaded the plugin; symbols found, no type "
                       "declared (types not checked)")
    elif evidence.unchecked:
        contract_by = ("the stand-in loader asserted the declared types it could; not "
                       "checked: " + ", ".join(f"the call of {s[:-2]}" if s.endswith("()")
                                               else f"{s}'s type" for s in evidence.unchecked))
    else:
        contract_by = "the stand-in loader asserted the declared types" + (
            f" and called {contract.call.symbol}" if contract.call else "")
    if evidence.host_check is None:
        host_check = "not run (no check command given)"
    elif evidence.host_check.ok:
        host_check = "the host's own check command loaded it"
        if stand_in is not None and stand_in.status == INCOMPLETE:
            host_check += " (exit 0), overruled: the stand-in loader saw the load end early"
    else:
        host_check = f"the host's own check command refused it ({evidence.host_check.status})"
    return (("packages", packages), ("contract", contract_by), ("host_check", host_check))


def explicit_pairs(config: Config, host: str | None, plugins: Sequence[str],
                   type_: str | None, host_check: bool) -> list[Pair]:
    """Pairs for binaries named on the command line, built by this tool or not."""
    if not host or not plugins:
        raise UsageError("--host and --plugin go together",
                         fix="invoke verify --host PATH --plugin PATH [--plugin PATH ...]")
    for path in (host, *plugins):
        _require_file(path)
    view = project_view(config)
    floor = glibc_floor_of(config, read_elf(host).libc)
    return [dataclasses.replace(_explicit_pair(config, Path(host), Path(plugin), type_,
                                               host_check), project=view, glibc_floor=floor)
            for plugin in plugins]


def glibc_floor_of(config: Config, libc: str | None) -> str | None:
    """The floor the config declares for a libc (a [libc.<name>] table, or the glibc one
    for a glibc binary named on the command line)."""
    table = config.libcs.get(libc or "")
    return table.glibc_floor if table is not None else None


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
