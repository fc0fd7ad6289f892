"""Predict, without loading anything, whether a plugin loads into its host.

Every rule is one :class:`Rule` record in :data:`RULES`: its id, the check that finds
its problems (None for a rule only a live load reports), the verdict its findings
explain, and the rules it makes consequences of it. Each check compares one thing that
DESIGN.md section 5 lists as a reason plugins fail to load, and reports it as a
:class:`~plugin_builder.verify.findings.Finding` carrying the error the real host would
show and the exact command that fixes it. :func:`analyze` runs the checks in the order
the host itself would trip over the problems, so the first finding is the root cause.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import MappingProxyType

from plugin_builder.binary.fingerprints import MATCH, UNREADABLE, FingerprintVerdict, compare
from plugin_builder.binary.side import Side
from plugin_builder.links import rule_anchor
from plugin_builder.verify import load_rules, package_rules
from plugin_builder.verify.findings import (
    WARNING,
    Comparison,
    Contract,
    Finding,
    RebuildHint,
    RuleId,
)

Check = Callable[[Comparison], Iterator[Finding]]


@dataclass(frozen=True)
class Rule:
    """One rule: how it is found, and how its findings relate to the others'."""

    id: RuleId
    check: Check | None  # None: a live load (verify.runtime) or the verify step reports it
    # The rule whose verdict this one's findings explain and are weighed by: the
    # build-info rules explain a fingerprint difference (and with matching
    # fingerprints are warnings).
    explains: RuleId | None = None
    # Later rules whose findings only restate this one's: when it fires, they are left
    # out (not even checked), so the root cause stays visible.
    consequences: tuple[RuleId, ...] = ()
    # What the host's check command reports under this rule: (step, how to fix it), for
    # its "check-plugin: plugin PATH: STEP: ERROR" lines (verify.runtime).
    live_steps: tuple[tuple[str, str], ...] = ()
    # About what a symbol is: a live load's finding of it stands whatever else is wrong.
    contract: bool = False

    @property
    def anchor(self) -> str:
        """Its section of docs/troubleshooting.md."""
        return rule_anchor(self.id)


_REBUILD = "then rebuild with"
ID = RuleId

# In the order the host meets the problems: it cannot load plugins at all, dlopen
# refuses the file, the runtime refuses its packages, the lookup fails; then the rules
# only a live load reports.
RULES: tuple[Rule, ...] = (
    Rule(ID.NOT_A_GO_HOST, load_rules.not_a_go_host,  # then nothing compares with the host
         consequences=(ID.HOST_CGO_DISABLED, ID.HOST_STATIC, ID.ARCH, ID.LIBC,
                       ID.GO_VERSION, ID.BUILD_SETTING, ID.MODULE_VERSION,
                       ID.PACKAGE_FINGERPRINT)),
    Rule(ID.HOST_CGO_DISABLED, load_rules.host_cgo_disabled,
         consequences=(ID.HOST_STATIC, ID.PACKAGE_FINGERPRINT)),  # a cgo-less build is static
    Rule(ID.HOST_STATIC, load_rules.host_static, consequences=(ID.PACKAGE_FINGERPRINT,)),
    Rule(ID.ARCH, load_rules.arch, consequences=(ID.PACKAGE_FINGERPRINT,)),
    Rule(ID.LIBC, load_rules.libc),
    # Each side on its own: the loader refuses a binary needing a newer glibc than the
    # machine has, the host at start, a plugin at dlopen.
    Rule(ID.GLIBC_FLOOR, load_rules.glibc_floor),
    Rule(ID.NOT_A_GO_PLUGIN, load_rules.not_a_go_plugin,
         consequences=(ID.NOT_A_PLUGIN, ID.ENTRY_SYMBOL, ID.PACKAGE_FINGERPRINT)),
    Rule(ID.NOT_A_PLUGIN, load_rules.not_a_plugin,
         consequences=(ID.ENTRY_SYMBOL, ID.PACKAGE_FINGERPRINT)),
    # An error on its own: Go requires one toolchain for host and plugins, also where no
    # shared package differs (a patch release that loads silently).
    Rule(ID.GO_VERSION, package_rules.go_version),
    Rule(ID.BUILD_SETTING, package_rules.build_settings, explains=ID.PACKAGE_FINGERPRINT),
    Rule(ID.MODULE_VERSION, package_rules.module_versions, explains=ID.PACKAGE_FINGERPRINT),
    Rule(ID.PACKAGE_FINGERPRINT, package_rules.package_fingerprints),
    Rule(ID.ENTRY_SYMBOL, load_rules.entry_symbols, contract=True, live_steps=(
        ("lookup", f"export the entry symbol from package main, {_REBUILD}"),)),
    # Between the plugins a service loads together (verify.together, run by the verify
    # step over each service's plugins in load order).
    Rule(ID.PLUGIN_PATH, None),
    Rule(ID.PLUGIN_CONFLICT, None),
    Rule(ID.CONTRACT, None, contract=True, live_steps=(
        ("signature", f"declare the entry symbol with exactly the type the host expects, "
                      f"{_REBUILD}"),
        ("metadata", "return the metadata the host expects from the entry function (type "
                     f"and name as in the file name), {_REBUILD}"),
        ("interface", "make the returned implementation satisfy the plugin type's contract "
                      f"in the host's SDK, {_REBUILD}"))),
    Rule(ID.PLUGIN_ERROR, None, contract=True, live_steps=(
        ("init", f"make the entry function succeed with the host's options, {_REBUILD}"),
        ("exercise", f"fix the plugin's behaviour on the host's smoke call, {_REBUILD}"))),
    Rule(ID.FILE_NAME, None, contract=True, live_steps=(
        ("file name", "name the file as the plugin type's file pattern says; rebuild with"),)),
    Rule(ID.LOAD_REFUSED, None),
    Rule(ID.LOAD_CRASHED, None),
    Rule(ID.LOAD_INCOMPLETE, None, contract=True),  # whatever else is wrong, it exited
    Rule(ID.CONTRACT_UNCHECKED, None),
    Rule(ID.LOADER_NOT_BUILT, None),
    # About the artifacts rather than the pair: reported by the verify step.
    Rule(ID.NOT_BUILT, None),
    Rule(ID.STALE_ARTIFACT, None),
)
RULE_IDS: tuple[RuleId, ...] = tuple(rule.id for rule in RULES)
BY_ID = MappingProxyType({rule.id: rule for rule in RULES})


def fingerprint_verdict(host: Side, plugin: Side) -> FingerprintVerdict:
    """What the runtime's own check finds: every shared package's fingerprint compared."""
    if host.fingerprints is None or plugin.fingerprints is None:
        missing = [f"{role}: {side.no_fingerprints}" for role, side in
                   (("host", host), ("plugin", plugin)) if side.fingerprints is None]
        return FingerprintVerdict(UNREADABLE, reason="; ".join(missing))
    return compare(host.fingerprints, plugin.fingerprints)


def analyze(
    host: Side, plugin: Side, contract: Contract, rebuild_hint: RebuildHint,
    fingerprints: FingerprintVerdict | None = None, glibc_floor: str | None = None,
) -> list[Finding]:
    """Every reason ``plugin`` would not load into ``host``, root cause first.

    Where both binaries' fingerprints can be read, they decide whether the runtime
    accepts the packages (the ``package-fingerprint`` rule); the build info rules then
    explain a difference, and a difference that changes no shared package is a warning.
    """
    pair = Comparison(host, plugin, contract, rebuild_hint,
                      fingerprints or fingerprint_verdict(host, plugin), glibc_floor)
    findings: list[Finding] = []
    left_out: set[RuleId] = set()
    for rule in RULES:
        if rule.check is None or rule.id in left_out:
            continue
        found = list(rule.check(pair))
        if found:
            left_out.update(rule.consequences)
        findings += found
    return [_weighed(finding, pair) for finding in findings]


def _weighed(finding: Finding, pair: Comparison) -> Finding:
    """Build info differences are explanations of the fingerprint verdict, not verdicts:
    with matching fingerprints they are warnings; with differing ones they carry the
    refusal exactly as the runtime words it."""
    verdict = pair.fingerprints
    explains = BY_ID[finding.rule].explains == RuleId.PACKAGE_FINGERPRINT
    if not explains or finding.measured_across_releases or verdict.status == UNREADABLE:
        return finding
    if verdict.status == MATCH:
        return dataclasses.replace(
            finding, severity=WARNING, host_error="",
            summary=finding.summary + " (no package both binaries contain differs: "
            "the runtime accepts it)")
    return dataclasses.replace(finding, host_error=package_rules.exact_refusal(pair))
