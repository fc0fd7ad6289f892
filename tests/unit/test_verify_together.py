"""What a service's plugins meet together, and how the three authorities make one verdict:
the rules between plugins, the stand-in loader's completion signal (read from a fake
run here; the integration corpus runs the real one), and judge()."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path
from types import MappingProxyType

import pytest

from plugin_builder.binary.fingerprints import Fingerprints
from plugin_builder.errors import ConfigError, VerifyError
from plugin_builder.steps.verify import raise_unless_verified
from plugin_builder.verify import ERROR, WARNING, Contract, LiveResult, RuleId, Side, run_check
from plugin_builder.verify.live import CRASHED, INCOMPLETE, OK, REFUSED, TIMED_OUT
from plugin_builder.verify.pairs import Evidence, Pair, judge
from plugin_builder.verify.report import render_table
from plugin_builder.verify.rules import analyze
from plugin_builder.verify.standin import DONE, Entry, load_together
from plugin_builder.verify.together import Loaded, together
from tests.unit.test_verify_rules import (
    HINT,
    HOST_PATH,
    PLUGIN_PACKAGE,
    PLUGIN_PATH,
    buildinfo,
    dep,
    host,
    plugin,
    plugin_elf,
)

LEAF = "example.com/leaf"


def printed(prints: dict[str, bytes], path: str = PLUGIN_PATH,
            order: tuple[str, ...] | None = None) -> Fingerprints:
    return Fingerprints(path, MappingProxyType(prints), order or tuple(prints))


def with_prints(side: Side, prints: dict[str, bytes]) -> Side:
    return dataclasses.replace(side, fingerprints=printed(prints, side.path))


def a_plugin(path: str, package: str = PLUGIN_PACKAGE, leaf: str | None = None,
             prints: dict[str, bytes] | None = None) -> Side:
    deps = [dep(LEAF, leaf, f"h1:{leaf}")] if leaf else []
    side = plugin(plugin_elf(path=path), buildinfo(package, "plugin", deps=deps))
    return with_prints(dataclasses.replace(side, path=path), prints or {})


HOST = with_prints(host(), {"fmt": b"\x01" * 8, "runtime": b"\x02" * 8})


# -- the rules between plugins --------------------------------------------------------------


def test_a_package_the_host_lacks_is_defined_by_the_first_plugin_loaded() -> None:
    one = a_plugin("/p/one.so", "example.com/one", "v1.0.0",
                   {"fmt": b"\x01" * 8, LEAF: b"\xaa" * 8})
    other = a_plugin("/p/other.so", "example.com/other", "v1.1.0",
                     {"fmt": b"\x01" * 8, LEAF: b"\xbb" * 8})
    first, second = together(HOST, [Loaded(one, HINT), Loaded(other, HINT)])
    assert first == ()
    [conflict] = second
    assert (conflict.rule, conflict.subject, conflict.severity) == (
        RuleId.PLUGIN_CONFLICT, LEAF, ERROR)
    assert conflict.host_error == ('plugin.Open("/p/other"): plugin was built with a '
                                   f"different version of package {LEAF}")
    assert "other.so and one.so, which is loaded before it" in conflict.summary
    assert f"module {LEAF}: one.so has v1.0.0, other.so v1.1.0" in conflict.fix_action
    # In the other order, the other one is refused.
    first, second = together(HOST, [Loaded(other, HINT), Loaded(one, HINT)])
    assert first == () and [f.rule for f in second] == [RuleId.PLUGIN_CONFLICT]


def test_a_package_the_host_has_is_the_hosts_to_decide() -> None:
    one = a_plugin("/p/one.so", "example.com/one", prints={"fmt": b"\x01" * 8})
    other = a_plugin("/p/other.so", "example.com/other", prints={"fmt": b"\x09" * 8})
    assert together(HOST, [Loaded(one, HINT), Loaded(other, HINT)]) == [(), ()]


def test_two_plugins_with_one_plugin_path_the_second_is_refused() -> None:
    one = a_plugin("/p/one.so", "example.com/same")
    other = a_plugin("/p/other.so", "example.com/same")
    _, [finding] = together(HOST, [Loaded(one, HINT), Loaded(other, HINT)])
    assert (finding.rule, finding.subject) == (RuleId.PLUGIN_PATH, "example.com/same")
    assert finding.host_error == 'plugin.Open("/p/other"): plugin already loaded'
    assert "module" in finding.fix_action and finding.fix == HINT.build_plugin_command()


def test_one_file_named_twice_is_opened_once(tmp_path: Path) -> None:
    file = tmp_path / "one.so"
    file.write_bytes(b"")
    one = a_plugin(str(file), "example.com/same")
    assert together(HOST, [Loaded(one, HINT), Loaded(one, HINT)]) == [(), ()]


def test_plugins_built_from_file_lists_have_paths_of_their_own() -> None:
    one = a_plugin("/p/one.so", "command-line-arguments")
    other = a_plugin("/p/other.so", "command-line-arguments")
    assert together(HOST, [Loaded(one, HINT), Loaded(other, HINT)]) == [(), ()]


# -- the stand-in loader's completion signal ------------------------------------------------


ENTRIES = [Entry(0, "one", "/p/one.so"), Entry(0, "two", "/p/two.so"),
           Entry(1, "three", "/p/three.so")]


def run(status: str, lines: list[str], exit_code: int | None = 0) -> LiveResult:
    return LiveResult(("loader",), status, exit_code, None, None, tuple(lines[-20:]), 0.1,
                      tuple(lines))


class FakeLoader:
    """Answers each run with the next scripted outcome; {token} is the run's token."""

    def __init__(self, *scripts: tuple[str, list[str], int | None]) -> None:
        self.scripts = list(scripts)
        self.calls: list[tuple[list[str], str]] = []

    def __call__(self, argv: list[str], token: str) -> LiveResult:
        self.calls.append((argv, token))
        status, lines, code = self.scripts.pop(0)
        return run(status, [line.format(token=token) for line in lines], code)


def opening(position: int, path: str) -> str:
    return f"check-plugin: opening {position} {path}"


def test_a_complete_run_passes_the_plugins_it_lists() -> None:
    loader = FakeLoader((REFUSED, [
        opening(0, "/p/one.so"), opening(1, "/p/two.so"),
        "check-plugin: plugin /p/two.so: signature: symbol X is func(); the host asserts int",
        opening(2, "/p/three.so"), f"{DONE} {{token}} ok=0,2"], 1))
    one, two, three = load_together(["loader"], ENTRIES, loader)
    assert (one.status, three.status) == (OK, OK)
    assert two.status == REFUSED and two.error_line.endswith("the host asserts int")
    argv, token = loader.calls[0]
    assert argv == ["loader", "0", "one", "/p/one.so", "0", "two", "/p/two.so",
                    "1", "three", "/p/three.so"]
    assert len(token) == 32


def test_what_a_plugin_prints_passes_nothing() -> None:
    # A plugin cannot know the token: its fake completion line counts for nothing, and
    # the run, ended by its os.Exit(0), passes nothing; the others are loaded again.
    loader = FakeLoader(
        (OK, [opening(0, "/p/one.so"), f"{DONE} 0123456789abcdef ok=0,1,2"], 0),
        (OK, [opening(0, "/p/two.so"), opening(1, "/p/three.so"),
              f"{DONE} {{token}} ok=0,1"], 0))
    one, two, three = load_together(["loader"], ENTRIES, loader)
    assert one.status == INCOMPLETE and "exit code 0" in one.error_line
    assert "init ended the process" in one.error_line
    assert (two.status, three.status) == (OK, OK)
    assert loader.calls[1][0] == ["loader", "0", "two", "/p/two.so", "1", "three",
                                  "/p/three.so"]
    assert loader.calls[0][1] != loader.calls[1][1]  # a token per run


def test_a_crash_is_blamed_on_the_plugin_being_loaded_and_the_rest_load_again() -> None:
    loader = FakeLoader(
        (CRASHED, [opening(0, "/p/one.so"), opening(1, "/p/two.so"), "panic: boom",
                   "goroutine 1 [running]:"], 2),
        (TIMED_OUT, [opening(0, "/p/one.so"), opening(1, "/p/three.so")], None),
        (OK, [opening(0, "/p/one.so"), f"{DONE} {{token}} ok=0"], 0))
    one, two, three = load_together(["loader"], ENTRIES, loader)
    assert (one.status, two.status, three.status) == (OK, CRASHED, TIMED_OUT)
    assert len(loader.calls) == 3  # at most one run per plugin


def test_a_plugin_that_fakes_a_failure_for_another_is_not_believed() -> None:
    loader = FakeLoader((OK, [
        opening(0, "/p/one.so"), opening(1, "/p/two.so"),
        "check-plugin: plugin /p/one.so: signature: forged",  # printed while two loads
        opening(2, "/p/three.so"), f"{DONE} {{token}} ok=0,1,2"], 0))
    assert [o.status for o in load_together(["loader"], ENTRIES, loader)] == [OK, OK, OK]


def test_the_token_reaches_the_child_on_its_stdin_once() -> None:
    reader = ("import sys; token = sys.stdin.readline().strip(); "
              "print('got', token, 'then', repr(sys.stdin.read()))")
    result = run_check([sys.executable, "-c", reader], 30, stdin=b"secret\n")
    assert result.ok and result.output == ("got secret then ''",)


# -- one verdict from the authorities -------------------------------------------------------


TYPED = Contract("scheduler", ("DragonflyPluginInit",),
                 types=(("DragonflyPluginInit", "func() error"),))
UNTYPED = Contract("scheduler", ("DragonflyPluginInit",))
PAIR = Pair(Path(HOST_PATH), Path(PLUGIN_PATH), TYPED, "evaluator", ())


def loaded(status: str = OK, line: str | None = None, code: int | None = 0) -> LiveResult:
    return LiveResult(("loader",), status, code, None, line, (), 0.1)


MATCHING = with_prints(plugin(), {"fmt": b"\x01" * 8})


def verdict_of(pair: Pair = PAIR, **evidence) -> tuple:
    result = judge(pair, HOST, MATCHING, Evidence(live_wanted=True, **evidence))
    return result, [(f.rule, f.severity) for f in result.findings
                    if f.rule != RuleId.PACKAGE_FINGERPRINT]


def test_the_stand_in_loader_asserting_the_types_is_said() -> None:
    result, findings = verdict_of(stand_in=loaded())
    assert findings == [] and result.verdict == "pass"
    assert dict(result.symbols) == {"DragonflyPluginInit": "asserted: func() error"}
    assert result.authorities["contract"] == "the stand-in loader asserted the declared types"
    assert result.authorities["host_check"] == "not run (no check command given)"


def test_a_presence_only_contract_never_says_contract_ok() -> None:
    result, _ = verdict_of(dataclasses.replace(PAIR, contract=UNTYPED), stand_in=loaded())
    assert dict(result.symbols) == {"DragonflyPluginInit": "found (type not checked)"}
    assert "types not checked" in result.authorities["contract"]
    cell = render_table([result]).columns[5]._cells[0]
    assert "loaded, types not checked (stand-in loader)" in str(cell)
    assert "contract ok" not in str(cell)


def test_an_init_that_exits_fails_and_overrules_a_fooled_host_check() -> None:
    ended = loaded(INCOMPLETE, "the stand-in loader ended (exit code 0) while ...")
    result, findings = verdict_of(stand_in=ended, host_check=loaded())
    assert findings == [(RuleId.LOAD_INCOMPLETE, ERROR)] and result.verdict == "fail"
    assert "fooled the same way" in result.findings[-1].message
    assert "overruled" in result.authorities["host_check"]


def test_a_crash_or_a_hang_of_the_stand_in_loader_fails() -> None:
    for status in (CRASHED, TIMED_OUT):
        result, findings = verdict_of(stand_in=loaded(status, "panic: boom", 2))
        assert findings == [(RuleId.LOAD_CRASHED, ERROR)] and result.verdict == "fail"


def test_a_crash_both_loads_died_of_is_said_once_by_the_host() -> None:
    crash = loaded(CRASHED, "panic: boom", 2)
    result, findings = verdict_of(stand_in=crash, host_check=crash)
    assert findings == [(RuleId.LOAD_CRASHED, ERROR)] and result.verdict == "fail"
    assert "stand-in" not in result.findings[-1].summary


def test_a_refusal_at_a_step_of_the_contract_fails() -> None:
    line = f"check-plugin: plugin {PLUGIN_PATH}: signature: symbol X is func(); the host asserts"
    result, findings = verdict_of(stand_in=loaded(REFUSED, line, 1))
    assert findings == [(RuleId.CONTRACT, ERROR)]
    assert "stand-in loader" in result.findings[-1].summary


def test_a_refusal_to_open_no_static_rule_explains_leaves_the_contract_unchecked() -> None:
    line = f"check-plugin: plugin {PLUGIN_PATH}: open: plugin.Open(...): something else"
    result, findings = verdict_of(stand_in=loaded(REFUSED, line, 1))
    assert findings == [(RuleId.CONTRACT_UNCHECKED, WARNING)] and result.verdict == "warn"
    assert "could not open the plugin" in result.findings[-1].summary


def test_a_refusal_a_static_rule_explains_adds_nothing() -> None:
    line = f"check-plugin: plugin {PLUGIN_PATH}: open: plugin.Open(...): a package differs"
    old = plugin(info=buildinfo(PLUGIN_PACKAGE, "plugin", go="go1.26.6"))
    result = judge(PAIR, host(), old, Evidence(stand_in=loaded(REFUSED, line, 1)))
    assert [f.rule for f in result.findings if f.severity == ERROR] == [RuleId.GO_VERSION]


def test_types_the_loader_could_not_import_are_said_unchecked() -> None:
    result, findings = verdict_of(stand_in=loaded(), unchecked=("DragonflyPluginInit",),
                                  why_unchecked="the standard library only")
    assert findings == [(RuleId.CONTRACT_UNCHECKED, WARNING)]
    assert dict(result.symbols)["DragonflyPluginInit"] == \
        "found (type not checked: the standard library only)"


def test_a_call_the_loader_could_not_make_is_said_unchecked() -> None:
    result, findings = verdict_of(stand_in=loaded(), unchecked=("DragonflyPluginInit()",),
                                  why_unchecked="the standard library only")
    assert findings == [(RuleId.CONTRACT_UNCHECKED, WARNING)]
    assert "the call of DragonflyPluginInit and its results not checked" in \
        result.findings[-1].summary
    assert dict(result.symbols)["DragonflyPluginInit"] == \
        "asserted: func() error; not called (the standard library only)"


def test_a_loader_the_config_keeps_from_building_ends_verify_with_that_config_error() -> None:
    problem = ConfigError("buildconfig.toml", "plugin_types.scheduler.symbols.X", "nope",
                          fix="name a type of the host's build list")
    result, findings = verdict_of(loader_problem=problem)
    assert findings == [(RuleId.LOADER_NOT_BUILT, ERROR)]
    assert result.authorities["contract"] == "not decided: the stand-in loader was not built"
    with pytest.raises(ConfigError) as raised:
        raise_unless_verified([result])
    assert raised.value is problem
    failed, _ = verdict_of(stand_in=loaded(CRASHED, "panic", 2))
    with pytest.raises(VerifyError):
        raise_unless_verified([failed])


def test_another_patch_release_is_an_error_even_where_no_shared_package_changed() -> None:
    old = with_prints(plugin(info=buildinfo(PLUGIN_PACKAGE, "plugin", go="go1.27.1")),
                      {"fmt": b"\x01" * 8})
    found = analyze(HOST, old, TYPED, HINT)
    [go] = [f for f in found if f.rule == RuleId.GO_VERSION]
    assert go.severity == ERROR and go.host_error == ""
    assert "go1.27.1, host by go1.27.3" in go.summary and "loads it silently" in go.summary
    changed = with_prints(old, {"fmt": b"\x09" * 8})
    [go] = [f for f in analyze(HOST, changed, TYPED, HINT) if f.rule == RuleId.GO_VERSION]
    assert go.host_error.endswith("different version of package fmt")
