"""nox sessions: the pipeline for every combination of buildconfig.toml, tests, lint.

    nox -l                                  list sessions
    nox -s "pipeline(go1.26.6-musl-amd64)"  one combination
    nox -t musl                             every musl combination
    nox -s tests                            the test suite
"""

from __future__ import annotations

import sys
from pathlib import Path

import nox

sys.path.insert(0, str(Path(__file__).parent / "src"))

from plugin_builder import config as config_module  # noqa: E402

nox.needs_version = ">=2026.08.10"
nox.options.default_venv_backend = "venv"
nox.options.sessions = ["pipeline"]

CONFIG = config_module.load(Path(__file__).parent / "buildconfig.toml")
COMBINATIONS = CONFIG.matrix.combinations


@nox.session(python=False)
@nox.parametrize(
    "combination",
    [nox.param(c.id, id=c.id, tags=list(c.tags)) for c in COMBINATIONS],
)
def pipeline(session: nox.Session, combination: str) -> None:
    """Build and verify one combination of the matrix."""
    go, libc, _arch = combination.removeprefix("go").split("-")
    session.run("invoke", "pipeline", "--go", go, "--libc", libc, external=True)


@nox.session
def tests(session: nox.Session) -> None:
    """The test suite: unit and integration tiers."""
    session.install("-e", ".[test]")
    session.run("pytest", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff on everything, mypy on the library."""
    session.install("-e", ".[lint]")
    session.run("ruff", "check", "src", "tests", "tasks.py", "noxfile.py", "benchmarks")
    session.run("mypy")
