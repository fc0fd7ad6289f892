"""The workspace an out-of-tree plugin is built in, and what is checked before compiling.

The generated go.work ``use``s the host module (with a workspace host: every module of
the host's go.work, and its ``replace`` lines) and the plugin, as Tyk's own plugin
compiler does. Nothing is pinned: Go's minimum version selection over the workspace
computes the plugin's build list from the host's own requirements and replacements, so
every module the plugin shares with the host is the host's unless the plugin's
requirements pull one higher. Pinning it back with a ``replace`` would not do: under
``-trimpath`` the selected version is recorded in every package's fingerprint
(``otel v1.24.0 => v1.19.0`` is not ``otel v1.19.0``, though the code is the same).

So before compiling, the modules the plugin links (``go list -deps`` in the workspace,
what ``go version -m`` records once it is built) are compared with the host's build
list: the same version, the same replacement. A module that differs is refused with the
requirement chain that pulls the plugin's version up (``go mod graph``) and the command
that fixes it. A go line newer than the combination's Go and godebug settings it does
not know are refused the same way, in words of their own instead of Go's.

Generated files live in the combination's scratch folder; the user's go.mod, go.sum and
go.work are never edited (a workspace's go.work.sum lands beside the generated go.work).
"""

from __future__ import annotations

import dataclasses
import json
import re
import shlex
from collections.abc import Iterator, Sequence
from pathlib import Path

from plugin_builder.artifacts import ArtifactStore
from plugin_builder.backends import BuildEnvironment
from plugin_builder.config import Config, PluginTarget
from plugin_builder.errors import BuildError, ModuleGraphError
from plugin_builder.files import digest, sha256_file, write_atomically
from plugin_builder.golang import godebug, gojson, modgraph, sources
from plugin_builder.golang.gomod import GoMod, Replace, parse_gowork, read_gomod
from plugin_builder.golang.modgraph import Disagreement, Selected
from plugin_builder.golang.semver import go_newer
from plugin_builder.released import workspace as released_workspace
from plugin_builder.released.source import recipe_of
from plugin_builder.steps.gobuild import GoBuild, build_env
from plugin_builder.steps.host import host_gowork

_BARE = re.compile(r"[^\s\"'`()]+")  # what the go.mod grammar reads as one bare word

# -- the go.work --------------------------------------------------------------------------


def workspace(config: Config, environment: BuildEnvironment, target: PluginTarget) -> str:
    """The go.work an out-of-tree plugin is built in.

    Its go line is the combination's release, which satisfies every used module's (a
    newer one is refused before compiling). ``use`` alone is not enough: Go still reads
    the go.mod of a version of a used module that another one requires
    (golang/go#66516), so each such version is replaced by the module's folder.
    """
    folders = _used_folders(config, target)
    lines = [f"go {environment.combination.go}", "", "use ("]
    lines += [f"\t{json.dumps(str(folder))}" for folder in folders]
    lines += [")", ""]
    replaces = {(r.path, r.version): r for r in _host_workspace_replaces(config)}
    replaces.update({(r.path, r.version): r for r in _used_versions_replaced(folders)})
    lines += [_replace_line(replace) for replace in replaces.values()]
    return "\n".join(lines) + "\n"


def _used_folders(config: Config, target: PluginTarget) -> list[Path]:
    host = [] if config.host.module is None else [config.host.module]
    return list(dict.fromkeys([*host, *_host_workspace_uses(config), target.source]))


def _used_versions_replaced(folders: Sequence[Path]) -> Iterator[Replace]:
    """``replace M v => folder`` for each version v at which a used module requires
    another used module M."""
    gomods = {folder: read_gomod(folder) for folder in folders}
    used = {gomod.module: folder for folder, gomod in gomods.items()}
    for gomod in gomods.values():
        for path, version in gomod.requires:
            if path in used and path != gomod.module:
                yield Replace(path, version, str(used[path]), None)


def _replace_line(replace: Replace) -> str:
    left = [replace.path, replace.version] if replace.version else [replace.path]
    right = [replace.target] if replace.is_directory \
        else [replace.target, replace.target_version or ""]
    return " ".join(["replace", *map(_token, left), "=>", *map(_token, right)])


def _token(word: str) -> str:
    """A go.work word: bare when the grammar reads it back as it is, else quoted (a
    folder always, so a space or a "//" in it stays part of the path)."""
    bare = _BARE.fullmatch(word) and "//" not in word and not word.startswith((".", "/"))
    return word if bare else json.dumps(word)


def _host_workspace_uses(config: Config) -> list[Path]:
    """The other modules of the host's own go.work, which its build list includes."""
    workspace_file = config.host.workspace
    if workspace_file is None:
        return []
    uses = parse_gowork(workspace_file.read_text(encoding="utf-8"), str(workspace_file)).uses
    return [(workspace_file.parent / use).resolve() for use in uses]


def _host_workspace_replaces(config: Config) -> list[Replace]:
    """The host go.work's ``replace`` lines, a folder made absolute: they decide the
    host's build list, so they decide the plugin's."""
    workspace_file = config.host.workspace
    if workspace_file is None:
        return []
    replaces = parse_gowork(workspace_file.read_text(encoding="utf-8"),
                            str(workspace_file)).replaces
    return [dataclasses.replace(r, target=str((workspace_file.parent / r.target).resolve()))
            if r.is_directory else r for r in replaces]


def write_workspace(config: Config, folder: Path, text: str) -> Path:
    """The generated go.work in ``folder``; its go.work.sum starts with the lines of the
    host's own: the checksums the user pinned, rather than fetched anew."""
    path = write_unless_same(folder / "go.work", text)
    host_sums = config.host.workspace.with_name("go.work.sum") \
        if config.host.workspace is not None else None
    if host_sums is not None and host_sums.is_file():
        sums = path.with_name("go.work.sum")
        have = sums.read_text().splitlines() if sums.is_file() else []
        missing = [line for line in host_sums.read_text().splitlines() if line not in have]
        if missing:
            write_atomically(sums, "\n".join([*have, *missing]) + "\n")
    return path


def write_unless_same(path: Path, text: str) -> Path:
    if path.is_file() and path.read_text() == text:
        return path  # rewriting would only race with a concurrent build of this target
    return write_atomically(path, text)


# -- the host's build list ----------------------------------------------------------------


def host_build_list(config: Config, environment: BuildEnvironment,
                    store: ArtifactStore) -> dict[str, Selected]:
    """Every module of the host's build list, read once per change of its module files."""
    assert config.host.module is not None  # a released host's is its binary's
    key = digest(environment.identity, str(config.host.module), host_gowork(config.host),
                 host_modules_digest(config))[:16]
    cached = store.scratch / f"host-modules-{key}.json"
    if cached.is_file():
        return modgraph.build_list(json.loads(cached.read_text()))
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
    return modgraph.build_list(raw)


def host_modules_digest(config: Config) -> str:
    """What the host's build list is computed from: its go.mod, go.sum and go.work files.
    An out-of-tree plugin is rebuilt when it changes, as its modules may then change."""
    folders = [folder for folder in (config.host.module, *_host_workspace_uses(config))
               if folder is not None]
    files = [folder / name for folder in folders for name in ("go.mod", "go.sum")]
    if config.host.workspace is not None:
        files.append(config.host.workspace)
    return digest([sha256_file(path) if path.is_file() else "" for path in files])


# -- before compiling ---------------------------------------------------------------------


def check_before_compiling(config: Config, environment: BuildEnvironment,
                           store: ArtifactStore, target: PluginTarget, build: GoBuild) -> None:
    """Refuse, before compiling, a plugin whose build could not agree with its host's:
    Go's raw words about go and godebug lines become ours, then the modules it would
    link are compared with the host's build list. An in-tree plugin is built in the
    host's own module; only its godebug lines are its own."""
    if target.in_tree:
        _refuse_unknown_godebug(environment, store, target, None)
        return
    gomod = read_gomod(target.source)
    _refuse_newer_go_lines(config, environment, target)
    _refuse_unknown_godebug(environment, store, target, gomod)
    if config.host.released:
        recipe = recipe_of(config, store)
        released_workspace.fetch_main_module(environment, recipe, build.cwd, dict(build.env))
        host = released_workspace.build_list(recipe)
    linked = _linked_modules(config, environment, target, build)
    if not config.host.released:
        host = host_build_list(config, environment, store)
    found = modgraph.disagreements(host, linked)
    if found:
        chains = _with_chains(environment, build, gomod.module, found)
        _refuse_disagreements(config, environment, target, build, chains)


def _refuse_newer_go_lines(config: Config, environment: BuildEnvironment,
                           target: PluginTarget) -> None:
    release = environment.combination.go
    files = [folder / "go.mod" for folder in _used_folders(config, target)]
    lines = [(path, read_gomod(path.parent).go) for path in files]
    if config.host.workspace is not None:
        text = config.host.workspace.read_text(encoding="utf-8")
        lines.append((config.host.workspace, parse_gowork(text, str(config.host.workspace)).go))
    for path, go in lines:
        if go and go_newer(go, release):
            raise ModuleGraphError(
                f"{path} says go {go}, newer than Go {release} of "
                f"{environment.combination.id}: plugin {target.id} was not compiled",
                fix=f"build with Go {go} or later (add it to matrix.go in buildconfig.toml), "
                    f"or lower the go line: {_lower_go_line(config, environment, path)}")


def _lower_go_line(config: Config, environment: BuildEnvironment, path: Path) -> str:
    go_line = f"-go={environment.combination.go}"
    edit = ["mod", "edit", go_line] if path.name == "go.mod" \
        else ["work", "edit", go_line, path.name]
    return go_fix(config, environment, path.parent, [edit])


def _refuse_unknown_godebug(environment: BuildEnvironment, store: ArtifactStore,
                           target: PluginTarget, gomod: GoMod | None) -> None:
    """godebug settings of the plugin (its main package, its go.mod) that the
    combination's Go does not know: one message naming each, before compiling."""
    found = godebug.settings(target.source, gomod)
    unknown = _unknown_godebug(environment, store, [s.setting for s in found])
    if not unknown:
        return
    where = {s.setting: s.where for s in found}
    details = "\n".join(f"  {setting} ({where[setting]}): {reason}"
                        for setting, reason in unknown)
    keys = ", ".join(setting.split("=", 1)[0] for setting, _ in unknown)
    raise ModuleGraphError(
        f"plugin {target.id} sets godebug {keys}, which Go {environment.combination.go} does "
        f"not know; nothing was compiled\n{details}",
        fix="remove the setting (a //go:debug line, or `godebug` in the go.mod), or build "
            "with a Go release that has it (matrix.go in buildconfig.toml)")


def _unknown_godebug(environment: BuildEnvironment, store: ArtifactStore,
                     values: list[str]) -> list[tuple[str, str]]:
    """Each setting the combination's go refuses, and its reason: a go.work of the
    settings is loaded, and each refused line taken out, until it loads."""
    unknown: list[tuple[str, str]] = []
    remaining = list(dict.fromkeys(values))
    while remaining:
        text = godebug.probe_gowork(environment.combination.go, remaining)
        folder = store.scratch / f"godebug-{digest(text)[:12]}"
        gowork = write_unless_same(folder / "go.work", text)
        probed = environment.run([environment.go, "list", "-m"], cwd=folder,
                                 env=build_env(environment, gowork=str(gowork)))
        refused = godebug.probe_refusal(probed.stderr, remaining) \
            if probed.returncode != 0 else None
        if refused is None:
            return unknown  # it loads (or fails in a way the build will explain)
        unknown.append(refused)
        remaining.remove(refused[0])
    return unknown


def _linked_modules(config: Config, environment: BuildEnvironment, target: PluginTarget,
                    build: GoBuild) -> dict[str, Selected]:
    """The modules the plugin will link, as Go selects them in its workspace.

    -e: a package that does not compile is the build's to report, in its own words; the
    workspace failing to load (module errors) is this check's.
    """
    argv = sources.list_argv(environment.go, build.argv, build.argv[-1])
    argv.insert(2, "-e")
    listed = environment.run(argv, cwd=build.cwd, env=build.env)
    if listed.returncode == 0:
        return modgraph.linked_modules(gojson.objects(listed.stdout, "go list -deps"))
    too_new = modgraph.go_too_new(listed.stderr)
    if too_new is not None:
        raise ModuleGraphError(
            f"plugin {target.id} needs {too_new.module} {too_new.version}, whose go.mod says "
            f"go {too_new.go}, newer than Go {environment.combination.go} of "
            f"{environment.combination.id}; nothing was compiled",
            fix=f"build with Go {too_new.go} or later (matrix.go in buildconfig.toml), or "
                f"make the plugin require a version of {too_new.module} whose go line is at "
                f"most {environment.combination.go}")
    mismatch = released_workspace.checksum_mismatch(listed.stderr)
    if mismatch is not None:
        raise ModuleGraphError(
            f"plugin {target.id} would link a module whose content is not what the host was "
            f"built with (or what its go.sum says): {mismatch}; nothing was compiled",
            fix="fetch modules from the proxy the host was built from (GOPROXY), and make the "
                "plugin's go.sum agree with the host's sums (go mod tidy after requiring the "
                "host's versions)")
    conflict = modgraph.conflicting_replacement(listed.stderr)
    if conflict is not None:
        raise ModuleGraphError(
            f"plugin {target.id}'s go.mod replaces {conflict} otherwise than the host does: "
            f"a plugin must use the host's copy of every module both contain; nothing was "
            f"compiled",
            fix=go_fix(config, environment, target.source,
                       [["mod", "edit", f"-dropreplace={conflict}"]]))
    raise BuildError(f"listing the packages of plugin {target.id} (go list -deps)",
                     listed.output)


def _with_chains(environment: BuildEnvironment, build: GoBuild, plugin_module: str,
                 found: list[Disagreement]) -> list[Disagreement]:
    """Each disagreement with the requirements that pull the plugin's version in."""
    graphed = environment.run([environment.go, "mod", "graph"], cwd=build.cwd, env=build.env)
    # Without a graph the refusal still stands; it only cannot say why.
    graph = modgraph.requirement_graph(graphed.stdout) if graphed.returncode == 0 else {}
    return [dataclasses.replace(d, chain=modgraph.requirement_chain(
        graph, plugin_module, f"{d.path}@{d.plugin.version}")) for d in found]


def _refuse_disagreements(config: Config, environment: BuildEnvironment,
                          target: PluginTarget, build: GoBuild,
                          found: list[Disagreement]) -> None:
    names = ", ".join(d.path for d in found)
    details = "\n".join(f"  {_explain(d)}" for d in found)
    commands = modgraph.plugin_fix(found, read_gomod(target.source))
    upgrade = [] if config.host.module is None else modgraph.host_upgrade(found)
    fixes = [go_fix(config, environment, target.source, commands,
                    gowork=build.env["GOWORK"])] if commands else []
    if upgrade:
        assert config.host.module is not None
        host = go_fix(config, environment, config.host.module, upgrade,
                      gowork=host_gowork(config.host))
        fixes.append(f"upgrade the host instead, {host}, and rebuild it and every plugin")
    fix = "; or ".join(fixes) or "give the plugin a module path the host does not require"
    raise ModuleGraphError(
        f"plugin {target.id} would not share the host's copy of {names}: nothing was "
        f"compiled\n{details}", fix=fix)


def _explain(found: Disagreement) -> str:
    """One module: both entries, and why the plugin's is what it is."""
    text = f"{found.path}: the host has {found.host.label}, the plugin {found.plugin.label}"
    if found.version_differs and found.same_code:
        text += " (the same code, but the selected version is part of every package's " \
                "fingerprint)"
    if found.plugin.main:
        text += "; the host requires the plugin's own module, which a plugin cannot be"
    elif found.chain:
        text += f"; required through {' -> '.join(found.chain)}"
    elif not found.version_differs:
        text += "; the plugin's go.mod replaces it"
    return text


def go_fix(config: Config, environment: BuildEnvironment, folder: Path,
           commands: Sequence[Sequence[str]], *, gowork: str = "off") -> str:
    """Go commands as the user types them: in ``folder``, in the build's workspace, with
    the combination's own go through ``plugin-builder go`` (the go on the PATH, if there
    is one, may be another release; with docker, the build's go is in a container).

    The one place a fix names the go command.
    """
    go = ["plugin-builder", "go", "--config", str(config.path),
          *environment.combination.flags.split(), "--"]
    steps = [" ".join(shlex.quote(word) for word in [*go, *command]) for command in commands]
    return (f"(cd {shlex.quote(str(folder))} && export GOWORK={shlex.quote(gowork)} && "
            f"{' && '.join(steps)})")

