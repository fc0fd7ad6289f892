"""The nox sessions of a project: one pipeline session per combination, and a summary.

A project's noxfile.py registers them with two lines::

    from plugin_builder import noxsessions
    noxsessions.register()

Sessions are generated from the matrix of the project's buildconfig.toml (the folder
nox runs in, or $PLUGIN_BUILDER_CONFIG), excludes applied; nothing in a noxfile lists
versions. Each pipeline session hands its Combination whole to the same library
function `invoke pipeline` calls.

    nox -j auto                              every combination in parallel, then a summary
    nox -s "pipeline(go1.26.6-musl-amd64)"   one combination
    nox -t musl        nox -t go1.27.3       a slice of the matrix, by tag
    nox -j auto -- --backend docker          the same in builder images, with service images
"""

from __future__ import annotations

import sys
from pathlib import Path

import nox

from plugin_builder import commands, links, results
from plugin_builder import config as config_module
from plugin_builder.combination import Combination
from plugin_builder.console import filesystem_errors
from plugin_builder.errors import PluginBuilderError
from plugin_builder.project import default_config


def register(config_path: str | Path | None = None) -> None:
    """Define the pipeline sessions of the config and the summary session."""
    path = Path(config_path) if config_path else default_config()
    try:
        config = config_module.load(path)
    except PluginBuilderError as error:
        # nox would show a traceback of the noxfile; say what is wrong and stop instead.
        print(f"error: {error}\n  see: {links.see(type(error))}", file=sys.stderr)
        raise SystemExit(error.return_code) from None
    nox.options.sessions = ["pipeline", "summary"]  # summary runs after the parallel ones
    _define_pipeline(path, ordered(config.matrix.combinations))
    _define_summary(path)


def ordered(combinations: tuple[Combination, ...]) -> list[Combination]:
    """Sessions next to each other, which `-j` starts together, use different Go
    releases: two builds of one release at once would both compile its standard
    library, while one after the other the second finds it in Go's build cache."""
    return sorted(combinations, key=lambda c: (c.libc, c.arch, c.go))


def _backend(session: nox.Session) -> str | None:
    """`-- --backend docker` after the nox options; the config's backend otherwise."""
    args = list(session.posargs)
    if "--backend" in args and args.index("--backend") + 1 < len(args):
        return args[args.index("--backend") + 1]
    return None


def _define_pipeline(path: Path, combinations: list[Combination]) -> None:
    by_id = {c.id: c for c in combinations}

    @nox.session(python=False, allow_parallel=True)
    @nox.parametrize("combination",
                     [nox.param(c.id, id=c.id, tags=list(c.tags)) for c in combinations])
    def pipeline(session: nox.Session, combination: str) -> None:
        """Build and verify one combination of the matrix."""
        try:
            with filesystem_errors():
                context = commands.Context.open(path, _backend(session))
                outcomes = commands.pipeline(context, by_id[combination])
                context.console.close()
                commands.require_passed(outcomes)
        except PluginBuilderError as error:
            session.error(str(error))


def _define_summary(path: Path) -> None:
    @nox.session(python=False)
    def summary(session: nox.Session) -> None:
        """One table of every combination's last pipeline run (also: invoke report)."""
        try:
            results.print_table(commands.report(path))
        except PluginBuilderError as error:
            session.error(str(error))
