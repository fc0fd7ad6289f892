"""Child processes that never outlive us.

A `go build` starts compilers and a linker of its own; killing `go` alone leaves them
running, and the linker still writes its output seconds later. So every build command
runs in a process group of its own, and that whole group is killed when we stop:
on an exception or Ctrl-C (our ``finally``), on SIGTERM (turned into an exception by
:func:`terminate_on_sigterm`), and even when we are killed with SIGKILL, by a watchdog
process that holds one end of a pipe and kills the group when the pipe closes.

A process can leave its group: a plugin's ``init()`` that starts a daemon in a session
of its own (``setsid``) would outlive the check that loaded it. So every command runs
:func:`contained`: this process is made a child subreaper (``PR_SET_CHILD_SUBREAPER``),
which makes every orphan of the command's tree our child instead of init's, and when the
command ends every process that descends from us and did not before is killed and
reaped, whatever session it moved to.

A build is bounded in memory: each process it starts may use at most
:func:`memory_bound` bytes of data (``RLIMIT_DATA``; a quarter of this machine's memory,
at least 2 GiB, or ``$PLUGIN_BUILDER_BUILD_MEMORY``), so a source that makes the C
compiler read ``/dev/zero`` fails with a message instead of taking the machine.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
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
    with contained():
        child = subprocess.Popen(list(argv), cwd=cwd, env=dict(env), stdin=subprocess.DEVNULL,
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                 errors="replace", start_new_session=True)
        with watched(child.pid):
            try:
                output, _ = child.communicate()
            finally:
                if child.poll() is None:
                    kill_group(child.pid)
                    child.wait()
    return child.returncode, output


def capture(argv: Sequence[str], *, cwd: Path, env: Mapping[str, str],
            on_stderr: Callable[[str], None] | None = None,
            memory: int | None = None) -> tuple[int, str, str]:
    """Run argv to completion in its own process group; (exit code, stdout, stderr).

    What a command prints for machines (``go list -json``) is its stdout alone, never
    mixed with what it says on stderr (a GOCACHEPROG helper's log line, warnings);
    ``on_stderr`` sees each stderr line as it comes, for progress. ``memory`` bounds the
    data of the command and of every process it starts (see :func:`memory_bound`).
    """
    with contained():
        child = subprocess.Popen(list(argv), cwd=cwd, env=dict(env), stdin=subprocess.DEVNULL,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                 errors="replace", start_new_session=True)
        if memory is not None:
            _bound(child.pid, memory)
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
    if child.returncode != 0 and memory is not None:
        said += _memory_note(memory, stdout + "".join(said))
    return child.returncode, stdout, "".join(said)


def answer(argv: Sequence[str], *, timeout_s: float) -> tuple[int, bytes] | None:
    """Ask a program a short question (``cc --version``): its exit code and output
    (stdout and stderr, bytes as printed), or None when it did not answer in time.
    Its output goes to a file, so nothing it leaves running can hold a pipe open. (No
    watchdog: it would cost a Python start-up per question, on every no-op run.)"""
    with contained(), tempfile.TemporaryFile() as output:
        child = subprocess.Popen(list(argv), stdin=subprocess.DEVNULL, stdout=output,
                                 stderr=subprocess.STDOUT, start_new_session=True)
        try:
            child.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            return None
        finally:
            if child.poll() is None:
                kill_group(child.pid)
                child.wait()
        output.seek(0)
        return child.returncode, output.read(1 << 20)


# -- containment: every process a command starts ends with it --------------------------------

_PR_SET_CHILD_SUBREAPER = 36


@functools.cache
def become_subreaper() -> bool:
    """Make this process the one orphans of its descendants are handed to (Linux 3.4+);
    False where the call is not available (then a daemon could escape to init)."""
    import ctypes  # 6 ms: only commands that start processes need it

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


@contextlib.contextmanager
def contained() -> Iterator[None]:
    """Every process started while the block runs, and everything those start (in a
    session of their own too), is killed and reaped when the block ends."""
    become_subreaper()
    before = set(_children(os.getpid()))
    try:
        yield
    finally:
        end_descendants(exempt=before)


def end_descendants(exempt: set[int]) -> list[int]:
    """Kill and reap every descendant of this process but the children in ``exempt`` (and
    what descends from them); returns the ids found."""
    ended: list[int] = []
    for _ in range(100):  # a killed parent hands its children to us: go round again
        found = _descendants(os.getpid(), exempt)
        if not found:
            break
        for pid in found:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        ended += [pid for pid in found if pid not in ended]
        for pid in set(_children(os.getpid())) - exempt:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)
    return ended


def _descendants(pid: int, exempt: set[int]) -> list[int]:
    found: list[int] = []
    stack = [child for child in _children(pid) if child not in exempt]
    while stack:
        current = stack.pop()
        found.append(current)
        stack.extend(_children(current))
    return found


def _children(pid: int) -> list[int]:
    """The children of ``pid``, from every one of its threads."""
    children: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return children
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/children") as stream:
                children.extend(int(word) for word in stream.read().split())
        except OSError:
            continue
    return children


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


def _bound(pid: int, memory: int) -> None:
    """Bound the data of ``pid`` (just started) and of everything it starts: children
    inherit the limit, and go starts its compilers after its runtime is up, well after
    this call."""
    import resource

    with contextlib.suppress(ProcessLookupError, PermissionError, OSError):
        resource.prlimit(pid, resource.RLIMIT_DATA, (memory, memory))


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
