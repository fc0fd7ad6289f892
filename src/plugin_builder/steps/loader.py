"""A stand-in loader for hosts that have no plugin check command of their own.

It is built with the host's exact Go release, libc and fingerprint-relevant settings,
so it loads a plugin exactly as far as the host's runtime and standard library would.
It cannot see the host's own modules; the static analysis compares those.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

from filelock import FileLock

from plugin_builder.artifacts import inputs_digest
from plugin_builder.backends import Log
from plugin_builder.config import Config
from plugin_builder.errors import BuildError, UsageError
from plugin_builder.toolchains import c_compiler, go_toolchain, toolchain_env
from plugin_builder.verify import Contract, Side

LOADER_SOURCE = """\
// Loads one plugin and looks up the symbols its host needs; exit 1 with the loader's error.
package main

import (
	"fmt"
	"os"
	"plugin"
)

func main() {
	p, err := plugin.Open(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "check-plugin:", err)
		os.Exit(1)
	}
	for _, name := range os.Args[2:] {
		if _, err := p.Lookup(name); err != nil {
			fmt.Fprintln(os.Stderr, "check-plugin:", err)
			os.Exit(1)
		}
	}
	fmt.Println("ok: loaded", os.Args[1])
}
"""


def loader_check_argv(config: Config, host: Side, plugin: Path, contract: Contract,
                      log: Log) -> list[str]:
    return [str(build_loader(config, host, log)), str(plugin), *contract.symbols]


def build_loader(config: Config, host: Side, log: Log) -> Path:
    """The loader for this host's settings, built once and cached by those settings."""
    info = host.buildinfo
    if info is None:
        raise UsageError(f"{host.path} has no Go build info, so no loader can match it",
                         fix="give the service a check command in buildconfig.toml")
    version = info.base_go_version.removeprefix("go")
    libc = config.libcs.get(host.elf.libc or "")
    if libc is None:
        raise UsageError(f"{host.path}: libc {host.elf.libc!r} has no [libc] table",
                         fix="declare it in buildconfig.toml")
    flags = ["-trimpath"] if info.trimpath else []
    if info.tags:
        flags.append("-tags=" + ",".join(info.tags))
    env = {**toolchain_env(), "CGO_ENABLED": "1", "CC": str(c_compiler(libc).path),
           "GOARCH": host.elf.goarch or "amd64", "GOFLAGS": "-buildvcs=false", "GOWORK": "off"}
    folder = config.toolchain_cache.parent / "loaders" / inputs_digest(version, libc.name, flags,
                                                                       env["GOARCH"])[:16]
    loader = folder / "loader"
    if loader.is_file():
        return loader
    folder.mkdir(parents=True, exist_ok=True)
    with FileLock(str(folder / ".lock")):
        if not loader.is_file():
            log(f"building a go{version} {libc.name} loader for {host.path}")
            _compile(go_toolchain(version, config.toolchain_cache, log=log).go, flags, env,
                     folder, loader)
    return loader


def _compile(go: Path, flags: list[str], env: dict[str, str], folder: Path,
             loader: Path) -> None:
    with tempfile.TemporaryDirectory(dir=folder) as scratch:
        (Path(scratch) / "go.mod").write_text("module plugin-builder.dev/loader\n")
        (Path(scratch) / "main.go").write_text(LOADER_SOURCE)
        staged = Path(scratch) / "loader"
        run = subprocess.run([str(go), "build", *flags, "-o", str(staged), "."], cwd=scratch,
                             env=env, capture_output=True, text=True, check=False)
        if run.returncode != 0:
            raise BuildError("building the stand-in loader", run.stdout + run.stderr)
        os.replace(staged, loader)
