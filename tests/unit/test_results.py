"""results: the record of a pipeline run, its JUnit XML, and reading them all back."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import datetime
from pathlib import Path

import pytest
from rich.console import Console

from plugin_builder import results
from plugin_builder.combination import Combination
from plugin_builder.status import LiveStatus, StepStatus
from plugin_builder.steps.gobuild import Outcome
from plugin_builder.steps.job import CombinationResult, StepResult
from plugin_builder.verify import Finding, LiveResult, PluginResult, RuleId

COMBINATION = Combination("1.26.6", "glibc", "amd64")


def outcome(relative: str, built: bool, sha: str, size: int) -> Outcome:
    return Outcome(relative, Path("/a") / relative, built, 1.5 if built else 0.0,
                   {"sha256": sha, "size": size, "inputs": "i"})


def live(status: LiveStatus, line: str | None = None) -> LiveResult:
    return LiveResult(("/a/bin/scheduler", "check-plugin", "/a/p.so"), status,
                      0 if status == LiveStatus.OK else 1, None, line, ("tail",), 0.05)


PASSING = PluginResult("/a/plugins/d7y-scheduler-plugin-evaluator.so", "/a/bin/scheduler",
                       (), live(LiveStatus.OK), COMBINATION.id)
MISMATCH = Finding(rule=RuleId.GO_VERSION, subject="go", host_value="go1.26.6",
                   plugin_value="go1.27.3",
                   host_error="plugin was built with a different version of package runtime",
                   fix="invoke build-plugin --go 1.26.6", summary="Go releases differ")
FAILING = PluginResult("/a/plugins/d7y-manager-plugin-searcher.so", "/a/bin/manager",
                       (MISMATCH,), live(LiveStatus.REFUSED, "plugin.Open: different version"),
                       COMBINATION.id)


def passed_result() -> CombinationResult:
    return CombinationResult(COMBINATION, steps=[
        StepResult("toolchain", 0.01),
        StepResult("host", 12.3456, [outcome("bin/scheduler", True, "aa" * 32, 100),
                                     outcome("bin/manager", False, "bb" * 32, 200)]),
        StepResult("plugins", 2.0, [outcome("plugins/d7y-scheduler-plugin-evaluator.so", True,
                                            "cc" * 32, 300)]),
        StepResult("verify", 0.5),
    ], verify=[PASSING])


def failed_result() -> CombinationResult:
    return CombinationResult(COMBINATION, steps=[
        StepResult("toolchain", 0.01),
        StepResult("host", 1.0, [outcome("bin/manager", False, "bb" * 32, 200)]),
        StepResult("plugins", 1.0, [outcome("plugins/d7y-manager-plugin-searcher.so", True,
                                            "dd" * 32, 400)]),
        StepResult("verify", 0.5, status=StepStatus.FAILED),
    ], verify=[PASSING, FAILING], error="1 plugin(s) would not load: searcher: Go releases differ")


# -- to_record ------------------------------------------------------------------------------


def test_to_record_of_a_passed_run() -> None:
    record = results.to_record(passed_result())
    assert record["schema"] == results.SCHEMA
    assert record["combination"] == "go1.26.6-glibc-amd64"
    assert record["status"] == "passed"
    assert record["error"] is None
    datetime.fromisoformat(record["finished_at"])
    assert [s["name"] for s in record["steps"]] == ["toolchain", "host", "plugins", "verify"]
    host = record["steps"][1]
    assert host == {"name": "host", "seconds": 12.346, "status": "passed", "built": 1,
                    "total": 2}
    verify = record["steps"][3]
    assert (verify["loaded"], verify["plugins"]) == (1, 1)
    assert record["artifacts"] == {
        "bin/scheduler": {"sha256": "aa" * 32, "size": 100},
        "bin/manager": {"sha256": "bb" * 32, "size": 200},
        "plugins/d7y-scheduler-plugin-evaluator.so": {"sha256": "cc" * 32, "size": 300},
    }
    assert record["verify"]["summary"] == {"total": 1, "pass": 1, "warn": 0, "fail": 0}
    # JSON as it is written, and back
    assert json.loads(json.dumps(record))["status"] == "passed"


def test_to_record_of_a_failed_run() -> None:
    record = results.to_record(failed_result())
    assert record["status"] == "failed"
    assert record["error"].startswith("1 plugin(s) would not load")
    verify = record["steps"][-1]
    assert verify["status"] == "failed"
    assert (verify["loaded"], verify["plugins"]) == (1, 2)
    assert record["verify"]["summary"]["fail"] == 1


def test_a_run_that_failed_before_verify_is_failed() -> None:
    result = CombinationResult(COMBINATION, steps=[
        StepResult("toolchain", 0.1), StepResult("host", 3.0, status=StepStatus.FAILED)],
        error="building bin/scheduler for go1.26.6-glibc-amd64 failed")
    record = results.to_record(result)
    assert record["status"] == "failed"
    assert record["verify"]["results"] == []
    assert record["artifacts"] == {}


# -- junit ----------------------------------------------------------------------------------


def parse(xml: str) -> ET.Element:
    """The one testsuite of the testsuites."""
    assert xml.startswith("<?xml")
    root = ET.fromstring(xml.split("?>", 1)[1])
    assert root.tag == "testsuites"
    [suite] = root
    return suite


def test_junit_has_a_case_per_step_and_per_plugin() -> None:
    record = results.to_record(passed_result())
    suite = parse(results.junit(record))
    assert suite.tag == "testsuite"
    assert suite.get("timestamp") == record["started_at"].split("+")[0]
    assert suite.get("name") == "pipeline(go1.26.6-glibc-amd64)"
    cases = suite.findall("testcase")
    assert [(c.get("classname"), c.get("name")) for c in cases] == [
        ("go1.26.6-glibc-amd64", "toolchain"), ("go1.26.6-glibc-amd64", "host"),
        ("go1.26.6-glibc-amd64", "plugins"), ("go1.26.6-glibc-amd64", "verify"),
        ("go1.26.6-glibc-amd64.verify", "d7y-scheduler-plugin-evaluator.so")]
    assert cases[1].get("time") == "12.346"
    assert (suite.get("tests"), suite.get("failures")) == ("5", "0")
    assert list(suite.iter("failure")) == []


def test_junit_failures_carry_their_messages() -> None:
    record = results.to_record(failed_result())
    suite = parse(results.junit(record))
    assert (suite.get("tests"), suite.get("failures")) == ("6", "2")
    failed = {c.get("name"): c.find("failure") for c in suite.findall("testcase")
              if c.find("failure") is not None}
    assert set(failed) == {"verify", "d7y-manager-plugin-searcher.so"}
    assert failed["verify"].get("message") == record["error"]
    assert failed["verify"].text == record["error"]
    plugin = failed["d7y-manager-plugin-searcher.so"]
    assert plugin.get("message") == MISMATCH.message
    assert "invoke build-plugin --go 1.26.6" in plugin.text


def test_junit_of_a_failed_step_without_a_message() -> None:
    record = results.to_record(CombinationResult(
        COMBINATION, steps=[StepResult("host", 1.0, status=StepStatus.FAILED)]))
    suite = parse(results.junit(record))
    assert suite.find("testcase/failure").get("message") == "failed"


def test_junit_escapes_what_the_messages_hold() -> None:
    result = failed_result()
    result.error = 'linker said: <undefined> & "quoted"\x1b[31m'
    xml = results.junit(results.to_record(result))
    suite = parse(xml)  # well-formed, whatever the compiler printed
    assert suite.find("testcase/failure") is not None


# -- write and read_all ------------------------------------------------------------------


def test_write_then_read_all(tmp_path: Path) -> None:
    json_path, xml_path = results.write(tmp_path / "results", results.to_record(passed_result()))
    assert json_path.name == "go1.26.6-glibc-amd64.json"
    assert xml_path.name == "go1.26.6-glibc-amd64.xml"
    parse(xml_path.read_text())
    [summary] = results.read_all(tmp_path / "results")
    assert summary.combination == "go1.26.6-glibc-amd64"
    assert summary.status == "passed"
    assert summary.error is None
    assert set(summary.steps) == {"toolchain", "host", "plugins", "verify"}
    assert summary.seconds == pytest.approx(0.01 + 12.346 + 2.0 + 0.5)


def write_text(folder: Path, name: str, text: str | bytes) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path


def test_a_truncated_result_is_a_damaged_row_not_an_exception(tmp_path: Path) -> None:
    folder = tmp_path / "results"
    results.write(folder, results.to_record(passed_result()))
    good = (folder / "go1.26.6-glibc-amd64.json").read_text()
    write_text(folder, "go1.27.3-musl-amd64.json", good[: len(good) // 2])
    write_text(folder, "go1.27.3-glibc-amd64.json", b"\xff\xfe\x00garbage")
    summaries = {s.combination: s for s in results.read_all(folder)}
    assert set(summaries) == {"go1.26.6-glibc-amd64", "go1.27.3-musl-amd64",
                              "go1.27.3-glibc-amd64"}
    for name in ("go1.27.3-musl-amd64", "go1.27.3-glibc-amd64"):
        damaged = summaries[name]
        assert damaged.status == "failed"
        assert damaged.steps == {}
        assert f"{name}.json" in damaged.error
        assert "unreadable" in damaged.error and "run its pipeline again" in damaged.error
    assert summaries["go1.26.6-glibc-amd64"].status == "passed"
    rendered = render(results.table(list(summaries.values())))
    assert "go1.27.3-musl-amd64" in rendered and "failed" in rendered
    assert "go1.27.3-musl-amd64" in results.markdown(list(summaries.values()))


def test_the_damaged_row_says_why_in_the_table(tmp_path: Path) -> None:
    """`invoke report` prints the table alone: the damaged row must say what is wrong and
    what to do (results._damaged: "a row that says the file is damaged"), not only 'failed'."""
    folder = tmp_path / "results"
    write_text(folder, "go1.27.3-musl-amd64.json", '{"schema": "plugin-builder/comb')
    summaries = results.read_all(folder)
    for text in (render(results.table(summaries)), results.markdown(summaries)):
        assert "go1.27.3-musl-amd64" in text
        assert "unreadable" in text or "damaged" in text, text


def test_foreign_json_files_are_ignored(tmp_path: Path) -> None:
    folder = tmp_path / "results"
    write_text(folder, "package.json", '{"name": "x", "version": "1.0.0"}')
    write_text(folder, "list.json", "[1, 2, 3]")
    write_text(folder, "other-schema.json", '{"schema": "someone/else/1", "steps": []}')
    write_text(folder, "null.json", "null")
    write_text(folder, "notes.txt", "not json at all {")
    assert results.read_all(folder) == []


def test_read_all_of_a_missing_folder_is_empty(tmp_path: Path) -> None:
    assert results.read_all(tmp_path / "nothing") == []


def test_read_all_only_the_named_combinations(tmp_path: Path) -> None:
    folder = tmp_path / "results"
    results.write(folder, results.to_record(passed_result()))
    write_text(folder, "go1.27.3-musl-amd64.json", "{")
    assert [s.combination for s in results.read_all(folder, ["go1.27.3-musl-amd64"])] == \
        ["go1.27.3-musl-amd64"]
    assert results.read_all(folder, []) == []


INCOMPLETE = {
    "no steps": {},
    "steps not a list": {"steps": "host"},
    "step without a name": {"steps": [{"seconds": 1.0, "status": "passed", "built": 0,
                                       "total": 0}]},
    "step without seconds": {"steps": [{"name": "host", "status": "passed", "built": 0,
                                        "total": 0}]},
    "step without status or counts": {"steps": [{"name": "host", "seconds": 1.0}]},
    "seconds not a number": {"steps": [{"name": "host", "seconds": "slow", "status": "passed",
                                        "built": 0, "total": 0}]},
    "step not an object": {"steps": ["host"]},
}


@pytest.mark.parametrize("fields", INCOMPLETE.values(), ids=INCOMPLETE.keys())
def test_an_incomplete_record_of_ours_is_a_damaged_row_that_renders(tmp_path: Path,
                                                                     fields) -> None:
    """A file with our schema but missing fields is damaged: `invoke report` shows the row
    (table, markdown, --json), it never ends with a traceback."""
    folder = tmp_path / "results"
    record = {"schema": results.SCHEMA, "combination": "go1.27.3-musl-amd64",
              "status": "passed", "error": None, **fields}
    write_text(folder, "go1.27.3-musl-amd64.json", json.dumps(record))
    [summary] = results.read_all(folder)
    assert summary.combination == "go1.27.3-musl-amd64"
    rendered = render(results.table([summary]))  # what `invoke report` prints
    assert "go1.27.3-musl-amd64" in rendered
    results.markdown([summary])
    json.dumps(results.summary_dict(summary))  # `invoke report --json`
    assert summary.status == "failed", "an incomplete record must not show as passed"


def render(table) -> str:
    console = Console(width=200, record=True, file=open("/dev/null", "w"))  # noqa: SIM115
    console.print(table)
    return console.export_text()
