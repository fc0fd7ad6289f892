"""The stand-in loader: a Go program built like the host, in the host's module graph,
that loads a service's plugins together and asserts exactly what the host asserts.

It is built with the host's exact Go release, libc, arch and fingerprint settings,
through the same build path as every other binary (a GoBuild landed in the
combination's artifact folder, skipped when up to date). Its module sits in a
generated go.work beside the host module (and every module of the host's own go.work,
with its replaces), so a declared type may name any package of the host's build list:
``*greeter.Greeter``, Bifrost's hook signatures, KrakenD's registerer interfaces. A
type that does not resolve there is a ConfigError naming its key, mapped back from the
compiler's line. With no host source at hand (``verify --host`` of a host built from
another module) it is built alone, and only standard-library types can be asserted.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from plugin_builder.artifacts import ArtifactStore
from plugin_builder.backends import BuildEnvironment
from plugin_builder.binary.buildinfo import BuildInfo
from plugin_builder.config import Config
from plugin_builder.config.targets import package_names, qualifiers
from plugin_builder.errors import BuildError, ConfigError
from plugin_builder.files import digest, write_atomically
from plugin_builder.golang.goenv import fingerprint_flags
from plugin_builder.golang.gomod import parse_gowork, read_gomod
from plugin_builder.log import Log
from plugin_builder.recipe import Recipe
from plugin_builder.released.workspace import loader_gomod
from plugin_builder.steps.gobuild import OUTPUT, GoBuild, build_env, go_build, shared_flags
from plugin_builder.steps.loader_source import GO_MOD, LoaderSource, generate
from plugin_builder.verify.findings import Contract

# "./contract_0.go:12:22: undefined: greeter.Nope", as go build and go list say it.
# The compiler names the file as the build's output shows it: from the loader's folder,
# or (compiler_output makes paths relative to the project) .work/loaders/<digest>/.
_ERROR_LINE_RE = re.compile(r"^\s*(?:\S*/)?(?P<file>(?:main|contract_[0-9]+)\.go):(?P<line>[0-9]+)"
                            r":(?:[0-9]+:)? (?P<error>.+)$", re.M)


@dataclass(frozen=True)
class HostGraph:
    """How to build like the host: its fingerprint flags and environment, and the
    modules of its build list (none: the standard library only)."""

    flags: tuple[str, ...]
    env: tuple[tuple[str, str], ...] = ()  # GOEXPERIMENT, as the host had it
    modules: tuple[Path, ...] = ()  # the host module, then its go.work's other modules
    replaces: tuple[str, ...] = ()  # the host go.work's replace lines, paths absolute
    why_no_source: str = ""  # why it has no modules, for what it cannot assert
    # A released host's: the loader's go.mod requiring its build list, and its sums.
    gomod: str = ""
    sums: str = ""

    @property
    def has_host_source(self) -> bool:
        return bool(self.modules or self.gomod)

    @classmethod
    def of_config(cls, config: Config, recipe: Recipe | None = None) -> HostGraph:
        """A combination's host: the config's settings and module graph; a released
        host's (``recipe``) recorded settings and build list, its modules fetched."""
        if recipe is not None:
            return cls(tuple(recipe.flags), recipe.env, gomod=loader_gomod(recipe),
                       sums="\n".join(recipe.sum_lines()) + "\n")
        modules, replaces = _host_modules(config)
        return cls(tuple(shared_flags(config.host)), (), modules, replaces)

    @classmethod
    def of_binary(cls, config: Config, host: BuildInfo,
                  recipe: Recipe | None = None) -> HostGraph:
        """A host given by path: its recorded settings; the config's host module when
        the binary was built from it (the same module path), or the released host's
        build list (``recipe``) when it is that release, else none."""
        flags = fingerprint_flags(trimpath=host.trimpath, tags=host.tags, gcflags=host.gcflags)
        if host.race:
            flags.append("-race")
        env = (("GOEXPERIMENT", host.goexperiment),) if host.goexperiment else ()
        if recipe is not None and (host.main.path, host.main.version) == (
                recipe.main.path, recipe.main.version):
            return replace(cls.of_config(config, recipe), flags=tuple(flags), env=env)
        folder = config.host.module
        module = read_gomod(folder).module if folder is not None and (folder / "go.mod"
                                                                      ).is_file() else None
        if module is None or module != host.main.path:
            return cls(tuple(flags), env, why_no_source=_why_no_source(config, host, module))
        modules, replaces = _host_modules(config)
        return cls(tuple(flags), env, modules, replaces)


def _why_no_source(config: Config, host: BuildInfo, module: str | None) -> str:
    """Why a host given by path gets a stand-in loader of the standard library only."""
    if config.host.released:  # no module folder to compare: the binary is the host
        return (f"the host is released ({host.main.path} {host.main.version}): the "
                "stand-in loader has the standard library only")
    return (f"the host binary was built from module {host.main.path or '(unknown)'}, not "
            f"from the config's host module {module or config.host.module}, so the stand-in "
            "loader has the standard library only")


@dataclass(frozen=True)
class Loader:
    """A built stand-in loader, and what it could not assert."""

    path: Path
    contracts: tuple[Contract, ...]  # as built: index i is contract_<i>.go
    # Per plugin type: symbols whose declared type names a package the loader could not
    # import (no host source): looked up, their type not asserted; and why.
    unchecked: tuple[tuple[str, tuple[str, ...]], ...] = ()
    why_standard_only: str = ""

    def unchecked_of(self, plugin_type: str) -> tuple[str, ...]:
        return dict(self.unchecked).get(plugin_type, ())

    def index_of(self, plugin_type: str) -> int:
        """Which contract file checks plugins of this type (the loader's TYPE word)."""
        return [c.plugin_type for c in self.contracts].index(plugin_type)


def build_loader(environment: BuildEnvironment, store: ArtifactStore, graph: HostGraph,
                 contracts: Sequence[Contract], config_name: str, log: Log) -> Loader:
    """The loader for these contracts, built like the host (skipped when up to date).

    Raises ConfigError when a declared type does not resolve in the host's module graph
    (naming its key), BuildError for anything else that stops the build.
    """
    built, unchecked = [], []
    for contract in contracts:
        kept, dropped = (contract, ()) if graph.has_host_source else _standard_only(contract)
        built.append(kept)
        if dropped:
            unchecked.append((contract.plugin_type, dropped))
    source = generate(built)
    build = plan(environment, store, graph, source)
    try:
        outcome = go_build(environment, store, build, log)
    except BuildError as error:
        raise _config_error(error, source, config_name) or error from None
    return Loader(outcome.path, tuple(built), tuple(unchecked), graph.why_no_source)


def plan(environment: BuildEnvironment, store: ArtifactStore, graph: HostGraph,
         source: LoaderSource) -> GoBuild:
    """The loader's build, in its own folder of the scratch space, named by content."""
    gowork = _gowork(environment, graph, store.scratch / "loaders")
    released = (graph.gomod,) if graph.gomod else ()  # a host from source: names as ever
    name = digest(source.files, gowork, graph.flags, graph.env, *released)[:16]
    folder = store.scratch / "loaders" / name
    files = {"go.mod": graph.gomod or GO_MOD, **source.files}
    if gowork:
        files["go.work"] = gowork
    for file, text in files.items():
        path = folder / file
        if not path.is_file() or path.read_text() != text:
            write_atomically(path, text)
    if graph.sums and not (folder / "go.sum").is_file():
        write_atomically(folder / "go.sum", graph.sums)  # go adds the go.mod sums it checks
    env = build_env(environment, gowork=str(folder / "go.work") if gowork else "off")
    env.update(graph.env)
    if graph.gomod:
        # A released host's modules are fetched (its go.mod sums are not in the binary:
        # go checks them and adds them), by `go list` of its sources as by the build.
        env["GOFLAGS"] = env["GOFLAGS"].replace("-mod=readonly", "-mod=mod")
    return GoBuild(
        relative=f"loaders/loader-{name}",
        argv=[environment.go, "build", *graph.flags, "-o", OUTPUT, "."],
        cwd=folder,
        env=env,
        digest_parts={"source": source.files, "go.work": gowork,
                      **({"go.mod": graph.gomod} if graph.gomod else {})},
        entry={"kind": "loader"},
        project=store.folder,  # generated there: its sources move with the artifacts
    )


def _gowork(environment: BuildEnvironment, graph: HostGraph, loaders: Path) -> str:
    """The loader's workspace: the loader and the host's modules (which import each other
    without require lines), with the host go.work's replaces; "" without host source.
    Paths are relative to a loader's folder (one below ``loaders``): the same project
    in another checkout gets the same loader, fetched from a shared cache, not built."""
    if not graph.modules:
        return ""

    def relative(path: str) -> str:
        return json.dumps(os.path.join("..", os.path.relpath(path, loaders)))

    lines = [f"go {environment.combination.go}", "", "use (", '\t"."']
    lines += [f"\t{relative(str(module))}" for module in graph.modules]
    lines += [")", ""]
    for line in graph.replaces:
        old, _, new = line.partition(" => ")
        target = json.loads(new) if new.startswith('"') else None
        lines.append(f"{old} => {relative(target)}" if target and os.path.isabs(target)
                     else line)
    return "\n".join(lines) + "\n"


def _host_modules(config: Config) -> tuple[tuple[Path, ...], tuple[str, ...]]:
    """The host module and the other modules of its go.work, with that go.work's replace
    lines (a directory target made absolute: the loader's go.work lies elsewhere)."""
    workspace, host = config.host.workspace, config.host.module
    assert host is not None  # a released host has no module folder
    if workspace is None:
        return (host,), ()
    work = parse_gowork(workspace.read_text(encoding="utf-8"), str(workspace))
    uses = [(workspace.parent / use).resolve() for use in work.uses]
    replaces = []
    for rule in work.replaces:
        old = f"{rule.path} {rule.version}" if rule.version else rule.path
        if rule.is_directory:
            new = json.dumps(str((workspace.parent / rule.target).resolve()))
        else:
            new = f"{rule.target} {rule.target_version}"
        replaces.append(f"replace {old} => {new}")
    return tuple(dict.fromkeys([host, *uses])), tuple(replaces)


def _standard_only(contract: Contract) -> tuple[Contract, tuple[str, ...]]:
    """The contract less every type that names a package outside the standard library
    (the loader has no host module to find it in): those symbols are only looked up, and
    a call whose results name one is not made ("Symbol()" among what went unchecked)."""
    standard = [path for path in contract.imports if "." not in path.split("/")[0]]
    names = {name for path in standard for name in package_names(path)}

    def assertable(go_type: str) -> bool:
        return qualifiers(go_type) <= names

    types = tuple((s, t) for s, t in contract.types if assertable(t))
    dropped = tuple(s for s, t in contract.types if not assertable(t))
    call = contract.call
    if call is not None and (call.symbol in dropped or not all(
            assertable(r.implements) for r in call.returns if r.implements)):
        dropped += () if call.symbol in dropped else (f"{call.symbol}()",)
        call = None
    used = {q for _, t in types for q in qualifiers(t)}
    used |= {q for r in (call.returns if call else ()) if r.implements
             for q in qualifiers(r.implements)}
    imports = tuple(path for path in standard if package_names(path) & used)
    return replace(contract, types=types, imports=imports, call=call), dropped


def _config_error(error: BuildError, source: LoaderSource, config_name: str) -> ConfigError | None:
    """The compiler's first complaint about a generated line, as a problem of the config
    key that line was written from; None when it is about no such line."""
    for match in _ERROR_LINE_RE.finditer(error.message):
        found = source.key_at(match["file"], int(match["line"]))
        if found is None:
            continue
        key, value = found
        what = (f"package {value} is not" if ".imports[" in key
                else f"{value!r} does not compile") + " in the host's module graph"
        return ConfigError(
            config_name, key, f"{what}: {match['error'].strip()}",
            fix="name a type of a package of the host's build list (its module, its go.work's "
                "modules or their dependencies), imported in the type's `imports`; a package "
                "of the host's main package or an internal one cannot be named: write the "
                "interface literally, e.g. \"interface{ Greet(string) string }\"")
    return None
