"""nox sessions: the pipeline for every combination of buildconfig.toml, tests, lint.

    nox -j auto                              every combination in parallel, then a summary
    nox -s "pipeline(go1.26.6-musl-amd64)"   one combination
    nox -t musl        nox -t go1.27.3       a slice of the matrix, by tag
    nox -j auto -- --backend docker          the same in builder images, with service images
    nox -s tests                             the test suite

Sessions are generated from the config's matrix (excludes applied); nothing here lists
versions. Each pipeline session calls the same library function as `invoke pipeline`.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nox

ROOT = Path(__file__).parent
sys.path.insert(0, str(ROOT / "src"))

from plugin_builder import commands  # noqa: E402
from plugin_builder import config as config_module  # noqa: E402
from plugin_builder.errors import PluginBuilderError  # noqa: E402

nox.needs_version = ">=2026.08.10"  # the first release with -j (parallel sessions)
nox.options.default_venv_backend = "venv"
nox.options.sessions = ["pipeline", "summary"]  # summary runs after the parallel ones

CONFIG = str(ROOT / "buildconfig.toml")
# Ordered so that sessions next to each other, which `-j` starts together, use different
# Go releases: two builds of one release at once would both compile its standard
# library, while one after the other the second finds it in Go's build cache.
COMBINATIONS = sorted(config_module.load(CONFIG).matrix.combinations,
                      key=lambda c: (c.libc, c.arch, c.go))


def _backend(session: nox.Session) -> str | None:
    """`-- --backend docker` after the nox options; the config's backend otherwise."""
    args = list(session.posargs)
    if "--backend" in args and args.index("--backend") + 1 < len(args):
        return args[args.index("--backend") + 1]
    return None


@nox.session(python=False, allow_parallel=True)
@nox.parametrize(
    "combination",
    [nox.param(c.id, id=c.id, tags=list(c.tags)) for c in COMBINATIONS],
)
def pipeline(session: nox.Session, combination: str) -> None:
    """Build and verify one combination of the matrix."""
    chosen = next(c for c in COMBINATIONS if c.id == combination)
    try:
        commands.pipeline(CONFIG, go=chosen.go, libc=chosen.libc, backend=_backend(session))
    except PluginBuilderError as error:
        session.error(str(error))


@nox.session(python=False)
def summary(session: nox.Session) -> None:
    """One table of every combination's last pipeline run (also: invoke report)."""
    try:
        commands.report(CONFIG)
    except PluginBuilderError as error:
        session.error(str(error))


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
