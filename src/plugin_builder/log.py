"""What a step writes to: one callable per combination (or other prefix).

Steps never print. They call a :class:`Log` with a message; the console decides where
it goes (a live display on a terminal, timestamped lines in CI). ``verbose`` says
whether the person asked to see every command in full.
"""

from __future__ import annotations

from typing import Protocol


class Log(Protocol):
    verbose: bool

    def __call__(self, message: str) -> None: ...


class PrintLog:
    """A Log that prints: for scripts, benchmarks and tests that have no console."""

    def __init__(self, *, verbose: bool = False) -> None:
        self.verbose = verbose

    def __call__(self, message: str) -> None:
        print(message, flush=True)
