"""processes: every process a command or a check starts ends with it, in any session;
builds are bounded in memory; a short question to a program cannot hang us."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from plugin_builder import processes
from plugin_builder.backends import ccompiler
from plugin_builder.backends.local import LocalEnvironment
from plugin_builder.combination import Combination
from plugin_builder.errors import ToolchainError
from plugin_builder.files import TEMP_MARK, sweep_leftovers
from plugin_builder.verify.live import TIMED_OUT, run_check

# Starts a sleeper in a session of its own (as a plugin's init() might), says its pid,
# and ends: the sleeper is orphaned, outside the command's process group.
DAEMONIZE = """
import subprocess, sys
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"],
                         start_new_session=True, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
print(child.pid, flush=True)
"""


def running(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie is not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def kill_if_running(pid: int) -> None:
    if running(pid):
        os.kill(pid, 9)


def test_a_daemon_a_check_started_in_its_own_session_is_killed() -> None:
    result = run_check([sys.executable, "-c", DAEMONIZE], timeout_s=30)
    pid = int(next(line for line in result.output if line.strip()))
    try:
        assert result.ok
        assert not running(pid), "the check's daemon outlived the check"
    finally:
        kill_if_running(pid)


def test_a_daemon_a_build_command_started_is_killed(tmp_path: Path) -> None:
    code, stdout, _ = processes.capture([sys.executable, "-c", DAEMONIZE], cwd=tmp_path,
                                        env=dict(os.environ))
    pid = int(stdout.split()[0])
    try:
        assert code == 0
        assert not running(pid), "the command's daemon outlived the command"
    finally:
        kill_if_running(pid)


def test_processes_of_other_commands_are_left_alone(tmp_path: Path) -> None:
    """nox runs sessions as threads of one process: one command's end must not end a
    process another thread started, before or while it ran."""
    before = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    other = processes.Supervised([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        processes.capture([sys.executable, "-c", "pass"], cwd=tmp_path, env=dict(os.environ))
        assert before.poll() is None and other.process.poll() is None
    finally:
        before.kill()
        before.wait()
        with other:
            other.stop()


def test_a_daemon_holding_the_output_pipe_does_not_hang_the_command(tmp_path: Path) -> None:
    holder = ("import subprocess, sys; subprocess.Popen([sys.executable, '-c', "
              "'import time; time.sleep(120)'], start_new_session=True); print('started')")
    started = time.monotonic()
    code, stdout, _ = processes.capture([sys.executable, "-c", holder], cwd=tmp_path,
                                        env=dict(os.environ))
    assert code == 0 and stdout.strip() == "started"
    assert time.monotonic() - started < 30


def test_a_command_killed_by_a_signal_ends_as_killed(tmp_path: Path) -> None:
    result = run_check([sys.executable, "-c", "import os; os.kill(os.getpid(), 11)"],
                       timeout_s=30)
    assert result.signal == "SIGSEGV" and result.exit_code is None


def test_a_command_that_cannot_start_is_the_error_popen_raises(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        processes.Supervised([str(tmp_path / "no-such-program")])


def test_a_check_past_its_time_ends_with_everything_it_started() -> None:
    result = run_check([sys.executable, "-c", DAEMONIZE + "import time; time.sleep(60)"],
                       timeout_s=2)
    pid = int(next(line for line in result.output if line.strip()))
    try:
        assert result.status == TIMED_OUT
        assert not running(pid)
    finally:
        kill_if_running(pid)


# -- a short question: cc --version ---------------------------------------------------------


def script(tmp_path: Path, name: str, body: str) -> str:
    path = tmp_path / name
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)
    return str(path)


def test_a_version_line_of_any_bytes_is_text(tmp_path: Path) -> None:
    compiler = script(tmp_path, "cc", "printf 'gcc \\377\\376 (\\033[31mred) 12\\n'\n")
    line = ccompiler._version_line(compiler)
    assert line.startswith("gcc ") and "\ufffd" in line and "\x1b" not in line


def test_a_compiler_that_never_answers_is_an_error(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(ccompiler, "VERSION_TIMEOUT_S", 1.0)
    compiler = script(tmp_path, "cc", "sleep 60 &\nsleep 60\n")
    started = time.monotonic()
    with pytest.raises(ToolchainError) as raised:
        ccompiler._version_line(compiler)
    assert time.monotonic() - started < 10
    assert compiler in raised.value.message and "--version" in raised.value.message


def test_a_compiler_that_cannot_run_is_an_error(tmp_path: Path) -> None:
    compiler = tmp_path / "cc"
    compiler.write_bytes(b"\x7fELF not really")
    compiler.chmod(0o755)
    with pytest.raises(ToolchainError) as raised:
        ccompiler._version_line(str(compiler))
    assert "cannot run" in raised.value.message


# -- memory ---------------------------------------------------------------------------------


def test_a_compiler_reading_dev_zero_stops_at_the_bound(tmp_path: Path) -> None:
    source = tmp_path / "zero.c"
    source.write_text('#include "/dev/zero"\n')
    bound = 256 << 20
    started = time.monotonic()
    code, _, stderr = processes.capture([shutil.which("gcc") or "gcc", "-c", str(source),
                                         "-o", str(tmp_path / "zero.o")],
                                        cwd=tmp_path, env=dict(os.environ), memory=bound)
    assert code != 0
    assert time.monotonic() - started < 150  # bounded: it ends, even on a loaded machine
    assert "at most 0.2 GiB of memory" in stderr and processes.MEMORY_ENV in stderr


@pytest.mark.parametrize(("value", "size"), [("512M", 512 << 20), ("2G", 2 << 30),
                                             ("1073741824", 1 << 30), ("1.5g", 3 << 29)])
def test_the_bound_can_be_set(monkeypatch, value, size) -> None:
    monkeypatch.setenv(processes.MEMORY_ENV, value)
    assert processes.memory_bound() == size


@pytest.mark.parametrize("value", ["", "lots", "-1", "0"])
def test_the_default_bound_is_a_quarter_of_the_machine(monkeypatch, value) -> None:
    monkeypatch.setenv(processes.MEMORY_ENV, value)
    total = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    assert processes.memory_bound() == max(2 << 30, total // 4)


# -- temporary folders of go commands --------------------------------------------------------


def test_go_commands_keep_their_temporary_files_in_the_scratch_folder(tmp_path: Path) -> None:
    folder = tmp_path / "artifacts" / ".work" / f".tmp.{os.getpid()}{TEMP_MARK}"
    environment = LocalEnvironment(Combination("1.26.6", "glibc", "amd64"), "go", "gcc",
                                   temporary=folder)
    env = environment.base_env()
    assert "GOTMPDIR" not in env  # a planned build's environment stays as it is
    ran = environment.run([sys.executable, "-c", "import os, tempfile; "
                           "print(tempfile.gettempdir() == os.environ['GOTMPDIR'], "
                           "os.path.isdir(os.environ['GOTMPDIR']))"], cwd=tmp_path, env=env)
    assert ran.stdout.split() == ["True", "True"]
    assert not folder.exists()  # empty after a command that ended: removed


def test_the_temporary_folder_of_a_dead_run_is_swept(tmp_path: Path) -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    dead = tmp_path / f".tmp.{child.pid}{TEMP_MARK}"
    (dead / "go-build123" / "b001").mkdir(parents=True)
    (dead / "go-build123" / "b001" / "_pkg_.a").write_bytes(b"x" * 1000)
    live = tmp_path / f".tmp.{os.getpid()}{TEMP_MARK}"
    (live / "go-build456").mkdir(parents=True)
    assert sweep_leftovers(tmp_path) == [dead]
    assert not dead.exists() and live.is_dir()


def test_commands_of_parallel_threads_do_not_end_each_other(tmp_path: Path) -> None:
    """nox -j runs sessions as threads: a command that ends while another thread's
    command (started after it) still runs leaves that one alone."""
    import threading

    results: list[tuple[int, str, str]] = []

    def long() -> None:
        time.sleep(0.3)  # starts while the short command runs
        results.append(processes.capture(
            [sys.executable, "-c", "import time; time.sleep(2); print('whole')"],
            cwd=tmp_path, env=dict(os.environ)))

    other = threading.Thread(target=long)
    other.start()
    processes.capture([sys.executable, "-c", "import time; time.sleep(1)"], cwd=tmp_path,
                      env=dict(os.environ))
    other.join()
    assert results[0][0] == 0 and results[0][1].strip() == "whole", results
