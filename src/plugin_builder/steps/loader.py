"""A stand-in loader for hosts that have no plugin check command of their own.

It is built with the host's exact Go release, libc and fingerprint-relevant settings,
through the same build path as every other binary (a GoBuild landed in the
combination's artifact folder, skipped when up to date), so it loads a plugin exactly
as far as the host's runtime and standard library would. It cannot see the host's own
modules; the static analysis compares those.
"""

from __future__ import annotations

import json
from pathlib import Path

from plugin_builder.artifacts import ArtifactStore
from plugin_builder.backends import BuildEnvironment
from plugin_builder.binary.buildinfo import BuildInfo
from plugin_builder.files import digest, write_atomically
from plugin_builder.golang.goenv import fingerprint_flags
from plugin_builder.log import Log
from plugin_builder.steps.gobuild import OUTPUT, GoBuild, build_env, go_build
from plugin_builder.verify import Contract

LOADER_HEAD = """\
// A stand-in for a host that has no check command: it loads one plugin and asserts each
// symbol the host looks up to the very type the host asserts it to. Exit 1 with the
// first difference, worded as the reference host words it ("check-plugin: plugin P:
// STEP: ...") so the verifier reads it the same way.
package main

import (
	"fmt"
	"os"
	"plugin"
%s)

var path string

func fail(step, format string, args ...any) {
	why := fmt.Sprintf(format, args...)
	fmt.Fprintf(os.Stderr, "check-plugin: plugin %%s: %%s: %%s\\n", path, step, why)
	os.Exit(1)
}

func lookup(p *plugin.Plugin, name string, required bool) (plugin.Symbol, bool) {
	s, err := p.Lookup(name)
	if err != nil {
		if required {
			fail("lookup", "%%v", err)
		}
		return nil, false
	}
	return s, true
}

func main() {
	path = os.Args[1]
	p, err := plugin.Open(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "check-plugin:", err)
		os.Exit(1)
	}
"""
LOADER_TAIL = """\
\tfmt.Println("ok: loaded", path)
}
"""
GO_MOD = "module plugin-builder.dev/loader\n\ngo 1.21\n"  # any: needs generics-era syntax


def loader_argv(environment: BuildEnvironment, store: ArtifactStore, host: BuildInfo,
                plugin: Path, contract: Contract, log: Log) -> list[str]:
    """The command that loads ``plugin`` as a host built like ``host`` would."""
    outcome = go_build(environment, store, plan(environment, store, host, contract), log)
    return [str(outcome.path), str(plugin)]


def plan(environment: BuildEnvironment, store: ArtifactStore, host: BuildInfo,
         contract: Contract) -> GoBuild:
    """The loader's build, with the host's fingerprint flags, from generated sources."""
    flags = fingerprint_flags(trimpath=host.trimpath, tags=host.tags)
    source = loader_source(contract)
    name = digest(source, flags)[:16]
    folder = _sources(store.scratch / "loaders" / name, source)
    return GoBuild(
        relative=f"loaders/loader-{name}",
        argv=[environment.go, "build", *flags, "-o", OUTPUT, "."],
        cwd=folder,
        env=build_env(environment, gowork="off"),
        digest_parts={"source": source},
        entry={"kind": "loader", "contract": contract.plugin_type},
        project=store.folder,  # generated there: its sources move with the artifacts
    )


def loader_source(contract: Contract) -> str:
    """main.go of the loader for this contract: one lookup (and assertion) per symbol."""
    imports = "".join(f"\t{json.dumps(package)}\n" for package in contract.imports)
    checks = [_check(symbol, contract.type_of(symbol), required=True)
              for symbol in contract.symbols]
    checks += [_check(symbol, contract.type_of(symbol), required=False)
               for symbol in contract.optional]
    return LOADER_HEAD % imports + "".join(checks) + LOADER_TAIL


def _check(symbol: str, go_type: str | None, *, required: bool) -> str:
    """Go statements that look ``symbol`` up and assert it as the host does."""
    name = json.dumps(symbol)
    if go_type is None:
        return f"\tlookup(p, {name}, {str(required).lower()})\n"
    return (f"\tif s, found := lookup(p, {name}, {str(required).lower()}); found {{\n"
            f"\t\tif _, ok := s.({go_type}); !ok {{\n"
            f"\t\t\tfail(\"signature\", \"symbol %s is %T; the host asserts %s\", {name}, s, "
            f"{json.dumps(go_type)})\n"
            f"\t\t}}\n\t}}\n")


def _sources(folder: Path, source: str) -> Path:
    for name, text in (("go.mod", GO_MOD), ("main.go", source)):
        path = folder / name
        if not path.is_file() or path.read_text() != text:
            write_atomically(path, text)
    return folder
