"""Which main packages of a host load plugins through another module: the go command's word.

Reading the host's own sources (:mod:`.hostscan`) finds a main package that imports
``plugin`` itself or through a package of the host module. A host that loads plugins
only through a library (KrakenD's gateway through lura) imports ``plugin`` in a
dependency module, which only the go command resolves: ``go list -deps`` over the host
module, run by the provisioned Go release the matrix starts with, lists every package
each main package links, and so the one that imports ``plugin``.
"""

from __future__ import annotations

import dataclasses
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path

from plugin_builder import processes
from plugin_builder.config import default_toolchain_cache
from plugin_builder.errors import BuildError, ToolchainError
from plugin_builder.golang import gojson
from plugin_builder.golang.goenv import GOFLAGS
from plugin_builder.golang.toolchains import go_toolchain, toolchain_env
from plugin_builder.init.hostscan import HostFacts

LIST_TIMEOUT_S = 600  # module downloads included
FIELDS = "ImportPath,Name,Imports,Deps,Module"

# (host folder, Go release, build tags) -> what `go list -json` printed on stdout.
Lister = Callable[[Path, str, Sequence[str]], str]


class Unanswered(Exception):
    """go list could not be run, or said nothing: the reason, one line."""


def go_list(host: Path, release: str, tags: Sequence[str]) -> str:
    """``go list -e -deps -json`` of every package of the host module, by go<release>."""
    toolchain = go_toolchain(release, default_toolchain_cache(), log=lambda _message: None)
    argv = [str(toolchain.go), "list", "-e", "-deps", f"-json={FIELDS}"]
    if tags:
        argv.append("-tags=" + ",".join(tags))
    argv.append("./...")
    env = {**toolchain_env(), "GOFLAGS": GOFLAGS, "GOWORK": "off", "CGO_ENABLED": "1"}
    code, output, errors = _run(argv, host, env)
    if code != 0 and not output.strip():
        lines = [line.strip() for line in errors.splitlines() if line.strip()]
        raise Unanswered(lines[-1] if lines else f"exit code {code}")
    return output


def find_loaders(facts: HostFacts, release: str, tags: Sequence[str],
                 lister: Lister = go_list) -> tuple[HostFacts, str]:
    """The facts with the main packages `go list` says load plugins, and a note saying so."""
    asked = f"`go list -deps` (Go {release})"
    try:
        loaders = loaders_in(lister(facts.folder, release, tags))
    except (Unanswered, BuildError, ToolchainError) as error:
        reason = str(error).splitlines()[0]
        return facts, (f"no main package imports \"plugin\" in the host module's sources, "
                       f"and {asked} could not say more: {reason}")
    mains = tuple(dataclasses.replace(main, loads_plugins=True, through=loaders[main.import_path])
                  if main.import_path in loaders else main for main in facts.mains)
    found = [f"{m.relative} through {m.through}" for m in mains if m.through]
    if not found:
        return facts, (f"no main package imports \"plugin\" in the host module's sources, "
                       f"nor through a dependency: {asked} says so too")
    return dataclasses.replace(facts, mains=mains), (
        f"no main package imports \"plugin\" in the host module's sources; {asked} found "
        f"those that do through a dependency: {', '.join(found)}")


def loaders_in(output: str) -> dict[str, str]:
    """Main package of the host module -> the package that imports "plugin" for it."""
    packages = list(gojson.objects(output, "go list -deps"))
    importers = sorted(p["ImportPath"] for p in packages if "plugin" in (p.get("Imports") or ()))
    loaders = {}
    for package in packages:
        if package.get("Name") != "main" or not (package.get("Module") or {}).get("Main"):
            continue
        deps = set(package.get("Deps") or ())
        if "plugin" in deps:
            loaders[package["ImportPath"]] = next((i for i in importers if i in deps), "plugin")
    return loaders


def _run(argv: list[str], cwd: Path, env: dict[str, str]) -> tuple[int, str, str]:
    """Like processes.capture, with a time limit: stdout (JSON) apart from stderr (the go
    command's talk)."""
    with processes.Supervised(argv, cwd=cwd, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, errors="replace") as command:
        try:
            output, errors = command.process.communicate(timeout=LIST_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            raise Unanswered(f"no answer in {LIST_TIMEOUT_S} s") from None
    return command.process.returncode, output, errors
