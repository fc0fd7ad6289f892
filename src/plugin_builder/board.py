"""What each combination of a command is doing now: the rows both displays show.

The console keeps one :class:`Board`; a terminal draws it live (:mod:`.progress`), a CI
log prints a line when an activity starts and a heartbeat while it lasts.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass
class Row:
    """One prefix on the board: what runs now, since when, and how it ended."""

    started: float
    activity: str = ""  # "": it has not started
    progress: str = ""
    since: float = 0.0  # when the current activity began
    said: float = 0.0  # when a plain line last spoke of it
    announced: bool = False  # a plain line said it began
    ended: float | None = None
    passed: bool | None = None

    def elapsed(self, now: float | None = None) -> float:
        end = self.ended if self.ended is not None else (now or time.monotonic())
        return end - self.started


class Board:
    """Every prefix's row, in the order they began: what both displays show."""

    def __init__(self) -> None:
        self.rows: dict[str, Row] = {}

    def begin(self, prefixes: Sequence[str], now: float) -> None:
        for prefix in prefixes:
            self.rows.setdefault(prefix, Row(started=now, since=now, said=now))

    def status(self, prefix: str, activity: str, progress: str, now: float) -> bool:
        """Record what runs now; True when the activity itself changed."""
        row = self.rows.setdefault(prefix, Row(started=now, since=now, said=now))
        changed = activity != row.activity
        if changed:
            row.activity, row.since, row.said, row.announced = activity, now, now, False
        row.progress = progress
        return changed

    def end(self, prefix: str, passed: bool, now: float) -> Row:
        row = self.rows.setdefault(prefix, Row(started=now))
        row.ended, row.passed, row.activity, row.progress = now, passed, "", ""
        return row

    def counts(self) -> tuple[int, int]:
        return sum(r.ended is not None for r in self.rows.values()), len(self.rows)

    def lasting(self, now: float, after: float) -> list[tuple[str, Row]]:
        """The running rows whose activity has lasted ``after`` seconds unannounced (and
        marks them announced)."""
        found = [(prefix, row) for prefix, row in self.rows.items()
                 if row.ended is None and row.activity and not row.announced
                 and now - row.since >= after]
        for _, row in found:
            row.announced, row.said = True, now
        return found

    def due(self, now: float, period: float) -> list[tuple[str, Row]]:
        """The running rows a heartbeat line is due for (and marks them said)."""
        due = [(prefix, row) for prefix, row in self.rows.items()
               if row.ended is None and row.activity and now - row.said >= period]
        for _, row in due:
            row.said = now
        return due
