"""What a step writes to: one callable per combination (or other prefix).

Steps never print. They call a :class:`Log` with a message; the console decides where
it goes (a live display on a terminal, timestamped lines in CI). ``verbose`` says
whether the person asked to see every command in full.
"""

from __future__ import annotations

from typing import Protocol

from plugin_builder.untrusted import printable


class Log(Protocol):
    verbose: bool

    def __call__(self, message: str) -> None: ...


class PrintLog:
    """A Log that prints: for scripts, benchmarks and tests that have no console."""

    def __init__(self, *, verbose: bool = False) -> None:
        self.verbose = verbose

    def __call__(self, message: str) -> None:
        print(printable(message), flush=True)


class Reporter(Protocol):
    """Where a command's messages go: one Log per combination (or other prefix). The
    front ends pass their console; library callers without one get a PrintReporter."""

    def for_prefix(self, prefix: str) -> Log: ...


class PrintReporter:
    """A Reporter that prints each message with its prefix (scripts, benchmarks)."""

    def __init__(self, *, verbose: bool = False) -> None:
        self.verbose = verbose

    def for_prefix(self, prefix: str) -> Log:
        return _PrefixPrintLog(prefix, self.verbose)


class _PrefixPrintLog:
    def __init__(self, prefix: str, verbose: bool) -> None:
        self.prefix, self.verbose = prefix, verbose

    def __call__(self, message: str) -> None:
        for line in message.splitlines() or [""]:
            print(f"{self.prefix:<22} {printable(line)}", flush=True)
