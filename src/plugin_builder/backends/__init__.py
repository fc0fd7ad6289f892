"""Where build commands run.

Steps build the same argv and environment whatever the backend; a backend only decides
where that command executes (a local process, or a container of the builder image) and
which go and C compiler it finds there. Local and docker never hold two copies of the
build logic.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from plugin_builder.combination import Combination
from plugin_builder.config import Config
from plugin_builder.errors import UsageError


@dataclass(frozen=True)
class RunResult:
    returncode: int
    output: str  # stdout and stderr, interleaved as the command wrote them


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
        """The C compiler for the combination's libc."""
        ...

    @property
    def identity(self) -> Mapping[str, str]:
        """What identifies the toolchain: part of every input digest."""
        ...

    def run(self, argv: Sequence[str], *, cwd: Path, env: Mapping[str, str]) -> RunResult:
        """Run argv to completion; the environment is the complete one for the build."""
        ...

    def base_env(self) -> dict[str, str]:
        """The environment a go command starts from on this backend (PATH, HOME, caches)."""
        ...


class Backend(Protocol):
    name: str

    def environment(self, combination: Combination) -> BuildEnvironment: ...


Log = Callable[[str], None]


def backend_for(config: Config, name: str | None, log: Log) -> Backend:
    name = backend_name(config, name)
    if name == "local":
        from plugin_builder.backends.local import LocalBackend

        return LocalBackend(config, log)
    if name == "docker":
        from plugin_builder.backends.docker import DockerBackend

        return DockerBackend(config, log)
    raise AssertionError(name)  # backend_name() let through a backend without a class


def backend_name(config: Config, name: str | None) -> str:
    """--backend, else project.backend; an unknown --backend is a UsageError."""
    from plugin_builder.config import BACKENDS

    name = name or config.backend
    if name not in BACKENDS:
        raise UsageError(f"--backend {name}: no such backend", fix="use --backend local or docker")
    return name
