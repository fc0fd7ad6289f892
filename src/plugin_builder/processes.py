"""Child processes that never outlive us, nor leave anything running.

A `go build` starts compilers and a linker of its own; killing `go` alone leaves them
running, and the linker still writes its output seconds later. A plugin's ``init()``
may start a daemon in a session of its own (``setsid``), which no process group holds.
So every command runs :class:`Supervised`: under a small supervisor process
(:mod:`plugin_builder.supervisor`) that is a child subreaper, so every process of the
command's tree stays its descendant, orphaned or not, and that ends the whole tree when
the command ends, when we stop it (a time limit; an exception or Ctrl-C, through our
``finally``; SIGTERM, turned into an exception by :func:`terminate_on_sigterm`), and
even when we are killed with SIGKILL (it holds one end of a pipe, and the pipe closes).
One supervisor per command: commands of other threads (nox sessions) are not touched.

A build is bounded in memory: each process it starts may use at most
:func:`memory_bound` bytes of data (``RLIMIT_DATA``; a quarter of this machine's memory,
at least 2 GiB, or ``$PLUGIN_BUILDER_BUILD_MEMORY``), so a source that makes the C
compiler read ``/dev/zero`` fails with a message instead of taking the machine.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

SUPERVISOR = str(Path(__file__).with_name("supervisor.py"))


class Supervised:
    """One command under its supervisor. ``Popen``'s arguments for where its output
    goes; a command that cannot be started raises the OSError ``Popen`` would."""

    def __init__(self, argv: Sequence[str], *, cwd: Path | None = None,
                 env: Mapping[str, str] | None = None, memory: int | None = None,
                 stdin: int = subprocess.DEVNULL, **streams: Any) -> None:
        control_read, self._control = os.pipe()
        status_read, status_write = os.pipe()
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-I", "-S", SUPERVISOR, str(control_read), str(status_write),
                 str(memory or 0), "--", *argv],
                cwd=cwd, env=dict(env) if env is not None else None, stdin=stdin,
                pass_fds=(control_read, status_write), start_new_session=True, **streams)
        except BaseException:
            os.close(self._control)
            raise
        finally:
            os.close(control_read)
            os.close(status_write)
        with os.fdopen(status_read, "rb") as status:
            said = status.readline().split()
        if said != [b"ok"]:
            self.stop()
            self.process.wait()
            number = int(said[1]) if len(said) == 2 and said[1].isdigit() else 0
            raise OSError(number, os.strerror(number) if number else "it did not start",
                          str(argv[0]))

    @property
    def pid(self) -> int:
        return self.process.pid

    def wait(self, timeout: float | None = None) -> int:
        return self.process.wait(timeout)

    def stop(self) -> None:
        """End the command and everything it started, now (idempotent)."""
        if self._control >= 0:
            os.close(self._control)
            self._control = -1

    def __enter__(self) -> Supervised:
        return self

    def __exit__(self, *exc: object) -> None:
        """Whatever happened, nothing of the command runs after this."""
        if self.process.poll() is None:
            self.stop()
            self.process.wait()
        self.stop()


def run(argv: Sequence[str], *, cwd: Path, env: Mapping[str, str]) -> tuple[int, str]:
    """Run argv to completion under its supervisor; (exit code, stdout+stderr)."""
    with Supervised(argv, cwd=cwd, env=env, stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT, text=True, errors="replace") as command:
        output, _ = command.process.communicate()
    return command.process.returncode, output


def capture(argv: Sequence[str], *, cwd: Path, env: Mapping[str, str],
            on_stderr: Callable[[str], None] | None = None,
            memory: int | None = None) -> tuple[int, str, str]:
    """Run argv to completion under its supervisor; (exit code, stdout, stderr).

    What a command prints for machines (``go list -json``) is its stdout alone, never
    mixed with what it says on stderr (a GOCACHEPROG helper's log line, warnings);
    ``on_stderr`` sees each stderr line as it comes, for progress. ``memory`` bounds the
    data of the command and of every process it starts (see :func:`memory_bound`).
    """
    with Supervised(argv, cwd=cwd, env=env, memory=memory, stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE, text=True, errors="replace") as command:
        child = command.process
        said: list[str] = []
        reader = threading.Thread(target=_read_lines, args=(child.stderr, said, on_stderr),
                                  daemon=True)
        reader.start()
        assert child.stdout is not None
        stdout = child.stdout.read()
        child.wait()
        reader.join()
    if child.returncode != 0 and memory is not None:
        said += _memory_note(memory, stdout + "".join(said))
    return child.returncode, stdout, "".join(said)


def answer(argv: Sequence[str], *, timeout_s: float) -> tuple[int, bytes] | None:
    """Ask a program a short question (``cc --version``): its exit code and output
    (stdout and stderr, bytes as printed), or None when it did not answer in time (its
    process group is then killed). Its output goes to a file, so nothing it leaves
    running can hold a pipe open. No supervisor: a Python start-up per question would
    cost every no-op run, for a program that only prints its version."""
    with tempfile.TemporaryFile() as output:
        child = subprocess.Popen(list(argv), stdin=subprocess.DEVNULL, stdout=output,
                                 stderr=subprocess.STDOUT, start_new_session=True)
        try:
            child.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            return None
        finally:
            if child.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(child.pid, signal.SIGKILL)
                child.wait()
        output.seek(0)
        return child.returncode, output.read(1 << 20)


# -- memory ---------------------------------------------------------------------------------

MEMORY_ENV = "PLUGIN_BUILDER_BUILD_MEMORY"
_FLOOR = 2 << 30
_OUT_OF_MEMORY = re.compile(r"out of memory|cannot allocate memory|memory exhausted", re.I)
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?\s*$", re.I)


def memory_bound() -> int:
    """The data each build process may use: ``$PLUGIN_BUILDER_BUILD_MEMORY`` (bytes, or
    with K, M, G, T), else a quarter of this machine's memory and at least 2 GiB."""
    configured = _size(os.environ.get(MEMORY_ENV, ""))
    if configured is not None:
        return configured
    try:
        total = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError):
        return _FLOOR
    return max(_FLOOR, total // 4)


def memory_source() -> str:
    if _size(os.environ.get(MEMORY_ENV, "")) is not None:
        return f"${MEMORY_ENV}"
    return "a quarter of this machine's memory, at least 2 GiB"


def _size(text: str) -> int | None:
    match = _SIZE.match(text)
    if not match:
        return None
    scale = 1 << (10 * " kmgt".index(match[2].lower() or " "))
    value = int(float(match[1]) * scale)
    return value if value > 0 else None


def _memory_note(memory: int, output: str) -> list[str]:
    """What to add to the output of a command that ran out of its memory bound."""
    if not _OUT_OF_MEMORY.search(output):
        return []
    return [f"plugin-builder: each process of a build may use at most {_gib(memory)} of "
            f"memory ({memory_source()}); this one needed more. A source that makes the "
            f"compiler read a device (#include \"/dev/zero\") never fits; for a build "
            f"that really needs more, set {MEMORY_ENV}=8G (or more)\n"]


def _gib(size: int) -> str:
    return f"{size / (1 << 30):.1f} GiB"


def _read_lines(stream: IO[str] | None, into: list[str],
                on_line: Callable[[str], None] | None) -> None:
    assert stream is not None
    for line in stream:
        into.append(line)
        if on_line is not None:
            on_line(line.rstrip("\n"))


def terminate_on_sigterm() -> None:
    """Make SIGTERM end us like Ctrl-C does: through every ``finally`` that cleans up."""

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    if signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, None):
        signal.signal(signal.SIGTERM, interrupt)
