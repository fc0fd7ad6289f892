"""A live progress display for people at a terminal.

One line per combination (or other prefix) with a spinner, its latest message and the
time since it started, kept at the bottom of the terminal while finished lines scroll
above it. Only used when the console's stream is a TTY; CI logs get plain timestamped
lines (console.Console) instead.
"""

from __future__ import annotations

import time
from typing import TextIO

from rich.console import Console as RichConsole
from rich.console import Group
from rich.live import Live
from rich.spinner import Spinner
from rich.table import Table
from rich.text import Text


class LiveProgress:
    def __init__(self, stream: TextIO) -> None:
        self.console = RichConsole(file=stream, highlight=False)
        self._rows: dict[str, tuple[str, float]] = {}  # prefix -> (latest message, started)
        self._spinners: dict[str, Spinner] = {}
        self._live: Live | None = None

    def line(self, message: str, prefix: str) -> None:
        """Print a finished line above the display and show it as the prefix's latest."""
        if self._live is None:
            self._live = Live(self, console=self.console, transient=True,
                              refresh_per_second=8, redirect_stdout=False,
                              redirect_stderr=False)
            self._live.start()
        head = f"{prefix:<22} " if prefix else ""
        for part in message.splitlines() or [""]:
            self._live.console.print(Text(head + part))
        latest = message.splitlines()[-1] if message.strip() else ""
        started = self._rows.get(prefix, ("", time.monotonic()))[1]
        self._rows[prefix] = (latest, started)
        self._live.refresh()

    def stop(self) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None

    def __rich__(self) -> Group:
        table = Table.grid(padding=(0, 1))
        for prefix, (latest, started) in self._rows.items():
            spinner = self._spinners.setdefault(prefix, Spinner("dots", style="cyan"))
            table.add_row(spinner, Text(prefix or "working", style="bold"),
                          Text(f"{time.monotonic() - started:5.0f}s", style="dim"),
                          Text(latest[:80], overflow="ellipsis", no_wrap=True))
        return Group(table)
