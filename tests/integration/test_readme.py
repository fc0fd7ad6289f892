"""Every ```sh block of README.md does what it says: run as written, in order, in a
throwaway copy of this repository with the real tools, as a reader following the README
would (in a fresh virtual environment: README's own advice where pip may not install
into the machine's Python, and this suite's rule).

A block that must not run here is marked with an HTML comment right above its fence,
``<!-- readme-test: skip (why) -->``; the marked blocks are counted and printed on every
run, never skipped in silence. A block that needs the Docker engine (it says ``docker``
or ``sudo``) runs where an engine answers, and with ``CI=true`` fails without one
(tests/integration/dockerfixtures.py); as root, ``sudo`` runs the command as it is.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from .readerenv import REPO, copy_repository, reader_env

README = REPO / "README.md"
BLOCK_TIMEOUT_S = 3600
_FENCE = re.compile(r"(?:<!-- readme-test: (?P<marker>[^>]*?) -->\n)?```sh\n(?P<text>.*?)```",
                    re.S)


@dataclass(frozen=True)
class Block:
    line: int
    text: str
    marker: str | None  # "skip (why)", or None

    @property
    def skipped(self) -> bool:
        return self.marker is not None

    @property
    def needs_docker(self) -> bool:
        return bool(re.search(r"\bdocker\b|\bsudo\b", self.text))

    def __str__(self) -> str:
        return f"README.md:{self.line}"


def blocks(text: str | None = None) -> list[Block]:
    text = README.read_text() if text is None else text
    return [Block(text[:m.start("text")].count("\n"), m["text"], m["marker"])
            for m in _FENCE.finditer(text)]


BLOCKS = blocks()
RUN = [block for block in BLOCKS if not block.skipped]


def test_every_block_runs_or_says_why_not(capsys):
    assert len(BLOCKS) == README.read_text().count("```sh\n"), "a block the pattern missed"
    for block in BLOCKS:
        if block.skipped:
            assert re.fullmatch(r"skip \(.+\)", block.marker or ""), \
                f"{block}: a marker is `readme-test: skip (why)`"
    skipped = [block for block in BLOCKS if block.skipped]
    with capsys.disabled():
        print(f"\nREADME.md: {len(BLOCKS)} sh blocks, {len(RUN)} run, {len(skipped)} marked "
              "not to run:")
        for block in skipped:
            print(f"  {block}: {block.marker}")
    docker = [i for i, block in enumerate(RUN) if block.needs_docker]
    assert docker == list(range(len(RUN) - len(docker), len(RUN))), \
        "the blocks that need docker come last: the others do not wait for an engine"
    assert len(RUN) >= 4


class Reader:
    """A copy of the repository and a fresh virtual environment; the blocks run so far."""

    def __init__(self, root: Path) -> None:
        self.root = copy_repository(root / "plugin-builder")
        self.env = reader_env(root, self.root)
        self.ran: set[int] = set()

    def run_through(self, target: Block) -> None:
        """Every block before ``target`` that has not run (a reader does them in order),
        then ``target``; the blocks that need docker only when asked for."""
        for block in RUN[:RUN.index(target) + 1]:
            if block.line in self.ran or (block.needs_docker and block is not target):
                continue
            run = run_block(block, self.root, self.env)
            assert run.returncode == 0, (f"{block} exited {run.returncode}:\n{block.text}\n"
                                         f"{run.stdout[-6000:]}\n{run.stderr[-6000:]}")
            assert "Traceback" not in run.stderr, f"{block}:\n{run.stderr[-6000:]}"
            self.ran.add(block.line)


def run_block(block: Block, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """The block in bash, in a process group of its own: at its time limit the whole group
    is killed, so a server a block starts cannot hold the test (and its pipes) forever."""
    with subprocess.Popen(["bash", "-euo", "pipefail", "-c", block.text], cwd=cwd, env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          start_new_session=True) as shell:
        try:
            stdout, stderr = shell.communicate(timeout=BLOCK_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            os.killpg(shell.pid, signal.SIGKILL)
            stdout, stderr = shell.communicate()
            raise AssertionError(f"{block} did not end in {BLOCK_TIMEOUT_S} s:\n{block.text}\n"
                                 f"{stdout[-3000:]}\n{stderr[-3000:]}") from None
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(shell.pid, signal.SIGKILL)  # anything it left running
    return subprocess.CompletedProcess(shell.args, shell.returncode, stdout, stderr)


@pytest.fixture(scope="module")
def reader(tmp_path_factory) -> Reader:
    return Reader(tmp_path_factory.mktemp("readme"))


@pytest.mark.parametrize("block", RUN, ids=str)
def test_the_block_runs_as_written(block: Block, reader: Reader, request) -> None:
    if block.needs_docker:
        request.getfixturevalue("engine")  # an engine, or a visible skip (a failure in CI)
    reader.run_through(block)


def test_the_quick_start_lands_the_plugin_where_it_says(reader: Reader) -> None:
    quick = next(block for block in RUN if "invoke build-plugin --type scheduler" in block.text)
    reader.run_through(quick)
    said = re.search(r"into\s+`(artifacts/[^`]+\.so)`", README.read_text())
    assert said is not None and (reader.root / said[1]).is_file()
