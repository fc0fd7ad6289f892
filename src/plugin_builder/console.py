"""Output for people and for CI logs.

Lines are prefixed with the combination they concern, so the output of parallel runs
stays readable. On a terminal, a live board (progress.LiveProgress) keeps one row per
combination at the bottom: what runs now and for how long, done rows frozen, and how
many combinations are done. Anywhere else (CI, pipes) every line carries a timestamp,
a step says when it starts, and a heartbeat line comes at least every 30 s while it
runs. With ``verbose``, steps also log the full commands they run.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sys
import threading
import time
import weakref
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from plugin_builder import links, processes
from plugin_builder.board import Board
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
    """The Log of one prefix (a combination) on a console."""

    def __init__(self, console: Console, prefix: str) -> None:
        self.console, self.prefix = console, prefix
        self.verbose = console.verbose

    def __call__(self, message: str) -> None:
        self.console.line(message, prefix=self.prefix)

    def status(self, activity: str, progress: str = "") -> None:
        self.console.status(self.prefix, activity, progress)


# Without a terminal, a line at least this often while a step runs, so a CI log never
# falls silent for minutes (PLUGIN_BUILDER_HEARTBEAT_S overrides it, for tests).
HEARTBEAT_S = 30.0
# An activity is announced in a CI log once it has lasted this long: a step that ends
# sooner says so with its own line ("built ..."), without a line saying it began.
ANNOUNCE_AFTER_S = 2.0


class Console:
    """Where the front ends' messages go: a live board on a terminal; timestamped lines,
    with a heartbeat during long steps, anywhere else (CI, pipes)."""

    def __init__(self, stream: TextIO | None = None, *, verbose: bool = False,
                 live: bool | None = None, mirror: Path | None = None) -> None:
        self.stream = stream or sys.stderr
        self.verbose = verbose
        # Where the lines that say how far a run got also go (a nox worker's output is
        # held back until its session ends; the nox parent relays this file meanwhile).
        self.mirror = mirror
        if live is None:
            live = (self.stream.isatty() and os.environ.get("TERM") != "dumb"
                    and "CI" not in os.environ)
        self.timestamps = not live  # a CI log on a terminal is a log too
        self.board = Board()
        self._lock = threading.Lock()
        self._live = None
        self._heartbeat: threading.Thread | None = None
        self._stopped = threading.Event()
        if live:
            from plugin_builder.progress import LiveProgress

            self._live = LiveProgress(self.stream, self.board)
        _OPEN.add(self)

    def close(self) -> None:
        self._stopped.set()
        with self._lock:
            if self._live is not None:
                self._live.stop()

    def for_prefix(self, prefix: str) -> Log:
        return PrefixLog(self, prefix)

    # -- what steps say ---------------------------------------------------------------

    def line(self, message: str, *, prefix: str = "") -> None:
        with self._lock:
            if self._live is not None:
                self._live.line(printable(message), prefix)
            else:
                self._print(message, prefix)

    def status(self, prefix: str, activity: str, progress: str = "") -> None:
        with self._lock:
            changed = self.board.status(prefix, activity, progress, time.monotonic())
            if self._live is not None:
                self._live.refresh()
            elif changed and activity:
                self._start_heartbeat()  # which announces it, should it last

    def begin(self, prefixes: Sequence[str]) -> None:
        with self._lock:
            self.board.begin(prefixes, time.monotonic())
            if self._live is not None:
                self._live.refresh()

    def end(self, prefix: str, passed: bool) -> None:
        with self._lock:
            row = self.board.end(prefix, passed, time.monotonic())
            if self._live is not None:
                self._live.refresh()
                return
            done, total = self.board.counts()
            self._progress(f"{'done' if passed else 'failed'} in {row.elapsed():.0f}s "
                           f"({done}/{total} combinations)", prefix)

    # -- plain lines ------------------------------------------------------------------

    def _print(self, message: str, prefix: str) -> list[str]:
        stamp = time.strftime("%H:%M:%S ") if self.timestamps else ""
        head = f"{prefix:<22} " if prefix else ""
        lines = [f"{stamp}{head}{printable(part)}" for part in message.splitlines() or [""]]
        for line in lines:
            print(line, file=self.stream, flush=True)
        return lines

    def _progress(self, message: str, prefix: str) -> None:
        """A line that says how far a run got: printed, and mirrored."""
        lines = self._print(message, prefix)
        if self.mirror is not None:
            with contextlib.suppress(OSError):  # progress is a courtesy, never a failure
                self.mirror.parent.mkdir(parents=True, exist_ok=True)
                with self.mirror.open("a", encoding="utf-8") as stream:
                    stream.write("".join(line + "\n" for line in lines))

    def _start_heartbeat(self) -> None:
        if self._heartbeat is None:
            self._heartbeat = threading.Thread(target=self._beat, daemon=True)
            self._heartbeat.start()

    def _beat(self) -> None:
        period = float(os.environ.get("PLUGIN_BUILDER_HEARTBEAT_S", HEARTBEAT_S))
        while not self._stopped.wait(min(period, ANNOUNCE_AFTER_S) / 4):
            with self._lock:
                now = time.monotonic()
                for prefix, row in self.board.lasting(now, ANNOUNCE_AFTER_S):
                    self._progress(f"{row.activity}..."
                                   + (f" {row.progress}" if row.progress else ""), prefix)
                for prefix, row in self.board.due(now, period):
                    self._progress(f"still {row.activity}"
                                   + (f": {row.progress}" if row.progress else "")
                                   + f" ({now - row.since:.0f}s)", prefix)
