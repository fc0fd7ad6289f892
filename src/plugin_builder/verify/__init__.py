"""Prove that plugins load into their hosts.

Two checks, both needed: :func:`analyze` predicts from ELF facts and Go build
information why a plugin would not load and names the fix (fast, and it explains);
:func:`run_check` loads the plugin for real through the host's own check command in a
child process (the ground truth, and a crash there cannot take the verifier down).
"""

from plugin_builder.binary.side import Side
from plugin_builder.verify.findings import ERROR, WARNING, Contract, Finding, RebuildHint, RuleId
from plugin_builder.verify.live import CRASHED, OK, REFUSED, TIMED_OUT, LiveResult, run_check
from plugin_builder.verify.report import PluginResult, print_report, render_table, to_dict, to_json
from plugin_builder.verify.rules import RULE_IDS, RULES, Rule, analyze

__all__ = [
    "CRASHED",
    "ERROR",
    "OK",
    "REFUSED",
    "RULES",
    "RULE_IDS",
    "TIMED_OUT",
    "WARNING",
    "Contract",
    "Finding",
    "LiveResult",
    "PluginResult",
    "RebuildHint",
    "Rule",
    "RuleId",
    "Side",
    "analyze",
    "print_report",
    "render_table",
    "run_check",
    "to_dict",
    "to_json",
]
