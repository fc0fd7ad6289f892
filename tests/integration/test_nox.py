"""nox: sessions generated from the config, run in parallel, one result per combination."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

from tests.project import REPO, Project

MATRIX = ["go1.26.6-glibc-amd64", "go1.26.6-glibc-arm64", "go1.26.6-musl-amd64",
          "go1.26.6-musl-arm64", "go1.27.3-glibc-amd64", "go1.27.3-musl-amd64"]
FIXTURE = REPO / "tests" / "fixtures" / "plugins" / "glibconlyevaluator"


def nox(project: Project, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NOX_")}
    return subprocess.run([sys.executable, "-m", "nox", *args], cwd=project.root, env=env,
                          capture_output=True, text=True)


def listed(project: Project, *args: str) -> list[dict]:
    run = nox(project, "-l", "--json", *args)
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


def test_sessions_come_from_the_config_with_tags(tmp_path) -> None:
    project = Project(tmp_path)
    pipelines = [s for s in listed(project) if s["name"] == "pipeline"]
    assert sorted(s["session"] for s in pipelines) == [f"pipeline({c})" for c in MATRIX]
    tags = {s["call_spec"]["combination"]: s["tags"] for s in pipelines}
    assert tags["go1.26.6-musl-amd64"] == ["go1.26.6", "musl", "amd64"]
    # Neighbours, which -j starts together, use different Go releases.
    assert [s["call_spec"]["combination"][:8] for s in pipelines[:2]] == ["go1.26.6", "go1.27.3"]
    assert "summary" in {s["session"] for s in listed(project)}
    assert [s["session"] for s in listed(project, "-s", "tests", "lint")] == ["tests", "lint"]


def test_an_exclude_in_the_config_drops_its_session(tmp_path) -> None:
    project = Project(tmp_path)
    config = project.root / "buildconfig.toml"
    config.write_text(config.read_text().replace(
        'exclude = [{ go = "1.27.3", arch = "arm64" }]',
        'exclude = [{ go = "1.27.3", arch = "arm64" }, { go = "1.27.3", libc = "musl" }]'))
    sessions = [s["session"] for s in listed(project) if s["name"] == "pipeline"]
    assert "pipeline(go1.27.3-musl-amd64)" not in sessions
    assert len(sessions) == 5


def test_a_subset_is_selected_by_tag_without_editing_files(tmp_path) -> None:
    project = Project(tmp_path)
    musl = [s["session"] for s in listed(project, "-t", "musl")]
    assert musl == ["pipeline(go1.26.6-musl-amd64)", "pipeline(go1.27.3-musl-amd64)",
                    "pipeline(go1.26.6-musl-arm64)"]
    arm64 = [s["session"] for s in listed(project, "-t", "arm64")]
    assert arm64 == ["pipeline(go1.26.6-glibc-arm64)", "pipeline(go1.26.6-musl-arm64)"]
    release = [s["session"] for s in listed(project, "-t", "go1.27.3")]
    assert release == ["pipeline(go1.27.3-glibc-amd64)", "pipeline(go1.27.3-musl-amd64)"]


def test_the_ci_matrix_is_the_nox_session_list(tmp_path) -> None:
    project = Project(tmp_path)
    matrix = json.loads(project.invoke("ci-matrix").stdout)
    sessions = [s for s in listed(project) if s["name"] == "pipeline"]
    assert [(job["session"], job["combination"]) for job in matrix["include"]] == \
        [(s["session"], s["call_spec"]["combination"]) for s in sessions]
    assert {job["runner"] for job in matrix["include"]} == {"ubuntu-24.04", "ubuntu-24.04-arm"}


def test_the_workflow_takes_its_matrix_from_ci_matrix() -> None:
    workflow = (REPO / ".github" / "workflows" / "plugin-builder.yml").read_text()
    assert 'echo "matrix=$(invoke ci-matrix)" >> "$GITHUB_OUTPUT"' in workflow
    assert "matrix: ${{ fromJSON(needs.matrix.outputs.matrix) }}" in workflow
    assert 'nox -s "$SESSION"' in workflow
    assert "results/${{ matrix.combination }}.*" in workflow
    # Nothing in the workflow or the noxfile's code (its docstring has examples) names a
    # Go release by hand.
    noxfile_code = (REPO / "noxfile.py").read_text().split('"""', 2)[2]
    for text in (workflow, noxfile_code):
        assert not re.search(r"1\.2[0-9]\.[0-9]+", text)


@pytest.fixture(scope="module")
def parallel_run(tmp_path_factory):
    """`nox -j auto` over the whole matrix, where the musl combinations cannot build."""
    project = Project(tmp_path_factory.mktemp("nox"))
    shutil.copytree(FIXTURE, project.root / "plugins" / "scheduler" / "glibconlyevaluator")
    with (project.root / "buildconfig.toml").open("a") as config:
        config.write('\n[[plugins]]\ntype = "scheduler"\nname = "glibconlyevaluator"\n'
                     'source = "plugins/scheduler/glibconlyevaluator"\n')
    return project, nox(project, "-j", "auto")


def test_one_failing_combination_does_not_stop_the_others(parallel_run) -> None:
    project, run = parallel_run
    assert run.returncode != 0
    output = run.stdout + run.stderr
    for combination in MATRIX:
        expected = "failed" if "musl" in combination else "success"
        assert re.search(rf"\* pipeline\({combination}\): (aborted|{expected})", output) or \
            f"pipeline({combination}): {expected}" in output, output[-3000:]
    for combination in ("go1.26.6-glibc-amd64", "go1.27.3-glibc-amd64"):
        manifest = project.manifest(combination)
        kinds = [entry["kind"] for entry in manifest["artifacts"].values()]
        assert sorted(kinds) == ["host"] * 3 + ["loader"] + ["plugin"] * 4  # + verify's
        assert manifest["verify"]["summary"]["pass"] == 4


def test_each_session_writes_its_own_json_and_junit(parallel_run) -> None:
    project, _ = parallel_run
    results = project.root / "results"
    assert sorted(p.name for p in results.iterdir()) == sorted(
        [f"{c}.json" for c in MATRIX] + [f"{c}.xml" for c in MATRIX])
    good = json.loads((results / "go1.26.6-glibc-amd64.json").read_text())
    assert good["status"] == "passed"
    assert [s["name"] for s in good["steps"]] == ["toolchain", "host", "plugins", "verify"]
    assert all(len(a["sha256"]) == 64 for a in good["artifacts"].values())
    assert good["verify"]["summary"]["pass"] == 4
    bad = json.loads((results / "go1.26.6-musl-amd64.json").read_text())
    assert bad["status"] == "failed"
    assert "gnu/libc-version.h" in bad["error"]
    assert bad["steps"][-1] == {**bad["steps"][-1], "name": "plugins", "status": "failed"}

    suite = ET.parse(results / "go1.26.6-musl-amd64.xml").getroot()
    assert suite.get("name") == "pipeline(go1.26.6-musl-amd64)"
    assert int(suite.get("failures")) == 1
    suite = ET.parse(results / "go1.26.6-glibc-amd64.xml").getroot()
    assert (suite.get("tests"), suite.get("failures")) == ("8", "0")  # 4 steps, 4 plugins


def test_the_summary_table_covers_every_combination(parallel_run) -> None:
    project, run = parallel_run
    table = run.stdout.split("Running session summary")[-1]
    for combination in MATRIX:
        assert combination in table
    assert table.count("passed") == 3 and table.count("failed") >= 3  # glibc pass, musl fail
    again = project.invoke("report")
    for combination in MATRIX:
        assert combination in again.stdout


def test_parallel_output_is_not_interleaved(parallel_run) -> None:
    """Each session's log lines form one block: nox buffers a session's output."""
    _, run = parallel_run
    lines = [line for line in (run.stdout + run.stderr).splitlines()
             if re.match(r"^\d\d:\d\d:\d\d go1\.", line)]
    owners = [line.split()[1] for line in lines]
    blocks = [owner for i, owner in enumerate(owners) if i == 0 or owners[i - 1] != owner]
    assert sorted(blocks) == sorted(set(owners)), blocks


def test_github_job_summary_gets_the_table(parallel_run, tmp_path) -> None:
    project, _ = parallel_run
    summary = tmp_path / "summary.md"
    env = {**os.environ, "GITHUB_STEP_SUMMARY": str(summary)}
    subprocess.run([sys.executable, "-m", "invoke", "report"], cwd=project.root, env=env,
                   check=True, capture_output=True)
    text = summary.read_text()
    assert "| combination |" in text and "`go1.27.3-musl-amd64`" in text
