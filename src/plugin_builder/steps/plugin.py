"""Step: build plugin targets out of tree, against the host's own module.

A plugin is its own Go module. It is built in a generated workspace (go.work) that
``use``s the plugin and the host module, so the host's packages and every module both
need resolve to the very versions the host was built with, under the same version
label. The user's go.mod and go.sum are never edited; the go.work lives in the
combination's scratch folder.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from plugin_builder.artifacts import ArtifactStore, tree_digest
from plugin_builder.backends import BuildEnvironment, Log
from plugin_builder.config import Config, PluginTarget
from plugin_builder.gomod import read_gomod
from plugin_builder.steps.gobuild import (
    OUTPUT,
    GoBuild,
    Outcome,
    build_env,
    go_build,
    local_go,
    shared_flags,
)


def plugin_path(config: Config, target: PluginTarget) -> str:
    return f"plugins/{config.plugin_types[target.type].file_name(target.name)}"


def build_plugins(config: Config, environment: BuildEnvironment, targets: list[PluginTarget],
                  log: Log) -> list[Outcome]:
    store = ArtifactStore(config.artifacts, environment.combination)
    return [go_build(environment, store, build, log)
            for build in plan(config, environment, targets)]


def plan(config: Config, environment: BuildEnvironment,
         targets: list[PluginTarget]) -> list[GoBuild]:
    """The go builds of these targets; writes each target's generated go.work."""
    store = ArtifactStore(config.artifacts, environment.combination)
    host_digest = tree_digest(config.host.module)
    return [_plugin_build(config, environment, store, target, host_digest)
            for target in targets]


def workspace(config: Config, environment: BuildEnvironment, target: PluginTarget) -> str:
    """The go.work a plugin is built in: host and plugin as main modules.

    ``use`` alone is not enough: Go still reads the go.mod of the host version the
    plugin requires (golang/go#66516), so that exact version is replaced by the folder.
    """
    go = local_go(environment)
    host = read_gomod(config.host.module, go).module
    required = read_gomod(target.source, go).required_version(host)
    text = (f"go {environment.combination.go}\n\n"
            f"use (\n\t{config.host.module}\n\t{target.source}\n)\n")
    if required:
        text += f"\nreplace {host} {required} => {config.host.module}\n"
    return text


def _plugin_build(config: Config, environment: BuildEnvironment, store: ArtifactStore,
                  target: PluginTarget, host_digest: str) -> GoBuild:
    gowork_text = workspace(config, environment, target)
    gowork = _write_gowork(store.scratch / f"{target.type}-{target.name}", gowork_text)
    return GoBuild(
        relative=plugin_path(config, target),
        argv=[environment.go, "build", "-buildmode=plugin", *shared_flags(config.host),
              "-o", OUTPUT, "."],
        cwd=target.source,
        env=build_env(environment, gowork=str(gowork)),
        digest_parts={"plugin": tree_digest(target.source), "host": host_digest,
                      "go.work": gowork_text},
        entry={"kind": "plugin", "type": target.type, "name": target.name},
    )


def _write_gowork(folder: Path, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "go.work"
    if path.is_file() and path.read_text() == text:
        return path  # rewriting would only race with a concurrent build of this target
    handle, name = tempfile.mkstemp(prefix=".go.work.", dir=folder)
    with os.fdopen(handle, "w") as stream:
        stream.write(text)
    os.replace(name, path)
    return path
