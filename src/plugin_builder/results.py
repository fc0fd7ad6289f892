"""Results of pipeline runs, one file pair per combination, and the summary of all.

Each run of a combination writes ``results/<combination>.json`` (steps, durations,
artifacts with sha256, verify findings) and ``results/<combination>.xml`` (JUnit, one
test case per step and per plugin's verify) atomically, so parallel nox sessions never
write the same file and a reader never sees half of one. The summary table is made from
these files alone: it works after `nox -j auto`, after `invoke pipeline`, and in CI.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from plugin_builder import outputs
from plugin_builder.files import write_atomically
from plugin_builder.status import StepStatus, Verdict
from plugin_builder.verify import to_dict

if TYPE_CHECKING:  # rich costs start-up time; imported where a table is drawn
    from rich.console import Console
    from rich.table import Table

SCHEMA = "plugin-builder/combination-result/1"
PASSED, FAILED = StepStatus


@dataclass(frozen=True)
class Summary:
    combination: str
    status: str
    steps: dict[str, dict[str, Any]]  # name -> {"seconds", "built", "total", "status"}
    error: str | None

    @property
    def seconds(self) -> float:
        return sum(step["seconds"] for step in self.steps.values())


def to_record(result: Any) -> dict[str, Any]:
    """The JSON record of one combination's pipeline run (a pipeline.CombinationResult)."""
    finished = datetime.now(UTC)
    return {
        "schema": SCHEMA,
        "combination": result.combination.id,
        "status": PASSED if result.passed else FAILED,
        "error": result.error,
        "started_at": (finished - timedelta(seconds=sum(step.seconds for step in result.steps))
                       ).isoformat(timespec="seconds"),
        "finished_at": finished.isoformat(timespec="seconds"),
        "steps": [_step(step, result) for step in result.steps],
        "artifacts": {o.relative: {"sha256": o.sha256, "size": o.entry.get("size")}
                      for o in result.outcomes},
        "verify": to_dict(result.verify),
    }


def _step(step: Any, result: Any) -> dict[str, Any]:
    record = {"name": step.name, "seconds": round(step.seconds, 3), "status": step.status,
              "built": step.built, "total": len(step.outcomes)}
    if step.name == "verify":
        record["loaded"] = sum(p.verdict != "fail" for p in result.verify)
        record["plugins"] = len(result.verify)
    return record


def write(folder: Path, record: dict[str, Any]) -> tuple[Path, Path]:
    outputs.real_folder(folder)  # never written through a link
    combination = record["combination"]
    json_path = write_atomically(folder / f"{combination}.json",
                                 json.dumps(record, indent=2) + "\n")
    xml_path = write_atomically(folder / f"{combination}.xml", junit(record))
    return json_path, xml_path


# Characters XML 1.0 cannot hold; compiler output (colours, NULs) may carry them.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _xml_text(text: str | None) -> str | None:
    return None if text is None else _NOT_XML.sub("\ufffd", text)


def junit(record: dict[str, Any]) -> str:
    """JUnit XML: a test case per step and per plugin verified, failures with their cause.

    One ``testsuite`` in a ``testsuites``, both with the counts (``tests``, ``failures``,
    ``errors``, ``skipped``) and the ``time`` CI systems show; the suite's ``timestamp``
    is when the run started; every case has its ``time`` (a plugin's: its live load).
    """
    import xml.etree.ElementTree as ET  # only the pipeline writes JUnit: start-up stays lean

    name = f"pipeline({record['combination']})"
    root = ET.Element("testsuites", name=name)
    suite = ET.SubElement(root, "testsuite", name=name)
    started = record.get("started_at") or record.get("finished_at")
    if started:
        suite.set("timestamp", started.split("+", 1)[0].removesuffix("Z"))
    cases = failures = 0
    seconds = 0.0
    for step in record["steps"]:
        case = ET.SubElement(suite, "testcase", classname=record["combination"],
                             name=step["name"], time=f"{step['seconds']:.3f}")
        cases += 1
        seconds += step["seconds"]
        if step["status"] != PASSED:
            failures += 1
            ET.SubElement(case, "failure", message=_xml_text(record["error"]) or "failed"
                          ).text = _xml_text(record["error"])
    for plugin in record["verify"]["results"]:
        live = (plugin.get("live") or {}).get("duration_s") or 0.0
        case = ET.SubElement(suite, "testcase", classname=f"{record['combination']}.verify",
                             name=Path(plugin["plugin"]).name, time=f"{live:.3f}")
        cases += 1
        if plugin["verdict"] == Verdict.FAIL:
            failures += 1
            messages = [f["message"] for f in plugin["findings"]]
            ET.SubElement(case, "failure",
                          message=_NOT_XML.sub("\ufffd", messages[0]) if messages
                          else "did not load").text = _xml_text("\n".join(messages))
    # Every verify case's load ran inside the verify step: the total is the steps'.
    for element in (root, suite):
        element.set("tests", str(cases))
        element.set("failures", str(failures))
        element.set("errors", "0")  # a step that fails is a failure, with its message
        element.set("skipped", "0")  # a run never skips a step or a plugin it was given
        element.set("time", f"{seconds:.3f}")
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def read_all(folder: Path, only: list[str] | None = None) -> list[Summary]:
    """The summary of every result file; a damaged one is reported as such, not fatal."""
    summaries = []
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else ():
        if only is not None and path.stem not in only:
            continue
        summary = _summary(path)
        if summary is not None:
            summaries.append(summary)
    return summaries


def _summary(path: Path) -> Summary | None:
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        return _damaged(path, f"unreadable ({error.__class__.__name__})")
    if not isinstance(record, dict) or record.get("schema") != SCHEMA:
        return None  # not ours
    steps = record.get("steps")
    if not isinstance(record.get("combination"), str) or \
            record.get("status") not in tuple(StepStatus) or \
            not isinstance(steps, list) or not all(_complete_step(s) for s in steps):
        return _damaged(path, "not a complete result record")
    return Summary(record["combination"], record["status"], {s["name"]: s for s in steps},
                   record.get("error") if isinstance(record.get("error"), str) else None)


def _complete_step(step: Any) -> bool:
    """A step record the table can show: every field it reads, of the right type."""
    def number(value: Any) -> bool:
        return isinstance(value, (int, float)) and not isinstance(value, bool)

    return (isinstance(step, dict) and isinstance(step.get("name"), str)
            and step.get("status") in tuple(StepStatus) and number(step.get("seconds"))
            and all(isinstance(step.get(k), int) and not isinstance(step.get(k), bool)
                    for k in ("built", "total"))
            and all(isinstance(step.get(k, 0), int) for k in ("loaded", "plugins")))


def _damaged(path: Path, why: str) -> Summary:
    """A row that says the file is damaged: run the combination's pipeline again."""
    return Summary(path.stem, StepStatus.FAILED, {}, f"{path}: {why}; run its pipeline again")


STEP_COLUMNS = ("toolchain", "builder-image", "host", "plugins", "verify", "service-images")


def table(summaries: list[Summary]) -> Table:
    from rich.markup import escape
    from rich.table import Table

    columns = [c for c in STEP_COLUMNS if any(c in s.steps for s in summaries)]
    grid = Table(title="plugin-builder pipeline")
    grid.add_column("combination", no_wrap=True)
    for column in columns:
        grid.add_column(column)
    grid.add_column("total")
    grid.add_column("result", no_wrap=True)
    for summary in summaries:
        cells = [_cell(summary.steps.get(column)) for column in columns]
        style = "green" if summary.status == PASSED else "bold red"
        grid.add_row(summary.combination, *cells, f"{summary.seconds:.1f}s",
                     f"[{style}]{summary.status}[/]{escape(_damage(summary, chr(10)))}")
    return grid


def _cell(step: dict[str, Any] | None) -> str:
    if step is None:
        return "-"
    mark = "" if step["status"] == PASSED else " FAILED"
    count = f"{step['built']}/{step['total']} built, " if step["total"] else ""
    if "plugins" in step:
        count = f"{step['loaded']}/{step['plugins']} load, "
    return f"{count}{step['seconds']:.1f}s{mark}"


def markdown(summaries: list[Summary]) -> str:
    """The same table for a GitHub Actions job summary."""
    columns = [c for c in STEP_COLUMNS if any(c in s.steps for s in summaries)]
    header = ["combination", *columns, "total", "result"]
    lines = ["| " + " | ".join(header) + " |", "|---" * len(header) + "|"]
    for s in summaries:
        cells = [f"`{s.combination}`", *(_cell(s.steps.get(c)) for c in columns),
                 f"{s.seconds:.1f}s",
                 f"{'✅' if s.status == PASSED else '❌'} {s.status}{_damage(s, ': ')}"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _damage(summary: Summary, separator: str) -> str:
    """Why a record could not be read (a damaged record has no steps to show)."""
    if summary.error and not summary.steps:
        return separator + summary.error.splitlines()[0]
    return ""


def print_summary(folder: Path, *, only: list[str] | None = None) -> list[Summary]:
    """The table of the last runs of these combinations (all without ``only``)."""
    summaries = read_all(folder, only)
    print_table(summaries)
    return summaries


def print_table(summaries: list[Summary], console: Console | None = None) -> None:
    from plugin_builder.tables import table_console

    if not summaries:
        return
    # Wide enough that a combination id is never cut, also in CI logs (no terminal).
    (console or table_console()).print(table(summaries))
    step_summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if step_summary:
        with open(step_summary, "a", encoding="utf-8") as stream:
            stream.write("## plugin-builder pipeline\n\n" + markdown(summaries))


def summary_dict(summary: Summary) -> dict[str, Any]:
    return {**asdict(summary), "seconds": round(summary.seconds, 3)}
