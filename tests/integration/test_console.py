"""What a person at a terminal and a machine reading the output each get."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import subprocess
import sys

import pytest

from tests.project import Project

TIMESTAMPED = re.compile(r"^\d\d:\d\d:\d\d go1\.26\.6-glibc-amd64 +")


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Project:
    return Project(tmp_path_factory.mktemp("terminal"))


def run_in_a_terminal(project: Project, *args: str) -> tuple[int, str]:
    """Run invoke with stdin, stdout and stderr on a pseudo-terminal, as a person would."""
    leader, follower = pty.openpty()
    env = {k: v for k, v in os.environ.items() if k != "CI"} | {"TERM": "xterm-256color",
                                                                  "COLUMNS": "120"}
    process = subprocess.Popen([sys.executable, "-m", "invoke", *args], cwd=project.root,
                               stdin=follower, stdout=follower, stderr=follower, env=env)
    os.close(follower)
    output = b""
    while True:
        ready, _, _ = select.select([leader], [], [], 120)
        if not ready:
            process.kill()
            break
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the process closed the terminal
            break
        if not chunk:
            break
        output += chunk
    os.close(leader)
    return process.wait(timeout=60), output.decode(errors="replace")


def test_every_task_has_one_line_of_help(project):
    listing = project.invoke("--list").stdout.splitlines()
    rows = [line for line in listing[2:] if line.strip()]
    assert all(re.match(r"^  [a-z-]+ +\S", row) for row in rows), rows  # none wraps
    names = {row.split()[0] for row in rows}
    assert {"new-plugin", "doctor", "build-plugin", "verify", "report", "list"} <= names


def test_ci_gets_plain_timestamped_lines_and_verbose_shows_the_commands(project):
    run = project.invoke("build-plugin", "--type", "scheduler", "--verbose")
    lines = run.stderr.splitlines()
    assert lines and all(TIMESTAMPED.match(line) for line in lines), lines
    command = next(line for line in lines if "$ (cd " in line)
    for part in ("CGO_ENABLED=1", "GOTOOLCHAIN=local", "CC=", "GOWORK=",
                 "go build -buildmode=plugin -trimpath -o"):
        assert part in command
    assert "\x1b[" not in run.stderr


def test_a_terminal_gets_a_live_display(project):
    (project.artifacts("go1.26.6-glibc-amd64") / "plugins"
     / "d7y-scheduler-plugin-evaluator.so").unlink()
    code, output = run_in_a_terminal(project, "build-plugin", "--type", "scheduler")
    assert code == 0, output
    assert "\x1b[?25l" in output  # the live display hides the cursor while it runs
    assert "built plugins/d7y-scheduler-plugin-evaluator.so" in output
    assert not re.search(r"^\d\d:\d\d:\d\d ", output, re.M)  # people get no timestamps


@pytest.mark.parametrize("args", [("list", "--json"), ("verify", "--json"),
                                  ("doctor", "--json"), ("report", "--json")])
def test_machines_get_json(project, args):
    if args[0] == "report":
        project.invoke("pipeline")
    run = project.invoke(*args)
    assert json.loads(run.stdout) is not None
