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
import tempfile
import threading
import time
from pathlib import Path

import nox

from plugin_builder import commands, results
from plugin_builder import config as config_module
from plugin_builder.combination import Combination
from plugin_builder.console import Console, close_all, filesystem_errors, guard
from plugin_builder.errors import PluginBuilderError
from plugin_builder.files import digest
from plugin_builder.project import default_config


def register(config_path: str | Path | None = None) -> None:
    """Define the pipeline sessions of the config and the summary session."""
    path = Path(config_path) if config_path else default_config()
    with guard():  # nox would show a traceback of the noxfile: one message instead
        config = config_module.load(path)
    nox.options.sessions = ["pipeline", "summary"]  # summary runs after the parallel ones
    _define_pipeline(path, ordered(config.matrix.combinations), _progress_folder(config))
    _define_summary(path)
    if _parallel_parent() and not sys.stdout.isatty():
        ProgressRelay(_progress_folder(config)).start()


def _progress_folder(config: config_module.Config) -> Path:
    """Where each worker's console mirrors its progress lines, for the parent to relay: a
    folder of this config in the temporary folder (the project's folders hold only what
    the tool builds and its results)."""
    return Path(tempfile.gettempdir()) / f"plugin-builder-progress-{digest(str(config.path))[:16]}"


def _parallel_parent() -> bool:
    """This is the nox that runs sessions in parallel workers (`nox -j N`)."""
    argv = sys.argv[1:]
    parallel = any(a in ("-j", "--parallel") or a.startswith(("-j", "--parallel="))
                   for a in argv)
    return parallel and "--parallel-worker" not in argv


class ProgressRelay(threading.Thread):
    """In the parallel nox parent without a terminal: nox holds each worker's output back
    until its session ends, so the parent prints, every few seconds, the progress lines
    the workers' consoles mirror into files (steps starting, heartbeats, ends)."""

    def __init__(self, folder: Path, period: float = 2.0) -> None:
        super().__init__(daemon=True)
        self.folder, self.period = folder, period
        self.started_at = time.time()
        self.offsets: dict[Path, int] = {}

    def run(self) -> None:
        while True:
            time.sleep(self.period)
            self.relay()

    def relay(self) -> None:
        for path in sorted(self.folder.glob("*.log")):
            try:
                if path.stat().st_mtime < self.started_at:
                    continue  # a run before this one
                with path.open("rb") as stream:
                    stream.seek(self.offsets.get(path, 0))
                    chunk = stream.read()
            except OSError:
                continue
            complete = chunk[:chunk.rfind(b"\n") + 1]
            self.offsets[path] = self.offsets.get(path, 0) + len(complete)
            for line in complete.decode(errors="replace").splitlines():
                print(f"nox > {line}", flush=True)


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


def _define_pipeline(path: Path, combinations: list[Combination], progress: Path) -> None:
    by_id = {c.id: c for c in combinations}

    @nox.session(python=False, allow_parallel=True)
    @nox.parametrize("combination",
                     [nox.param(c.id, id=c.id, tags=list(c.tags)) for c in combinations])
    def pipeline(session: nox.Session, combination: str) -> None:
        """Build and verify one combination of the matrix."""
        try:
            with filesystem_errors():
                mirror = None
                if "--parallel-worker" in sys.argv:
                    mirror = progress / f"{combination}.log"
                    mirror.unlink(missing_ok=True)  # this run's lines only
                context = commands.Context.open(path, _backend(session),
                                                Console(mirror=mirror))
                outcomes = commands.pipeline(context, by_id[combination])
                close_all()
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
