"""The source files a build read, as Go itself reports them, and whether they changed.

After an artifact is built, ``go list -deps`` (same environment, tags and workspace as
the build) names every package the main package needs and, for each, the files the
build read: Go, cgo, C, assembly and syso files, embedded files, and the files build
constraints left out (editing one can bring it in). The manifest keeps, for the
packages that live in the project (the main module, the host module, directory
replacements), each file's sha256 and the list of build-relevant names in each package
folder, and the go.mod, go.sum and go.work files. Packages from the module cache and
the standard library are pinned by version (go.sum) and toolchain (the inputs digest).

So the up-to-date check needs no Go process: an artifact is current while every
recorded file has its recorded content (checked cheaply, see :mod:`files`) and no
package folder gained or lost a build-relevant file. A `testdata/` folder counts when a
built package lives there, and a stray file (a README, the plugin's own output) never
does.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from plugin_builder.files import sha256_file, stat_key
from plugin_builder.golang import gojson

# The fields of `go list -json` that name files a build reads.
FILE_FIELDS = ("GoFiles", "CgoFiles", "CFiles", "CXXFiles", "MFiles", "HFiles", "FFiles",
               "SFiles", "SwigFiles", "SwigCXXFiles", "SysoFiles", "EmbedFiles",
               "IgnoredGoFiles")
LIST_FIELDS = ("Dir", "ImportPath", "Standard", "Module", *FILE_FIELDS)
# File names whose appearance in a package folder can change what gets built.
BUILD_SUFFIXES = (".go", ".c", ".cc", ".cpp", ".cxx", ".m", ".h", ".hh", ".hpp", ".hxx",
                  ".f", ".F", ".for", ".f90", ".s", ".S", ".sx", ".swig", ".swigcxx", ".syso")
MODULE_FILES = ("go.mod", "go.sum")


def list_argv(go: str, flags: Sequence[str], package: str) -> list[str]:
    """`go list -deps` for ``package`` with the build's fingerprint flags (tags matter)."""
    tags = [flag for flag in flags if flag.startswith("-tags=")]
    return [go, "list", "-deps", "-json=" + ",".join(LIST_FIELDS), *tags, "--", package]


def record(output: str, *, gowork: str | None) -> dict[str, Any]:
    """What to keep in the manifest from the output of :func:`list_argv`."""
    files: dict[str, Any] = {}
    folders: dict[str, list[str]] = {}
    for package in gojson.objects(output, "go list -deps"):
        if not _ours(package):
            continue
        folder = Path(package["Dir"])
        folders[str(folder)] = build_relevant_names(folder)
        for name in (n for field in FILE_FIELDS for n in package.get(field) or ()):
            files[str(folder / name)] = None
        for module_file in _module_files(package.get("Module") or {}):
            files[str(module_file)] = None
    if gowork and gowork != "off":
        files[gowork] = None
        files[gowork + ".sum"] = None
    return {"files": {path: _fingerprint(Path(path)) for path in sorted(files)},
            "folders": folders}


def changed(recorded: Mapping[str, Any] | None) -> str | None:
    """The first recorded input that differs now (a reason to rebuild), else None."""
    if not isinstance(recorded, Mapping) or "files" not in recorded:
        return "no record of the sources it was built from"
    for path, fingerprint in recorded["files"].items():
        if not _same(Path(path), fingerprint):
            return f"{path} changed"
    for folder, names in recorded.get("folders", {}).items():
        if build_relevant_names(Path(folder)) != names:
            return f"{folder} gained or lost a source file"
    return None


def build_relevant_names(folder: Path) -> list[str]:
    try:
        names = os.listdir(folder)
    except OSError:
        return []
    return sorted(n for n in names
                  if n.endswith(BUILD_SUFFIXES) and not n.endswith("_test.go")
                  and not n.startswith((".", "_")))


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


def _fingerprint(path: Path) -> list[Any] | None:
    """[sha256, stat key] of a file; None for a file that does not exist (go.sum may not)."""
    try:
        stat = path.stat()
        return [sha256_file(path), stat_key(stat)]
    except OSError:
        return None


def _same(path: Path, fingerprint: list[Any] | None) -> bool:
    try:
        stat = path.stat()
    except OSError:
        return fingerprint is None
    if fingerprint is None:
        return False
    sha256, key = fingerprint
    return key == stat_key(stat) or sha256_file(path) == sha256
