"""What a provisioned GOROOT holds: recorded when it is provisioned, checked before use.

A cached toolchain is trusted only as it was provisioned. Trusted by its version string,
a wrapped linker would run on every build and an edited ``src/fmt`` would build new
plugins while the hosts built before still looked up to date. So provisioning records a
manifest of the files a build can read (path, size, sha256) beside the GOROOT; a process
checks the GOROOT against it once, before its first use, and the manifest's digest is part
of every artifact's toolchain identity.

Which files: those a ``go build`` of other code can read: ``VERSION``, ``go.env``,
``bin/``, ``pkg/`` (the compiler, linker and other tools, and ``pkg/include``), and
``src/`` but for ``src/cmd/`` (the sources of those tools, which builds run as the
binaries in ``pkg/tool``), ``testdata`` folders and ``_test.go`` files. In go1.26.6 that is
4,200 of 12,900 files and folders: stat-ing all of them would cost 50-60 ms per release
on every command.

How cheaply: the stat key of each of those files (:func:`plugin_builder.files.stat_key`)
and folders (a file added or removed changes its folder's) is kept in a second file. A
file whose key is unchanged is not read; one whose key changed is hashed and compared; a
folder whose key changed is listed and compared. A key taken within a second of its
recording could hide an edit made in that same second on a file system with coarse
timestamps, so it does not vouch: the file is hashed. When everything matches but keys
changed (a copied or restored cache, a touched file), the keys are recorded again so the
next check is cheap again. The manifest itself is written once and never rewritten; keys
that are missing or belong to another manifest mean a full check (every file hashed).
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import stat
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from plugin_builder.files import stat_key, write_atomically

MANIFEST = "manifest.json"  # in the toolchain's home, beside the GOROOT: written once
KEYS = "manifest-keys.json"  # beside it: the stat keys that spare hashing, rewritten
GOROOT = "go"  # the GOROOT's folder in the toolchain's home
FORMAT = 1
RACY_NS = 1_000_000_000  # the coarsest timestamps a file system keeps: one second
SHOWN = 5  # problems named one by one; the rest are counted
_CHUNK = 1 << 20

# (home, stat key of its manifest) -> the manifest's digest, for every toolchain this
# process found intact: a re-provisioned toolchain has a new manifest, hence a new key.
_CHECKED: dict[tuple[str, tuple[int, ...]], str] = {}


@dataclass
class Checked:
    """What is wrong with a toolchain (nothing: it is as provisioned), and its digest."""

    problems: list[str]
    digest: str = ""
    manifest_key: tuple[int, ...] = ()
    fresh_keys: dict[str, Any] | None = None  # to record, when some were taken again


class Tree(NamedTuple):
    """A provisioned tree: its folder in the home, and which of its paths are recorded."""

    folder: str
    tracked: Callable[..., bool]  # (relative, *, folder) -> whether it is recorded


def tracked(relative: str, *, folder: bool) -> bool:
    """Whether a build can read this path of a GOROOT ("" is the GOROOT itself)."""
    if not relative:
        return folder
    parts = relative.split("/")
    if parts[0] in ("bin", "pkg"):
        return True
    if parts[0] == "src":
        if parts[1:2] == ["cmd"] or "testdata" in parts:
            return False
        return folder or not parts[-1].endswith("_test.go")
    return not folder and relative in ("VERSION", "go.env")


GO_TREE = Tree(GOROOT, tracked)


# -- recording ------------------------------------------------------------------------------


def record(home: Path, tree: Tree = GO_TREE) -> str:
    """Write the manifest of ``home``'s GOROOT (or other tree) as it is now, and its keys;
    its digest."""
    contents, folders, keys = _scan(home / tree.folder, tree.tracked)
    manifest = json.dumps({"format": FORMAT, "files": contents, "folders": sorted(folders)},
                          sort_keys=True, separators=(",", ":")) + "\n"
    write_atomically(home / MANIFEST, manifest)
    digest = _digest(manifest.encode())
    _write_keys(home, digest, keys)
    return digest


def _scan(goroot: Path, tracked: Callable[..., bool] = tracked
          ) -> tuple[dict[str, list[Any]], dict[str, list[int]], dict[str, Any]]:
    """Every tracked file's [size, sha256], every tracked folder's key, and files' keys."""
    contents: dict[str, list[Any]] = {}
    file_keys: dict[str, list[int]] = {}
    folder_keys: dict[str, list[int]] = {"": stat_key(os.lstat(goroot))}
    pending = [""]
    while pending:
        folder = pending.pop()
        with os.scandir(_join(goroot, folder)) as entries:
            for entry in entries:
                relative = f"{folder}/{entry.name}" if folder else entry.name
                if entry.is_dir(follow_symlinks=False):
                    if tracked(relative, folder=True):
                        folder_keys[relative] = stat_key(entry.stat(follow_symlinks=False))
                        pending.append(relative)
                elif tracked(relative, folder=False):
                    size, sha256, key = _hash(entry.path)
                    contents[relative] = [size, sha256]
                    file_keys[relative] = key
    return contents, folder_keys, {"files": file_keys, "folders": folder_keys}


def _hash(path: str) -> tuple[int, str, list[int]]:
    """(size, sha256, stat key) of a regular file; an OSError for anything else.

    Neither a link is followed nor a FIFO waited on: the path may have been replaced.
    """
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    with os.fdopen(fd, "rb") as stream:
        before = os.fstat(fd)
        if not stat.S_ISREG(before.st_mode):
            raise OSError(f"{path} is not a regular file")
        sha256 = hashlib.sha256()
        size = 0
        while chunk := stream.read(_CHUNK):
            sha256.update(chunk)
            size += len(chunk)
    return size, sha256.hexdigest(), stat_key(before)


def _join(goroot: Path, relative: str) -> str:
    return f"{goroot}/{relative}" if relative else str(goroot)


def _digest(manifest: bytes) -> str:
    return "sha256:" + hashlib.sha256(manifest).hexdigest()


def _write_keys(home: Path, digest: str, keys: dict[str, Any]) -> None:
    recorded = {"manifest": digest, "recorded_ns": time.time_ns(), **keys}
    write_atomically(home / KEYS, json.dumps(recorded, separators=(",", ":")) + "\n")


# -- checking -------------------------------------------------------------------------------


def check(home: Path, tree: Tree = GO_TREE) -> Checked:
    """Whether ``home``'s GOROOT still holds what its manifest records.

    Once per process per provisioned toolchain: one found intact is not checked again.
    """
    path = home / MANIFEST
    try:
        manifest_key = tuple(stat_key(path.lstat()))
        known = _CHECKED.get((str(home), manifest_key))
        if known is not None:
            return Checked([], known, manifest_key)
        raw = path.read_bytes()
    except FileNotFoundError:
        return Checked([f"{path} is missing: the toolchain was provisioned without a record "
                        "of its files (by an older plugin-builder)"])
    digest = _digest(raw)
    try:
        checked = _compare(home / tree.folder,
                           functools.cache(lambda: _Manifest(json.loads(raw))),
                           _keys(home, digest), tree.tracked)
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        return Checked([f"{path} is damaged ({error or type(error).__name__})"])
    checked.digest, checked.manifest_key = digest, manifest_key
    if not checked.problems:
        _CHECKED[str(home), manifest_key] = digest
    return checked


class _Manifest:
    """The recorded files and folders: parsed only when a key does not vouch."""

    def __init__(self, data: dict[str, Any]) -> None:
        if data.get("format") != FORMAT:
            raise ValueError(f"format {data.get('format')!r}, not {FORMAT}")
        self.files: dict[str, list[Any]] = data["files"]
        self.folders: set[str] = set(data["folders"])


def _keys(home: Path, digest: str) -> dict[str, Any] | None:
    """The recorded keys, if they are there and belong to this manifest (recorded from it,
    they name exactly its files and folders)."""
    try:
        keys = json.loads((home / KEYS).read_bytes())
    except (OSError, ValueError):
        return None
    return keys if isinstance(keys, dict) and keys.get("manifest") == digest else None


def _compare(goroot: Path, manifest: Callable[[], _Manifest],
             keys: dict[str, Any] | None, tracked: Callable[..., bool]) -> Checked:
    if keys is None:
        return _compare_all(goroot, manifest(), tracked)
    vouching_before = keys["recorded_ns"] - RACY_NS
    problems: list[str] = []
    fresh_files = _unvouched(goroot, keys["files"], vouching_before, problems)
    fresh_folders = _unvouched(goroot, keys["folders"], vouching_before, problems)
    for relative in fresh_files:
        fresh_files[relative] = _same_content(goroot, relative, manifest(), problems)
    for relative in fresh_folders:
        _same_entries(goroot, relative, manifest(), problems, tracked)
    if problems:
        return Checked(_summary(goroot, problems))
    if not (fresh_files or fresh_folders):
        return Checked([])
    return Checked([], fresh_keys={"files": {**keys["files"], **fresh_files},
                                   "folders": {**keys["folders"], **fresh_folders}})


def _unvouched(goroot: Path, recorded: dict[str, list[int]], vouching_before: int,
               problems: list[str]) -> dict[str, list[int]]:
    """The entries whose recorded key does not vouch for them, with their key now.

    This loop is what a check costs: one lstat per tracked file and folder.
    """
    root = f"{goroot}/"
    unvouched: dict[str, list[int]] = {}
    for relative, key in recorded.items():
        try:
            now = os.lstat(root + relative if relative else goroot)
        except FileNotFoundError:
            problems.append(f"{relative} was removed")
            continue
        now_key = [now.st_ino, now.st_size, now.st_mtime_ns, now.st_ctime_ns]
        if now_key != key or key[3] >= vouching_before:
            unvouched[relative] = now_key
    return unvouched


def _same_content(goroot: Path, relative: str, manifest: _Manifest,
                  problems: list[str]) -> list[int]:
    """Hash a file its key does not vouch for; its key now (a problem if it changed)."""
    try:
        size, sha256, key = _hash(_join(goroot, relative))
    except OSError:
        problems.append(f"{relative} is no longer a regular file")
        return []
    if [size, sha256] != manifest.files[relative]:
        problems.append(f"{relative} changed")
    return key


def _same_entries(goroot: Path, folder: str, manifest: _Manifest, problems: list[str],
                  tracked: Callable[..., bool]) -> None:
    """A folder its key does not vouch for holds no tracked entry the manifest lacks."""
    try:
        with os.scandir(_join(goroot, folder)) as listed:
            entries = [(entry.name, entry.is_dir(follow_symlinks=False)) for entry in listed]
    except OSError:
        problems.append(f"{folder} is no longer a folder")
        return
    for name, is_folder in entries:
        relative = f"{folder}/{name}" if folder else name
        known = relative in manifest.folders if is_folder else relative in manifest.files
        if not known and tracked(relative, folder=is_folder):
            problems.append(f"{relative} was added")


def _compare_all(goroot: Path, manifest: _Manifest, tracked: Callable[..., bool]) -> Checked:
    """No keys to trust: hash every file and compare the whole tree."""
    try:
        contents, folders, keys = _scan(goroot, tracked)
    except OSError as error:
        return Checked(_summary(goroot, [f"cannot be read ({error})"]))
    problems = [f"{relative} changed" for relative, recorded in manifest.files.items()
                if relative in contents and contents[relative] != recorded]
    problems += [f"{relative} was removed" for relative in
                 (manifest.files.keys() - contents.keys()) | (manifest.folders - folders.keys())]
    problems += [f"{relative} was added" for relative in
                 (contents.keys() - manifest.files.keys()) | (folders.keys() - manifest.folders)]
    return Checked(_summary(goroot, problems) if problems else [], fresh_keys=keys)


def _summary(goroot: Path, problems: list[str]) -> list[str]:
    named = sorted(problems)[:SHOWN]
    if len(problems) > SHOWN:
        named.append(f"{len(problems) - SHOWN} more")
    return [f"{goroot} is not as provisioned: {', '.join(named)}"]


def record_keys(home: Path, checked: Checked) -> None:
    """Record the keys a check took again, unless the manifest was replaced meanwhile.

    The caller holds the toolchain's lock, so no provisioning replaces it while this runs.
    """
    if checked.fresh_keys is None or checked.problems:
        return
    if tuple(stat_key((home / MANIFEST).lstat())) == checked.manifest_key:
        _write_keys(home, checked.digest, checked.fresh_keys)
