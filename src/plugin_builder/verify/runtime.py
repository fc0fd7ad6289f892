"""Findings only a real load can produce: what the plugin's code does when it is called.

The static analysis cannot see a wrong function signature or the metadata an init
function returns; the host's check command can. Its refusal becomes a finding with the
same shape as the static ones, so every failure names a rule, the host's error and a fix.
Which rule a step of the host's check reports under is that rule's record in RULES.
"""

from __future__ import annotations

import re

from plugin_builder.verify.findings import ERROR, WARNING, Finding, RebuildHint, RuleId
from plugin_builder.verify.live import CRASHED, TIMED_OUT, LiveResult
from plugin_builder.verify.rules import RULES

# The reference host reports "check-plugin: plugin PATH: STEP: ERROR" (host/internal/loader).
_STEP_RE = re.compile(r"^check-plugin: plugin .+?: (?P<step>[a-z ]+): (?P<error>.*)$")
# step -> (the rule it reports under, how to fix it)
_STEPS = {step: (rule.id, fix_action) for rule in RULES for step, fix_action in rule.live_steps}


def live_finding(live: LiveResult, hint: RebuildHint) -> Finding | None:
    """A finding for a failed live check, or None when it loaded."""
    if live.ok:
        return None
    error = live.error_line or (live.tail[-1] if live.tail else f"exit code {live.exit_code}")
    match = _STEP_RE.match(error)
    step = match["step"] if match and match["step"] in _STEPS else None
    if match is None or step is None:
        return _unexplained(live, error, hint)
    rule, fix_action = _STEPS[step]
    return Finding(
        rule=rule, subject=step, host_value="loads and checks the plugin",
        plugin_value=match["error"], host_error=error,
        fix=hint.build_plugin_command(), fix_action=fix_action,
        summary=f"the host refused the plugin at its {step} check", severity=ERROR,
    )


def contract_unchecked(live: LiveResult) -> Finding:
    """A stand-in loader that could not load the plugin has checked no contract; it is
    not the host, so its refusal is no verdict on whether the host loads the plugin."""
    return Finding(
        rule=RuleId.CONTRACT_UNCHECKED, subject="stand-in loader",
        host_value="", plugin_value="", host_error="",
        fix="give the service (or plugin type) its own check command in buildconfig.toml",
        fix_action="for a verdict from the host itself",
        summary="the stand-in loader could not load the plugin (" + (live.error_line or
                str(live.status)) + "), so the symbols and their types were not checked",
        severity=WARNING,
    )


def _unexplained(live: LiveResult, error: str, hint: RebuildHint) -> Finding:
    """A refusal or crash no static rule predicted: report the host's own words."""
    crashed = live.status in (CRASHED, TIMED_OUT)
    said = [line for line in live.output if line.strip()]
    return Finding(
        rule=RuleId.LOAD_CRASHED if crashed else RuleId.LOAD_REFUSED, subject="live load",
        host_value=f"exit {live.exit_code}" if live.signal is None else live.signal,
        plugin_value="", host_error="\n".join(said) if 1 < len(said) <= 50 else error,
        fix=hint.build_plugin_command(),
        fix_action="read the host's output above, correct the plugin, then rebuild with",
        summary="the host " + ("died loading the plugin" if crashed else "refused the plugin"),
        severity=ERROR, host_crashes=crashed,
    )
