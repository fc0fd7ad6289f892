"""The live board for people at a terminal.

One row per combination (or other prefix) of the console's :class:`~plugin_builder.
board.Board`, kept at the bottom of the terminal while finished lines scroll above
it: a spinner, what runs now and how far it got, and the time since it started; a done
row is frozen with its total time; a last line counts the combinations done. Only used
when the console's stream is a terminal; CI logs get timestamped lines instead.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, TextIO

from rich.console import Console as RichConsole
from rich.console import Group
from rich.live import Live
from rich.spinner import Spinner
from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:
    from plugin_builder.board import Board


class LiveProgress:
    def __init__(self, stream: TextIO, board: Board) -> None:
        self.console = RichConsole(file=stream, highlight=False)
        self.board = board
        self._spinners: dict[str, Spinner] = {}
        self._live: Live | None = None

    def _started(self) -> Live:
        if self._live is None:
            self._live = Live(self, console=self.console, transient=True,
                              refresh_per_second=8, redirect_stdout=False,
                              redirect_stderr=False)
            self._live.start()
        return self._live

    def line(self, message: str, prefix: str) -> None:
        """Print a finished line above the board."""
        live = self._started()
        head = f"{prefix:<22} " if prefix else ""
        for part in message.splitlines() or [""]:
            live.console.print(Text(head + part))

    def refresh(self) -> None:
        self._started().refresh()

    def stop(self) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None

    def __rich__(self) -> Group:
        now = time.monotonic()
        table = Table.grid(padding=(0, 1))
        for prefix, row in self.board.rows.items():
            if row.ended is None:
                mark: Spinner | Text = self._spinners.setdefault(
                    prefix, Spinner("dots", style="cyan"))
                seconds = now - row.since
                what = (row.activity or "waiting") + (f": {row.progress}" if row.progress
                                                      else "")
            else:
                mark = Text("✓", style="green") if row.passed else Text("✗", style="red")
                seconds = row.elapsed()
                what = "done" if row.passed else "failed"
            table.add_row(mark, Text(prefix or "working", style="bold"),
                          Text(f"{seconds:5.0f}s", style="dim"),
                          Text(what[:90], overflow="ellipsis", no_wrap=True))
        done, total = self.board.counts()
        parts: list[Table | Text] = [table]
        if total > 1:
            parts.append(Text(f"{done}/{total} combinations done", style="dim"))
        return Group(*parts)
