"""`plugin-builder init`: a project folder for a host you already have.

    plugin-builder init --host ../myhost --preset dragonfly [--go 1.26.6] [--libc glibc,musl]

It reads the host module (:mod:`.hostscan`: Go release, main packages and which load
plugins, version variables, plugin folders it recognises), applies a preset
(:mod:`.presets`: a host family's services, plugin types and contracts, as data), and
writes into the folder:

- ``buildconfig.toml``: valid (loaded before it lands), every key explained;
- ``tasks.py`` and ``noxfile.py``: a few lines each, the tool's own task collection
  and nox sessions, so ``invoke build-plugin`` and ``nox -j auto`` run there;
- ``.gitignore`` (artifacts/, results/), the preset's plugin templates under
  ``templates/`` (for ``invoke new-plugin``) and, for Bifrost, ``plugins.json``.

A file that exists is never replaced without ``force``; the others are still written.
"""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from plugin_builder import __version__
from plugin_builder import config as config_module
from plugin_builder.combination import GO_VERSION_RE
from plugin_builder.config import CONFIG_NAME, SCHEMA, TARGET_NAME_RE
from plugin_builder.errors import ConfigError, UsageError
from plugin_builder.files import write_atomically
from plugin_builder.init import hostscan, presets
from plugin_builder.init.presets import LOADER, Preset, TypeRule
from plugin_builder.init.render import Document, key, value

DEFAULT_GO = "1.26.6"  # when the host's go.mod names no release the tool can build with
LIBCS = {  # cc, cc_package, builder_base, runtime_base (the images `bootstrap-base` makes)
    "glibc": ("gcc", "gcc", "plugin-builder/bootstrap:bookworm",
              "plugin-builder/runtime:bookworm-glibc"),
    "musl": ("musl-gcc", "musl-tools", "plugin-builder/bootstrap:bookworm",
             "plugin-builder/runtime:bookworm-musl"),
}
ARCHES = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}
GENERIC_FOLDERS = {"plugin", "plugins", "testdata", "src", "cmd", "main"}
# The top-level tables render_config writes (any other of the config model's is shown
# commented out, so every key is explained even before init learns to fill it in).
RENDERED = ("project", "matrix", "libc", "host", "plugin_types", "plugins", "docker")

TASKS_PY = '''"""invoke tasks of this project: plugin-builder's own task collection, over the
buildconfig.toml in this folder ($PLUGIN_BUILDER_CONFIG names another).

    invoke --list
    invoke build-plugin --type TYPE        invoke verify        invoke pipeline --all
"""

from plugin_builder.tasks import ns  # noqa: F401  (invoke finds the collection by name)
'''

NOXFILE_PY = '''"""nox sessions of this project: plugin-builder's pipeline sessions, one per
combination of the buildconfig.toml in this folder ($PLUGIN_BUILDER_CONFIG names another).

    nox -j auto                      every combination in parallel, then a summary
    nox -l --json                    the sessions, for a CI matrix
"""

import nox

from plugin_builder import noxsessions

# Read by nox from this file's source before it imports it: the first release with -j.
nox.needs_version = ">=2026.08.10"
noxsessions.register()
'''

GITIGNORE = "# what plugin-builder runs produce\n/artifacts/\n/results/\n.nox/\n"


@dataclass(frozen=True)
class Options:
    folder: Path  # the project folder: where the files are written
    host: Path  # the host's Go module folder
    preset: str
    go: tuple[str, ...] = ()  # empty: the release the host's go.mod names
    libc: tuple[str, ...] = ()  # empty: glibc
    arch: tuple[str, ...] = ()  # empty: this machine's
    force: bool = False


@dataclass(frozen=True)
class Service:
    name: str
    main: str
    check: tuple[str, ...]
    healthcheck: tuple[str, ...]
    found: str  # how init knows it: "loads plugins", "folder name"
    binary: str | None = None  # when not the service's name (dfdaemon is built as dfget)


@dataclass(frozen=True)
class Target:
    type: str
    name: str
    source: str  # relative to the project folder
    in_tree: bool


@dataclass
class Plan:
    """What init will write, and what it learned on the way."""

    options: Options
    preset: Preset
    facts: hostscan.HostFacts
    go: tuple[str, ...]
    go_reason: str
    libcs: tuple[str, ...]
    arches: tuple[str, ...]
    services: list[Service]
    types: list[tuple[TypeRule, str]]  # (rule, its service)
    targets: list[Target]
    allow_outside: bool
    notes: list[str] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)  # relative path -> text
    templates: dict[str, Path] = field(default_factory=dict)  # project folder -> preset's


@dataclass(frozen=True)
class Outcome:
    plan: Plan
    written: tuple[str, ...]
    kept: tuple[str, ...]  # existed, not replaced (no --force)


# -- planning --------------------------------------------------------------------------------


def plan(options: Options) -> Plan:
    """Everything init will write; nothing is written yet."""
    if options.preset not in presets.NAMES:
        raise UsageError(f"--preset {options.preset}: no such preset",
                         fix=f"use one of: {', '.join(presets.NAMES)}")
    host = options.host.expanduser().absolute()
    if not (host / "go.mod").is_file():
        raise UsageError(f"--host {options.host}: no go.mod in {host}",
                         fix="pass the folder of the host's Go module (the one with its go.mod)")
    preset = presets.load(options.preset)
    folder = options.folder.absolute()
    facts = hostscan.scan(host, preset.marks,
                          elsewhere=[host.parent / "plugins", folder])
    go, go_reason = _go(options, facts)
    libcs = _libcs(options.libc)
    arches = _arches(options.arch)
    services, types, notes = _services_and_types(preset, facts)
    targets, more = _targets(folder, facts, types)
    notes += list(facts.notes) + more
    allow_outside = not all(_inside(p, folder) for p in
                            [host, *(folder / t.source for t in targets)])
    result = Plan(options=options, preset=preset, facts=facts, go=go, go_reason=go_reason,
                  libcs=libcs, arches=arches, services=services, types=types,
                  targets=targets, allow_outside=allow_outside, notes=notes)
    result.templates = {f"templates/{rule.template}": presets.TEMPLATES_DIR / rule.template
                        for rule, _ in types if rule.template}
    result.files = {CONFIG_NAME: render_config(result), "tasks.py": TASKS_PY,
                    "noxfile.py": NOXFILE_PY, ".gitignore": GITIGNORE}
    if preset.plugins_json:
        result.files[preset.plugins_json] = _plugins_json(result)
    return result


def _go(options: Options, facts: hostscan.HostFacts) -> tuple[tuple[str, ...], str]:
    if options.go:
        versions = _split(options.go)
        for version in versions:
            if not GO_VERSION_RE.fullmatch(version):
                raise UsageError(f"--go {version}: not a Go release",
                                 fix="give a full release such as --go 1.26.6")
        return versions, "--go"
    release, reason = hostscan.go_release(facts.gomod, DEFAULT_GO)
    return (release,), f"the host's go.mod: {reason}"


def _libcs(given: Sequence[str]) -> tuple[str, ...]:
    libcs = _split(given) or ("glibc",)
    for libc in libcs:
        if libc not in LIBCS:
            raise UsageError(f"--libc {libc}: no such libc",
                             fix=f"use {' or '.join(LIBCS)}, or both: --libc glibc,musl")
    return libcs


def _arches(given: Sequence[str]) -> tuple[str, ...]:
    arches = _split(given) or (ARCHES.get(platform.machine().lower(), "amd64"),)
    for arch in arches:
        if arch not in config_module.KNOWN_ARCHES:
            raise UsageError(f"--arch {arch}: not a supported GOARCH",
                             fix=f"use one of: {', '.join(config_module.KNOWN_ARCHES)}")
    return arches


def _split(values: Sequence[str]) -> tuple[str, ...]:
    """Repeated flags and comma-separated lists alike: ("a,b", "c") -> ("a", "b", "c")."""
    items = [item.strip() for v in values for item in v.split(",")]
    return tuple(dict.fromkeys(item for item in items if item))


def _services_and_types(preset: Preset, facts: hostscan.HostFacts
                        ) -> tuple[list[Service], list[tuple[TypeRule, str]], list[str]]:
    notes: list[str] = []
    services: dict[str, Service] = {}
    for rule in preset.services:
        candidates = sorted((m for m in facts.mains if m.name in rule.folders),
                            key=lambda m: (not m.loads_plugins, len(m.relative)))
        if not candidates:
            notes.append(f"no main package named {' or '.join(rule.folders)} in the host: "
                         f"service {rule.name} and its plugin types left out")
            continue
        main = candidates[0]
        check = rule.check or _detected_check(main)
        services[rule.name] = Service(rule.name, main.relative, check, rule.healthcheck,
                                      "loads plugins" if main.loads_plugins else "folder name",
                                      binary=_name(main.name) if _name(main.name) != rule.name
                                      else None)
    loaders: list[Service] = []
    if any(rule.service == LOADER for rule in preset.types):
        mains = facts.loaders
        if not mains:
            mains = facts.mains
            if mains:
                notes.append("no main package of the host imports \"plugin\" (itself or "
                             "through a package of the host): every main package is taken "
                             "as a service; remove those that load no plugins")
        for main in mains:
            name = _service_name(main, services)
            services[name] = Service(name, main.relative, _detected_check(main), (),
                                     "loads plugins" if main.loads_plugins else "main package")
            loaders.append(services[name])
    if not services:
        raise UsageError(f"the host module {facts.folder} has no main package this preset "
                         "can take as a service",
                         fix="pass --host the folder of the host's module (with its cmd/ "
                             "folders), or --preset blank")
    types: list[tuple[TypeRule, str]] = []
    for kind in preset.types:
        service = loaders[0].name if kind.service == LOADER and loaders else kind.service
        if service in services:
            types.append((kind, service))
    if not types:
        raise UsageError(f"the host module {facts.folder} has none of the services the "
                         f"{preset.name} preset's plugin types need",
                         fix="pick the preset of this host family, or --preset blank")
    if len(loaders) > 1:
        notes.append(f"{len(loaders)} main packages load plugins; the plugin types use "
                     f"{loaders[0].name}: point plugin_types.*.service at another as needed")
    return list(services.values()), types, notes


def _detected_check(main: hostscan.MainPackage) -> tuple[str, ...]:
    """A host with its own `check-plugin` subcommand checks plugins itself."""
    return ("{binary}", "check-plugin", "{plugin}") if main.has_check else ()


def _service_name(main: hostscan.MainPackage, taken: dict[str, Service]) -> str:
    parts = [p for p in main.relative.split("/") if p not in (".", "cmd")]
    base = _name(parts[-1] if parts else main.name) or "host"
    name = base
    if name in taken and len(parts) > 1:
        name = _name(f"{parts[-2]}-{parts[-1]}") or base
    count = 2
    while name in taken:
        name, count = f"{base}-{count}", count + 1
    return name


def _name(text: str) -> str:
    """A valid target/service name from free text: lowercase words joined by '-'."""
    return "-".join(re.findall(r"[a-z0-9]+", text.lower()))


def _targets(folder: Path, facts: hostscan.HostFacts,
             types: list[tuple[TypeRule, str]]) -> tuple[list[Target], list[str]]:
    notes: list[str] = []
    targets: list[Target] = []
    rules = {rule.name: rule for rule, _ in types}
    for plugin in facts.plugins:
        where = os.path.relpath(plugin.folder, folder)
        rule = _type_of(plugin, rules)
        if rule is None:
            notes.append(f"{where}: a plugin of no type of this preset "
                         f"({', '.join(rules)}): not registered")
            continue
        name = _plugin_name(plugin)
        problem = _name_problem(rule, name)
        if problem:
            notes.append(f"{where}: {problem}: not registered")
            continue
        if any(t.type == rule.name and t.name == name for t in targets):
            notes.append(f"{where}: a second {rule.name} plugin named {name}: not registered")
            continue
        targets.append(Target(rule.name, name, where, in_tree=not plugin.own_module))
    order = list(rules)
    return sorted(targets, key=lambda t: (order.index(t.type), t.name)), notes


def _type_of(plugin: hostscan.FoundPlugin, rules: dict[str, TypeRule]) -> TypeRule | None:
    if plugin.meta_type in rules:
        return rules[plugin.meta_type]
    if len(rules) == 1:
        return next(iter(rules.values()))
    for part in reversed(plugin.folder.parts):
        for rule in rules.values():
            if part.lower() in (rule.name, *rule.words):
                return rule
    return None


def _plugin_name(plugin: hostscan.FoundPlugin) -> str:
    if plugin.meta_name and TARGET_NAME_RE.fullmatch(plugin.meta_name):
        return plugin.meta_name
    parts = [p for p in plugin.folder.parts if p.lower() not in GENERIC_FOLDERS]
    return _name(parts[-1] if parts else plugin.folder.name) or "plugin"


def _name_problem(rule: TypeRule, name: str) -> str | None:
    if not TARGET_NAME_RE.fullmatch(name):
        return f"'{name}' is not a valid plugin name"
    if rule.name_contains and rule.name_contains not in name:
        return f"'{name}' breaks the {rule.name} naming rule (contains '{rule.name_contains}')"
    return None


def _inside(path: Path, folder: Path) -> bool:
    return path.resolve().is_relative_to(folder.resolve())


# -- rendering ---------------------------------------------------------------------------


def render_config(plan: Plan) -> str:
    options, preset, facts = plan.options, plan.preset, plan.facts
    folder = options.folder.absolute()
    doc = Document()
    doc.comment(f"buildconfig.toml of this project, written by `plugin-builder init "
                f"--preset {preset.name}` ({__version__}) for the host module "
                f"{facts.gomod.module}.\n"
                f"{preset.summary}.\n"
                "Every key is explained where it stands; keys left at their default are shown "
                "commented out. The full reference is docs/configuration.md of plugin-builder "
                "(`plugin-builder docs` prints where it is installed).\n"
                "Relative paths are relative to this file.")

    doc.section("[project]")
    doc.set("project.artifacts", "artifacts", "artifacts")
    doc.set("project.results", "results", "results")
    doc.set("project.backend", "backend", "local")
    if plan.allow_outside:
        doc.set("project.allow_outside_paths", "allow_outside_paths", True,
                "the host (or a plugin) lives outside this folder")
    doc.rest("project", "project")

    doc.section("[matrix]", "The build matrix: every Go release x libc x arch, less the "
                            "excludes. A plugin loads only into a host built by the same "
                            "release and libc, so each combination is built and verified.")
    doc.set("matrix.go", "go", list(plan.go), f"from {plan.go_reason}")
    doc.set("matrix.libc", "libc", list(plan.libcs),
            None if "musl" in plan.libcs else "add \"musl\" for Alpine-style images")
    doc.set("matrix.arch", "arch", list(plan.arches))
    doc.explain("matrix.exclude[].go")
    doc.set("matrix.exclude", "exclude", [], 'e.g. [{ go = "1.27.3", libc = "musl" }]')
    doc.rest("matrix.exclude[]", "matrix.exclude[]")
    default = f"go{plan.go[0]}-{plan.libcs[0]}-{plan.arches[0]}"
    doc.set("matrix.default", "default", default)

    for name, (cc, package, builder, runtime) in LIBCS.items():
        about = ("The C compiler of each libc, and the base images of builder and service "
                 "images: these are the ones `invoke bootstrap-base` makes without a "
                 "registry; with one, name pulled images instead (golang:1.26-bookworm, "
                 "alpine:3.23, debian:bookworm-slim).") if name == "glibc" else None
        doc.section(f"[libc.{name}]", about)
        doc.set("libc.<name>.cc", "cc", cc)
        doc.set("libc.<name>.cc_package", "cc_package", package)
        doc.set("libc.<name>.builder_base", "builder_base", builder)
        doc.set("libc.<name>.runtime_base", "runtime_base", runtime)
        doc.rest("libc.<name>", "libc.<name>")

    doc.section("[docker]", "Image names, and what `invoke bootstrap-base` debootstraps.")
    doc.set("docker.builder_repository", "builder_repository", "plugin-builder/builder")
    doc.set("docker.service_repository", "service_repository", "plugin-builder/{service}")
    doc.set("docker.bootstrap_suite", "bootstrap_suite", "bookworm")
    doc.set("docker.bootstrap_mirror", "bootstrap_mirror", "http://deb.debian.org/debian")
    doc.rest("docker", "docker")

    _render_host(doc, plan, folder)
    _render_types(doc, plan)
    _render_targets(doc, plan)
    for name in SCHEMA[""]:  # a table the config model has and init does not fill in
        if name not in RENDERED:
            doc.section(f"# [{name}]", f"[{name}]: none of its keys is set.")
            doc.rest(name, name)
    return doc.text()


def _render_host(doc: Document, plan: Plan, folder: Path) -> None:
    facts = plan.facts
    doc.section("[host]", f"The host: {facts.gomod.module}. Plugins are built with exactly "
                          "its settings (-trimpath, tags, gcflags, CGO_ENABLED=1), never their "
                          "own, in a generated go.work: its files are never edited.")
    doc.set("host.module", "module", _relative(facts.folder, folder))
    doc.set("host.version", "version", plan.preset.version)
    doc.set("host.trimpath", "trimpath", True)
    doc.set("host.tags", "tags", [])
    doc.set("host.ldflags", "ldflags", [])
    doc.set("host.plugin_dir", "plugin_dir", plan.preset.plugin_dir)
    workspace = _workspace(facts.folder)
    if workspace is not None:
        doc.comment(f"found {_relative(workspace, folder)}, which uses the host module: set "
                    "workspace to build through it, as `go build` in that folder does")
    doc.rest("host", "host", skip=("stamp", "services"))
    doc.section("[host.stamp]", "-ldflags -X variable = value of every service.")
    doc.explain("host.stamp.<go variable>")
    if facts.stamps:
        for variable, template in facts.stamps:
            doc.lines.append(f"{key(variable)} = {value(template)}")
    else:
        doc.comment('"example.com/host/version.Version" = "{version}"')
    for service in plan.services:
        doc.section(f"[host.services.{service.name}]",
                    f"{service.main} ({service.found})")
        doc.set("host.services.<name>.main", "main", service.main)
        if service.binary:
            doc.set("host.services.<name>.binary", "binary", service.binary)
        if service.check:
            doc.set("host.services.<name>.check", "check", list(service.check),
                    "the host's own plugin check")
        if service.healthcheck:
            doc.set("host.services.<name>.healthcheck", "healthcheck", list(service.healthcheck))
        if "host.services.<name>.check" not in doc.explained:
            doc.unset("host.services.<name>.check")
            doc.comment("(no check command found: verify loads each plugin with a stand-in "
                        "loader built like the host, asserting each symbol's declared type)")
        doc.rest("host.services.<name>", "host.services.<name>")


def _render_types(doc: Document, plan: Plan) -> None:
    for rule, service in plan.types:
        doc.section(f"[plugin_types.{rule.name}]", rule.about)
        doc.set("plugin_types.<type>.service", "service", service)
        doc.set("plugin_types.<type>.file", "file", rule.file)
        if rule.entry_symbol:
            doc.set("plugin_types.<type>.entry_symbol", "entry_symbol", rule.entry_symbol)
        if rule.symbols:
            doc.set("plugin_types.<type>.symbols", "symbols", rule.symbols)
        checked = {s: t for s, t in rule.hooks.items() if not _names_other_packages(t)}
        if checked:
            doc.set("plugin_types.<type>.optional_symbols", "optional_symbols", checked)
        listed = {s: t for s, t in rule.hooks.items() if s not in checked}
        if listed:
            doc.comment("Hooks a plugin may export, with the type the host asserts each to. "
                        "Their types name the host's own packages, which verify's stand-in "
                        "loader cannot import, so they are listed here, not declared: a "
                        "service `check` command (the host's own loader) proves them.")
            for symbol, go_type in listed.items():
                doc.lines.append(f"#   {symbol} = {value(go_type)}")
        if rule.name_contains:
            doc.set("plugin_types.<type>.name_contains", "name_contains", rule.name_contains)
        template = (f"templates/{rule.template}" if rule.template
                    else rule.packaged_template)
        if template:
            where = "in this folder" if rule.template else "packaged with the tool"
            doc.set("plugin_types.<type>.template", "template", template,
                    f"what `invoke new-plugin` renders ({where})")
        doc.rest("plugin_types.<type>", "plugin_types.<type>")


def _render_targets(doc: Document, plan: Plan) -> None:
    if not plan.targets:
        doc.blank()
        doc.comment("The plugin targets: none was found. Add one per plugin folder, or let "
                    "`invoke new-plugin --type TYPE --name NAME` scaffold and register one:")
        doc.lines.append("# [[plugins]]")
        doc.rest("plugins[]", "plugins[]")
        return
    for index, target in enumerate(plan.targets):
        where = "in the host module (built as its package)" if target.in_tree \
            else "its own Go module"
        doc.section("[[plugins]]", "The plugin targets, found in the host's tree and beside "
                                   "it." if index == 0 else None)
        doc.set("plugins[].type", "type", target.type)
        doc.set("plugins[].name", "name", target.name)
        doc.set("plugins[].source", "source", target.source, where)
        doc.rest("plugins[]", "plugins[]")


_STANDARD = {"context", "http", "url", "io", "fs", "json", "time", "slog", "sql", "net",
             "os", "fmt", "errors", "bytes", "strings", "sync"}


def _names_other_packages(go_type: str) -> bool:
    return any(q not in _STANDARD for q in re.findall(r"\b([a-z][a-z0-9_]*)\.[A-Z]", go_type))


def _workspace(host: Path) -> Path | None:
    for folder in (host, host.parent):
        if (folder / "go.work").is_file():
            return folder / "go.work"
    return None


def _relative(path: Path, folder: Path) -> str:
    relative = os.path.relpath(path.absolute(), folder)
    return "." if relative == "." else relative


def _plugins_json(plan: Plan) -> str:
    """The plugins section of the host's JSON config: each target where images put it."""
    rules = {rule.name: rule for rule, _ in plan.types}
    plugins = [{"enabled": True, "name": t.name,
                "path": f"{plan.preset.plugin_dir}/{rules[t.type].file.format(type=t.type, name=t.name)}",  # noqa: E501
                "config": {}} for t in plan.targets]
    return json.dumps({"plugins": plugins}, indent=2) + "\n"


# -- writing ---------------------------------------------------------------------------------


def write(plan: Plan) -> Outcome:
    """Write the plan: existing files are kept unless forced; the config is loaded first.

    An existing buildconfig.toml stops init before anything is written (running init
    twice changes nothing); other existing files (a tasks.py of your own) are kept, and
    the rest is written.
    """
    folder = plan.options.folder.absolute()
    config = folder / CONFIG_NAME
    if config.exists() and not plan.options.force:
        raise UsageError(f"{config} exists: init never replaces it",
                         fix="edit it, or run init again with --force to replace it (and "
                             "tasks.py, noxfile.py)")
    folder.mkdir(parents=True, exist_ok=True)
    written: list[str] = []
    kept: list[str] = []
    created: list[Path] = []  # folders made here, removed again if the config fails
    try:
        for relative, source in plan.templates.items():
            target = folder / relative
            if target.exists() and not plan.options.force:
                kept.append(relative + "/")
                continue
            created += [p for p in reversed(target.parents) if not p.exists()]
            created += [] if target.exists() else [target]
            _copy_template(source, target)
            written.append(relative + "/")
        _validate(folder, plan.files[CONFIG_NAME])
    except BaseException:
        for path in reversed(created):
            shutil.rmtree(path, ignore_errors=True)
        raise
    for relative, text in plan.files.items():
        target = folder / relative
        if target.exists() and not plan.options.force:
            kept.append(relative)
            continue
        write_atomically(target, text)
        written.append(relative)
    return Outcome(plan, tuple(written), tuple(kept))


def _copy_template(source: Path, target: Path) -> None:
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent
                                    if target.parent.exists() else _mkdir(target.parent)))
    try:
        for path in sorted(source.glob("*.tmpl")):
            shutil.copyfile(path, staging / path.name)
        if target.exists():
            shutil.rmtree(target)
        os.replace(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def _validate(folder: Path, text: str) -> None:
    """Load the config exactly where it will land (relative paths resolve the same)."""
    handle, name = tempfile.mkstemp(prefix=".buildconfig-", suffix=".toml", dir=folder)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        config_module.load(name)
    except ConfigError as error:
        raise UsageError(f"the config init made for this host does not load: {error.message}",
                         fix=error.fix or "check the host's layout (--host), or start from "
                                          "--preset blank and edit buildconfig.toml") from None
    finally:
        Path(name).unlink(missing_ok=True)


__all__ = ["Options", "Outcome", "Plan", "plan", "write"]
