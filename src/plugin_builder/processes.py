"""Child processes that never outlive us.

A `go build` starts compilers and a linker of its own; killing `go` alone leaves them
running, and the linker still writes its output seconds later. So every build command
runs in a process group of its own, and that whole group is killed when we stop:
on an exception or Ctrl-C (our ``finally``), on SIGTERM (turned into an exception by
:func:`terminate_on_sigterm`), and even when we are killed with SIGKILL, by a watchdog
process that holds one end of a pipe and kills the group when the pipe closes.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO

# Reads stdin until it closes; "done" means the group ended normally, anything else
# (EOF without it: our process died) kills the group.
_WATCHDOG = """\
import os, signal, sys
line = sys.stdin.readline()
if line.strip() != "done":
    try:
        os.killpg(int(sys.argv[1]), signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
"""


def run(argv: Sequence[str], *, cwd: Path, env: Mapping[str, str]) -> tuple[int, str]:
    """Run argv to completion in its own process group; (exit code, stdout+stderr)."""
    code, output, _ = _run(argv, cwd, env, stderr=subprocess.STDOUT)
    return code, output


def run_apart(argv: Sequence[str], *, cwd: Path, env: Mapping[str, str]) -> tuple[int, str, str]:
    """Like :func:`run`, with stdout and stderr apart: (exit code, stdout, stderr).

    For commands whose stdout a program reads (JSON): what they print for people on
    stderr must not be mixed into it.
    """
    return _run(argv, cwd, env, stderr=subprocess.PIPE)


def _run(argv: Sequence[str], cwd: Path, env: Mapping[str, str],
         stderr: int) -> tuple[int, str, str]:
    child = subprocess.Popen(list(argv), cwd=cwd, env=dict(env), stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=stderr, text=True,
                             errors="replace", start_new_session=True)
    with watched(child.pid):
        try:
            output, errors = child.communicate()
        finally:
            if child.poll() is None:
                kill_group(child.pid)
                child.wait()
    return child.returncode, output, errors or ""


def capture(argv: Sequence[str], *, cwd: Path, env: Mapping[str, str],
            on_stderr: Callable[[str], None] | None = None) -> tuple[int, str, str]:
    """Run argv to completion in its own process group; (exit code, stdout, stderr).

    What a command prints for machines (``go list -json``) is its stdout alone, never
    mixed with what it says on stderr (a GOCACHEPROG helper's log line, warnings);
    ``on_stderr`` sees each stderr line as it comes, for progress.
    """
    child = subprocess.Popen(list(argv), cwd=cwd, env=dict(env), stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             errors="replace", start_new_session=True)
    said: list[str] = []
    reader = threading.Thread(target=_read_lines, args=(child.stderr, said, on_stderr),
                              daemon=True)
    with watched(child.pid):
        try:
            reader.start()
            assert child.stdout is not None
            stdout = child.stdout.read()
            child.wait()
            reader.join()
        finally:
            if child.poll() is None:
                kill_group(child.pid)
                child.wait()
    return child.returncode, stdout, "".join(said)


def _read_lines(stream: IO[str] | None, into: list[str],
                on_line: Callable[[str], None] | None) -> None:
    assert stream is not None
    for line in stream:
        into.append(line)
        if on_line is not None:
            on_line(line.rstrip("\n"))


def kill_group(pgid: int) -> None:
    # ProcessLookupError: the group ended between our check and the kill.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)


@contextlib.contextmanager
def watched(pgid: int):
    """While the block runs, the process group ``pgid`` dies with us, even by SIGKILL."""
    watchdog = _watch(pgid)
    try:
        yield
    finally:
        _release(watchdog)


def _watch(pgid: int) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", _WATCHDOG, str(pgid)], stdin=subprocess.PIPE,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True,
                            start_new_session=True)


def _release(watchdog: subprocess.Popen[str]) -> None:
    """Tell the watchdog the group ended on its own, and let it go."""
    assert watchdog.stdin is not None
    with contextlib.suppress(BrokenPipeError):
        watchdog.stdin.write("done\n")
        watchdog.stdin.close()
    watchdog.wait()


def terminate_on_sigterm() -> None:
    """Make SIGTERM end us like Ctrl-C does: through every ``finally`` that cleans up."""

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    if signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, None):
        signal.signal(signal.SIGTERM, interrupt)
