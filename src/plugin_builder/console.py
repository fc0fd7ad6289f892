"""Output for people and for CI logs.

Lines are prefixed with the combination they concern, so the output of parallel runs
stays readable; when stderr is not a terminal (CI), every line carries a timestamp. On
a terminal, a live display (progress.LiveProgress) keeps each combination's current
step at the bottom. With ``verbose``, steps also log the full commands they run.
"""

from __future__ import annotations

import os
import sys
import threading
import time
import weakref
from typing import TextIO

from plugin_builder.backends import Log

_OPEN: weakref.WeakSet[Console] = weakref.WeakSet()


def close_all() -> None:
    """Stop every live display, so what follows prints on a clean terminal."""
    for console in list(_OPEN):
        console.close()


class PrefixLog:
    """A Log (callable taking one message) for one prefix; steps ask it ``verbose``."""

    def __init__(self, console: Console, prefix: str) -> None:
        self.console, self.prefix = console, prefix
        self.verbose = console.verbose

    def __call__(self, message: str) -> None:
        self.console.line(message, prefix=self.prefix)


class Console:
    def __init__(self, stream: TextIO | None = None, *, verbose: bool = False,
                 live: bool | None = None) -> None:
        self.stream = stream or sys.stderr
        self.verbose = verbose
        tty = self.stream.isatty()
        self.timestamps = not tty
        self._lock = threading.Lock()
        if live is None:
            live = tty and os.environ.get("TERM") != "dumb" and "CI" not in os.environ
        self._live = None
        if live:
            from plugin_builder.progress import LiveProgress

            self._live = LiveProgress(self.stream)
            _OPEN.add(self)

    def close(self) -> None:
        if self._live is not None:
            with self._lock:
                self._live.stop()

    def line(self, message: str, *, prefix: str = "") -> None:
        if self._live is not None:
            with self._lock:
                self._live.line(message, prefix)
            return
        stamp = time.strftime("%H:%M:%S ") if self.timestamps else ""
        head = f"{prefix:<22} " if prefix else ""
        with self._lock:
            for part in message.splitlines() or [""]:
                print(f"{stamp}{head}{part}", file=self.stream, flush=True)

    def for_prefix(self, prefix: str) -> Log:
        return PrefixLog(self, prefix)
