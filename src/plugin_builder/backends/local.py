"""The local backend: build commands are processes on this machine."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from plugin_builder import processes
from plugin_builder.artifacts import ArtifactStore
from plugin_builder.backends import RunResult
from plugin_builder.combination import Combination
from plugin_builder.config import Config
from plugin_builder.emulation import native_arch
from plugin_builder.log import Log

if TYPE_CHECKING:
    from plugin_builder.backends.ccompiler import CCompiler


@dataclass(frozen=True)
class LocalEnvironment:
    combination: Combination
    go: str
    cc: str
    identity: Mapping[str, str] = field(default_factory=dict)
    # Where go's $WORK and the C compiler's temporary files go (None: the system's).
    temporary: Path | None = None

    def run(self, argv: Sequence[str], *, cwd: Path, env: Mapping[str, str],
            on_stderr: Callable[[str], None] | None = None) -> RunResult:
        if self.temporary is None:
            return RunResult(*processes.capture(argv, cwd=cwd, env=env, on_stderr=on_stderr,
                                                memory=processes.memory_bound()))
        # Go's $WORK and the C compiler's temporary files: in the scratch folder, not
        # in /tmp. How a command runs here, not part of the planned build's environment.
        self.temporary.mkdir(parents=True, exist_ok=True)
        env = {**env, "GOTMPDIR": str(self.temporary), "TMPDIR": str(self.temporary)}
        try:
            return RunResult(*processes.capture(argv, cwd=cwd, env=env, on_stderr=on_stderr,
                                                memory=processes.memory_bound()))
        finally:
            # Empty after a command that ended; what one interrupted left (its processes
            # all ended with it) goes too. Only a SIGKILL of ours leaves it, for the
            # next run's sweep.
            shutil.rmtree(self.temporary, ignore_errors=True)

    def base_env(self) -> dict[str, str]:
        from plugin_builder.golang import toolchains  # see LocalBackend.prepare

        return toolchains.toolchain_env()


class LocalBackend:
    name = "local"
    prepare_step = "toolchain"
    makes_images = False

    def __init__(self, config: Config) -> None:
        self.config = config

    def prepare(self, combination: Combination, log: Log) -> LocalEnvironment:
        # Imported here: the toolchain code (and the module proxy client behind it) is
        # needed only by commands that build, not by `verify --static-only` or `report`.
        from plugin_builder.backends.ccompiler import c_compiler
        from plugin_builder.golang.toolchains import go_toolchain

        toolchain = go_toolchain(combination.go, self.config.toolchain_cache, log=log)
        # The libc's compiler for the combination's arch: a cross compiler for another arch
        # ([libc.<name>.arch.<arch>]); Go cross-compiles with GOARCH (steps.gobuild).
        compiler = c_compiler(self.config.libcs[combination.libc], combination.arch)
        return LocalEnvironment(
            combination=combination,
            go=str(toolchain.go),
            cc=str(compiler.path),
            identity=_identity(toolchain.version, compiler),
            temporary=ArtifactStore(self.config.artifacts, combination).temporary_folder(),
        )


def _identity(go_version: str, compiler: CCompiler) -> dict[str, str]:
    """What identifies the toolchain in every artifact's inputs. A cross compiler is also
    named by its command: two wrappers of one cross gcc (aarch64-linux-gnu-gcc and
    aarch64-linux-musl-gcc) print the same version line."""
    identity = {"go": f"go{go_version}", "cc": compiler.identity}
    if compiler.arch != native_arch():
        identity["cc_command"] = compiler.command
    return identity
