"""What `plugin-builder init` will write, decided from the flags, the preset and the host.

:func:`plan` reads the host (:mod:`.hostscan`; :mod:`.golist` when the sources show no
main package loading plugins) and returns a :class:`Plan`: the matrix, the services and
which of them loads each plugin type, the plugin targets found, the version and tags
the host is built with, and notes on what was left out. It writes nothing and prints
nothing; :mod:`.render` turns the plan into files and :mod:`.land` writes them.
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path

from plugin_builder.config import TARGET_NAME_RE
from plugin_builder.config.pattern import compile_pattern
from plugin_builder.config.targets import package_names, qualifiers
from plugin_builder.errors import UsageError
from plugin_builder.golang.gomod import parse_gowork, read_gomod
from plugin_builder.init import binaries, golist, hostscan, presets
from plugin_builder.init import options as flags
from plugin_builder.init.options import Options
from plugin_builder.init.presets import LOADER, Preset, TypeRule
from plugin_builder.scaffold import DEFAULT_HOST_VERSION, default_host_label

GENERIC_FOLDERS = {"plugin", "plugins", "testdata", "src", "cmd", "main"}
# A folder named after a version: v5, tyk-v5, tyk-v5-5-0, app-1.2 (not http2).
_VERSION_FOLDER = re.compile(r"(?:.*[-_.])?v\d+(?:[-_.]\d+)*|.*[-_.]\d+(?:[-_.]\d+)+")
_BINARY = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.+-]*")


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


@dataclass(frozen=True)
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
    version: str = "0.0.0"
    version_reason: str | None = None  # None: the preset's
    tags: tuple[str, ...] = ()  # build tags the services need to load plugins
    host_label: str = DEFAULT_HOST_VERSION  # what a plugin's go.mod requires the host at
    notes: list[str] = field(default_factory=list)

    @property
    def folder(self) -> Path:
        return self.options.folder.absolute()


def plan(options: Options, *, lister: golist.Lister = golist.go_list) -> Plan:
    """Everything init will write; nothing is written yet."""
    preset = presets.load(options.preset)
    host = _host_folder(options)
    releases = flags.go_releases(options.go)
    libcs, arches = flags.libcs(options.libc), flags.arches(options.arch)
    folder = options.folder.absolute()
    facts = hostscan.scan(host, preset.marks.symbols,
                          elsewhere=[*hostscan.plugin_roots(host), folder])
    go, go_reason = _go(releases, facts)
    notes: list[str] = []
    if not facts.loaders and facts.mains and any(r.service == LOADER for r in preset.types):
        # No tags: no file of the host imports "plugin", so none asks for one.
        facts, asked = golist.find_loaders(facts, go[0], (), lister)
        notes.append(asked)
    services, types, more = _services_and_types(preset, facts)
    types = [(_fit(rule, _known_modules(facts)), service) for rule, service in types]
    targets, found = _targets(folder, facts, types)
    tags = tuple(sorted({*_tags(services, facts), *preset.tags}))
    notes += more + list(facts.notes) + found + _tag_notes(tags, services, facts)
    version, version_reason = _version(preset, facts)
    return Plan(options=options, preset=preset, facts=facts, go=go, go_reason=go_reason,
                libcs=libcs, arches=arches,
                services=services, types=types, targets=targets,
                allow_outside=_outside(folder, host, targets), version=version,
                version_reason=version_reason, tags=tags, host_label=_host_label(facts),
                notes=notes)


def guess_preset(host: Path) -> str:
    """The preset whose marks fit the host: its module path, or its plugins' symbols."""
    candidates = presets.available()
    if not (host / "go.mod").is_file():
        return presets.guess(candidates, "", ()).name  # the fallback
    symbols = {symbol for p in candidates for symbol in p.marks.symbols}
    facts = hostscan.scan(host, symbols, elsewhere=hostscan.plugin_roots(host.absolute()))
    build_list = _known_modules(facts)

    def borne_out(preset: Preset) -> bool:
        """The host holds the family's contract packages, or its source names one of
        the symbols the family's plugins export (as a host looking them up does)."""
        packages = preset.contract_packages()
        return any(_resolvable(path, build_list) for path in packages) or \
            hostscan.names_any(host, preset.marks.symbols)

    return presets.guess(candidates, facts.gomod.module,
                         (plugin.functions for plugin in facts.plugins), borne_out).name


def _host_folder(options: Options) -> Path:
    host = options.host.expanduser().absolute()
    if not (host / "go.mod").is_file():
        raise UsageError(f"--host {options.host}: no go.mod in {host}",
                         fix="pass the folder of the host's Go module (the one with its go.mod)")
    return host


def _go(releases: tuple[str, ...], facts: hostscan.HostFacts) -> tuple[tuple[str, ...], str]:
    if releases:
        return releases, "--go"
    release, reason = hostscan.go_release(facts.gomod, flags.DEFAULT_GO)
    return (release,), f"the host's go.mod: {reason}"


def _version(preset: Preset, facts: hostscan.HostFacts) -> tuple[str, str | None]:
    """The host's own version: a stamp variable's value in its source, else its git tag."""
    for variable, value in facts.versions:
        if hostscan.version_like(value):
            return value, f"the value of {variable.rsplit('/', 1)[-1]} in the host's source"
    if facts.git_tag:
        return facts.git_tag, "the host's latest git tag"
    return preset.version, None


def _host_label(facts: hostscan.HostFacts) -> str:
    """The version the plugins found require the host module at (the label is part of
    every package's fingerprint, so a new plugin uses theirs)."""
    labels = Counter(p.host_version for p in facts.plugins if p.host_version)
    return labels.most_common(1)[0][0] if labels else default_host_label(facts.gomod.module)


# -- services and plugin types ------------------------------------------------------------


def _services_and_types(preset: Preset, facts: hostscan.HostFacts
                        ) -> tuple[list[Service], list[tuple[TypeRule, str]], list[str]]:
    services, notes = _named_services(preset, facts)
    loaders: list[Service] = []
    if any(rule.service == LOADER for rule in preset.types):
        loaders = _loader_services(facts, services, notes)
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


def _named_services(preset: Preset, facts: hostscan.HostFacts
                    ) -> tuple[dict[str, Service], list[str]]:
    """The preset's services, each the main package in one of its folders."""
    services: dict[str, Service] = {}
    notes: list[str] = []
    for rule in preset.services:
        candidates = sorted((m for m in facts.mains if m.name in rule.folders),
                            key=lambda m: (not m.loads_plugins, len(m.relative)))
        if not candidates:
            notes.append(f"no main package named {' or '.join(rule.folders)} in the host: "
                         f"service {rule.name} and its plugin types left out")
            continue
        main = candidates[0]
        binary = _binary(main, facts)
        services[rule.name] = Service(rule.name, main.relative, rule.check or _check(main),
                                      rule.healthcheck, _found(main, "folder name"),
                                      binary=binary if binary != rule.name else None)
    return services, notes


def _loader_services(facts: hostscan.HostFacts, services: dict[str, Service],
                     notes: list[str]) -> list[Service]:
    """A service for every main package that loads plugins (every one, if none does)."""
    mains = facts.loaders
    if not mains:
        mains = facts.mains
        if mains:
            notes.append("no main package of the host imports \"plugin\" (itself or "
                         "through a package of the host): every main package is taken "
                         "as a service; remove those that load no plugins")
    loaders = []
    for main in mains:
        binary = _binary(main, facts)
        name = _service_name(main, binary, services)
        services[name] = Service(name, main.relative, _check(main), (),
                                 _found(main, "main package"),
                                 binary=binary if binary != name else None)
        loaders.append(services[name])
    return loaders


def _found(main: hostscan.MainPackage, otherwise: str) -> str:
    if main.through:
        return f"loads plugins through {main.through}, says go list"
    return "loads plugins" if main.loads_plugins else otherwise


def _check(main: hostscan.MainPackage) -> tuple[str, ...]:
    """A host with its own `check-plugin` subcommand checks plugins itself."""
    return ("{binary}", "check-plugin", "{plugin}") if main.has_check else ()


def _binary(main: hostscan.MainPackage, facts: hostscan.HostFacts) -> str:
    """The binary's name: the main package's folder, unless that is the checkout's folder
    (the module root), a version (``tyk-v5-5-0``, ``v2``) or no valid name; then what the
    host's own build names it, else the module path's last element (as `go build` names
    the root package) or, for a folder that is no valid name, the folder's name cleaned."""
    versioned = main.relative == "." or _VERSION_FOLDER.fullmatch(main.name)
    if not versioned and TARGET_NAME_RE.fullmatch(main.name):
        return main.name
    declared = facts.binaries.get(main.relative)
    if declared and _BINARY.fullmatch(declared):
        return declared
    if versioned:
        return _name(binaries.go_default(facts.gomod.module)) or "host"
    return _name(main.name) or "host"


def _service_name(main: hostscan.MainPackage, binary: str, taken: dict[str, Service]) -> str:
    parts = [p for p in main.relative.split("/") if p not in (".", "cmd")]
    base = _name(binary) or "host"
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


def _tags(services: list[Service], facts: hostscan.HostFacts) -> tuple[str, ...]:
    """The build tags without which a service imports no "plugin" (Tyk's goplugin)."""
    mains = {m.relative: m for m in facts.mains}
    return tuple(sorted({tag for s in services if s.main in mains
                         for tag in mains[s.main].plugin_tags}))


def _tag_notes(tags: tuple[str, ...], services: list[Service],
               facts: hostscan.HostFacts) -> list[str]:
    if not tags:
        return []
    mains = {m.relative: m for m in facts.mains}
    which = [s.name for s in services if s.main in mains and mains[s.main].plugin_tags]
    return [f"host.tags = {json.dumps(list(tags))}: service {', '.join(which)} imports "
            f"\"plugin\" only in files built with -tags {','.join(tags)}"]


# -- contracts in the host's packages -------------------------------------------------------


def _known_modules(facts: hostscan.HostFacts) -> tuple[str, ...]:
    """The module paths of the host's build list init can see: its own, what its go.mod
    requires, and the modules of a go.work beside it."""
    modules = [facts.gomod.module, *(path for path, _ in facts.gomod.requires)]
    if facts.workspace is not None:
        work = parse_gowork(facts.workspace.read_text(encoding="utf-8"), str(facts.workspace))
        for use in work.uses:
            folder = (facts.workspace.parent / use).resolve()
            if (folder / "go.mod").is_file():
                modules.append(read_gomod(folder).module)
    return tuple(modules)


def _resolvable(path: str, modules: tuple[str, ...]) -> bool:
    if "." not in path.split("/")[0]:
        return True  # the standard library
    return any(path == module or path.startswith(module + "/") for module in modules)


def _fit(rule: TypeRule, modules: tuple[str, ...]) -> TypeRule:
    """The rule as this host can hold it: a type naming a package its build list lacks
    (the real host's, on a host of the family that is not it) is not declared, since
    verify's stand-in loader could not compile it; its symbols are still required."""
    missing = tuple(path for path in rule.imports if not _resolvable(path, modules))
    if not missing:
        return rule
    lacking = {name for path in missing for name in package_names(path)}

    def fits(go_type: str) -> bool:
        return not qualifiers(go_type) & lacking

    symbols = {s: t for s, t in rule.symbols.items() if fits(t)}
    hooks = {s: t for s, t in rule.hooks.items() if fits(t)}
    unasserted = {s: t for s, t in {**rule.symbols, **rule.hooks}.items() if not fits(t)}
    call = rule.call
    if call and (call.get("symbol") in unasserted or not all(
            fits(str(r.get("implements", ""))) for r in call.get("returns", ()))):
        call = {}
    returned = [str(r.get("implements", "")) for r in call.get("returns", ())] if call else []
    used = {q for t in (*symbols.values(), *hooks.values(), *returned) for q in qualifiers(t)}
    imports = tuple(path for path in rule.imports
                    if path not in missing and package_names(path) & used)
    presence = tuple(s for s in rule.symbols if s not in symbols)
    return replace(rule, symbols=symbols, hooks=hooks, call=call, imports=imports,
                   presence=presence, unasserted=unasserted, missing_imports=missing)


# -- plugin targets -------------------------------------------------------------------------


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
    if rule.names and name not in rule.names:
        return f"'{name}' breaks the {rule.name} naming rule (one of {', '.join(rule.names)})"
    if rule.name_pattern and not compile_pattern(rule.name_pattern).fullmatch(name):
        return f"'{name}' breaks the {rule.name} naming rule (matches {rule.name_pattern})"
    if rule.name_contains and rule.name_contains not in name:
        return f"'{name}' breaks the {rule.name} naming rule (contains '{rule.name_contains}')"
    return None


def _outside(folder: Path, host: Path, targets: list[Target]) -> bool:
    """Whether the host or a plugin lives outside the project folder."""
    paths = [host, *(folder / t.source for t in targets)]
    return not all(p.resolve().is_relative_to(folder.resolve()) for p in paths)
