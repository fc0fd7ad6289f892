"""README's reliability figures are counted from the suites, never written by hand."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
README = REPO / "README.md"
# Each suite of the reliability section, as the files that hold it.
SUITES = {
    "Bad input": ("tests/unit/test_bad_*.py",),
    "Damaged and hand-edited state": ("tests/unit/test_artifacts.py",
                                      "tests/unit/test_sources.py",
                                      "tests/unit/test_outputs.py",
                                      "tests/unit/test_output_safety.py",
                                      "tests/unit/test_processes.py",
                                      "tests/unit/test_commands.py"),
    "Faults": ("tests/integration/test_*faults*.py",),
}
FIGURE = re.compile(r"^- \*\*(?P<suite>[^*]+)\*\* \((?P<count>[\d,]+) cases\)", re.M)


def collected(patterns: tuple[str, ...]) -> int:
    """How many test cases pytest collects from the files (nothing runs)."""
    files = sorted(str(p) for pattern in patterns for p in REPO.glob(pattern))
    done = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q",
                           "-p", "no:cacheprovider", *files], cwd=REPO, capture_output=True,
                          text=True, env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
    match = re.search(r"^(\d+) tests? collected", done.stdout, re.M)
    assert match, done.stdout + done.stderr
    return int(match[1])


def figures() -> dict[str, int]:
    return {m["suite"]: int(m["count"].replace(",", ""))
            for m in FIGURE.finditer(README.read_text())}


def test_the_reliability_section_names_every_suite() -> None:
    assert set(figures()) == set(SUITES)


@pytest.mark.parametrize("suite", SUITES)
def test_each_figure_is_what_the_suite_holds(suite: str) -> None:
    count = collected(SUITES[suite])
    assert figures().get(suite) == count, (
        f"README.md says {suite} holds {figures().get(suite)} cases; the suite "
        f"({', '.join(SUITES[suite])}) holds {count}: write \"- **{suite}** ({count:,} "
        f"cases)\"")
