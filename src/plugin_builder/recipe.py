"""A released host's recipe: what a plugin must match, read from the host binary alone.

Go records in every binary how it was built (``go version -m``): the Go release, the
settings that feed package fingerprints (``-trimpath``, ``-tags``, ``-gcflags``,
``CGO_ENABLED``, ``GOEXPERIMENT``, ``-race``...), the main module at its version and
every dependency with its version, sum and replacement; the ELF says the libc, arch,
dynamic loader and the ``GLIBC_x.y`` versions it needs. That is the recipe: a plugin
built with the same Go and settings, whose every shared module has the host's entry,
has the host's fingerprints.

What a binary cannot give is refused, with the reason (:attr:`Recipe.refusals`): a main
module built from a checkout (``(devel)``, or a tag without a module sum), a dependency
replaced by a folder (its source is not on any proxy), a build without ``-trimpath``
(its fingerprints hold the build machine's folders), ``-mod=vendor``, a host that cannot
load plugins at all (static, ``CGO_ENABLED=0``). The recipe is also a file
(``plugin-builder recipe --json``, schema :data:`SCHEMA` version :data:`VERSION`,
documented in docs/recipe.md), so a host project can publish it beside each release.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from plugin_builder.binary.buildinfo import DEVEL, BuildInfo, Module, read_buildinfo
from plugin_builder.binary.elffacts import read_elf
from plugin_builder.binary.verneed import read_version_needs
from plugin_builder.combination import Combination
from plugin_builder.errors import BinaryError
from plugin_builder.files import sha256_file
from plugin_builder.golang.goenv import fingerprint_flags

SCHEMA = "plugin-builder/recipe"
VERSION = 1
HOST_BUILDMODES = ("exe", "pie")


@dataclass(frozen=True)
class Dependency:
    """A module of the host's build list, as recorded: a ``dep`` line and its ``=>``."""

    path: str
    version: str
    sum: str = ""
    replace_path: str = ""  # "" when not replaced
    replace_version: str = ""
    replace_sum: str = ""

    @property
    def label(self) -> str:
        if not self.replace_path:
            return self.version
        return f"{self.version} => {self.replace_path} {self.replace_version}".rstrip()

    @property
    def sum_lines(self) -> list[str]:
        """The go.sum line of the code the host was built with (the replacement's)."""
        path, version, h1 = (self.replace_path, self.replace_version, self.replace_sum) \
            if self.replace_path else (self.path, self.version, self.sum)
        return [f"{path} {version} {h1}"] if h1 and version else []


@dataclass(frozen=True)
class Recipe:
    """What a plugin of the host must match; one combination."""

    go_version: str  # as recorded: "go1.26.8" ("go1.26.8-X:nogreenteagc" with experiments)
    libc: str  # "glibc", "musl" ("" when the ELF says none)
    arch: str
    interpreter: str
    package: str  # the host's main package
    main: Dependency  # its main module at its recorded version and sum
    deps: tuple[Dependency, ...] = ()
    trimpath: bool = True
    tags: tuple[str, ...] = ()
    gcflags: str = ""
    race: bool = False
    msan: bool = False
    asan: bool = False
    env: tuple[tuple[str, str], ...] = ()  # GOEXPERIMENT, GOAMD64/GOARM64 as recorded
    glibc_newest: str = ""  # the newest GLIBC_x.y it needs ("" for musl)
    refusals: tuple[str, ...] = ()  # why plugins cannot be built for it
    binary: str = ""  # the file it was read from
    sha256: str = ""
    settings: tuple[tuple[str, str], ...] = field(default=(), compare=False)  # all, as recorded

    @property
    def go(self) -> str:
        """The Go release: "1.26.8"."""
        return self.go_version.split("-X:", 1)[0].split(" ", 1)[0].removeprefix("go")

    @property
    def combination(self) -> Combination:
        return Combination(self.go, self.libc or "unknown", self.arch)

    @property
    def reproducible(self) -> bool:
        return not self.refusals

    @property
    def flags(self) -> list[str]:
        """The go build flags every plugin of the host is built with."""
        flags = fingerprint_flags(trimpath=self.trimpath, tags=self.tags, gcflags=self.gcflags)
        return flags + [f"-{name}" for name, on in (("race", self.race), ("msan", self.msan),
                                                     ("asan", self.asan)) if on]

    def sum_lines(self) -> list[str]:
        """go.work.sum lines of every module the host was built with, its own included."""
        lines = [line for module in (self.main, *self.deps) for line in module.sum_lines]
        return sorted(dict.fromkeys(lines))

    # -- the file ------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA, "version": VERSION,
            "binary": {"file": self.binary, "sha256": self.sha256},
            "combination": self.combination.id, "go_version": self.go_version,
            "libc": self.libc, "arch": self.arch, "interpreter": self.interpreter,
            "glibc_newest": self.glibc_newest,
            "package": self.package, "main": _module_dict(self.main),
            "deps": [_module_dict(dep) for dep in self.deps],
            "build": {"trimpath": self.trimpath, "tags": list(self.tags),
                      "gcflags": self.gcflags, "race": self.race, "msan": self.msan,
                      "asan": self.asan, "env": dict(self.env), "flags": self.flags},
            "settings": dict(self.settings),
            "reproducible": self.reproducible, "refusals": list(self.refusals),
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2) + "\n"

    def text(self) -> str:
        """The recipe for people: what a plugin must match, one fact a line."""
        lines = [f"host binary  {self.binary}",
                 f"combination  {self.combination.id} ({self.go_version}, {self.libc}, "
                 f"{self.arch}; loader {self.interpreter or 'none'})",
                 f"build flags  {' '.join(self.flags) or '(none)'}",
                 *([f"environment  {' '.join(f'{k}={v}' for k, v in self.env)}"]
                   if self.env else []),
                 *([f"glibc        needs up to {self.glibc_newest}"] if self.glibc_newest else []),
                 f"main module  {self.main.path} {self.main.version} {self.main.sum}".rstrip(),
                 f"package      {self.package}",
                 f"modules      {len(self.deps)} (a plugin sharing one must link exactly "
                 "this entry):"]
        lines += [f"  {dep.path} {dep.label} {dep.replace_sum or dep.sum}".rstrip()
                  for dep in self.deps]
        if self.refusals:
            lines.append("cannot build plugins for it:")
            lines += [f"  - {refusal}" for refusal in self.refusals]
        else:
            lines.append(f"plugins: require {self.main.path} {self.main.version} in the "
                         f"plugin's go.mod; build with Go {self.go}, {' '.join(self.flags)}")
        return "\n".join(lines) + "\n"


def _module_dict(module: Dependency) -> dict[str, Any]:
    out: dict[str, Any] = {"path": module.path, "version": module.version, "sum": module.sum}
    if module.replace_path:
        out["replace"] = {"path": module.replace_path, "version": module.replace_version,
                          "sum": module.replace_sum}
    return out


# -- reading --------------------------------------------------------------------------------


def from_binary(path: str | os.PathLike[str]) -> Recipe:
    """The recipe of a host binary; BinaryError when it is no Go program at all."""
    path = os.fspath(path)
    info = read_buildinfo(path)
    if info is None:
        raise BinaryError(f"{path}: carries no Go build information, so it is no Go host",
                          fix="name the Go program that loads the plugins")
    elf = read_elf(path)
    needs = read_version_needs(path) if elf.libc == "glibc" else None
    env = [(name, info.setting(name)) for name in ("GOEXPERIMENT", "GOAMD64", "GOARM64")
           if info.setting(name)]
    recipe = Recipe(
        go_version=info.go_version, libc=elf.libc or "", arch=info.goarch or elf.goarch or "",
        interpreter=elf.interpreter or "", package=info.path, main=_dependency(info.main),
        deps=tuple(_dependency(dep) for dep in info.deps), trimpath=info.trimpath,
        tags=info.tags, gcflags=info.gcflags, race=info.race, msan=info.msan, asan=info.asan,
        env=tuple(env), glibc_newest=(needs.newest_glibc or "") if needs else "",
        binary=str(Path(path).resolve()), sha256=sha256_file(Path(path)),
        settings=tuple(info.settings.items()))
    return _with_refusals(recipe, info, elf.is_dynamically_linked)


def _dependency(module: Module) -> Dependency:
    replace = module.replace
    if replace is None:
        return Dependency(module.path, module.version, module.sum)
    return Dependency(module.path, module.version, module.sum, replace.path,
                      replace.version, replace.sum)


def _with_refusals(recipe: Recipe, info: BuildInfo, dynamic: bool) -> Recipe:
    from dataclasses import replace

    return replace(recipe, refusals=tuple(refusals(recipe, info, dynamic)))


def refusals(recipe: Recipe, info: BuildInfo, dynamic: bool) -> list[str]:
    """Why no plugin can be built to load into this binary; empty when one can."""
    found = []
    if info.buildmode not in HOST_BUILDMODES:
        found.append(f"it was built with -buildmode={info.buildmode}: it is no program that "
                     "loads plugins")
    if info.goos != "linux":
        found.append(f"it was built for GOOS={info.goos or '(unknown)'}; plugins are Linux's")
    if info.cgo_enabled is not True:
        found.append("it was built with CGO_ENABLED=0, so plugin.Open is a stub in it "
                     "(\"plugin: not implemented\"): no plugin can load")
    if not dynamic:
        found.append("it is statically linked (no dynamic loader): it cannot dlopen a plugin")
    if recipe.libc not in ("glibc", "musl"):
        found.append("its C library cannot be told from its ELF headers")
    if not info.trimpath:
        found.append("it was built without -trimpath: its packages' fingerprints hold the "
                     "folders of the machine that built it (its module cache), which a "
                     "build elsewhere cannot have; the host's source is needed (host.module), "
                     "or a release built with -trimpath")
    if info.mod_vendor:
        found.append("it was built from a vendor folder (-mod=vendor): its packages' file "
                     "names are the vendor folder's; the host's source is needed (host.module)")
    main = recipe.main
    if main.version in ("", DEVEL):
        found.append(f"its main module {main.path} is recorded as (devel): it was built from "
                     "a checkout, not from a released version; the host's source is needed "
                     f"(host.module = the checkout of {main.path})")
    elif "+dirty" in main.version:
        found.append(f"its main module {main.path} {main.version} was built from a modified "
                     "checkout; the host's source is needed (host.module)")
    elif not main.sum:
        found.append(f"its main module {main.path} {main.version} carries no module sum: it "
                     "was built in a checkout (go build stamps the tag), whose source paths "
                     "are not the module's; the host's source is needed (host.module), or a "
                     f"binary made by go install {recipe.package}@{main.version}")
    for dep in recipe.deps:
        if dep.replace_path and (dep.replace_version in ("", DEVEL)
                                 or dep.replace_path.startswith((".", "/"))):
            found.append(f"module {dep.path} is replaced by the folder {dep.replace_path}, "
                         "whose source is on no module proxy; the host's source is needed "
                         "(host.module)")
    return found


def from_json(text: str, source: str) -> Recipe:
    """A recipe file as ``to_json`` wrote it; BinaryError naming what is wrong."""
    try:
        data = json.loads(text)
        if data.get("schema") != SCHEMA or data.get("version") != VERSION:
            raise ValueError(f"not a {SCHEMA} version {VERSION} file")
        build = data["build"]
        return Recipe(
            go_version=data["go_version"], libc=data["libc"], arch=data["arch"],
            interpreter=data["interpreter"], package=data["package"],
            main=_read_module(data["main"]),
            deps=tuple(_read_module(dep) for dep in data["deps"]),
            trimpath=bool(build["trimpath"]), tags=tuple(build["tags"]),
            gcflags=build["gcflags"], race=bool(build["race"]), msan=bool(build["msan"]),
            asan=bool(build["asan"]), env=tuple(sorted(build["env"].items())),
            glibc_newest=data.get("glibc_newest", ""), refusals=tuple(data["refusals"]),
            binary=data["binary"]["file"], sha256=data["binary"]["sha256"],
            settings=tuple(data.get("settings", {}).items()))
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise BinaryError(f"{source}: not a recipe plugin-builder can read ({error})",
                          fix="write it again with plugin-builder recipe --json HOST") from None


def _read_module(raw: dict[str, Any]) -> Dependency:
    replace = raw.get("replace") or {}
    return Dependency(str(raw["path"]), str(raw["version"]), str(raw.get("sum", "")),
                      str(replace.get("path", "")), str(replace.get("version", "")),
                      str(replace.get("sum", "")))


def read(path: Path) -> Recipe:
    """The recipe of a file: a recipe (JSON) or a host binary."""
    try:
        head = path.read_bytes()[:1].strip()
    except OSError as error:
        raise BinaryError(f"{path}: cannot read ({error.strerror})") from None
    if head in (b"{",) or path.suffix == ".json":
        return from_json(path.read_text(encoding="utf-8", errors="replace"), str(path))
    return from_binary(path)


__all__ = ["Dependency", "Recipe", "asdict", "from_binary", "from_json", "read", "refusals"]
