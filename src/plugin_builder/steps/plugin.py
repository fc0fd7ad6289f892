"""Step: build plugin targets with the host's exact settings and module graph.

Two shapes, as real hosts have them:

- **In tree** (a `package main` folder inside the host module, no go.mod of its own, as
  Dragonfly's builder expects): built in the host's module, exactly like a service, so
  its module graph is the host's by construction.
- **Out of tree** (the plugin is its own module): built in a generated workspace of the
  host module (or the host's workspace) and the plugin, where Go selects the plugin's
  build list from the host's own requirements and replacements; before compiling, every
  module the plugin links is checked against the host's build list
  (:mod:`plugin_builder.steps.plugin_workspace`).

The user's go.mod, go.sum and go.work are never edited; generated files live in the
combination's scratch folder.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

from plugin_builder.artifacts import ArtifactStore
from plugin_builder.backends import BuildEnvironment, PlannedEnvironment
from plugin_builder.config import Config, PluginTarget
from plugin_builder.errors import BuildError, ModuleGraphError
from plugin_builder.files import digest
from plugin_builder.released import workspace as released_workspace
from plugin_builder.released.source import recipe_of
from plugin_builder.steps.gobuild import (
    OUTPUT,
    GoBuild,
    Outcome,
    build_env,
    existing,
    go_build,
    ldflags_value,
    shared_flags,
    stamp_values,
    stamp_words,
)
from plugin_builder.steps.host import host_gowork
from plugin_builder.steps.job import Job
from plugin_builder.steps.plugin_workspace import (
    check_before_compiling,
    host_modules_digest,
    workspace,
    write_workspace,
)


def plugin_path(config: Config, target: PluginTarget) -> str:
    return f"plugins/{config.plugin_types[target.type].file_name(target.name)}"


def run(job: Job) -> list[Outcome]:
    """The plugin of each target the job asks for: built when not up to date, or (a
    static verify) taken as it is unless it was never built.

    With ``keep_going`` (verify), a target that cannot be built is set aside in
    ``job.unbuilt`` and the others are still built and verified; otherwise the first
    failure ends the step.
    """
    missing = [t for t in job.request.plugins
               if not job.store.path(plugin_path(job.config, t)).is_file()]
    to_build = list(job.request.plugins) if job.request.build else missing
    for target in job.request.plugins:
        if target not in to_build:
            job.plugins[target] = existing(job.store, plugin_path(job.config, target),
                                           job.config.root)
    if to_build:
        _build_each(job, to_build)
    return list(job.plugins.values())


def _build_each(job: Job, targets: Sequence[PluginTarget]) -> None:
    environment = job.prepared()
    for target in targets:
        try:
            build = _plugin_build(job.config, environment, job.store, target)
            job.plugins[target] = go_build(environment, job.store, build, job.log)
        except (BuildError, ModuleGraphError) as error:
            if not job.request.keep_going:
                raise
            job.log(f"not built: {target.id}: {error.message}")
            job.unbuilt[target] = error


def plan(config: Config, environment: BuildEnvironment, store: ArtifactStore,
         targets: Sequence[PluginTarget]) -> list[GoBuild]:
    """The go builds of these targets; writes each out-of-tree target's go.work."""
    return [_plugin_build(config, environment, store, target) for target in targets]


def _plugin_build(config: Config, environment: BuildEnvironment, store: ArtifactStore,
                  target: PluginTarget) -> GoBuild:
    """The target's go build; an out-of-tree target's go.work is written (a dry run, which
    writes nothing, only names where it would be)."""
    flags, extra_env = shared_flags(config.host), {}
    if config.host.released:
        recipe = recipe_of(config, store)
        flags, extra_env = recipe.flags, dict(recipe.env)
        generated = released_workspace.gowork(recipe, environment.combination.go,
                                              target.source)
        folder = store.scratch / f"{target.type}-{target.name}-{digest(generated)[:12]}"
        gowork = str(folder / "go.work" if isinstance(environment, PlannedEnvironment)
                     else write_workspace(config, folder, generated))
        if not isinstance(environment, PlannedEnvironment):
            released_workspace.write_sums(folder, recipe)
        host_modules = recipe.sha256
    elif target.in_tree:
        gowork, generated, host_modules = host_gowork(config.host), "", ""
    else:
        generated = workspace(config, environment, target)
        # Named by content: two configs building one target never clobber each other's.
        folder = store.scratch / f"{target.type}-{target.name}-{digest(generated)[:12]}"
        gowork = str(folder / "go.work" if isinstance(environment, PlannedEnvironment)
                     else write_workspace(config, folder, generated))
        # The go.work names no versions: the host's module files decide them.
        host_modules = host_modules_digest(config)
    values = stamp_values(config, environment.combination, target.source, target=target)
    words = stamp_words(target.stamp, values)
    ldflags = ["-ldflags", ldflags_value(words)] if words else []
    return GoBuild(
        relative=plugin_path(config, target),
        argv=[environment.go, "build", "-buildmode=plugin", *flags,
              *ldflags, "-o", OUTPUT, "--", "."],
        cwd=target.source,
        env={**build_env(environment, gowork=gowork), **extra_env},
        digest_parts={"go.work": generated, "host modules": host_modules},
        entry={"kind": "plugin", "type": target.type, "name": target.name,
               "in_tree": target.in_tree},
        check=partial(check_before_compiling, config, environment, store, target),
        project=config.root,
    )
