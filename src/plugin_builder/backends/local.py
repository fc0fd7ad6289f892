"""The local backend: build commands are processes on this machine."""

from __future__ import annotations

import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from plugin_builder.backends import Log, RunResult
from plugin_builder.combination import Combination
from plugin_builder.config import Config
from plugin_builder.toolchains import c_compiler, go_toolchain, toolchain_env


@dataclass(frozen=True)
class LocalEnvironment:
    combination: Combination
    go: str
    cc: str
    identity: Mapping[str, str] = field(default_factory=dict)

    def run(self, argv: Sequence[str], *, cwd: Path, env: Mapping[str, str]) -> RunResult:
        done = subprocess.run(list(argv), cwd=cwd, env=dict(env), stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, check=False)
        return RunResult(done.returncode, done.stdout)

    def base_env(self) -> dict[str, str]:
        return toolchain_env()


class LocalBackend:
    name = "local"

    def __init__(self, config: Config, log: Log) -> None:
        self.config = config
        self.log = log

    def environment(self, combination: Combination) -> LocalEnvironment:
        toolchain = go_toolchain(combination.go, self.config.toolchain_cache, log=self.log)
        compiler = c_compiler(self.config.libcs[combination.libc])
        return LocalEnvironment(
            combination=combination,
            go=str(toolchain.go),
            cc=str(compiler.path),
            identity={"go": f"go{toolchain.version}", "cc": compiler.identity},
        )
