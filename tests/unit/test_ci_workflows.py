"""The CI a project runs as it is: the workflow `plugin-builder init --ci github` writes,
the matrix `invoke ci-matrix` hands it, and this repository's own workflows, read as text
(tests/integration/test_ci_files.py runs actionlint and shellcheck on them)."""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

import pytest

from plugin_builder import cimatrix, cli
from plugin_builder import config as config_module
from plugin_builder.init import workflow
from tests.cilint import scripts_with_expressions

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures"
WORKFLOWS = sorted((REPO / ".github" / "workflows").glob("*.yml"))
TEXTS = {path.name: path.read_text() for path in WORKFLOWS} | {
    "init --ci github": workflow.render()}


def test_this_repository_runs_the_workflow_init_writes() -> None:
    assert (REPO / workflow.PATH).read_text() == workflow.render(".")
    assert 'PLUGIN_BUILDER: "plugin-builder==' in workflow.render()


@pytest.mark.parametrize("name", TEXTS)
def test_every_workflow_is_read_only_bounded_and_keeps_expressions_out_of_scripts(name) -> None:
    text = TEXTS[name]
    assert "\npermissions:\n  contents: read\n" in text
    jobs = re.findall(r"^  ([a-z-]+):\n((?:    .*\n|\n)+)", text.split("\njobs:\n", 1)[1], re.M)
    assert jobs
    for job, body in jobs:
        assert re.search(r"^    timeout-minutes: [0-9]+$", body, re.M), f"{name}: {job}"
    assert scripts_with_expressions(text) == []


def test_the_expression_check_finds_a_pasted_expression() -> None:
    text = ("jobs:\n  a:\n    steps:\n      - run: |\n          echo hi\n"
            "          if [[ \"${{ matrix.combination }}\" == x ]]; then :; fi\n"
            "      - run: echo \"$SAFE\"\n        env:\n          SAFE: ${{ matrix.x }}\n")
    assert scripts_with_expressions(text) == ["line 4: - run: |"]


def test_the_project_workflow_fans_out_from_ci_matrix() -> None:
    text = workflow.render()
    assert 'echo "matrix=$(invoke ci-matrix)" >> "$GITHUB_OUTPUT"' in text
    assert "matrix: ${{ fromJSON(needs.matrix.outputs.matrix) }}" in text
    assert "runs-on: ${{ matrix.runner }}" in text
    assert 'nox -s "$SESSION"' in text and "SESSION: ${{ matrix.session }}" in text
    # The shared cache from a secret, else the combination's Go build cache.
    assert "GOCACHEPROG: ${{ secrets.GOCACHEPROG }}" in text
    assert "if: env.GOCACHEPROG == ''" in text
    assert "key: go-build-${{ matrix.combination }}-" in text
    # Nothing in it names a Go release or a libc by hand: the config does.
    assert not re.search(r"1\.2[0-9]\.[0-9]+|musl|glibc", text)


def test_the_matrix_gives_each_combination_the_runner_of_its_arch(project) -> None:
    loaded = config_module.load(project.config_path)
    sessions = [{"name": "pipeline", "session": f"pipeline({c.id})",
                 "call_spec": {"combination": c.id}} for c in loaded.matrix.combinations]
    sessions.append({"name": "summary", "session": "summary", "call_spec": {}})
    jobs = cimatrix.github_matrix(sessions, loaded)["include"]
    assert {job["combination"]: (job["runner"], job["packages"]) for job in jobs} == {
        "go1.26.6-glibc-amd64": ("ubuntu-24.04", "gcc"),
        "go1.26.6-glibc-arm64": ("ubuntu-24.04-arm", "gcc"),
        "go1.26.6-musl-amd64": ("ubuntu-24.04", "musl-tools"),
        "go1.26.6-musl-arm64": ("ubuntu-24.04-arm", "musl-tools"),
        "go1.27.3-glibc-amd64": ("ubuntu-24.04", "gcc"),
        "go1.27.3-musl-amd64": ("ubuntu-24.04", "musl-tools"),
    }
    assert [job["session"] for job in jobs] == [s["session"] for s in sessions[:-1]]


# -- plugin-builder init --ci github -------------------------------------------------------


def run(capsys, *argv: str) -> tuple[int, str, str]:
    try:
        cli.main(list(argv))
        code = 0
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else 1
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def new_project(tmp_path, monkeypatch) -> Path:
    shutil.copytree(FIXTURES / "dragonfly", tmp_path / "myhost")
    (tmp_path / "project").mkdir()
    monkeypatch.chdir(tmp_path / "project")
    monkeypatch.setattr(sys.stdin, "isatty", lambda: False, raising=False)
    return tmp_path / "project"


def test_init_writes_the_workflow_with_the_project(capsys, new_project) -> None:
    code, out, err = run(capsys, "init", "--host", "../myhost", "--preset", "dragonfly",
                         "--go", "1.26.6", "--ci", "github")
    assert code == 0, err
    assert (new_project / workflow.PATH).read_text() == workflow.render()
    assert workflow.PATH in out


def test_init_adds_the_workflow_to_a_project_that_exists(capsys, new_project) -> None:
    run(capsys, "init", "--host", "../myhost", "--preset", "dragonfly", "--go", "1.26.6")
    config = (new_project / "buildconfig.toml").read_text()
    assert not (new_project / workflow.PATH).exists()
    code, out, err = run(capsys, "init", "--ci", "github")
    assert code == 0, err
    assert out.strip() == f"wrote     {workflow.PATH}"
    assert (new_project / "buildconfig.toml").read_text() == config
    (new_project / workflow.PATH).write_text("# mine\n")
    code, out, _ = run(capsys, "init", "--ci", "github")
    assert code == 0 and "kept" in out
    assert (new_project / workflow.PATH).read_text() == "# mine\n"


def test_init_names_the_ci_systems_it_knows(capsys, new_project) -> None:
    code, _, err = run(capsys, "init", "--host", "../myhost", "--ci", "gitlab")
    assert code != 0 and "--ci gitlab: no workflow for that CI system" in err
    assert "--ci github" in err and "Traceback" not in err
    assert not (new_project / "buildconfig.toml").exists()

