"""The rules between plugins a service loads together, in the order it loads them.

Go loads every plugin into one process with ``RTLD_GLOBAL``: a package the host does not
contain is defined by the first plugin loaded that contains it, and every later plugin
that contains it is compared with that copy (``plugin was built with a different version
of package P``, whichever plugin comes first). And the runtime keeps one plugin per
plugin path (the import path of its main package, build info's ``path``): a second file
with the same one is refused with ``plugin already loaded``. Both are read from what the
binaries record: their fingerprints (kept when they landed) and their build info.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from plugin_builder.binary.buildinfo import BuildInfo
from plugin_builder.binary.side import Side
from plugin_builder.verify.findings import Finding, RebuildHint, RuleId

_FILE_LIST_PACKAGE = "command-line-arguments"  # its plugin path is a hash of the files


@dataclass(frozen=True)
class Loaded:
    """One plugin of a service, as the rules between plugins read it."""

    side: Side
    hint: RebuildHint  # where its fixes point

    @property
    def label(self) -> str:
        return os.path.basename(self.side.path)

    @property
    def plugin_path(self) -> str | None:
        info = self.side.buildinfo
        return info.path if info and info.path and info.path != _FILE_LIST_PACKAGE else None


def together(host: Side, plugins: Sequence[Loaded]) -> list[tuple[Finding, ...]]:
    """For each plugin, in load order, what loading it after the ones before meets."""
    host_packages = host.fingerprints.hashes if host.fingerprints else {}
    defined: dict[str, tuple[bytes, Loaded]] = {}  # package -> the copy the process has
    paths: dict[str, Loaded] = {}
    found: list[tuple[Finding, ...]] = []
    for plugin in plugins:
        findings = []
        earlier = paths.get(plugin.plugin_path or "")
        if earlier is not None and not _same_file(earlier, plugin):
            findings.append(_duplicate_path(earlier, plugin))
        elif plugin.plugin_path:
            paths.setdefault(plugin.plugin_path, plugin)
        findings += _conflicts(plugin, host_packages, defined)
        found.append(tuple(findings))
    return found


def _same_file(one: Loaded, other: Loaded) -> bool:
    """One file named twice: the runtime opens it once (the second Open is cached)."""
    return os.path.realpath(one.side.path) == os.path.realpath(other.side.path)


def _conflicts(plugin: Loaded, host_packages: Mapping[str, bytes],
               defined: dict[str, tuple[bytes, Loaded]]) -> list[Finding]:
    prints = plugin.side.fingerprints
    if prints is None:
        return []
    order = prints.check_order if prints.check_order is not None else sorted(prints.hashes)
    clashes: dict[str, list[str]] = {}  # the earlier plugin's label -> packages
    owners: dict[str, Loaded] = {}
    for package in order:
        value = prints.hashes.get(package)
        if value is None or package in host_packages:
            continue  # the host's copy decides: a rule of the pair
        first = defined.setdefault(package, (value, plugin))
        if first[0] != value and first[1] is not plugin:
            clashes.setdefault(first[1].label, []).append(package)
            owners[first[1].label] = first[1]
    return [_conflict(owners[label], plugin, packages) for label, packages in clashes.items()]


def _conflict(first: Loaded, plugin: Loaded, packages: list[str]) -> Finding:
    package = packages[0]
    name = plugin.side.path.removesuffix(".so")
    shown = ", ".join(packages[:5]) + (f" (+{len(packages) - 5} more)" if len(packages) > 5
                                       else "")
    return Finding(
        rule=RuleId.PLUGIN_CONFLICT, subject=package,
        host_value=f"{first.label} is loaded first and defines {package}",
        plugin_value=f"{len(packages)} differ: {shown}",
        host_error=f'plugin.Open("{name}"): plugin was built with a different version of '
                   f"package {package}",
        fix=plugin.hint.build_plugin_command(),
        fix_action=f"build both against one copy of {package} ({_cause(first, plugin, package)}"
                   f"); or add its module to the host's build list, so the host's copy "
                   "decides for both; then rebuild with",
        summary=f"{plugin.label} and {first.label}, which is loaded before it, both contain "
                f"{package}, which the host does not, compiled differently: the first "
                f"plugin loaded defines it for the process, so {plugin.label} is refused (in "
                "the other order, the other one would be)")


def _cause(first: Loaded, plugin: Loaded, package: str) -> str:
    """Why the two copies differ, as far as the build infos tell."""
    one, other = first.side.buildinfo, plugin.side.buildinfo
    if one is None or other is None:
        return "a plugin carries no build information"
    module = _module_of(package, one) or _module_of(package, other)
    if module is None:
        if one.base_go_version != other.base_go_version:
            return (f"a standard package: {first.label} built by {one.base_go_version}, "
                    f"{plugin.label} by {other.base_go_version}")
        return "a standard package: the two were built with other settings"
    labels = [info.modules_by_path().get(module) for info in (one, other)]
    shown = [m.label if m else "absent" for m in labels]
    return f"module {module}: {first.label} has {shown[0]}, {plugin.label} {shown[1]}"


def _module_of(package: str, info: BuildInfo) -> str | None:
    paths = [path for path in info.modules_by_path()
             if path and (package == path or package.startswith(path + "/"))]
    return max(paths, key=len) if paths else None


def _duplicate_path(first: Loaded, plugin: Loaded) -> Finding:
    name = plugin.side.path.removesuffix(".so")
    path = plugin.plugin_path
    return Finding(
        rule=RuleId.PLUGIN_PATH, subject=path or "",
        host_value=f"{first.label} is loaded first, with plugin path {path}",
        plugin_value=f"plugin path {path}",
        host_error=f'plugin.Open("{name}"): plugin already loaded',
        fix=plugin.hint.build_plugin_command(),
        fix_action=f"give {plugin.label}'s module a path of its own (the `module` line of its "
                   "go.mod: its main package's import path names the plugin to the Go "
                   "runtime), then rebuild with",
        summary=f"{plugin.label} and {first.label}, which is loaded before it, have one plugin "
                f"path, {path}: the Go runtime keeps one plugin per path, so it refuses the "
                "second")
