"""A new user's first hour, recorded from real runs into README.md.

    python3 benchmarks/transcript.py            # record it again (a fresh toolchain cache)
    python3 benchmarks/transcript.py --print    # print it, README.md untouched

In a temporary home: this repository copied to ~/plugin-builder with a fresh virtual
environment (README's quick start), then a host of the user's own (the KrakenD-style
fixture, whose plugin loading only `go list` sees: no family preset fits it) at ~/myhost
and a project beside it at ~/project: `plugin-builder init`, `invoke new-plugin`, a build,
a verify, and a typo in --type. Each command's output is what it printed (stdout and
stderr as a terminal interleaves them; plain lines, since no terminal is attached), the
temporary home shown as ~; pip's download lines are cut, and said to be.
tests/integration/test_transcript.py runs the same commands and checks that each still
prints the first lines the README shows.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.integration.readerenv import copy_repository, reader_env  # noqa: E402

README = REPO / "README.md"
BEGIN, END = "<!-- transcript:begin -->", "<!-- transcript:end -->"
HOST_FIXTURE = REPO / "tests" / "fixtures" / "hosts" / "library"


@dataclass(frozen=True)
class Step:
    folder: str  # where it runs, under the home: "plugin-builder" or "project"
    command: str
    exit_code: int = 0  # what it must exit with


STEPS = (
    Step("plugin-builder", "pip install -e ."),
    Step("plugin-builder", "invoke build-plugin --type scheduler"),
    Step("project", "plugin-builder init --host ../myhost/gateway"),
    Step("project", "invoke new-plugin --type plugin --name hello"),
    Step("project", "invoke build-plugin"),
    Step("project", "invoke verify"),
    Step("project", "invoke build-plugin --type plugins", exit_code=2),
)


@dataclass(frozen=True)
class Said:
    step: Step
    output: list[str]  # lines, the home shown as ~


def home_with_the_project(home: Path) -> dict[str, str]:
    """~/plugin-builder (this repository, a fresh venv), ~/myhost, ~/project (empty)."""
    repository = copy_repository(home / "plugin-builder")
    shutil.copytree(HOST_FIXTURE, home / "myhost")
    (home / "project").mkdir()
    return reader_env(home, repository, HOME=str(home))


def run(home: Path, env: dict[str, str], steps: Sequence[Step] = STEPS,
        on_step: Callable[[Said], None] | None = None) -> Iterator[Said]:
    """Each step as a user types it; what it printed, as they see it."""
    for step in steps:
        done = subprocess.run(["bash", "-c", step.command], cwd=home / step.folder, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              timeout=3600)
        if done.returncode != step.exit_code:
            raise SystemExit(f"{step.command} exited {done.returncode}, not "
                             f"{step.exit_code}:\n{done.stdout}")
        said = Said(step, [line.rstrip() for line in
                           done.stdout.replace(str(home), "~").splitlines()])
        if on_step is not None:
            on_step(said)
        yield said


def render(session: Sequence[Said]) -> str:
    """The console block: each command after its prompt, then what it printed."""
    lines = []
    folder = None
    for said in session:
        if said.step.folder != folder:
            folder = said.step.folder
            lines.append(f"$ cd ~/{folder}")
        lines.append(f"$ {said.step.command}")
        output = said.output
        if said.step.command.startswith("pip "):
            output = _pip_cut(output)
        lines.extend(output)
        if said.step.exit_code:
            lines.append(f"$ echo $?\n{said.step.exit_code}")
    return "```console\n" + "\n".join(lines) + "\n```\n"


def _pip_cut(output: list[str]) -> list[str]:
    """pip's lines up to the first that says what it installs, and its last line."""
    head = next((i + 1 for i, line in enumerate(output) if not _VOLATILE.search(line)),
                len(output))
    cut = len(output) - head - 1
    if cut <= 0:
        return output
    return [*output[:head], f"[... {cut} lines of pip downloading and building ...]",
            output[-1]]


def commands_of(block: str) -> list[tuple[str, list[str]]]:
    """(command, the lines it printed) of a rendered block; `cd` and `echo $?` left out."""
    found: list[tuple[str, list[str]]] = []
    for line in block.strip().removeprefix("```console").removesuffix("```").splitlines():
        if line.startswith("$ "):
            found.append((line[2:], []))
        elif found:
            found[-1][1].append(line)
    return [(command, said) for command, said in found
            if not command.startswith(("cd ", "echo $?"))]


def in_readme(text: str | None = None) -> str:
    text = README.read_text() if text is None else text
    return text[text.index(BEGIN) + len(BEGIN):text.index(END)].strip() + "\n"


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--print", action="store_true", help="print it; leave README.md")
    parser.add_argument("--warm", action="store_true",
                        help="use this machine's toolchain cache (no provisioning lines)")
    options = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="plugin-builder-transcript-") as folder:
        home = Path(folder)
        env = home_with_the_project(home)
        if not options.warm:  # a first hour provisions its Go releases
            env["PLUGIN_BUILDER_CACHE"] = str(home / ".cache" / "plugin-builder")
        session = list(run(home, env, on_step=lambda said: print(
            f"$ {said.step.command}: {len(said.output)} lines", file=sys.stderr)))
    block = render(session)
    if options.print:
        print(block, end="")
        return
    text = README.read_text()
    README.write_text(text.replace(in_readme(text), block, 1)
                      if in_readme(text).strip() else
                      text.replace(BEGIN, f"{BEGIN}\n{block}", 1))
    print(f"README.md: transcript of {len(session)} commands written", file=sys.stderr)


# What varies from run to run, and what a comparison of first lines leaves out.
_VOLATILE = re.compile(r"provisioning go|ready in |would provision|waiting for another process|"
                       r"preparing the toolchain|\.\.\. \d+/\d+ packages|^\S* *\S+ +still |"
                       r"listing the packages|^Looking in (links|indexes):|"
                       r"^\[\.\.\. \d+ lines")


def first_line(output: Sequence[str]) -> str:
    """The first line that does not depend on caches or timing, with its times as N."""
    for line in output:
        if line.strip() and not _VOLATILE.search(line):
            return normalized(line)
    return ""


def normalized(line: str) -> str:
    line = re.sub(r"^\d\d:\d\d:\d\d ", "HH:MM:SS ", line)
    line = re.sub(r"\(\d+ of (\d+) packages compiled\)", r"(N of \1 packages compiled)", line)
    return re.sub(r"\b\d+(\.\d+)?s\b", "Ns", line)


if __name__ == "__main__":
    main()
