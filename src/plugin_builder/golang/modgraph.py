"""Module graphs as the go command reports them, and what a plugin's must share with its host's.

A plugin loads only if every package it shares with its host has the host's fingerprint.
For a package of a module, that fingerprint holds what the module's build-list entry
says: with ``-trimpath`` the files are named ``<module>@<version>/<file>`` after the
*selected* version (the left side of a replacement: ``otel v1.24.0 => v1.19.0`` is not
``otel v1.19.0``, though the code is), and the code comes from the replacement. So a
module both sides link must have the same entry on both: version, replacement path,
replacement version, replacement folder.

Go reports the entries: ``go list -m -json all`` (a build list), ``go list -deps -json``
(the modules a build links, as ``go version -m`` records them afterwards) and ``go mod
graph`` (who requires what, to say which requirement pulled a version up). Everything here
reads their output; nothing runs a command.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from plugin_builder.golang.gomod import GoMod, Replace


@dataclass(frozen=True)
class Selected:
    """One module of a build list: the version MVS selected, and what replaces it."""

    path: str
    version: str  # "" for a main (or workspace) module
    replace: Replace | None = None
    main: bool = False

    @property
    def label(self) -> str:
        """As ``go list -m all`` prints it: "v1.2.0", "v1.2.0 => example.com/x v1.1.0"."""
        if self.main:
            return "(main module)"
        target = self.replace
        if target is None:
            return self.version
        if target.is_directory:
            return f"{self.version} => {target.target}"
        return f"{self.version} => {target.target} {target.target_version}"


def selected(item: Mapping) -> Selected:
    """A module object of ``go list -m -json`` (or a package's ``Module`` in ``go list -json``)."""
    replace = item.get("Replace")
    return Selected(path=item["Path"], version=item.get("Version", ""),
                    main=bool(item.get("Main")),
                    replace=_replacement(item, replace) if replace else None)


def _replacement(item: Mapping, replace: Mapping) -> Replace:
    # A directory replacement is written relative to the go.mod that says it; Dir is
    # absolute, which compares across folders (and a generated go.work needs).
    target = replace["Path"] if replace.get("Version") else replace.get("Dir", replace["Path"])
    return Replace(item["Path"], item.get("Version"), target, replace.get("Version"))


def build_list(items: Iterable[Mapping]) -> dict[str, Selected]:
    """The objects of ``go list -m -json all``, by module path."""
    return {module.path: module for module in map(selected, items)}


def linked_modules(packages: Iterable[Mapping]) -> dict[str, Selected]:
    """The modules a build links, from the packages of ``go list -deps -json``: exactly
    the ``dep`` lines (and main module) ``go version -m`` shows once it is built."""
    modules = {}
    for package in packages:
        module = package.get("Module")
        if module and not package.get("Standard"):
            modules[module["Path"]] = selected(module)
    return modules


# -- what host and plugin must agree on -------------------------------------------------


@dataclass(frozen=True)
class Disagreement:
    """A module the plugin links whose entry is not the host's."""

    host: Selected
    plugin: Selected
    chain: tuple[str, ...] = ()  # the requirements that pull the plugin's version in

    @property
    def path(self) -> str:
        return self.host.path

    @property
    def version_differs(self) -> bool:
        """The selected versions differ: a requirement pulled the plugin's up."""
        return self.host.version != self.plugin.version

    @property
    def same_code(self) -> bool:
        """Both replace it by the same code: only the recorded version differs."""
        ours, theirs = self.plugin.replace, self.host.replace
        return ours is not None and theirs is not None and \
            (ours.target, ours.target_version) == (theirs.target, theirs.target_version)

    @property
    def asked_directly(self) -> bool:
        """The plugin's own go.mod pulls the version up; no dependency of it does."""
        return len(self.chain) == 2


def disagreements(host: Mapping[str, Selected],
                  linked: Mapping[str, Selected]) -> list[Disagreement]:
    """Each module the plugin links that the host's build list has with another entry.

    The host's main modules (its module and workspace) are main modules of the plugin's
    workspace too, compiled from their folders on both sides. A module the host's build
    list does not have cannot be in the host's binary, so the plugin may have it at any
    version. The plugin's own module, were the host to require it, would not agree.
    """
    found = []
    for path in sorted(linked.keys() & host.keys()):
        ours, theirs = linked[path], host[path]
        if ours.main and theirs.main:
            continue
        if (ours.main, ours.version, ours.replace) != \
                (theirs.main, theirs.version, theirs.replace):
            found.append(Disagreement(host=theirs, plugin=ours))
    return found


def plugin_fix(found: Iterable[Disagreement], plugin: GoMod) -> list[list[str]]:
    """The go commands (arguments) that give the plugin's module the host's entries.

    A replacement of the plugin's own is dropped. A version its go.mod asks for itself
    is lowered by an edit, which needs no module resolved; one a dependency pulls up is
    lowered by ``go get``, which downgrades that dependency as far as it must.
    """
    replaced = {replace.path for replace in plugin.replaces}
    edits, gets = [], []
    for disagreement in found:
        if disagreement.plugin.main:
            continue  # the plugin's own module: no command makes it the host's version
        path, version = disagreement.path, disagreement.host.version
        if path in replaced:
            edits.append(f"-dropreplace={path}")
        if disagreement.version_differs and disagreement.asked_directly:
            edits.append(f"-require={path}@{version}")
        elif disagreement.version_differs:
            gets.append(f"{path}@{version}")
    return ([["mod", "edit", *edits]] if edits else []) + ([["get", *gets]] if gets else [])


def host_upgrade(found: Iterable[Disagreement]) -> list[list[str]]:
    """The go command (arguments) that gives the host the plugin's versions instead."""
    raised = [f"{d.path}@{d.plugin.version}" for d in found
              if d.version_differs and not d.plugin.main]
    return [["get", *raised]] if raised else []


# -- who requires what: `go mod graph` ----------------------------------------------------


def requirement_graph(text: str) -> dict[str, list[str]]:
    """``go mod graph`` output as node -> the nodes it requires, in Go's order.

    A node is "path@version", or the bare path of a main module; ``go@...`` and
    ``toolchain@...`` nodes are left out (they are not modules).
    """
    graph: dict[str, list[str]] = {}
    for line in text.splitlines():
        words = line.split()
        if len(words) != 2 or _is_toolchain(words[0]) or _is_toolchain(words[1]):
            continue
        graph.setdefault(words[0], []).append(words[1])
    return graph


def _is_toolchain(node: str) -> bool:
    return node.startswith(("go@", "toolchain@"))


def requirement_chain(graph: Mapping[str, list[str]], start: str,
                      target: str) -> tuple[str, ...]:
    """The shortest chain of requirements from ``start`` to ``target`` ("M@v"), as
    ``go mod graph`` shows it; () when there is none.

    A chain through another module is preferred to ``start`` requiring ``target``
    itself: a tidy go.mod lists every module it builds with (an ``// indirect`` line),
    so the direct line usually only repeats what a dependency asked for.
    """
    through = _shortest(graph, start, target, skip_direct=True)
    return through or _shortest(graph, start, target, skip_direct=False)


def _shortest(graph: Mapping[str, list[str]], start: str, target: str, *,
              skip_direct: bool) -> tuple[str, ...]:
    came_from: dict[str, str] = {start: start}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for required in graph.get(node, ()):
            if required in came_from or (skip_direct and node == start and required == target):
                continue
            came_from[required] = node
            if required == target:
                return _walk_back(came_from, start, target)
            queue.append(required)
    return ()


def _walk_back(came_from: Mapping[str, str], start: str, target: str) -> tuple[str, ...]:
    chain = [target]
    while chain[-1] != start:
        chain.append(came_from[chain[-1]])
    return tuple(reversed(chain))


# -- the go command's refusals, recognised --------------------------------------------------

# `go: module example.com/x@v1.0.0 requires go >= 1.30 (running go 1.26.6; GOTOOLCHAIN=local)`
_GO_TOO_NEW = re.compile(r"module (\S+?)@(\S+) requires go >= (\S+) \(running go (\S+?);")


@dataclass(frozen=True)
class GoTooNew:
    module: str
    version: str
    go: str  # the go line of that module's go.mod


def go_too_new(output: str) -> GoTooNew | None:
    """The dependency the go command refused because its go line is newer than itself."""
    match = _GO_TOO_NEW.search(output)
    return GoTooNew(*match.group(1, 2, 3)) if match else None


# `go: conflicting replacements for example.com/x:` (two workspace modules replace it)
_CONFLICT = re.compile(r"conflicting replacements for (\S+?):")


def conflicting_replacement(output: str) -> str | None:
    """The module two workspace modules' go.mod files replace differently, if Go said so."""
    match = _CONFLICT.search(output)
    return match.group(1) if match else None
