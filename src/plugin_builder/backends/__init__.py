"""Where build commands run.

Steps build the same argv and environment whatever the backend; a backend only decides
where that command executes (a local process, or a container of the builder image) and
which go and C compiler it finds there. Local and docker never hold two copies of the
build logic.

Everything a step needs from where it runs is a method or property of these two
protocols, as cibuildwheel's ``OCIContainer`` is for its platforms. What does not depend
on where a command runs stays out: build info and ELF facts are read from the landed
file by pure Python, go.mod files are parsed by :mod:`plugin_builder.golang.gomod`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from plugin_builder.combination import Combination
from plugin_builder.config import BACKENDS, Config
from plugin_builder.errors import UsageError
from plugin_builder.log import Log

if TYPE_CHECKING:
    from plugin_builder.sharedcache import LinkCache


@dataclass(frozen=True)
class RunResult:
    returncode: int
    stdout: str  # what the command printed for machines, whole
    stderr: str = ""  # what it said to people (compiler errors, progress)

    @property
    def output(self) -> str:
        """Everything it printed, for an error message."""
        return self.stderr + self.stdout


class BuildEnvironment(Protocol):
    """One combination's toolchain, as seen by the backend that runs the commands."""

    @property
    def combination(self) -> Combination: ...

    @property
    def go(self) -> str:
        """The go executable where commands run."""
        ...

    @property
    def cc(self) -> str:
        """The C compiler for the combination's libc, where commands run."""
        ...

    @property
    def identity(self) -> Mapping[str, str]:
        """What identifies the toolchain: part of every input digest."""
        ...

    @property
    def link_cache(self) -> LinkCache | None:
        """Where linked artifacts are shared ([cache] prog), or None."""
        ...

    def base_env(self) -> dict[str, str]:
        """The environment a go command starts from on this backend (PATH, HOME, caches,
        GOCACHEPROG)."""
        ...

    def run(self, argv: Sequence[str], *, cwd: Path, env: Mapping[str, str],
            on_stderr: Callable[[str], None] | None = None,
            outputs: Sequence[Path] = ()) -> RunResult:
        """Run argv to completion; ``env`` is the complete environment of the command;
        ``on_stderr`` sees each line it writes to stderr as it comes.

        Paths mean the same inside and outside: ``cwd``, the sources and the artifact
        folder are where they are on this machine. ``outputs`` are the files the command
        writes that must be on this machine afterwards (the docker backend copies them
        back from the engine; the local one has them already).
        """
        ...


@dataclass(frozen=True)
class PlannedEnvironment:
    """Where a combination's builds would run, as a dry run sees it: nothing is
    provisioned, built or run, so it runs no command."""

    combination: Combination
    go: str  # where the go executable is, or will be once provisioned
    cc: str
    # What identifies the toolchain, as prepare() would record it.
    identity: Mapping[str, str]
    # What preparing would do first, in words ("" when everything is ready).
    first: str = ""
    # False: the identity is not known until it is prepared (a toolchain still to
    # provision, a builder image still to build), so artifacts built before may be rebuilt.
    identity_known: bool = True
    env: Mapping[str, str] = field(default_factory=dict)
    link_cache: LinkCache | None = None  # a dry run fetches nothing

    def base_env(self) -> dict[str, str]:
        return dict(self.env)

    def run(self, argv: Sequence[str], *, cwd: Path, env: Mapping[str, str],
            on_stderr: Callable[[str], None] | None = None,
            outputs: Sequence[Path] = ()) -> RunResult:
        raise AssertionError(f"a dry run ran {argv[:2]}: it must run nothing")


class Backend(Protocol):
    name: str
    # The step that makes the environment ready, as reports name it ("toolchain": the
    # exact Go release is provisioned; "builder-image": its image is built or found).
    prepare_step: str
    # Whether the pipeline ends with service images (they need an engine to build in).
    makes_images: bool

    def prepare(self, combination: Combination, log: Log) -> BuildEnvironment:
        """Provision what the combination's builds run with, and return where they run."""
        ...

    def plan(self, combination: Combination, log: Log) -> PlannedEnvironment:
        """What prepare() would do, said to ``log``, doing none of it (a dry run)."""
        ...


def backend_for(config: Config, name: str | None) -> Backend:
    name = backend_name(config, name)
    if name == "docker":
        from plugin_builder.backends.docker import DockerBackend

        return DockerBackend(config)
    from plugin_builder.backends.local import LocalBackend

    return LocalBackend(config)


def backend_name(config: Config, name: str | None) -> str:
    """--backend, else project.backend; an unknown --backend is a UsageError."""
    name = name or config.backend
    if name not in BACKENDS:
        raise UsageError(f"--backend {name}: no such backend",
                         fix="use --backend " + " or ".join(BACKENDS))
    return name
