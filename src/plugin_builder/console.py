"""Output for people and for CI logs.

Lines are prefixed with the combination they concern, so the output of parallel runs
stays readable; when stderr is not a terminal (CI), every line carries a timestamp. On
a terminal, a live display (progress.LiveProgress) keeps each combination's current
step at the bottom. With ``verbose``, steps also log the full commands they run.
"""

from __future__ import annotations

import errno
import os
import sys
import threading
import time
import weakref
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TextIO

from plugin_builder import links, processes
from plugin_builder.errors import INTERRUPTED, FilesystemError, PluginBuilderError
from plugin_builder.log import Log
from plugin_builder.untrusted import printable, quoted
from plugin_builder.verify.report import PluginResult, print_report, to_json

_OPEN: weakref.WeakSet[Console] = weakref.WeakSet()


@contextmanager
def guard() -> Iterator[None]:
    """Turn a PluginBuilderError into its message on stderr and its exit code.

    SIGTERM ends a command like Ctrl-C does, so every child process group is killed and
    nothing half-written is kept either way.
    """
    processes.terminate_on_sigterm()
    try:
        with filesystem_errors():
            yield
        close_all()
    except PluginBuilderError as error:
        close_all()
        print(f"error: {printable(str(error))}\n  see: {links.see(type(error))}",
              file=sys.stderr)
        raise SystemExit(error.return_code) from None
    except KeyboardInterrupt:
        close_all()
        print("interrupted: nothing half-written was kept", file=sys.stderr)
        raise SystemExit(INTERRUPTED) from None
    except BrokenPipeError:
        # The reader went away (`invoke verify --json | head`): stop quietly, and keep
        # Python from complaining again when it flushes stdout at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise SystemExit(1) from None


# What to do about a file the system refused, by errno.
_FILESYSTEM_FIXES = {
    errno.EACCES: "make it writable (or readable) for this user, or point the config there",
    errno.EPERM: "make it writable (or readable) for this user, or point the config there",
    errno.EROFS: "the file system is read-only: point project.artifacts / project.results "
                 "at a writable folder",
    errno.ENOSPC: "free disk space (invoke clean removes artifacts), then run again",
    errno.EDQUOT: "free disk space (invoke clean removes artifacts), then run again",
    errno.ENOTDIR: "a file stands where a folder must be: remove it or correct the config",
    errno.EISDIR: "a folder stands where a file must be: remove it or correct the config",
}


@contextmanager
def filesystem_errors() -> Iterator[None]:
    """A file the system refused is a FilesystemError naming it, never a traceback."""
    try:
        yield
    except BrokenPipeError:
        raise  # the reader went away: guard() stops quietly
    except OSError as error:
        where = quoted(error.filename) if error.filename is not None else "a file"
        raise FilesystemError(f"{where}: {error.strerror or error}",
                              fix=_FILESYSTEM_FIXES.get(error.errno or 0,
                                                        "check the path and its permissions")
                              ) from None


def print_verdicts(verdicts: Sequence[PluginResult], *, as_json: bool = False,
                   only_if_any: bool = False) -> None:
    """verify's report: a table for people, or JSON for machines."""
    if only_if_any and not verdicts:
        return
    if as_json:
        print(to_json(verdicts))
    else:
        print_report(verdicts)


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
                self._live.line(printable(message), prefix)
            return
        stamp = time.strftime("%H:%M:%S ") if self.timestamps else ""
        head = f"{prefix:<22} " if prefix else ""
        with self._lock:
            for part in message.splitlines() or [""]:
                print(f"{stamp}{head}{printable(part)}", file=self.stream, flush=True)

    def for_prefix(self, prefix: str) -> Log:
        return PrefixLog(self, prefix)
