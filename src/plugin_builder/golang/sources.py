"""The source files a build read, as Go itself reports them, and whether they changed.

After an artifact is built, ``go list -deps`` (same environment, tags and workspace as
the build) names every package the main package needs and, for each, the files the
build read: Go, cgo, C, assembly and syso files, embedded files, and the files build
constraints left out (editing one can bring it in). The manifest keeps, for the
packages that live in the project (the main module, the host module, directory
replacements), each file's sha256 and the list of build-relevant names in each package
folder, and the go.mod, go.sum and go.work files. Packages from the module cache and
the standard library are pinned by version (go.sum) and toolchain (the inputs digest).

A C compiler reads more than go list names: headers a cgo file includes from a
subfolder (``#include "sub/x.h"``) or from an ``-I`` folder of its ``#cgo`` flags. So
for every cgo package of the project, each of those folder trees (the package's own,
and each ``-I``/``-iquote``/``-isystem``/``-idirafter`` folder) is recorded whole: one
digest of the names and contents of every C, C++ and assembly source and header in it.

Paths are recorded relative to the project folder, and resolved against the project
the check runs in: a copied or moved project is checked against its own sources, never
against the folder it was copied from. A path outside the project (a directory
replacement, an ``-I`` folder elsewhere) is recorded as it is, and is not believed
once the project has moved: where it pointed from the old folder may not be what the
new one builds with.

So the up-to-date check needs no Go process: an artifact is current while every
recorded file has its recorded content (checked cheaply, see :mod:`files`) and no
package folder gained or lost a build-relevant file. A `testdata/` folder counts when a
built package lives there, and a stray file (a README, the plugin's own output) never
does.
"""

from __future__ import annotations

import hashlib
import os
import stat as stat_module
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from plugin_builder.errors import BuildError
from plugin_builder.files import (
    TIMESTAMP_TICK_NS,
    content_check,
    fine_grained,
    sha256_file,
    stat_key,
    unchanged_since,
)
from plugin_builder.golang import gojson

# The fields of `go list -json` that name files a build reads.
FILE_FIELDS = ("GoFiles", "CgoFiles", "CFiles", "CXXFiles", "MFiles", "HFiles", "FFiles",
               "SFiles", "SwigFiles", "SwigCXXFiles", "SysoFiles", "EmbedFiles",
               "IgnoredGoFiles")
# The cgo flags that name folders the C compiler reads headers from.
CGO_FLAG_FIELDS = ("CgoCFLAGS", "CgoCPPFLAGS", "CgoCXXFLAGS")
LIST_FIELDS = ("Dir", "ImportPath", "Standard", "Module", *FILE_FIELDS, *CGO_FLAG_FIELDS)
# File names whose appearance in a package folder can change what gets built.
BUILD_SUFFIXES = (".go", ".c", ".cc", ".cpp", ".cxx", ".m", ".h", ".hh", ".hpp", ".hxx",
                  ".f", ".F", ".for", ".f90", ".s", ".S", ".sx", ".swig", ".swigcxx", ".syso")
# What a C compiler may read from a cgo package's folder tree or an include folder.
C_SUFFIXES = (".c", ".h", ".cc", ".cpp", ".cxx", ".c++", ".hh", ".hpp", ".hxx", ".h++",
              ".inc", ".def", ".ipp", ".tcc", ".m", ".mm", ".s", ".S", ".sx")
_INCLUDE_FLAGS = ("-I", "-iquote", "-isystem", "-idirafter")
MODULE_FILES = ("go.mod", "go.sum")
# An include folder that holds more than this is no set of headers one can track (an
# `-I/`): the build is refused rather than walking the machine on every check.
TREE_FILES_LIMIT = 10_000
TREE_ENTRIES_LIMIT = 200_000
NO_RECORD = "no record of the sources it was built from"


def list_argv(go: str, flags: Sequence[str], package: str) -> list[str]:
    """`go list -deps` for ``package`` with the build's fingerprint flags (tags matter)."""
    tags = [flag for flag in flags if flag.startswith("-tags=")]
    return [go, "list", "-deps", "-json=" + ",".join(LIST_FIELDS), *tags, "--", package]


def record(output: str, *, gowork: str | None, project: Path) -> dict[str, Any]:
    """What to keep in the manifest from the output of :func:`list_argv`; ``project`` is
    the project folder (resolved), which recorded paths are relative to."""
    files: dict[Path, None] = {}
    folders: dict[Path, list[str]] = {}
    trees: dict[Path, None] = {}
    for package in gojson.objects(output, "go list -deps"):
        if not _ours(package):
            continue
        folder = Path(package["Dir"])
        folders[folder] = build_relevant_names(folder)
        for name in (n for field in FILE_FIELDS for n in package.get(field) or ()):
            files[folder / name] = None
        for module_file in _module_files(package.get("Module") or {}):
            files[module_file] = None
        if package.get("CgoFiles"):
            trees.update(dict.fromkeys(_c_folders(folder, package)))
    if gowork and gowork != "off":
        files[Path(gowork)] = None
        files[Path(gowork + ".sum")] = None
    return {"root": str(project),
            "files": {_name(path, project): _fingerprint(path) for path in sorted(files)},
            "folders": {_name(folder, project): names for folder, names in folders.items()},
            "trees": {_name(tree, project): _recorded_tree(tree) for tree in sorted(trees)}}


def changed(recorded: Mapping[str, Any] | None, project: Path,
            on_refresh: Callable[[], None] = lambda: None) -> str | None:
    """The first recorded input that differs now (a reason to rebuild), else None.

    A file whose stat key no longer vouches for it is hashed; when its content is the
    recorded one, the record takes its new key and ``on_refresh`` is called (the next
    manifest write keeps the key).
    """
    if not well_formed(recorded):
        return NO_RECORD
    assert isinstance(recorded, Mapping)
    root = Path(recorded["root"])
    for name in (*recorded["files"], *recorded["folders"], *recorded["trees"]):
        if root != project and os.path.isabs(name):
            return (f"the project moved from {root}: {name}, outside it, may not be what "
                    f"this folder builds with")
    for name, fingerprint in recorded["files"].items():
        if not _same(project / name, fingerprint, on_refresh):
            return f"{name} changed"
    for name, names in recorded["folders"].items():
        if build_relevant_names(project / name) != names:
            return f"{name} gained or lost a source file"
    for name, fingerprint in recorded["trees"].items():
        if not _same_tree(project / name, fingerprint, on_refresh):
            return f"{name} changed (C sources or headers a cgo package reads)"
    return None


def well_formed(recorded: object) -> bool:
    """Whether ``recorded`` has the shape :func:`record` writes (a manifest is data
    anyone may have edited: a wrong shape is a damaged record, never a crash)."""
    if not isinstance(recorded, dict):
        return False
    files, folders, trees = (recorded.get(k) for k in ("files", "folders", "trees"))
    return (isinstance(recorded.get("root"), str) and isinstance(files, dict)
            and isinstance(folders, dict) and isinstance(trees, dict)
            and all(isinstance(k, str) and _fingerprint_shape(v) for k, v in files.items())
            and all(isinstance(k, str) and _strings(v) for k, v in folders.items())
            and all(isinstance(k, str) and _tree_shape(v) for k, v in trees.items()))


def distrusted(recorded: dict[str, Any]) -> None:
    """Forget every stat key of a well-formed record: each file is hashed when checked."""
    for fingerprint in recorded["files"].values():
        if fingerprint is not None:
            fingerprint[1] = None
    for fingerprint in recorded["trees"].values():
        fingerprint[1] = None


def build_relevant_names(folder: Path) -> list[str]:
    try:
        names = os.listdir(folder)
    except OSError:
        return []
    return sorted(n for n in names
                  if n.endswith(BUILD_SUFFIXES) and not n.endswith("_test.go")
                  and not n.startswith((".", "_")))


def _name(path: Path, project: Path) -> str:
    """How the manifest names ``path``: relative to the project, else absolute."""
    try:
        return path.relative_to(project).as_posix()
    except ValueError:
        return str(path)


def _ours(package: Mapping[str, Any]) -> bool:
    """A package whose files can change without its version changing."""
    if package.get("Standard") or not package.get("Dir"):
        return False
    module = package.get("Module")
    if not module:
        return True  # GOPATH-less file list, or a package outside any module
    replace = module.get("Replace")
    if replace:
        return not replace.get("Version")  # replaced by a directory
    return bool(module.get("Main")) or not module.get("Version")


def _module_files(module: Mapping[str, Any]) -> Iterator[Path]:
    replace = module.get("Replace") or {}
    gomod = replace.get("GoMod") or module.get("GoMod")
    if gomod and (module.get("Main") or (replace and not replace.get("Version"))):
        folder = Path(gomod).parent
        yield from (folder / name for name in MODULE_FILES)


def _c_folders(folder: Path, package: Mapping[str, Any]) -> Iterator[Path]:
    """The folder trees the C compiler may read for a cgo package: its own, and each
    include folder its cgo flags name (relative ones are relative to the package)."""
    yield folder
    for field in CGO_FLAG_FIELDS:
        for include in _include_folders(package.get(field) or ()):
            yield Path(os.path.normpath(folder / include))


def _include_folders(flags: Iterable[str]) -> Iterator[str]:
    words = list(flags)
    for index, word in enumerate(words):
        for flag in _INCLUDE_FLAGS:
            if word == flag and index + 1 < len(words):
                yield words[index + 1]
            elif word.startswith(flag) and len(word) > len(flag):
                yield word[len(flag):]


def _fingerprint(path: Path) -> list[Any] | None:
    """[sha256, stat key] of a file; None for a file that does not exist (go.sum may not)."""
    try:
        stat = path.stat()
        return [sha256_file(path), stat_key(stat)]
    except OSError:
        return None


def _same(path: Path, fingerprint: list[Any] | None, on_refresh: Callable[[], None]) -> bool:
    try:
        stat = path.stat()
    except OSError:
        return fingerprint is None
    if fingerprint is None:
        return False
    if unchanged_since(fingerprint[1], stat):
        return True
    matches, key = content_check(path, fingerprint[0])
    if matches and key is not None:
        fingerprint[1] = key
        on_refresh()
    return matches


# -- folder trees a C compiler reads ------------------------------------------------------


class _TooLarge(Exception):
    pass


def _recorded_tree(folder: Path) -> list[str | None]:
    try:
        listing = _c_files(folder)
    except _TooLarge:
        raise BuildError(
            f"recording the C headers of {folder}",
            f"{folder} holds more than {TREE_FILES_LIMIT} files or {TREE_ENTRIES_LIMIT} "
            f"entries: too many to track as build inputs of a cgo package",
            fix="name a folder that holds the headers the package needs (#cgo CFLAGS: "
                "-I${SRCDIR}/include), not a whole system tree") from None
    return [_tree_content(listing), _tree_keys(listing)]


def _same_tree(folder: Path, fingerprint: list[str | None],
               on_refresh: Callable[[], None]) -> bool:
    try:
        listing = _c_files(folder)
    except _TooLarge:
        return False
    keys = _tree_keys(listing)
    if keys is not None and keys == fingerprint[1]:
        return True
    if _tree_content(listing) != fingerprint[0]:
        return False
    if keys is not None:
        fingerprint[1] = keys
        on_refresh()
    return True


_Listing = list[tuple[str, Path, os.stat_result]]


def _c_files(folder: Path) -> _Listing:
    """Every C, C++ and assembly source and header under ``folder`` (hidden folders and
    links to folders left out, as Go leaves them out), sorted by relative name."""
    found: _Listing = []
    entries = 0
    for current, dirs, names in os.walk(folder):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        entries += len(dirs) + len(names)
        for name in names:
            if not name.endswith(C_SUFFIXES):
                continue
            path = Path(current) / name
            try:
                stat = path.stat()
            except OSError:
                continue
            if stat_module.S_ISREG(stat.st_mode):
                found.append((path.relative_to(folder).as_posix(), path, stat))
        if entries > TREE_ENTRIES_LIMIT or len(found) > TREE_FILES_LIMIT:
            raise _TooLarge
    return sorted(found, key=lambda item: item[0])


def _tree_content(listing: _Listing) -> str:
    digest = hashlib.sha256()
    for relative, path, _ in listing:
        try:
            content = sha256_file(path)
        except OSError:
            content = "unreadable"
        digest.update(f"{relative}\0{content}\0".encode("utf-8", "surrogateescape"))
    return digest.hexdigest()


def _tree_keys(listing: _Listing) -> str | None:
    """A digest of every file's name and stat key; None when one key cannot vouch."""
    digest = hashlib.sha256()
    now = time.time_ns()
    for relative, _, stat in listing:
        key = stat_key(stat)
        if not fine_grained(key) or now - key[3] < TIMESTAMP_TICK_NS:
            return None
        digest.update(f"{relative}\0{key}\0".encode("utf-8", "surrogateescape"))
    return digest.hexdigest()


# -- the shape of a record ----------------------------------------------------------------


def _is_key(value: object) -> bool:
    return isinstance(value, list) and len(value) == 4 and \
        all(type(item) is int for item in value)


def _strings(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def _fingerprint_shape(value: object) -> bool:
    return value is None or (isinstance(value, list) and len(value) == 2
                             and isinstance(value[0], str)
                             and (value[1] is None or _is_key(value[1])))


def _tree_shape(value: object) -> bool:
    return isinstance(value, list) and len(value) == 2 and isinstance(value[0], str) \
        and (value[1] is None or isinstance(value[1], str))
