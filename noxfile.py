"""nox sessions of this repository: the tool's pipeline sessions, tests, lint.

    nox -j auto                              every combination in parallel, then a summary
    nox -s "pipeline(go1.26.6-musl-amd64)"   one combination
    nox -t musl        nox -t arm64          a slice of the matrix, by tag
    nox -j auto -- --backend docker          the same in builder images, with service images
    nox -s tests                             the test suite

The pipeline and summary sessions are the tool's own (plugin_builder.noxsessions), made
from buildconfig.toml beside this file; a user's project registers the same ones.
"""

from __future__ import annotations

import nox

from plugin_builder import noxsessions

# Read by nox from this file's source before it imports it: the first release with -j.
nox.needs_version = ">=2026.08.10"
nox.options.default_venv_backend = "venv"
noxsessions.register()


@nox.session
def tests(session: nox.Session) -> None:
    """The test suite: unit and integration tiers."""
    session.install("-c", "constraints.txt", "-e", ".[test,docker]")
    session.run("pytest", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff on everything, mypy on the library; actionlint and shellcheck on every workflow
    (the one `init --ci github` writes too) and CI script (tests/cilint.py: actionlint is
    built with a provisioned Go, shellcheck is Debian's package)."""
    session.install("-c", "constraints.txt", "-e", ".[lint]")
    session.run("ruff", "check", "src", "tests", "tasks.py", "noxfile.py", "benchmarks")
    session.run("mypy")
    session.run("python", "-m", "tests.cilint")
