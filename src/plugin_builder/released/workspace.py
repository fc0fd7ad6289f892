"""The workspace a plugin of a released host is built in, and what it must agree with.

A host made by ``go install example.com/host/cmd/x@v1.0.0`` compiled its own module as a
*dependency* at v1.0.0: under ``-trimpath`` its files are ``example.com/host@v1.0.0/...``,
and that name is part of each package's fingerprint. So the host module is not ``use``d
in the plugin's workspace (a workspace module is compiled as ``example.com/host/...``,
recorded ``(devel)``: measured, the host refuses the plugin with "plugin was built with
a different version of package example.com/host/api"): the plugin requires it at the
released version in its own go.mod, and the generated go.work holds only the plugin and
the host's recorded replacements (a dependency's go.mod replaces are not applied, so the
host's ``otel v1.2.0 => v1.1.0`` must be said again).

Its go.work.sum starts with the ``h1:`` sums the host binary records, so the go command
checks every module it fetches against what the host was built with; the main module is
fetched first (``go mod download -json``, with the combination's Go, which checks it
against the checksum database as for any module), and before compiling the modules the
plugin would link are compared with the binary's (:func:`build_list`).

verify's stand-in loader requires the whole recorded build list (:func:`loader_gomod`),
so the declared types of a plugin type resolve to the host's own packages at the host's
versions.
"""

from __future__ import annotations

import json
from pathlib import Path

from plugin_builder.backends import BuildEnvironment
from plugin_builder.errors import ModuleGraphError
from plugin_builder.files import write_atomically
from plugin_builder.golang import gojson
from plugin_builder.golang.gomod import Replace
from plugin_builder.golang.modgraph import Selected
from plugin_builder.recipe import Recipe


def gowork(recipe: Recipe, go_release: str, plugin: Path) -> str:
    """The go.work of a plugin of the released host: the plugin, and the host's
    replacements, which decide its build list as they decided the host's."""
    lines = [f"go {go_release}", "", "use (", f"\t{json.dumps(str(plugin))}", ")", ""]
    lines += [f"replace {dep.path} {dep.version} => {dep.replace_path} {dep.replace_version}"
              for dep in recipe.deps if dep.replace_path]
    return "\n".join(lines) + "\n"


def loader_gomod(recipe: Recipe) -> str:
    """The go.mod of verify's stand-in loader of a released host: the host's build list,
    its own module among it, required at the recorded versions with the recorded
    replacements, so a declared type resolves to the very package the host links."""
    lines = ["module plugin-builder.dev/loader", "", f"go {recipe.go}", "", "require ("]
    lines += [f"\t{module.path} {module.version}" for module in (recipe.main, *recipe.deps)]
    lines += [")", ""]
    lines += [f"replace {dep.path} {dep.version} => {dep.replace_path} {dep.replace_version}"
              for dep in recipe.deps if dep.replace_path]
    return "\n".join(lines) + "\n"


def write_sums(folder: Path, recipe: Recipe) -> Path:
    """go.work.sum beside the go.work: the host's recorded sums first, then whatever go
    added (it keeps adding what it verifies)."""
    path = folder / "go.work.sum"
    have = path.read_text().splitlines() if path.is_file() else []
    missing = [line for line in recipe.sum_lines() if line not in have]
    if missing or not path.is_file():
        write_atomically(path, "\n".join([*have, *missing]) + "\n")
    return path


def build_list(recipe: Recipe) -> dict[str, Selected]:
    """The host's build list as the binary records it, in the shape of ``go list -m``: its
    main module is a dependency of the plugin, at its released version."""
    modules = {recipe.main.path: Selected(recipe.main.path, recipe.main.version)}
    for dep in recipe.deps:
        replace = Replace(dep.path, dep.version, dep.replace_path, dep.replace_version) \
            if dep.replace_path else None
        modules[dep.path] = Selected(dep.path, dep.version, replace)
    return modules


def fetch_main_module(environment: BuildEnvironment, recipe: Recipe, folder: Path,
                      env: dict[str, str]) -> None:
    """Fetch the host's main module at its released version through the module proxy
    and check it is the code the host was built with (its recorded sum)."""
    main = recipe.main
    fetched = environment.run([environment.go, "mod", "download", "-json",
                               f"{main.path}@{main.version}"], cwd=folder,
                              env={**env, "GOWORK": "off", "GOFLAGS": "-mod=mod"})
    found = next(iter(gojson.objects(fetched.stdout, "go mod download")), {}) \
        if fetched.stdout.strip() else {}
    error = found.get("Error") or (fetched.stderr.strip() if fetched.returncode else "")
    if error:
        raise ModuleGraphError(
            f"the host's module {main.path} {main.version} cannot be fetched: {error}",
            fix="make the module proxy that serves it reachable (GOPROXY; GOPRIVATE and "
                "GONOSUMDB for a private one), then build again")
    if main.sum and found.get("Sum") != main.sum:
        raise ModuleGraphError(
            f"{main.path} {main.version} from the module proxy is not the code the host was "
            f"built with: it sums to {found.get('Sum')}, the host binary records {main.sum}",
            fix="build against the proxy the host was built from (GOPROXY), or ask for the "
                "host's source: plugins cannot be built for other code")


def checksum_mismatch(output: str) -> str | None:
    """The go command's refusal of a module whose content is not what go.work.sum (the
    host's recorded sums) or go.sum says: its first line, or None."""
    for line in output.splitlines():
        if "checksum mismatch" in line:
            return line.strip().removeprefix("go: ")
    return None
