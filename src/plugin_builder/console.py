"""Output for people and for CI logs.

Lines are prefixed with the combination they concern, so the output of parallel runs
stays readable; when stderr is not a terminal (CI), every line carries a timestamp.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import TextIO

from plugin_builder.backends import Log


class Console:
    def __init__(self, stream: TextIO | None = None, *, verbose: bool = False) -> None:
        self.stream = stream or sys.stderr
        self.verbose = verbose
        self.timestamps = not self.stream.isatty()
        self._lock = threading.Lock()

    def line(self, message: str, *, prefix: str = "") -> None:
        stamp = time.strftime("%H:%M:%S ") if self.timestamps else ""
        head = f"{prefix:<22} " if prefix else ""
        with self._lock:
            for part in message.splitlines() or [""]:
                print(f"{stamp}{head}{part}", file=self.stream, flush=True)

    def for_prefix(self, prefix: str) -> Log:
        return lambda message: self.line(message, prefix=prefix)
