"""The exact Go of a combination, at hand: `plugin-builder go -- ARGS` and `plugin-builder env`.

A plugin author needs no Go on the PATH (the tool provisions its own), yet `go mod tidy`,
`go get` and `go test` must run with the very release, C compiler and settings the
plugin is built with, or they resolve other versions and test another build. So:

    plugin-builder go --go 1.27.3 --libc musl -- mod tidy     the combination's go, here
    eval "$(plugin-builder env)"; go version                   the same, in this shell

The environment is the one every build of the local backend starts from
(:func:`plugin_builder.golang.goenv.toolchain_env`: this machine's Go variables dropped
but for how modules are fetched and where caches live; ``GOTOOLCHAIN=local``,
``GOENV=off``), plus the combination's ``GOROOT``, ``CC``, ``CGO_ENABLED=1``, ``GOOS`` and
``GOARCH``, and its ``bin`` first on the PATH. ``GOWORK`` passes through, so a fix can
name the workspace a plugin is built in. The ``go`` is the real binary in the
toolchain's GOROOT, never a wrapper.
"""

from __future__ import annotations

import os
import shlex
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from plugin_builder.combination import Combination
from plugin_builder.config import Config
from plugin_builder.errors import ToolchainError, UsageError
from plugin_builder.golang.goenv import toolchain_env
from plugin_builder.log import Log
from plugin_builder.selection import Choice

SHELLS = ("sh", "fish")  # sh: also bash, zsh, dash, ksh
PASSED_THROUGH = ("GOWORK",)  # besides toolchain_env's: a fix names the build's workspace


@dataclass(frozen=True)
class GoAtHand:
    """One combination's go, and the environment it runs in."""

    combination: Combination
    go: Path
    settings: dict[str, str]  # what is set on top of this machine's environment
    dropped: tuple[str, ...]  # this machine's variables the go command must not see

    @property
    def env(self) -> dict[str, str]:
        """The complete environment of the go command."""
        return {**toolchain_env(), **{k: os.environ[k] for k in PASSED_THROUGH
                                      if k in os.environ}, **self.settings}


def at_hand(config: Config, choice: Choice, log: Log) -> GoAtHand:
    """The go of the chosen combination (one), provisioned on first use."""
    from plugin_builder.backends.local import LocalBackend

    if choice.every:
        raise UsageError("--all: the go command runs with one combination's toolchain",
                         fix="choose one with --go, --libc and --arch (default: "
                             "matrix.default's)")
    [combination] = choice.resolve(config)
    environment = LocalBackend(config).prepare(combination, log)
    go = Path(environment.go)
    bin_dir = go.parent
    settings = {"GOROOT": str(bin_dir.parent), "GOTOOLCHAIN": "local", "GOENV": "off",
                "CGO_ENABLED": "1", "CC": environment.cc, "GOOS": "linux",
                "GOARCH": combination.arch,
                "PATH": os.pathsep.join([str(bin_dir), os.environ.get("PATH", "")])}
    kept = {**toolchain_env(), **settings}
    dropped = tuple(sorted(k for k in os.environ
                           if k not in kept and k not in PASSED_THROUGH))
    return GoAtHand(combination, go, settings, dropped)


def run(hand: GoAtHand, args: Sequence[str]) -> int:
    """Run the combination's go with ``args`` here; its exit code."""
    if not args:
        raise UsageError("no go command given: its arguments follow --",
                         fix="plugin-builder go -- version (or -- mod tidy, -- test ./...)")
    try:
        return subprocess.run([str(hand.go), *args], env=hand.env, check=False).returncode
    except OSError as error:
        raise ToolchainError(f"{hand.go} could not be started: {error.strerror or error}",
                             fix=f"run plugin-builder doctor; deleting {hand.go.parents[2]} "
                                 "provisions it again") from None


def require_shell(shell: str) -> None:
    if shell not in SHELLS:
        raise UsageError(f"--shell {shell}: not a shell this knows",
                         fix=f"use --shell {' or --shell '.join(SHELLS)} (sh also serves "
                             "bash, zsh and dash)")


def exports(hand: GoAtHand, shell: str = "sh") -> str:
    """The shell lines that give a shell this go and its environment (for eval)."""
    require_shell(shell)
    lines = [f"# plugin-builder env: go{hand.combination.go} of {hand.combination.id}"]
    for name in hand.dropped:
        lines.append(f"set -e {name};" if shell == "fish" else f"unset {name}")
    for name, value in hand.settings.items():
        if name == "PATH":
            first = shlex.quote(str(hand.go.parent))
            lines.append(f"set -gx PATH {first} $PATH;" if shell == "fish"
                         else f'export PATH={first}:"$PATH"')
        else:
            lines.append(f"set -gx {name} {shlex.quote(value)};" if shell == "fish"
                         else f"export {name}={shlex.quote(value)}")
    return "\n".join(lines) + "\n"
