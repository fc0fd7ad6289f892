"""The process every command we start runs under: it ends the command's whole tree.

Run as a script (``python -I -S supervisor.py CONTROL STATUS MEMORY -- ARGV...``, by
:class:`plugin_builder.processes.Supervised`); it imports nothing of the library. It
makes itself a child subreaper, so every process of the command's tree that is
orphaned (a daemon a plugin's ``init()`` starts in a session of its own) becomes its
child instead of init's, and it starts the command in a session of its own with its
data bounded (``RLIMIT_DATA``, when MEMORY is not 0). When the command ends, every
process left of its tree is killed and reaped; then the supervisor ends as the command
did (its exit code, or the same signal). When the CONTROL pipe closes before the
command ended (a time limit, Ctrl-C, or the caller killed with SIGKILL), the whole tree
is killed at once. STATUS receives ``ok`` once the command runs, or the errno of a
command that cannot be started.

One supervisor per command, not one subreaper for the whole caller: nox runs sessions
as threads of one process, and one session's end must not kill another's build.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading

_PR_SET_CHILD_SUBREAPER = 36


def main(args: list[str]) -> None:
    control, status, memory = int(args[0]), int(args[1]), int(args[2])
    _become_subreaper()
    child, errno = _start(args[4:], memory, (control, status))
    if child is None:
        os.write(status, f"errno {errno}\n".encode())
        sys.exit(127)
    os.write(status, b"ok\n")
    os.close(status)
    threading.Thread(target=_watch, args=(control,), daemon=True).start()
    _, code = os.waitpid(child, 0)
    _end_tree()
    if os.WIFSIGNALED(code):
        _die_by(os.WTERMSIG(code))
    sys.exit(os.WEXITSTATUS(code) if os.WIFEXITED(code) else 1)


def _start(command: list[str], memory: int,
           ours: tuple[int, int]) -> tuple[int | None, int]:
    """Fork and exec the command in a session of its own: (its pid, 0), or (None, the
    errno of an exec that failed)."""
    ready, failed = os.pipe2(os.O_CLOEXEC)
    pid = os.fork()
    if pid == 0:  # the command: nothing of ours, default signals, bounded data
        os.close(ready)
        for fd in ours:
            os.close(fd)
        os.setsid()
        for number in (signal.SIGPIPE, signal.SIGXFSZ, signal.SIGINT):
            signal.signal(number, signal.SIG_DFL)
        if memory:
            import resource

            resource.setrlimit(resource.RLIMIT_DATA, (memory, memory))
        try:
            os.execvp(command[0], command)
        except OSError as error:
            os.write(failed, str(error.errno or 0).encode())
        os._exit(127)
    os.close(failed)
    said = os.read(ready, 32)  # nothing: exec closed the pipe
    os.close(ready)
    if said:
        os.waitpid(pid, 0)
        return None, int(said)
    return pid, 0


def _watch(control: int) -> None:
    """The caller closed the pipe (a time limit, Ctrl-C, its death): end everything."""
    while os.read(control, 64):
        pass
    _kill_tree()


def _kill_tree() -> list[int]:
    found = _descendants()
    for pid in found:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
    return found


def _end_tree() -> None:
    """Kill and reap every process left: a killed parent hands its children to us."""
    for _ in range(100):
        if not _kill_tree():
            return
        while True:
            try:
                pid, _ = os.waitpid(-1, 0)
            except ChildProcessError:
                break
            if pid == 0:
                break


def _descendants() -> list[int]:
    found: list[int] = []
    stack = _children(os.getpid())
    while stack:
        pid = stack.pop()
        found.append(pid)
        stack.extend(_children(pid))
    return found


def _children(pid: int) -> list[int]:
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


def _become_subreaper() -> None:
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    except (OSError, AttributeError):
        pass  # an old kernel: a daemon that leaves the tree is not ours to end


def _die_by(number: int) -> None:
    """End as the command did: by the same signal (no core file of ours)."""
    import resource

    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    with contextlib.suppress(OSError, ValueError):  # SIGKILL and SIGSTOP have no handler
        signal.signal(number, signal.SIG_DFL)
    os.kill(os.getpid(), number)
    sys.exit(128 + number)  # a signal that does not end a process


if __name__ == "__main__":
    main(sys.argv[1:])
