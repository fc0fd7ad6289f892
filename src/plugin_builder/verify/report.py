"""Show verify results: a rich table for people, JSON with stable field names for CI."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from plugin_builder.binary.fingerprints import MATCH, UNREADABLE, FingerprintVerdict
from plugin_builder.errors import PluginBuilderError
from plugin_builder.status import Verdict
from plugin_builder.untrusted import printable
from plugin_builder.verify.findings import ERROR, WARNING, Finding
from plugin_builder.verify.live import LiveResult

if TYPE_CHECKING:  # rich costs start-up time; it is imported where a table is drawn
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text


SCHEMA = "plugin-builder/verify-report/1"  # fields are only ever added
HOST_CHECK, STAND_IN = "host check command", "stand-in loader"

PASS, WARN, FAIL = Verdict
_STYLE = {PASS: "green", WARN: "yellow", FAIL: "bold red"}


@dataclass(frozen=True)
class PluginResult:
    """Everything verify learned about one plugin in one host."""

    plugin_path: str
    host_path: str
    findings: tuple[Finding, ...] = ()
    live: LiveResult | None = None  # None when no live check ran
    combination: str | None = None  # e.g. "go1.26.6-musl-amd64"
    # What the runtime's own package check finds (None: not compared).
    fingerprints: FingerprintVerdict | None = None
    # Who did the load in ``live``: the host's own check command when it ran, else the
    # stand-in loader.
    live_by: str | None = None
    # Every live load of the plugin: (who, how it ended), the host check first.
    loads: tuple[tuple[str, LiveResult], ...] = ()
    # What was decided about each symbol of the contract, in words ("asserted: func()
    # error", "found (type not checked)", "absent (optional)").
    symbols: tuple[tuple[str, str], ...] = ()
    # Who decided each point: packages, contract, host_check (verify.pairs.authorities).
    authority: tuple[tuple[str, str], ...] = ()
    # The config problem that kept the stand-in loader from being built, if that was it:
    # verify ends with it (its exit code), after reporting every finding.
    config_error: PluginBuilderError | None = field(default=None, compare=False)

    @property
    def errors(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity == ERROR)

    @property
    def warnings(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity == WARNING)

    @property
    def verdict(self) -> Verdict:
        """fail: would not load (or did not); warn: loads unless a warning applies; pass.

        A failed load by the host's own check command fails the pair; a stand-in loader's
        refusal counts only through the findings it produced (judge() decides which).
        """
        host_refused = any(not run.ok for who, run in self.loads if who == HOST_CHECK) or (
            not self.loads and self.live is not None and not self.live.ok
            and self.live_by != STAND_IN)
        if self.errors or host_refused:
            return FAIL
        return WARN if self.warnings else PASS

    @property
    def authorities(self) -> dict[str, str]:
        """Which source decided each point of the verdict."""
        if self.authority:
            return dict(self.authority)
        packages = ("the host's own load" if self.live_by == HOST_CHECK and self.live else
                    "package fingerprints" if self.fingerprints and
                    self.fingerprints.status != UNREADABLE else "build information")
        contract = {HOST_CHECK: "the host's own check command",
                    STAND_IN: "a stand-in loader asserting the declared types"}.get(
            self.live_by or "", "exported symbols (no live load)")
        return {"packages": packages, "contract": contract}


# -- JSON ---------------------------------------------------------------------------------


def to_json(results: Iterable[PluginResult], *, indent: int | None = 2) -> str:
    return json.dumps(to_dict(results), indent=indent)


def to_dict(results: Iterable[PluginResult]) -> dict[str, Any]:
    results = list(results)
    verdicts = [result.verdict for result in results]
    return {
        "schema": SCHEMA,
        "summary": {
            "total": len(results),
            PASS: verdicts.count(PASS),
            WARN: verdicts.count(WARN),
            FAIL: verdicts.count(FAIL),
        },
        "results": [_result_dict(result) for result in results],
    }


def _result_dict(result: PluginResult) -> dict[str, Any]:
    return {
        "plugin": result.plugin_path,
        "host": result.host_path,
        "combination": result.combination,
        "verdict": result.verdict,
        "findings": [_finding_dict(finding) for finding in result.findings],
        "fingerprints": _fingerprints_dict(result.fingerprints),
        "live": _live_dict(result.live, result.live_by) if result.live else None,
        "loads": [_live_dict(run, who) for who, run in result.loads],
        "symbols": dict(result.symbols),
        "authority": result.authorities,
    }


def _fingerprints_dict(verdict: FingerprintVerdict | None) -> dict[str, Any] | None:
    if verdict is None:
        return None
    return {"status": verdict.status, "first": verdict.first,
            "differing": list(verdict.differing), "shared": verdict.shared,
            "reason": verdict.reason or None}


def _finding_dict(finding: Finding) -> dict[str, Any]:
    return {
        "rule": finding.rule,
        "severity": finding.severity,
        "subject": finding.subject,
        "host_value": finding.host_value,
        "plugin_value": finding.plugin_value,
        "host_error": finding.host_error,
        "host_crashes": finding.host_crashes,
        "fix": finding.fix,
        "fix_action": finding.fix_action,
        "message": finding.message,
    }


def _live_dict(live: LiveResult, by: str | None) -> dict[str, Any]:
    return {
        "by": by,
        "status": live.status,
        "exit_code": live.exit_code,
        "signal": live.signal,
        "error_line": live.error_line,
        "duration_s": live.duration_s,
        "argv": list(live.argv),
        "tail": list(live.tail),
        "output": list(live.output),
    }


# -- terminal -----------------------------------------------------------------------------


def render_table(
    results: Sequence[PluginResult], title: str | None = "plugin verification"
) -> Table:
    """One row per plugin: verdict, static findings, live check and the root cause."""
    from rich.table import Table
    from rich.text import Text
    table = Table(title=title, show_lines=True)
    for column in ("verdict", "plugin", "host", "packages", "static check", "live check",
                   "root cause"):
        table.add_column(column, overflow="fold")
    for result in results:
        table.add_row(
            Text(result.verdict, style=_STYLE[result.verdict]),
            Text(printable(_plugin_cell(result))),  # Text: names are never markup
            Text(printable(os.path.basename(result.host_path))),
            _fingerprints_cell(result.fingerprints),
            _static_cell(result),
            _live_cell(result),
            Text(printable(_cause_cell(result))),
        )
    return table


def print_report(results: Sequence[PluginResult], console: Console | None = None) -> None:
    """The table, then every finding and failed live check, one line each."""
    from rich.text import Text

    from plugin_builder.tables import table_console

    # Wide enough for a combination id and a package path, also in CI logs (no terminal).
    console = console or table_console(140)
    console.print(render_table(results))
    for result in results:
        lines = _detail_lines(result)
        if lines:
            console.print(Text(f"{printable(result.plugin_path)}:",
                               style=_STYLE[result.verdict]))
            for line in lines:
                console.print(Text(f"  {printable(line)}"))
    rules = dict.fromkeys(f.rule for result in results for f in result.findings)
    if rules or any(not live.ok for r in results for _, live in _loads(r)):
        from plugin_builder.links import PAGE
        from plugin_builder.verify.rules import BY_ID

        anchors = [f"{PAGE}#{BY_ID[rule].anchor}" for rule in rules] or [f"{PAGE}#loader-errors"]
        console.print(Text("see: " + "  ".join(anchors)))


def _loads(result: PluginResult) -> tuple[tuple[str, LiveResult], ...]:
    if result.loads or result.live is None:
        return result.loads
    return ((result.live_by or HOST_CHECK, result.live),)


def _detail_lines(result: PluginResult) -> list[str]:
    lines = [f"[{f.severity}] {f.rule}: {f.message}" for f in result.findings]
    lines += [f"[symbol] {symbol}: {said}" for symbol, said in result.symbols
              if not said.startswith("asserted")]
    for who, live in _loads(result):
        if live.ok:
            continue
        lines.append(f"[live] {live.status}: {live.error_line or '(no output)'} ({who})")
        # The whole output: hosts often print the real cause above a summary line.
        lines += [f"    | {line}" for line in live.output
                  if line.strip() and line.strip() != live.error_line]
    return lines


def _plugin_cell(result: PluginResult) -> str:
    name = os.path.basename(result.plugin_path)
    return f"{name}\n{result.combination}" if result.combination else name


def _static_cell(result: PluginResult) -> Text:
    from rich.text import Text

    if not result.findings:
        return Text("ok", style="green")
    parts = []
    if result.errors:
        parts.append(f"{len(result.errors)} error{'s' if len(result.errors) != 1 else ''}")
    if result.warnings:
        parts.append(f"{len(result.warnings)} warning{'s' if len(result.warnings) != 1 else ''}")
    return Text(", ".join(parts), style="red" if result.errors else "yellow")


def _fingerprints_cell(verdict: FingerprintVerdict | None) -> Text:
    from rich.text import Text

    if verdict is None or verdict.status == UNREADABLE:
        return Text("unreadable", style="yellow")
    if verdict.status == MATCH:
        return Text(f"{verdict.shared} match", style="green")
    return Text(f"{len(verdict.differing)}/{verdict.shared} differ", style="red")


def _live_cell(result: PluginResult) -> Text:
    """One line per live load, saying what it decided: the host check's load, the stand-in
    loader's contract (asserted, or only found), never "contract ok" for what was not
    asserted."""
    from rich.text import Text

    loads = _loads(result)
    if not loads:
        return Text("not run", style="dim")
    cell = Text()
    for number, (who, live) in enumerate(loads):
        how = live.signal or (f"exit {live.exit_code}" if live.exit_code else "")
        label = f"{live.status} ({how})" if how else str(live.status)
        if who == STAND_IN:
            asserted = any(said.startswith("asserted") for _, said in result.symbols)
            what = "contract asserted" if live.ok and asserted else \
                "loaded, types not checked" if live.ok else f"contract {label}"
            label = f"{what} (stand-in loader)"
        else:
            label = f"host check {label}"
        cell.append(("\n" if number else "") + label, style="green" if live.ok else "red")
    return cell


def _cause_cell(result: PluginResult) -> str:
    if result.findings:
        # The whole messages follow the table (print_report); a cell holds the root cause.
        first = result.findings[0]
        more = len(result.findings) - 1
        return f"{first.rule}: {first.summary}" + (f" (+{more} more)" if more else "")
    for _, live in _loads(result):
        if not live.ok:
            return live.error_line or "\n".join(live.tail[-3:])
    return ""
