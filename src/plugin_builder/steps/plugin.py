"""Step: build plugin targets out of tree, against the host's own module.

A plugin is its own Go module. It is built in a generated workspace (go.work) that
``use``s the plugin and the host module, so the host's packages and every module both
need resolve to the very versions the host was built with, under the same version
label. The user's go.mod and go.sum are never edited; the go.work lives in the
combination's scratch folder.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from plugin_builder.artifacts import ArtifactStore, tree_digest
from plugin_builder.backends import BuildEnvironment
from plugin_builder.config import Config, PluginTarget
from plugin_builder.files import write_atomically
from plugin_builder.gomod import read_gomod
from plugin_builder.log import Log
from plugin_builder.steps.gobuild import (
    OUTPUT,
    GoBuild,
    Outcome,
    build_env,
    go_build,
    shared_flags,
)


def plugin_path(config: Config, target: PluginTarget) -> str:
    return f"plugins/{config.plugin_types[target.type].file_name(target.name)}"


def build_plugins(config: Config, environment: BuildEnvironment, store: ArtifactStore,
                  targets: Sequence[PluginTarget], log: Log) -> dict[PluginTarget, Outcome]:
    """Each target's plugin, by target."""
    builds = plan(config, environment, store, targets)
    return {target: go_build(environment, store, build, log)
            for target, build in zip(targets, builds, strict=True)}


def plan(config: Config, environment: BuildEnvironment, store: ArtifactStore,
         targets: Sequence[PluginTarget]) -> list[GoBuild]:
    """The go builds of these targets; writes each target's generated go.work."""
    host_digest = tree_digest(config.host.module)
    return [_plugin_build(config, environment, store, target, host_digest)
            for target in targets]


def workspace(config: Config, environment: BuildEnvironment, target: PluginTarget) -> str:
    """The go.work a plugin is built in: host and plugin as main modules.

    ``use`` alone is not enough: Go still reads the go.mod of the host version the
    plugin requires (golang/go#66516), so that exact version is replaced by the folder.
    """
    host = read_gomod(config.host.module).module
    required = read_gomod(target.source).required_version(host)
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
    path = folder / "go.work"
    if path.is_file() and path.read_text() == text:
        return path  # rewriting would only race with a concurrent build of this target
    return write_atomically(path, text)
