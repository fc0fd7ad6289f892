"""Findings only a real load can produce: what the plugin's code does when it is loaded.

The static analysis cannot see a wrong function signature or the metadata an init
function returns; the host's check command and the stand-in loader can. Their refusals
become findings with the same shape as the static ones, so every failure names a rule,
what was printed and a fix. Which rule a step of a check reports under is that rule's
record in RULES.
"""

from __future__ import annotations

import re

from plugin_builder.errors import ConfigError, PluginBuilderError
from plugin_builder.verify.findings import ERROR, WARNING, Contract, Finding, RebuildHint, RuleId
from plugin_builder.verify.live import CRASHED, TIMED_OUT, LiveResult
from plugin_builder.verify.rules import RULES

# The reference host and the stand-in loader report "check-plugin: plugin PATH: STEP: ERROR".
_STEP_RE = re.compile(r"^check-plugin: plugin .+?: (?P<step>[a-z ]+): (?P<error>.*)$")
# step -> (the rule it reports under, how to fix it)
_STEPS = {step: (rule.id, fix_action) for rule in RULES for step, fix_action in rule.live_steps}
_HOST, _STAND_IN = "the host", "the stand-in loader (built like the host)"


def live_finding(live: LiveResult, hint: RebuildHint) -> Finding | None:
    """A finding for a failed check by the host's own command, or None when it loaded."""
    return None if live.ok else _finding(live, hint, _HOST)


def stand_in_finding(live: LiveResult, hint: RebuildHint) -> Finding:
    """A finding for what the stand-in loader refused or died on."""
    return _finding(live, hint, _STAND_IN)


def _finding(live: LiveResult, hint: RebuildHint, who: str) -> Finding:
    error = live.error_line or (live.tail[-1] if live.tail else f"exit code {live.exit_code}")
    match = _STEP_RE.match(error)
    step = match["step"] if match and match["step"] in _STEPS else None
    if match is None or step is None:
        return _unexplained(live, error, hint, who)
    rule, fix_action = _STEPS[step]
    return Finding(
        rule=rule, subject=step, host_value="loads and checks the plugin",
        plugin_value=match["error"], host_error=error,
        fix=hint.build_plugin_command(), fix_action=fix_action,
        summary=f"{who} refused the plugin at its {step} check", severity=ERROR,
    )


def _unexplained(live: LiveResult, error: str, hint: RebuildHint, who: str) -> Finding:
    """A refusal or crash no static rule predicted: report the loader's own words."""
    crashed = live.status in (CRASHED, TIMED_OUT)
    said = [line for line in live.output if line.strip()]
    if who == _STAND_IN:
        said = [line for line in said if not line.startswith(("check-plugin: opening",
                                                              "plugin-builder-loader:"))]
    hung = live.status == TIMED_OUT
    what = "hung loading the plugin" if hung else \
        "died loading the plugin" if crashed else "refused the plugin"
    return Finding(
        rule=RuleId.LOAD_CRASHED if crashed else RuleId.LOAD_REFUSED, subject="live load",
        host_value=f"exit {live.exit_code}" if live.signal is None else live.signal,
        plugin_value="", host_error="\n".join(said) if 1 < len(said) <= 50 else error,
        fix=hint.build_plugin_command(),
        fix_action="read the output above, correct the plugin, then rebuild with",
        summary=f"{who} {what}", severity=ERROR, host_crashes=crashed,
    )


def load_incomplete(live: LiveResult, hint: RebuildHint, *, host_check_fooled: bool) -> Finding:
    """The stand-in loader ended while loading the plugin, before it completed its checks
    (its completion signal never came): a plugin's init that exits the process."""
    fooled = ("; the host's own check command exited 0 on it, fooled the same way: a "
              "process that ends with exit code 0 says nothing about what it checked, so "
              "the loader's missing completion signal overrules it") if host_check_fooled else ""
    return Finding(
        rule=RuleId.LOAD_INCOMPLETE, subject="live load",
        host_value="checks every symbol, then signals completion",
        plugin_value=f"exit {live.exit_code}" if live.signal is None else live.signal,
        host_error="", fix=hint.build_plugin_command(),
        fix_action="remove the os.Exit (or log.Fatal) from the plugin's init, and let the host "
                   "decide; then rebuild with",
        summary="the process ended while it loaded the plugin, before any check of it "
                f"completed ({live.error_line or 'no completion signal'}): the host would "
                f"stop the same way at start-up{fooled}",
        host_crashes=True)


def contract_unchecked(contract: Contract, symbols: tuple[str, ...], why: str) -> Finding:
    """Declared types that no load asserted: they are looked up, not checked ("S()": the
    call of S the host makes, not made)."""
    listed = ", ".join(f"the call of {s[:-2]} and its results" if s.endswith("()")
                       else f"the declared type of {s}" for s in symbols) or "the live load"
    return Finding(
        rule=RuleId.CONTRACT_UNCHECKED, subject=", ".join(symbols) or "live load",
        host_value=", ".join(f"{s}: {contract.type_of(s) or 'looked up'}" for s in symbols
                             if not s.endswith("()")),
        plugin_value="not checked", host_error="",
        fix="verify against the host binary built from the config's host module "
            "(invoke verify without --host), or give the plugin type a check command",
        fix_action="for a verdict on these types",
        summary=f"{listed} not checked: {why}",
        severity=WARNING)


def loader_not_built(problem: PluginBuilderError) -> Finding:
    """No stand-in loader could be built: the contract is not decided, and that fails."""
    key = problem.key if isinstance(problem, ConfigError) else None
    return Finding(
        rule=RuleId.LOADER_NOT_BUILT, subject=key or "stand-in loader",
        host_value="", plugin_value="", host_error="",
        fix=problem.fix or "correct what the message names", fix_action="then verify again",
        summary=f"the stand-in loader could not be built, so the contract was not checked: "
                f"{problem.message}")
