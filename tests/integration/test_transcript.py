"""README's "A first hour" transcript still holds: its commands, run again as
benchmarks/transcript.py records them (a copy of the repository, a fresh venv, a host of
one's own), print the first line the README shows after each (times and cache-dependent
lines aside), and exit as shown."""

from __future__ import annotations

import sys

import pytest

from .readerenv import REPO

sys.path.insert(0, str(REPO))
from benchmarks import transcript  # noqa: E402


@pytest.fixture(scope="module")
def session(tmp_path_factory) -> list[transcript.Said]:
    home = tmp_path_factory.mktemp("transcript")
    env = transcript.home_with_the_project(home)
    return list(transcript.run(home, env))  # exit codes checked as it runs


def test_the_readme_shows_the_recorded_commands():
    shown = [command for command, _ in transcript.commands_of(transcript.in_readme())]
    assert shown == [step.command for step in transcript.STEPS]


def test_each_command_still_prints_what_the_readme_shows(session):
    shown = transcript.commands_of(transcript.in_readme())
    for said, (command, printed) in zip(session, shown, strict=True):
        assert said.step.command == command
        assert transcript.first_line(said.output) == transcript.first_line(printed), command
        assert transcript.first_line(printed), f"{command}: the README shows nothing stable"
    mistake = session[-1]
    assert mistake.output[0] == "error: --type plugins: no such plugin type"


def test_the_block_renders_from_a_session(session):
    block = transcript.render(session)
    assert [c for c, _ in transcript.commands_of(block)] == \
        [step.command for step in transcript.STEPS]
