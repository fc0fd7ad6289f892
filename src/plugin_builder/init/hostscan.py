"""What `plugin-builder init` learns from a host module's files, without a Go toolchain.

Read from the sources, as ``go list`` would see them but without running it (only
``git describe`` is asked, for the latest tag):

- the Go release: the go.mod's ``toolchain`` line, else its ``go`` line;
- the main packages, and which of them load plugins (import ``plugin`` themselves or
  through a package of the host module: Dragonfly's services load through
  ``internal/dfplugin``), and the build tags that import needs (Tyk's ``goplugin``);
  a main package that loads plugins only through another module (KrakenD through
  lura) is found by :mod:`.golist`, which asks the go command;
- the binary names the host's goreleaser config or Makefile gives main packages;
- stamp variables: ``Version``-like string variables of a ``version`` package, for
  ``-ldflags -X``, with the value the source gives them; the host's latest git tag;
- whether a main package has its own plugin check (a ``check-plugin`` subcommand);
- plugin folders: ``package main`` folders that export one of the preset's mark symbols,
  in the host module (in-tree, like Dragonfly's ``testdata/plugin`` folders) or in other
  folders given (:func:`plugin_roots`: ``plugins/`` and ``examples/*plugin*`` beside the
  host, the project folder), each with the metadata its source spells out;
- a go.work beside the host that uses it.
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from plugin_builder.errors import BuildError
from plugin_builder.golang.gomod import GoMod, parse_gowork, read_gomod
from plugin_builder.init import binaries

# Folders never worth reading: VCS, dependencies, build output, caches.
SKIPPED = {"vendor", "node_modules", "artifacts", "results", "__pycache__"}
MAX_FILES = 20_000  # .go files read per scan, so a huge tree cannot stall init
MAX_FILE_BYTES = 1 << 20
_PACKAGE = re.compile(r"^\s*package\s+([A-Za-z_]\w*)", re.M)
_IMPORT_BLOCK = re.compile(r"^import\s*\((.*?)\)", re.M | re.S)
_IMPORT_LINE = re.compile(r'^import\s+(?:[A-Za-z_.]\w*\s+)?"([^"]+)"', re.M)
_QUOTED = re.compile(r'"([^"\\]+)"')
_FUNC = re.compile(r"^func\s+([A-Za-z_]\w*)\s*[\[(]", re.M)
_VAR_LINE = re.compile(r"^var\s+([A-Za-z_]\w*)\b", re.M)
_VAR_BLOCK = re.compile(r"^var\s*\((.*?)^\)", re.M | re.S)
_BLOCK_NAME = re.compile(r"^\s*([A-Za-z_]\w*)\b", re.M)
_META_TYPE = re.compile(r'(?:"type"|MetaType)\s*:\s*(?:"([a-z0-9_-]+)"|\w+\.Type([A-Z]\w*))')
_META_NAME = re.compile(r'(?:"name"|MetaName)\s*:\s*"([A-Za-z0-9_.-]+)"')
_CONST_NAME = re.compile(r'\bname\s*=\s*"([A-Za-z0-9_.-]+)"')
_BUILD_IGNORE = re.compile(r"^//go:build\s+ignore\b", re.M)
_BUILD_LINE = re.compile(r"^//\s*(?:go:build|\+build)\s+(.*)$", re.M)
_BUILD_TERM = re.compile(r"(!?)\s*([A-Za-z0-9_.]+)")
# Build tags the go command sets itself: never a tag a host is built with on purpose.
_IMPLIED_TAGS = re.compile(
    r"(aix|android|darwin|dragonfly|freebsd|hurd|illumos|ios|js|linux|netbsd|openbsd|plan9|"
    r"solaris|wasip1|windows|zos|386|amd64|arm|arm64|loong64|mips|mips64|mips64le|mipsle|"
    r"ppc64|ppc64le|riscv64|s390x|wasm|cgo|gc|gccgo|unix|ignore|race|msan|asan|"
    r"go1\.\d+|goexperiment\..+)")
_VERSION_LIKE = re.compile(r"v?\d+\.\d+(\.\d+)?([-+.][0-9A-Za-z.+-]+)?")
_OTHER_OS = re.compile(r"_(windows|darwin|freebsd|netbsd|openbsd|solaris|plan9|js|wasip1|"
                       r"aix|dragonfly|illumos|ios|android)(_[a-z0-9]+)?\.go$")
# Stamp variables by name: what each is stamped with ({time} and {commit} are left out:
# they change on every build, so nothing would ever be up to date).
STAMPABLE = {"Version": "{version}", "GitVersion": "{version}",
             "Combination": "{combination}"}


@dataclass(frozen=True)
class GoPackage:
    folder: Path
    name: str  # the package clause
    imports: frozenset[str]
    functions: frozenset[str]  # top-level functions (no receiver)
    variables: frozenset[str]  # top-level variables
    text: str  # the sources, comments removed, for metadata and check commands
    # The build tags of each of its files that imports "plugin" (empty: no constraint).
    plugin_imports: tuple[frozenset[str], ...] = ()

    @property
    def exports(self) -> frozenset[str]:
        """What a host can look up in it: functions and variables (KrakenD's registerers)."""
        return self.functions | self.variables


@dataclass(frozen=True)
class MainPackage:
    relative: str  # "./cmd/scheduler", relative to the host module ("." for its root)
    name: str  # the folder's name: "scheduler"
    loads_plugins: bool  # imports "plugin", itself or through a host package
    has_check: bool  # has a `check-plugin` subcommand (itself or in a host package it uses)
    import_path: str = ""
    plugin_tags: frozenset[str] = frozenset()  # tags without which it imports no "plugin"
    through: str | None = None  # the package of another module that imports "plugin"


@dataclass(frozen=True)
class FoundPlugin:
    folder: Path
    own_module: bool  # True: a go.mod of its own (out of tree)
    functions: frozenset[str]
    meta_type: str | None  # from the metadata its source returns
    meta_name: str | None
    host_version: str | None = None  # the version its go.mod requires the host module at


@dataclass(frozen=True)
class HostFacts:
    folder: Path
    gomod: GoMod
    mains: tuple[MainPackage, ...]
    stamps: tuple[tuple[str, str], ...]  # (Go variable, template)
    plugins: tuple[FoundPlugin, ...]
    notes: tuple[str, ...] = field(default=())
    versions: tuple[tuple[str, str], ...] = ()  # (Go variable, the value its source gives)
    git_tag: str | None = None  # the latest tag of the host module's commit
    binaries: dict[str, str] = field(default_factory=dict)  # main -> goreleaser/Makefile name
    workspace: Path | None = None  # a go.work beside the host that uses it

    @property
    def loaders(self) -> tuple[MainPackage, ...]:
        return tuple(m for m in self.mains if m.loads_plugins)


def scan(host: Path, marks: Iterable[str], elsewhere: Iterable[Path] = ()) -> HostFacts:
    """Everything init needs from the host module at ``host`` (a folder with a go.mod)."""
    host = host.resolve()
    gomod = read_gomod(host)
    marks = frozenset(marks)
    notes: list[str] = []
    packages, candidates = _read(host, elsewhere, marks, _Budget(notes))
    module_of = {folder: _import_path(gomod.module, host, folder) for folder in packages}
    by_path = {module_of[folder]: packages[folder] for folder in packages}
    mains, plugins = [], []
    for folder, package in sorted(packages.items()):
        if package.name != "main":
            continue
        if marks & package.exports:
            plugins.append(_plugin(package, own_module=False))
        elif "main" in package.functions:
            mains.append(_main(host, package, _closure(package, by_path, gomod.module),
                               module_of[folder]))
    for package in candidates:
        if (package.folder / "go.mod").is_file():
            plugins.append(_plugin(package, own_module=True, host_module=gomod.module))
        else:
            notes.append(f"{package.folder} looks like a plugin but is neither its own module "
                         "(no go.mod) nor in the host module: not registered")
    stamps = _stamps(packages, module_of)
    return HostFacts(folder=host, gomod=gomod, mains=tuple(mains), stamps=stamps,
                     plugins=tuple(plugins), notes=tuple(notes),
                     versions=_stamp_values(stamps, by_path), git_tag=git_tag(host),
                     binaries=binaries.declared(host, gomod.module),
                     workspace=workspace_of(host))


def _read(host: Path, elsewhere: Iterable[Path], marks: frozenset[str],
          budget: _Budget) -> tuple[dict[Path, GoPackage], list[GoPackage]]:
    """The host module's own packages, and the `package main` folders of other modules
    (in the host's tree or elsewhere) that export a mark."""
    packages: dict[Path, GoPackage] = {}
    candidates: list[GoPackage] = []
    others = [r.resolve() for r in elsewhere
              if r.is_dir() and not r.resolve().is_relative_to(host)]
    # A folder inside another one given is read with it, once.
    others = [r for i, r in enumerate(others)
              if not any(r.is_relative_to(o) for o in others[:i] + others[i + 1:] if o != r)
              and r not in others[:i]]
    for root in [host, *others]:
        for package in _packages(root, budget):
            if root == host and _module_root(package.folder) == host:
                packages[package.folder] = package
            elif package.folder.is_relative_to(host) and root != host:
                continue  # the host's, read from the host's own walk
            elif package.name == "main" and marks & package.exports:
                candidates.append(package)
    return packages, candidates


def plugin_roots(host: Path) -> list[Path]:
    """Where plugins beside the host are: ``plugins/``, ``examples/plugins/`` and other
    ``examples/*plugin*`` folders of the host's parent (those in the host are its own)."""
    return [host.parent / "plugins", *sorted(host.parent.glob("examples/*plugin*"))]


def _main(host: Path, package: GoPackage, closure: list[GoPackage],
          import_path: str) -> MainPackage:
    relative = package.folder.relative_to(host).as_posix()
    imports = [tags for p in closure for tags in p.plugin_imports]
    return MainPackage(
        relative="." if relative == "." else f"./{relative}", name=package.folder.name,
        loads_plugins=bool(imports), has_check=any("check-plugin" in p.text for p in closure),
        import_path=import_path,
        # Tags matter only when every import of "plugin" needs them.
        plugin_tags=frozenset().union(*imports) if all(imports) else frozenset())


def go_release(gomod: GoMod, fallback: str) -> tuple[str, str]:
    """The exact Go release the host's go.mod asks for, and the reason."""
    exact = re.compile(r"1\.([0-9]+)\.([0-9]+)")
    candidates = []
    if gomod.toolchain and exact.fullmatch(gomod.toolchain.removeprefix("go")):
        candidates.append((gomod.toolchain.removeprefix("go"), f"toolchain {gomod.toolchain}"))
    if gomod.go and exact.fullmatch(gomod.go):
        candidates.append((gomod.go, f"go {gomod.go}"))
    if candidates:
        # The go command uses the newer of the two lines.
        return max(candidates, key=lambda c: tuple(int(p) for p in c[0].split(".")))
    language = re.fullmatch(r"1\.([0-9]+)", gomod.go or "")
    if language and int(language[1]) >= 21:
        return (f"{gomod.go}.0", f"go {gomod.go}, a language version: its first release, "
                                 f"{gomod.go}.0 (pass --go for a later patch release)")
    line = f"go {gomod.go}" if gomod.go else "no go line"
    return fallback, f"{line} names no release from 1.21 on: {fallback} (pass --go to choose)"


# -- reading packages -----------------------------------------------------------------------


class _Budget:
    def __init__(self, notes: list[str]) -> None:
        self.left, self.notes = MAX_FILES, notes

    def take(self, folder: Path) -> bool:
        if self.left > 0:
            self.left -= 1
            return True
        if not any(n.startswith("stopped reading") for n in self.notes):
            self.notes.append(f"stopped reading Go files at {MAX_FILES} (from {folder} on)")
        return False


def _packages(root: Path, budget: _Budget) -> Iterator[GoPackage]:
    """Every Go package folder under root, nested modules' included."""
    for folder, subfolders, files in os.walk(root):
        here = Path(folder)
        subfolders[:] = sorted(
            name for name in subfolders
            if not name.startswith((".", "_")) and name not in SKIPPED)
        sources = sorted(name for name in files if name.endswith(".go")
                         and not name.endswith("_test.go") and not _OTHER_OS.search(name))
        package = _read_package(here, sources, budget)
        if package is not None:
            yield package


def names_any(host: Path, symbols: Iterable[str]) -> bool:
    """Whether a Go file of the host (tests, vendor and the like aside) has one of
    ``symbols`` as a string literal: how a host that looks plugin symbols up names them.
    Read only when a guess needs it, within the same budget of files as a scan."""
    quoted = [f'"{symbol}"'.encode() for symbol in symbols]
    if not quoted:
        return False
    budget = _Budget([])
    for folder, subfolders, files in os.walk(host):
        subfolders[:] = sorted(name for name in subfolders
                               if not name.startswith((".", "_")) and name not in SKIPPED)
        for name in sorted(files):
            if not name.endswith(".go") or name.endswith("_test.go"):
                continue
            if not budget.take(Path(folder)):
                return False
            with contextlib.suppress(OSError):
                text = (Path(folder) / name).read_bytes()
                if any(literal in text for literal in quoted):
                    return True
    return False


def _read_package(folder: Path, sources: list[str], budget: _Budget) -> GoPackage | None:
    read = list(_read_sources(folder, sources, budget))
    names = {m[1] for m in (_PACKAGE.search(t) for t, _ in read) if m}
    if not names:
        return None
    # A folder holds one package (a stray second clause: the one most files use).
    name = max(names, key=lambda n: sum(1 for t, _ in read if _package_name(t) == n))
    files = [(t, tags) for t, tags in read if _package_name(t) == name]
    imports, functions, variables, plugin_imports = set(), set(), set(), []
    for text, tags in files:
        file_imports = set(_IMPORT_LINE.findall(text))
        for block in _IMPORT_BLOCK.findall(text):
            file_imports.update(_QUOTED.findall(block))
        if "plugin" in file_imports:
            plugin_imports.append(tags)
        imports |= file_imports
        functions.update(_FUNC.findall(text))
        variables.update(_VAR_LINE.findall(text))
        for block in _VAR_BLOCK.findall(text):
            variables.update(_BLOCK_NAME.findall(block))
    return GoPackage(folder=folder, name=name, imports=frozenset(imports),
                     functions=frozenset(functions), variables=frozenset(variables),
                     text="\n".join(t for t, _ in files), plugin_imports=tuple(plugin_imports))


def _read_sources(folder: Path, sources: list[str],
                  budget: _Budget) -> Iterator[tuple[str, frozenset[str]]]:
    """Each source file's text without comments, and the tags its build constraint asks."""
    for name in sources:
        path = folder / name
        try:
            if path.stat().st_size > MAX_FILE_BYTES or not budget.take(folder):
                continue
            raw = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        if not _BUILD_IGNORE.search(raw):
            yield strip_comments(raw), build_tags(raw)


def build_tags(source: str) -> frozenset[str]:
    """The tags a file's build constraint asks for that the go command does not set itself:
    ``//go:build goplugin`` -> {"goplugin"}; negated terms and GOOS/GOARCH names are not."""
    header = source[:match.start()] if (match := _PACKAGE.search(source)) else source
    return frozenset(tag for line in _BUILD_LINE.findall(header)
                     for negated, tag in _BUILD_TERM.findall(line)
                     if not negated and not _IMPLIED_TAGS.fullmatch(tag))


def _package_name(text: str) -> str | None:
    match = _PACKAGE.search(text)
    return match[1] if match else None


def strip_comments(text: str) -> str:
    """Go source without its comments; strings, raw strings and runes kept as they are."""
    out, i, n = [], 0, len(text)
    while i < n:
        char = text[i]
        if text.startswith("//", i):
            end = text.find("\n", i)
            i = n if end < 0 else end
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            out.append(" ")
            i = n if end < 0 else end + 2
        elif char in "\"'`":
            end = _literal_end(text, i)
            out.append(text[i:end])
            i = end
        else:
            out.append(char)
            i += 1
    return "".join(out)


def _literal_end(text: str, start: int) -> int:
    quote, i = text[start], start + 1
    while i < len(text):
        if text[i] == "\\" and quote != "`":
            i += 2
            continue
        if text[i] == quote or (text[i] == "\n" and quote != "`"):
            return i + 1
        i += 1
    return len(text)


def _import_path(module: str, root: Path, folder: Path) -> str:
    relative = folder.relative_to(root).as_posix()
    return module if relative == "." else f"{module}/{relative}"


def _closure(package: GoPackage, by_path: dict[str, GoPackage],
             module: str) -> list[GoPackage]:
    """The package and every package of the host module it imports, transitively."""
    seen: set[str] = set()
    found, pending = [], [package]
    while pending:
        current = pending.pop()
        found.append(current)
        for path in current.imports:
            if path in by_path and path not in seen and path.startswith(module):
                seen.add(path)
                pending.append(by_path[path])
    return found


def _stamps(packages: dict[Path, GoPackage],
            module_of: dict[Path, str]) -> tuple[tuple[str, str], ...]:
    """Version variables to stamp: those of `version` packages (all services share them)."""
    stamps = []
    for folder, package in sorted(packages.items()):
        if folder.name != "version" or package.name != "version":
            continue
        for variable in sorted(package.variables):
            if variable in STAMPABLE:
                stamps.append((f"{module_of[folder]}.{variable}", STAMPABLE[variable]))
    return tuple(stamps)


def _stamp_values(stamps: tuple[tuple[str, str], ...],
                  by_path: dict[str, GoPackage]) -> tuple[tuple[str, str], ...]:
    """The string each {version} stamp variable is given in the source, if one."""
    values = []
    for variable, template in stamps:
        package, _, name = variable.rpartition(".")
        source = by_path.get(package)
        found = source and re.search(rf"\b{name}\s*(?:string\s*)?=\s*\"([^\"\\]*)\"",
                                     source.text)
        if found and template == "{version}":
            values.append((variable, found[1]))
    return tuple(values)


def version_like(text: str) -> bool:
    """A release such as v2.1.0 or 1.4, not a placeholder such as "dev" or "unknown"."""
    return bool(_VERSION_LIKE.fullmatch(text))


def git_tag(host: Path) -> str | None:
    """The latest release tag of the host's commit (for a module in a subfolder of its
    repository, Go's ``<subfolder>/vX.Y.Z`` tags, without the prefix); None without git."""
    top = _git(host, "rev-parse", "--show-toplevel")
    if top is None:
        return None
    prefix = os.path.relpath(host, Path(top).resolve()).replace(os.sep, "/")
    pattern = "v[0-9]*" if prefix == "." else f"{prefix}/v[0-9]*"
    tag = _git(host, "describe", "--tags", "--abbrev=0", "--match", pattern)
    return tag.removeprefix(f"{prefix}/") if tag else None


def _git(folder: Path, *args: str) -> str | None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    try:
        done = subprocess.run(["git", "-C", str(folder), *args], capture_output=True, text=True,
                              timeout=30, env=env, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if done.returncode != 0:
        return None
    return done.stdout.strip() or None


def workspace_of(host: Path) -> Path | None:
    """A go.work in the host's folder or its parent whose ``use`` names the host module."""
    for folder in (host, host.parent):
        path = folder / "go.work"
        try:
            uses = parse_gowork(path.read_text(encoding="utf-8"), str(path)).uses
        except (OSError, UnicodeDecodeError):
            continue
        if any((folder / use).resolve() == host for use in uses):
            return path
    return None


def _module_root(folder: Path) -> Path | None:
    for candidate in (folder, *folder.parents):
        if (candidate / "go.mod").is_file():
            return candidate
    return None


def _plugin(package: GoPackage, *, own_module: bool, host_module: str = "") -> FoundPlugin:
    text = package.text
    meta_type = _META_TYPE.search(text)
    meta_name = _META_NAME.search(text) or _CONST_NAME.search(text)
    return FoundPlugin(folder=package.folder, own_module=own_module,
                       functions=package.exports,
                       meta_type=(meta_type[1] or meta_type[2].lower()) if meta_type else None,
                       meta_name=meta_name[1] if meta_name else None,
                       host_version=_required(package.folder, host_module) if own_module
                       else None)


def _required(folder: Path, module: str) -> str | None:
    try:
        return read_gomod(folder).required_version(module)
    except BuildError:
        return None
