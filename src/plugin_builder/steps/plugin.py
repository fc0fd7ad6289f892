"""Step: build plugin targets with the host's exact settings and module graph.

Two shapes, as real hosts have them:

- **In tree** (a `package main` folder inside the host module, no go.mod of its own, as
  Dragonfly's builder expects): built in the host's module, exactly like a service, so
  its module graph is the host's by construction.
- **Out of tree** (the plugin is its own module): built in a generated workspace that
  ``use``s the host module and the plugin, so the host's packages keep the host's own
  version label, and that pins every other module of the host's build list to the very
  version (and replacement) the host was built with. Minimum version selection over
  the workspace never decides a shared module. When the plugin requires a newer version
  of a shared module than the host has, the build is refused before compiling.

The user's go.mod, go.sum and go.work are never edited; generated files live in the
combination's scratch folder.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from plugin_builder.artifacts import ArtifactStore
from plugin_builder.backends import BuildEnvironment
from plugin_builder.config import Config, PluginTarget
from plugin_builder.errors import BuildError, ModuleGraphError
from plugin_builder.files import digest, sha256_file, write_atomically
from plugin_builder.golang import gojson
from plugin_builder.golang.gomod import Replace, parse_gowork, read_gomod
from plugin_builder.golang.semver import newer
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


@dataclass(frozen=True)
class HostModule:
    """One module of the host's build list, as `go list -m -json all` reports it."""

    path: str
    version: str
    replace: Replace | None = None
    main: bool = False


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
    modules = host_build_list(job.config, environment, job.store) \
        if any(not t.in_tree for t in targets) else {}
    for target in targets:
        try:
            build = _plugin_build(job.config, environment, job.store, target, modules)
            job.plugins[target] = go_build(environment, job.store, build, job.log)
        except (BuildError, ModuleGraphError) as error:
            if not job.request.keep_going:
                raise
            job.log(f"not built: {target.id}: {error.message}")
            job.unbuilt[target] = error


def plan(config: Config, environment: BuildEnvironment, store: ArtifactStore,
         targets: Sequence[PluginTarget]) -> list[GoBuild]:
    """The go builds of these targets; writes each out-of-tree target's go.work."""
    modules = host_build_list(config, environment, store) \
        if any(not t.in_tree for t in targets) else {}
    return [_plugin_build(config, environment, store, target, modules) for target in targets]


def _plugin_build(config: Config, environment: BuildEnvironment, store: ArtifactStore,
                  target: PluginTarget, modules: Mapping[str, HostModule]) -> GoBuild:
    if target.in_tree:
        gowork, generated = host_gowork(config.host), ""
    else:
        generated = workspace(config, environment, target, modules)
        # Named by content: two configs building one target never clobber each other's.
        folder = store.scratch / f"{target.type}-{target.name}-{digest(generated)[:12]}"
        gowork = str(_write_gowork(folder, generated))
    values = stamp_values(config, environment.combination, target.source, target=target)
    words = stamp_words(target.stamp, values)
    ldflags = ["-ldflags", ldflags_value(words)] if words else []
    return GoBuild(
        relative=plugin_path(config, target),
        argv=[environment.go, "build", "-buildmode=plugin", *shared_flags(config.host),
              *ldflags, "-o", OUTPUT, "--", "."],
        cwd=target.source,
        env=build_env(environment, gowork=gowork),
        digest_parts={"go.work": generated},
        entry={"kind": "plugin", "type": target.type, "name": target.name,
               "in_tree": target.in_tree},
        project=config.root,
    )


# -- the workspace of an out-of-tree plugin -----------------------------------------------


def workspace(config: Config, environment: BuildEnvironment, target: PluginTarget,
              modules: Mapping[str, HostModule]) -> str:
    """The go.work a plugin is built in: host and plugin as main modules, the host's
    build list pinned.

    ``use`` alone is not enough: Go still reads the go.mod of the host version the
    plugin requires (golang/go#66516), so that exact version is replaced by the folder.
    """
    host = read_gomod(config.host.module)
    plugin = read_gomod(target.source)
    refuse_newer_requirements(target, plugin.requires, modules)
    uses = [config.host.module, *_host_workspace_uses(config), target.source]
    lines = [f"go {environment.combination.go}", "", "use ("]
    lines += [f"\t{json.dumps(str(folder))}" for folder in dict.fromkeys(uses)]
    lines += [")", ""]
    required = plugin.required_version(host.module)
    if required:
        lines.append(f"replace {host.module} {required} => {json.dumps(str(config.host.module))}")
    lines += [_pin(module) for module in modules.values() if not module.main]
    return "\n".join(lines) + "\n"


def _pin(module: HostModule) -> str:
    """A replace line that fixes a module at exactly what the host was built with."""
    target = module.replace
    if target is None:
        return f"replace {module.path} => {module.path} {module.version}"
    if target.is_directory:
        return f"replace {module.path} => {json.dumps(target.target)}"
    return f"replace {module.path} => {target.target} {target.target_version}"


def refuse_newer_requirements(target: PluginTarget, requires: Sequence[tuple[str, str]],
                              modules: Mapping[str, HostModule]) -> None:
    """A plugin that needs a newer version of a module than the host has cannot share
    the host's copy of it: say so before compiling, with both ways out."""
    for path, wanted in requires:
        host = modules.get(path)
        if host is None or host.main or host.replace is not None:
            continue
        if newer(wanted, host.version):
            raise ModuleGraphError(
                f"plugin {target.id} requires {path} {wanted}, newer than the host's "
                f"{host.version}: a plugin must use the host's copy of every module both "
                f"contain; nothing was compiled",
                fix=f"pin the plugin lower (in {target.source}: go get {path}@{host.version}), "
                    f"or upgrade the host (go get {path}@{wanted} in its module) and rebuild it")


def _host_workspace_uses(config: Config) -> list[Path]:
    """The other modules of the host's own go.work, which its build list includes."""
    workspace_file = config.host.workspace
    if workspace_file is None:
        return []
    uses = parse_gowork(workspace_file.read_text(encoding="utf-8"), str(workspace_file)).uses
    return [(workspace_file.parent / use).resolve() for use in uses]


def _write_gowork(folder: Path, text: str) -> Path:
    path = folder / "go.work"
    if path.is_file() and path.read_text() == text:
        return path  # rewriting would only race with a concurrent build of this target
    return write_atomically(path, text)


# -- the host's build list ----------------------------------------------------------------


def host_build_list(config: Config, environment: BuildEnvironment,
                    store: ArtifactStore) -> dict[str, HostModule]:
    """Every module of the host's build list, read once per change of its module files."""
    key = digest(environment.identity, str(config.host.module), host_gowork(config.host),
                 [_content(path) for path in _host_module_files(config)])[:16]
    cached = store.scratch / f"host-modules-{key}.json"
    if cached.is_file():
        return _modules(json.loads(cached.read_text()))
    # -e: in a workspace host, a sibling required at an unpublished version (v0.0.0) has
    # no go.mod on the proxy; it is a main module here, which is all that matters.
    listed = environment.run([environment.go, "list", "-m", "-e", "-json", "all"],
                             cwd=config.host.module,
                             env=build_env(environment, gowork=host_gowork(config.host)))
    raw = list(gojson.objects(listed.stdout, "go list -m all")) if listed.returncode == 0 else []
    broken = [m for m in raw if m.get("Error") and not m.get("Main")]
    if listed.returncode != 0 or broken:
        why = "; ".join(f"{m['Path']}: {m['Error'].get('Err', m['Error'])}" for m in broken)
        raise BuildError("listing the host's modules (go list -m all)", why or listed.output,
                         fix="make `go list -m all` succeed in the host module (its go.mod "
                             "and go.sum name every module it needs)")
    write_atomically(cached, json.dumps(raw))
    return _modules(raw)


def _host_module_files(config: Config) -> Iterator[Path]:
    folders = [config.host.module, *_host_workspace_uses(config)]
    for folder in folders:
        yield from (folder / "go.mod", folder / "go.sum")
    if config.host.workspace is not None:
        yield config.host.workspace


def _content(path: Path) -> str:
    return sha256_file(path) if path.is_file() else ""


def _replacement(item: dict, replace: dict) -> Replace:
    # A directory replacement is written relative to the host's go.mod; Dir is absolute,
    # which the generated go.work (in another folder) needs.
    target = replace["Path"] if replace.get("Version") else replace.get("Dir", replace["Path"])
    return Replace(item["Path"], item.get("Version"), target, replace.get("Version"))


def _modules(raw: list[dict]) -> dict[str, HostModule]:
    modules = {}
    for item in raw:
        replace = item.get("Replace")
        modules[item["Path"]] = HostModule(
            path=item["Path"], version=item.get("Version", ""), main=bool(item.get("Main")),
            replace=_replacement(item, replace) if replace else None)
    return modules
