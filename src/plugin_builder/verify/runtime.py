"""Findings only a real load can produce: what the plugin's code does when it is called.

The static analysis cannot see a wrong function signature or the metadata an init
function returns; the host's check command can. Its refusal becomes a finding with the
same shape as the static ones, so every failure names a rule, the host's error and a fix.
"""

from __future__ import annotations

import re

from plugin_builder.verify.live import CRASHED, TIMED_OUT, LiveResult
from plugin_builder.verify.rules import ERROR, WARNING, Finding, RebuildHint

# The reference host reports "check-plugin: plugin PATH: STEP: ERROR" (host/internal/loader).
_STEP_RE = re.compile(r"^check-plugin: plugin .+?: (?P<step>[a-z ]+): (?P<error>.*)$")
_FIX_ACTIONS = {
    "signature": "declare the entry symbol with exactly the type the host expects, "
                 "then rebuild with",
    "metadata": "return the metadata the host expects from the entry function "
                "(type and name as in the file name), then rebuild with",
    "interface": "make the returned implementation satisfy the plugin type's contract "
                 "in the host's SDK, then rebuild with",
    "lookup": "export the entry symbol from package main, then rebuild with",
    "init": "make the entry function succeed with the host's options, then rebuild with",
    "exercise": "fix the plugin's behaviour on the host's smoke call, then rebuild with",
    "file name": "name the file as the plugin type's file pattern says; rebuild with",
}
_RULE_OF_STEP = {"signature": "contract", "metadata": "contract", "interface": "contract",
                 "lookup": "entry-symbol", "init": "plugin-error", "exercise": "plugin-error",
                 "file name": "file-name"}

# Rules about the contract (what a symbol is), which any live load may report.
CONTRACT_RULES = ("contract", "entry-symbol", "plugin-error", "file-name")
# Every rule id a live check can report.
LIVE_RULE_IDS = tuple(dict.fromkeys([*_RULE_OF_STEP.values(), "load-refused", "load-crashed",
                                     "contract-unchecked"]))


def live_finding(live: LiveResult, hint: RebuildHint) -> Finding | None:
    """A finding for a failed live check, or None when it loaded."""
    if live.ok:
        return None
    error = live.error_line or (live.tail[-1] if live.tail else f"exit code {live.exit_code}")
    match = _STEP_RE.match(error)
    step = match["step"] if match and match["step"] in _RULE_OF_STEP else None
    if step is None:
        return _unexplained(live, error, hint)
    return Finding(
        rule=_RULE_OF_STEP[step], subject=step, host_value="loads and checks the plugin",
        plugin_value=match["error"] if match else error, host_error=error,
        fix=hint.build_plugin_command(), fix_action=_FIX_ACTIONS[step],
        summary=f"the host refused the plugin at its {step} check", severity=ERROR,
    )


def contract_unchecked(live: LiveResult) -> Finding:
    """A stand-in loader that could not load the plugin has checked no contract; it is
    not the host, so its refusal is no verdict on whether the host loads the plugin."""
    return Finding(
        rule="contract-unchecked", subject="stand-in loader",
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
        rule="load-crashed" if crashed else "load-refused", subject="live load",
        host_value=f"exit {live.exit_code}" if live.signal is None else live.signal,
        plugin_value="", host_error="\n".join(said) if 1 < len(said) <= 50 else error,
        fix=hint.build_plugin_command(),
        fix_action="read the host's output above, correct the plugin, then rebuild with",
        summary="the host " + ("died loading the plugin" if crashed else "refused the plugin"),
        severity=ERROR, host_crashes=crashed,
    )
