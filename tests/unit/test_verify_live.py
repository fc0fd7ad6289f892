"""verify.live: how a check command ended, classified from real (tiny, Python) child processes."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
import tracemalloc
from pathlib import Path

import pytest

from plugin_builder.binary.elffacts import read_elf
from plugin_builder.errors import CheckCommandError
from plugin_builder.status import LiveStatus
from plugin_builder.verify import live
from plugin_builder.verify.findings import RebuildHint, RuleId
from plugin_builder.verify.live import _classify, _Decisive, _scan, run_check
from plugin_builder.verify.rules import BY_ID
from plugin_builder.verify.runtime import live_finding

REFUSAL = ('plugin.Open("/a/plugins/d7y-scheduler-plugin-evaluator.so"): plugin was built '
           'with a different version of package runtime/internal/sys')


def python(script: str) -> list[str]:
    return [sys.executable, "-c", textwrap.dedent(script)]


def check(script: str, timeout_s: float = 30.0, **kwargs) -> live.LiveResult:
    return run_check(python(script), timeout_s, **kwargs)


# -- real children ------------------------------------------------------------------------


def test_exit_0_is_ok() -> None:
    result = check("print('ok: loaded /a/p.so')")
    assert result.status == LiveStatus.OK and result.ok
    assert (result.exit_code, result.signal, result.error_line) == (0, None, None)
    assert result.tail == ("ok: loaded /a/p.so",)
    assert result.argv[0] == sys.executable
    assert 0 <= result.duration_s < 30


def test_exit_1_with_a_plugin_open_line_is_refused_and_names_it() -> None:
    result = check(f"""
        import sys
        print("checking the plugin", flush=True)  # as a Go host writes: unbuffered
        print({REFUSAL!r}, file=sys.stderr)
        print("check-plugin: giving up", file=sys.stderr)
        sys.exit(1)
    """)
    assert result.status == LiveStatus.REFUSED and not result.ok
    assert (result.exit_code, result.signal) == (1, None)
    assert result.error_line == REFUSAL
    assert result.tail == ("checking the plugin", REFUSAL, "check-plugin: giving up")


def test_exit_1_without_a_plugin_line_is_refused_with_the_last_line() -> None:
    result = check("import sys; print('no such symbol DragonflyPluginInit'); sys.exit(1)")
    assert result.status == LiveStatus.REFUSED
    assert result.error_line == "no such symbol DragonflyPluginInit"


def test_fatal_error_and_exit_2_is_a_crash() -> None:
    result = check("""
        import sys
        print("loading")
        print("fatal error: runtime: no plugin module data", file=sys.stderr)
        print("", file=sys.stderr)
        print("goroutine 1 [running]:", file=sys.stderr)
        print("runtime.throw(...)", file=sys.stderr)
        sys.exit(2)
    """)
    assert result.status == LiveStatus.CRASHED
    assert (result.exit_code, result.signal) == (2, None)
    assert result.error_line == "fatal error: runtime: no plugin module data"


def test_a_panic_with_its_trace_is_a_crash() -> None:
    result = check("""
        import sys
        print("panic: interface conversion: interface {} is nil", file=sys.stderr)
        print("", file=sys.stderr)
        print("goroutine 1 [running]:", file=sys.stderr)
        sys.exit(2)
    """)
    assert result.status == LiveStatus.CRASHED
    assert result.error_line == "panic: interface conversion: interface {} is nil"


def test_exit_2_without_a_trace_is_a_usage_error_not_a_crash() -> None:
    result = check("import sys; print('usage: scheduler check-plugin PATH', file=sys.stderr); "
                   "sys.exit(2)")
    assert result.status == LiveStatus.REFUSED
    assert result.error_line == "usage: scheduler check-plugin PATH"


@pytest.mark.parametrize("signum", [signal.SIGSEGV, signal.SIGKILL, signal.SIGABRT])
def test_killed_by_a_signal_is_a_crash_naming_it(signum: signal.Signals) -> None:
    result = check(f"""
        import os, sys
        print("about to die", flush=True)
        os.kill(os.getpid(), {int(signum)})
    """)
    assert result.status == LiveStatus.CRASHED
    assert result.exit_code is None
    assert result.signal == signum.name
    assert result.error_line == "about to die"


def test_a_go_signal_trace_is_the_error_line() -> None:
    result = check("""
        import os, signal, sys
        print("SIGSEGV: segmentation violation", file=sys.stderr)
        print("PC=0x0 m=0 sigcode=1", file=sys.stderr, flush=True)
        os.kill(os.getpid(), signal.SIGSEGV)
    """)
    assert result.status == LiveStatus.CRASHED
    assert result.error_line == "SIGSEGV: segmentation violation"


def test_a_hang_times_out_and_its_whole_group_is_killed(tmp_path: Path) -> None:
    pid_file = tmp_path / "grandchild.pid"
    started = time.monotonic()
    result = check(f"""
        import subprocess, sys, time
        child = subprocess.Popen(["sleep", "60"])
        open({str(pid_file)!r}, "w").write(str(child.pid))
        print(\'plugin.Open("/a/p.so"): still waiting\', flush=True)
        time.sleep(60)
    """, timeout_s=1.5)
    assert time.monotonic() - started < 15
    assert result.status == LiveStatus.TIMED_OUT
    assert result.error_line == 'plugin.Open("/a/p.so"): still waiting'
    assert 1.5 <= result.duration_s < 15
    grandchild = int(pid_file.read_text())
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and alive(grandchild):
        time.sleep(0.05)
    assert not alive(grandchild), "the check's own child outlived the time limit"


def alive(pid: int) -> bool:
    """Running (a zombie waiting for its new parent to reap it does not count)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in ("Z", "X")


def test_a_flood_of_output_is_cut_to_a_tail_without_filling_memory() -> None:
    tracemalloc.start()
    try:
        result = check(f"""
            import sys
            out = sys.stdout
            line = "x" * 99 + "\\n"
            for _ in range(100_000):      # 10 MB of lines
                out.write(line)
            out.write("y" * 3_000_000)    # and 3 MB without a newline
            out.write("\\n")
            out.flush()
            print({REFUSAL!r}, file=sys.stderr)
            sys.exit(1)
        """, timeout_s=60)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.status == LiveStatus.REFUSED
    assert result.error_line == REFUSAL
    assert len(result.tail) == live.TAIL_LINES
    assert result.tail[-1] == REFUSAL
    assert all(len(line) <= live._LINE_LIMIT for line in result.tail)
    assert peak < 4 * (1 << 20), f"reading the output took {peak} bytes"


def test_output_that_is_not_utf8_is_read_anyway() -> None:
    result = check(r"""
        import sys
        sys.stdout.buffer.write(b"\xff\xfe bad bytes\r\n")
        sys.stdout.buffer.write(b"plugin.Open(\"/a/p.so\"): \xc3\x28 invalid\n")
        sys.exit(1)
    """)
    assert result.status == LiveStatus.REFUSED
    assert result.error_line.startswith('plugin.Open("/a/p.so"):')
    assert result.tail[0].endswith("bad bytes")  # \r\n stripped


def test_the_environment_given_is_the_childs_whole_environment() -> None:
    result = check("import os; print(sorted(k for k in os.environ if k != 'LC_CTYPE'))",
                   env={"ONLY_THIS": "1"})
    assert result.ok
    assert result.tail == ("['ONLY_THIS']",)


def test_stdin_is_closed_so_a_prompt_cannot_hang() -> None:
    result = check("import sys; print(repr(sys.stdin.read()))", timeout_s=10)
    assert result.ok and result.tail == ("''",)


def test_an_empty_command_is_an_error_naming_the_fix() -> None:
    with pytest.raises(CheckCommandError) as raised:
        run_check([], 5)
    assert raised.value.fix


def test_a_command_that_cannot_start_is_an_error_naming_it(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-host"
    with pytest.raises(CheckCommandError) as raised:
        run_check([missing, "check-plugin", "/a/p.so"], 5)
    assert str(missing) in raised.value.message
    assert raised.value.return_code == 9
    not_executable = tmp_path / "plain-file"
    not_executable.write_text("#!/bin/sh\n")
    with pytest.raises(CheckCommandError):
        run_check([not_executable], 5)


def test_paths_are_accepted_as_arguments(tmp_path: Path) -> None:
    result = run_check([Path(sys.executable), "-c", "import sys; print(sys.argv[1])",
                        tmp_path], 30)
    assert result.ok and result.tail == (str(tmp_path),)
    assert all(isinstance(arg, str) for arg in result.argv)


# -- the classifier alone --------------------------------------------------------------------


def decisive(*lines: str) -> _Decisive:
    return _scan(lines)[0]


ARGV = ("/a/bin/scheduler", "check-plugin", "/a/p.so")


@pytest.mark.parametrize("returncode, timed_out, lines, status, line, exit_code, sig", [
    (0, False, ["ok"], "ok", None, 0, None),
    (0, False, ["fatal error: printed but exited 0"], "ok", None, 0, None),
    (1, False, [REFUSAL, "bye"], "refused", REFUSAL, 1, None),
    (1, False, ["plugin: not implemented"], "refused", "plugin: not implemented", 1, None),
    (1, False, [], "refused", None, 1, None),
    (2, False, ["flag provided but not defined: -x"], "refused",
     "flag provided but not defined: -x", 2, None),
    (2, False, ["fatal error: runtime: no plugin module data"], "crashed",
     "fatal error: runtime: no plugin module data", 2, None),
    (1, False, ["fatal error: out of memory"], "crashed", "fatal error: out of memory", 1, None),
    (2, False, ["panic: boom", "goroutine 1 [running]:"], "crashed", "panic: boom", 2, None),
    (2, False, ["goroutine 1 [running]:", "main.main()"], "crashed", "main.main()", 2, None),
    (-11, False, ["SIGSEGV: segmentation violation", "PC=0x0"], "crashed",
     "SIGSEGV: segmentation violation", None, "SIGSEGV"),
    (-9, False, ["loading"], "crashed", "loading", None, "SIGKILL"),
    (-9, True, ["waiting", REFUSAL, "still waiting"], "timed_out", REFUSAL, None, "SIGKILL"),
    (-9, True, ["fatal error: deadlock", "later"], "timed_out", "fatal error: deadlock", None,
     "SIGKILL"),
    (-9, True, ["just slow"], "timed_out", "just slow", None, "SIGKILL"),
    (-9, True, [], "timed_out", None, None, "SIGKILL"),
])
def test_classify(returncode, timed_out, lines, status, line, exit_code, sig) -> None:
    result = _classify(ARGV, returncode, timed_out, decisive(*lines), tuple(lines), 0.1234)
    assert (result.status, result.error_line, result.exit_code, result.signal) == \
        (status, line, exit_code, sig)
    assert result.argv == ARGV
    assert result.duration_s == 0.123


def test_the_first_fatal_and_the_last_refusal_count() -> None:
    found = decisive("plugin.Open(a): first", "fatal error: first", "fatal error: second",
                     "plugin.Open(b): last", "")
    assert found.fatal == "fatal error: first"
    assert found.refusal == "plugin.Open(b): last"
    assert found.last == "plugin.Open(b): last"


def test_an_unknown_signal_number_is_named_anyway() -> None:
    result = _classify(ARGV, -200, False, decisive(), (), 0.0)
    assert result.status == LiveStatus.CRASHED
    assert result.signal == "signal 200"


def test_the_tail_keeps_the_last_lines() -> None:
    lines = [f"line {i}" for i in range(100)]
    tail = _scan(lines)[1]
    assert tail == tuple(lines[-live.TAIL_LINES:])



def test_a_hung_check_does_not_outlive_a_killed_verifier(tmp_path: Path) -> None:
    """The verifier is SIGKILLed while a check hangs: the check's group must die with it,
    as build commands do (processes.py's watchdog), not run on with no time limit."""
    pid_file = tmp_path / "check.pid"
    hang = python(f"""
        import os, time
        open({str(pid_file)!r}, "w").write(str(os.getpid()))
        time.sleep(120)
    """)
    verifier = subprocess.Popen([sys.executable, "-c",
                                 "import sys; from plugin_builder.verify.live import run_check; "
                                 f"run_check({hang!r}, 120)"], start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while not (pid_file.exists() and pid_file.read_text()) and time.monotonic() < deadline:
            time.sleep(0.02)
        check_pid = int(pid_file.read_text())
        verifier.kill()
        verifier.wait()
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and alive(check_pid):
            time.sleep(0.05)
        survived = alive(check_pid)
    finally:
        if pid_file.exists() and pid_file.read_text() and alive(int(pid_file.read_text())):
            os.kill(int(pid_file.read_text()), signal.SIGKILL)
    assert not survived, "the check command outlived the verifier that was killed"


# -- the finding a failed live check becomes (verify.runtime) ----------------------------


def _refused(line: str, status: LiveStatus = LiveStatus.REFUSED) -> live.LiveResult:
    return live.LiveResult(argv=("host",), status=status, exit_code=1, signal=None,
                           error_line=line, tail=(line,), duration_s=0.1, output=(line,))


@pytest.mark.parametrize(("step", "rule"), [
    ("signature", RuleId.CONTRACT), ("metadata", RuleId.CONTRACT),
    ("interface", RuleId.CONTRACT), ("lookup", RuleId.ENTRY_SYMBOL),
    ("init", RuleId.PLUGIN_ERROR), ("exercise", RuleId.PLUGIN_ERROR),
    ("file name", RuleId.FILE_NAME),
])
def test_each_step_of_the_host_check_reports_under_its_rule(step, rule) -> None:
    line = f"check-plugin: plugin /a/p.so: {step}: it went wrong"
    finding = live_finding(_refused(line), RebuildHint("scheduler"))
    assert (finding.rule, finding.subject, finding.plugin_value) == (rule, step, "it went wrong")
    assert finding.fix == "invoke build-plugin --type scheduler"
    assert finding.fix_action == dict(BY_ID[rule].live_steps)[step]


@pytest.mark.parametrize(("line", "status", "rule"), [
    ("check-plugin: plugin /a/p.so: dance: no", LiveStatus.REFUSED, RuleId.LOAD_REFUSED),
    (REFUSAL, LiveStatus.REFUSED, RuleId.LOAD_REFUSED),
    ("fatal error: runtime: no plugin module data", LiveStatus.CRASHED, RuleId.LOAD_CRASHED),
])
def test_what_no_step_names_is_the_hosts_own_words(line, status, rule) -> None:
    finding = live_finding(_refused(line, status), RebuildHint("scheduler"))
    assert (finding.rule, finding.host_error) == (rule, line)
    assert finding.host_crashes == (status == LiveStatus.CRASHED)


def test_a_load_that_passed_is_no_finding() -> None:
    ok = live.LiveResult(("host",), LiveStatus.OK, 0, None, None, (), 0.1)
    assert live_finding(ok, RebuildHint("scheduler")) is None


def test_a_binary_whose_interpreter_is_missing_is_said_as_such(tmp_path) -> None:
    """The kernel answers ENOENT for the missing loader; the message names it, not the
    binary that is there (issue 23: "No such file or directory" for a file that exists)."""
    true = Path(shutil.which("true") or "/bin/true").resolve()
    interpreter = read_elf(true).interpreter
    assert interpreter, "the machine's true is dynamically linked"
    missing = "/no/such/ld.so"
    assert len(missing) <= len(interpreter)
    program = tmp_path / "host"
    program.write_bytes(true.read_bytes().replace(
        interpreter.encode() + b"\0", missing.encode().ljust(len(interpreter) + 1, b"\0"), 1))
    program.chmod(0o755)
    assert read_elf(program).interpreter == missing
    with pytest.raises(CheckCommandError) as raised:
        run_check([str(program), "check-plugin", "x.so"], timeout_s=10)
    assert raised.value.message == (f"live check: cannot run {program}: its ELF interpreter "
                                     f"{missing} is missing on this machine")
    assert "musl" in raised.value.fix


def test_a_missing_program_is_still_said_to_be_missing(tmp_path) -> None:
    with pytest.raises(CheckCommandError, match="No such file or directory"):
        run_check([str(tmp_path / "nothing-here")], timeout_s=10)
