"""A stand-in loader for hosts that have no plugin check command of their own.

It is built with the host's exact Go release, libc and fingerprint-relevant settings,
through the same build path as every other binary (a GoBuild landed in the
combination's artifact folder, skipped when up to date), so it loads a plugin exactly
as far as the host's runtime and standard library would. It cannot see the host's own
modules; the static analysis compares those.
"""

from __future__ import annotations

from pathlib import Path

from plugin_builder.artifacts import ArtifactStore
from plugin_builder.backends import BuildEnvironment
from plugin_builder.buildinfo import BuildInfo
from plugin_builder.files import digest, write_atomically
from plugin_builder.goenv import fingerprint_flags
from plugin_builder.log import Log
from plugin_builder.steps.gobuild import OUTPUT, GoBuild, build_env, go_build
from plugin_builder.verify import Contract

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
GO_MOD = "module plugin-builder.dev/loader\n"


def loader_argv(environment: BuildEnvironment, store: ArtifactStore, host: BuildInfo,
                plugin: Path, contract: Contract, log: Log) -> list[str]:
    """The command that loads ``plugin`` as a host built like ``host`` would."""
    outcome = go_build(environment, store, plan(environment, store, host), log)
    return [str(outcome.path), str(plugin), *contract.symbols]


def plan(environment: BuildEnvironment, store: ArtifactStore, host: BuildInfo) -> GoBuild:
    """The loader's build, with the host's fingerprint flags, from generated sources."""
    flags = fingerprint_flags(trimpath=host.trimpath, tags=host.tags)
    name = digest(LOADER_SOURCE, flags)[:16]
    folder = _sources(store.scratch / "loaders" / name)
    return GoBuild(
        relative=f"loaders/loader-{name}",
        argv=[environment.go, "build", *flags, "-o", OUTPUT, "."],
        cwd=folder,
        env=build_env(environment, gowork="off"),
        digest_parts={"source": LOADER_SOURCE},
        entry={"kind": "loader"},
    )


def _sources(folder: Path) -> Path:
    for name, text in (("go.mod", GO_MOD), ("main.go", LOADER_SOURCE)):
        path = folder / name
        if not path.is_file() or path.read_text() != text:
            write_atomically(path, text)
    return folder
