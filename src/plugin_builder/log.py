"""What a step writes to: one Log per combination (or other prefix).

Steps never print. They call a :class:`Log` with a finished message (a line that stays:
"built bin/scheduler in 12.3s") and tell it what runs now with :meth:`Log.status`
("compiling bin/scheduler", "143/310 packages"), which a terminal shows as a live row
and a CI log as a line when it starts plus a heartbeat while it lasts. The front end's
console (:mod:`plugin_builder.console`) decides where it all goes. ``verbose`` says
whether the person asked to see every command in full.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Protocol

from plugin_builder.untrusted import printable


class Log(Protocol):
    verbose: bool

    def __call__(self, message: str) -> None:
        """A finished message: printed as a line that stays."""
        ...

    def status(self, activity: str, progress: str = "") -> None:
        """What runs now (``activity``) and how far it got (``progress``); replaces the
        previous status of this prefix."""
        ...


class Reporter(Protocol):
    """Where a command's messages go: one Log per combination (or other prefix), told
    which prefixes to expect and when each is done. The front ends pass their console;
    library callers without one get a PrintReporter."""

    def for_prefix(self, prefix: str) -> Log: ...

    def begin(self, prefixes: Sequence[str]) -> None: ...

    def end(self, prefix: str, passed: bool) -> None: ...


class PrintLog:
    """A Log that prints: for scripts, benchmarks and tests that have no console."""

    def __init__(self, prefix: str = "", *, verbose: bool = False) -> None:
        self.prefix, self.verbose = prefix, verbose

    def __call__(self, message: str) -> None:
        head = f"{self.prefix:<22} " if self.prefix else ""
        for line in message.splitlines() or [""]:
            print(f"{head}{printable(line)}", file=sys.stderr, flush=True)

    def status(self, activity: str, progress: str = "") -> None:
        pass  # only a console with a display or a heartbeat shows what runs now


class PrintReporter:
    """A Reporter that prints each message with its prefix, on stderr."""

    def __init__(self, *, verbose: bool = False) -> None:
        self.verbose = verbose

    def for_prefix(self, prefix: str) -> Log:
        return PrintLog(prefix, verbose=self.verbose)

    def begin(self, prefixes: Sequence[str]) -> None:
        pass

    def end(self, prefix: str, passed: bool) -> None:
        pass
