"""Run a stand-in loader over the plugins a service loads together, and read what it said.

The loader (steps/loader_source.py) loads every plugin into one process, in order, and
prints a completion line with a token only it knows, after every check. So a plugin
passes only when a run completed (the token is there) and that line lists it; nothing
a plugin prints can make it pass.

A run that did not complete (a crash, a hang, a signal, a plugin whose ``init`` ends the
process) is blamed on the plugin it was loading (the last "opening" line), and the
others are loaded again, together, without it, so each of them still gets a verdict
from a complete run: at most one run per plugin.
"""

from __future__ import annotations

import dataclasses
import re
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from plugin_builder.verify.live import CRASHED, INCOMPLETE, OK, REFUSED, TIMED_OUT, LiveResult

DONE = "plugin-builder-loader: done"
_OPENING_RE = re.compile(r"^check-plugin: opening (?P<position>[0-9]+) ")
# Runs the loader: (argv, token) -> how it ended; the token goes to its stdin.
Runner = Callable[[list[str], str], LiveResult]


@dataclass(frozen=True)
class Entry:
    """One plugin on the loader's command line."""

    contract: int  # which of the loader's contracts (contract_<i>.go) it is checked by
    name: str  # the plugin's name, for the contract's {name}
    path: str


def load_together(argv: Sequence[str], entries: Sequence[Entry], run: Runner) -> list[LiveResult]:
    """Each plugin's outcome, in the order of ``entries``: OK only when a complete run
    listed it; REFUSED with the loader's line about it; CRASHED, TIMED_OUT or
    INCOMPLETE for the plugin a run that did not complete was loading."""
    remaining = list(range(len(entries)))
    outcomes: dict[int, LiveResult] = {}
    while remaining:
        token = secrets.token_hex(16)
        words = [word for index in remaining for word in
                 (str(entries[index].contract), entries[index].name, entries[index].path)]
        result = run([*argv, *words], token)
        passed, failures, loading = _read(result, token, entries, remaining)
        if passed is not None:
            for position, index in enumerate(remaining):
                outcomes[index] = _outcome(result, position in passed, failures.get(position))
            break
        culprit = remaining[loading if loading is not None else 0]
        outcomes[culprit] = _unfinished(result)
        remaining.remove(culprit)
    return [outcomes[index] for index in range(len(entries))]


def _read(result: LiveResult, token: str, entries: Sequence[Entry], remaining: list[int],
          ) -> tuple[set[int] | None, dict[int, str], int | None]:
    """(the positions a complete run passed, or None; each position's first failure
    line; the position the run was loading when it ended)."""
    passed: set[int] | None = None
    failures: dict[int, str] = {}
    loading: int | None = None
    done = f"{DONE} {token} ok="
    for line in _lines(result):
        text = line.strip()
        opening = _OPENING_RE.match(text)
        if opening and int(opening["position"]) < len(remaining):
            loading = int(opening["position"])
        elif text.startswith(done):
            passed = {int(p) for p in text[len(done):].split(",") if p.isdigit()}
        elif loading is not None:
            prefix = f"check-plugin: plugin {entries[remaining[loading]].path}: "
            if text.startswith(prefix):
                failures.setdefault(loading, text)
    return passed, failures, loading


def _lines(result: LiveResult) -> list[str]:
    """The run's output; when it was cut, its tail too (the completion line is last)."""
    lines = list(result.output)
    if lines and lines[-1].startswith("... (") and result.tail:
        lines += result.tail
    return lines


def _outcome(result: LiveResult, passed: bool, failure: str | None) -> LiveResult:
    if passed:
        return dataclasses.replace(result, status=OK, error_line=None)
    line = failure or "the stand-in loader refused it (and printed no reason)"
    return dataclasses.replace(result, status=REFUSED, error_line=line)


def _unfinished(result: LiveResult) -> LiveResult:
    """The outcome of the plugin a run ended on before it completed."""
    if result.status in (CRASHED, TIMED_OUT):
        return result
    how = f"exit code {result.exit_code}" if result.signal is None else result.signal
    line = (f"the stand-in loader ended ({how}) while it loaded this plugin, before its "
            "completion signal: the plugin's init ended the process")
    return dataclasses.replace(result, status=INCOMPLETE, error_line=line)
