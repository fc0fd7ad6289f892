"""Load a plugin for real: run the host's own check command in a child process.

A plugin that does not match its host does not always get an error back: a Go version
mismatch or a static host kills the host process with ``fatal error: runtime: no plugin
module data``. So the load happens in a child, in its own process group (a hung check is
killed with everything it started), with a time limit, and the child's output goes to a
temporary file (a child that floods its output cannot fill a pipe or our memory). When
the check ends, every process it started is killed, also one a plugin's ``init()``
started in a session of its own (:class:`plugin_builder.processes.Supervised`).
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import errno
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import IO

from plugin_builder.binary.elffacts import read_elf
from plugin_builder.errors import BinaryError, CheckCommandError
from plugin_builder.processes import Supervised
from plugin_builder.status import LiveStatus

OK, REFUSED, CRASHED, TIMED_OUT, INCOMPLETE = LiveStatus

TAIL_LINES = 20
OUTPUT_LINES = 2000  # a check that floods its output is cut here, and says so
_LINE_LIMIT = 4096  # longer lines are split; a line never needs to be read whole
_GO_CRASH_EXIT_CODE = 2  # what the Go runtime exits with after a panic or fatal error
_SIGNAL_TRACE = re.compile(r"^SIG[A-Z0-9]+: ")  # e.g. "SIGSEGV: segmentation violation"


@dataclass(frozen=True)
class LiveResult:
    """How the host's check command ended."""

    argv: tuple[str, ...]
    status: LiveStatus
    exit_code: int | None  # None when the child was killed by a signal
    signal: str | None  # e.g. "SIGKILL", "SIGSEGV"
    error_line: str | None  # the line that says why, e.g. "fatal error: ..."
    tail: tuple[str, ...]  # the last lines of the combined output
    duration_s: float
    # The whole output, up to OUTPUT_LINES lines: a host may print the real cause above
    # a summary line, so nothing of it is dropped for the report.
    output: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.status == OK


def run_check(
    argv: Sequence[str], timeout_s: float, env: Mapping[str, str] | None = None,
    stdin: bytes | None = None,
) -> LiveResult:
    """Run ``argv`` (no shell) and classify how it ended; never raises for what the child does.

    ``env`` is the child's whole environment (None: ours). ``stdin``: bytes the child
    reads from a pipe, then end of file (None: /dev/null); a pipe, so once read they are
    gone (a stand-in loader's token). A command that cannot be started at all is a
    PluginBuilderError naming it.
    """
    argv = tuple(os.fspath(arg) for arg in argv)
    started = time.monotonic()
    with tempfile.TemporaryFile() as output:
        # Supervised: nothing it started, in any session, outlives the check, nor a
        # killed verifier.
        with _start(argv, env, output, piped=stdin is not None) as process:
            if stdin is not None:
                _feed(process.process, stdin)
            timed_out = _wait(process, timeout_s)
        duration = time.monotonic() - started
        output.seek(0)
        decisive, tail, whole = _scan(_lines(output))
    result = _classify(argv, process.process.returncode, timed_out, decisive, tail, duration)
    return dataclasses.replace(result, output=whole)


def _feed(process: subprocess.Popen[bytes], data: bytes) -> None:
    """Write ``data`` to the child's stdin and close it; a few bytes fit the pipe's
    buffer, so this never waits for the child (which may have died already)."""
    assert process.stdin is not None
    with contextlib.suppress(BrokenPipeError):
        process.stdin.write(data)
    with contextlib.suppress(BrokenPipeError):
        process.stdin.close()


def _start(argv: tuple[str, ...], env: Mapping[str, str] | None, output: IO[bytes], *,
           piped: bool = False) -> Supervised:
    if not argv:
        raise CheckCommandError("live check: empty command",
                                fix="give the service or plugin type a check command")
    try:
        # One stream keeps the order of what the host said.
        return Supervised(argv, env=env, stdout=output, stderr=subprocess.STDOUT,
                          stdin=subprocess.PIPE if piped else subprocess.DEVNULL)
    except OSError as error:
        interpreter = _missing_interpreter(argv[0]) if error.errno == errno.ENOENT else None
        if interpreter is not None:
            # The kernel says ENOENT for the interpreter, not for the program that exists.
            raise CheckCommandError(
                f"live check: cannot run {argv[0]}: its ELF interpreter {interpreter} is "
                "missing on this machine",
                fix="install the C library the binary was built for (for musl, the musl "
                    "package), or verify on a machine or in the image where it runs",
            ) from None
        raise CheckCommandError(f"live check: cannot run {argv[0]}: {error.strerror}",
                                fix="correct the check command in buildconfig.toml") from None


def _missing_interpreter(program: str) -> str | None:
    """The PT_INTERP of ``program`` when the program is there and its interpreter is not."""
    path = program if os.sep in program else shutil.which(program)
    if path is None or not os.path.isfile(path):
        return None
    try:
        interpreter = read_elf(path).interpreter
    except BinaryError:
        return None  # a script, or not readable: the error stands as the system said it
    return interpreter if interpreter and not os.path.exists(interpreter) else None


def _wait(process: Supervised, timeout_s: float) -> bool:
    """Wait for the check; True when it had to be ended for running out of time."""
    try:
        process.wait(timeout=timeout_s)
        return False
    except subprocess.TimeoutExpired:
        return True
    # Whatever happens (KeyboardInterrupt too), leaving the `with` ends it all.


def _lines(output: IO[bytes]) -> Iterator[str]:
    for chunk in iter(lambda: output.readline(_LINE_LIMIT), b""):
        yield chunk.decode("utf-8", errors="replace").rstrip("\r\n")


@dataclass
class _Decisive:
    """The lines of the output that explain how the check ended."""

    fatal: str | None = None  # "fatal error: ..."
    panic: str | None = None  # "panic: ..."
    signal_trace: str | None = None  # "SIGSEGV: segmentation violation"
    goroutine_trace: bool = False
    refusal: str | None = None  # the last "plugin.Open(...)"/"plugin: ..." line
    last: str | None = None  # the last non-empty line

    def observe(self, line: str) -> None:
        if not line:
            return
        self.last = line
        if line.startswith("fatal error:"):
            self.fatal = self.fatal or line
        elif line.startswith("panic:"):
            self.panic = self.panic or line
        elif _SIGNAL_TRACE.match(line):
            self.signal_trace = self.signal_trace or line
        elif line.startswith("goroutine ") and line.endswith(":"):
            self.goroutine_trace = True
        elif "plugin.Open(" in line or line.startswith("plugin:"):
            self.refusal = line


def _scan(lines: Iterable[str]) -> tuple[_Decisive, tuple[str, ...], tuple[str, ...]]:
    """One pass over the output: the lines that explain the outcome, the tail, the whole."""
    decisive = _Decisive()
    tail: collections.deque[str] = collections.deque(maxlen=TAIL_LINES)
    whole: list[str] = []
    count = 0
    for line in lines:
        count += 1
        tail.append(line)
        decisive.observe(line.strip())
        if count <= OUTPUT_LINES:
            whole.append(line)
    if count > OUTPUT_LINES:
        whole.append(f"... ({count - OUTPUT_LINES} more lines)")
    return decisive, tuple(tail), tuple(whole)


def _classify(
    argv: tuple[str, ...],
    returncode: int,
    timed_out: bool,
    decisive: _Decisive,
    tail: tuple[str, ...],
    duration: float,
) -> LiveResult:
    signal_name = _signal_name(returncode)
    exit_code = None if signal_name else returncode
    crash_line = decisive.fatal or decisive.panic or decisive.signal_trace
    if timed_out:
        status, line = TIMED_OUT, decisive.refusal or crash_line or decisive.last
    elif returncode == 0:
        status, line = OK, None
    elif signal_name or decisive.fatal or _is_go_crash(returncode, decisive):
        status, line = CRASHED, crash_line or decisive.last
    else:
        status, line = REFUSED, decisive.refusal or decisive.last
    return LiveResult(argv, status, exit_code, signal_name, line, tail, round(duration, 3))


def _is_go_crash(returncode: int, decisive: _Decisive) -> bool:
    # Exit code 2 alone is also a usage error (Go's flag package); only a trace makes it a crash.
    traced = decisive.panic or decisive.signal_trace or decisive.goroutine_trace
    return returncode == _GO_CRASH_EXIT_CODE and bool(traced)


def _signal_name(returncode: int) -> str | None:
    if returncode >= 0:
        return None
    try:
        return signal.Signals(-returncode).name
    except ValueError:
        return f"signal {-returncode}"
