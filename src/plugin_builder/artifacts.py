"""One combination's artifact folder and its manifest.

An artifact is what its manifest entry says, or it is rebuilt:

- Landing is crash-safe. A build writes to a temporary name next to the artifact; the
  manifest entry naming the new content (sha256, size) is written first, then the file
  is renamed into place. A SIGKILL between the two leaves a manifest that names content
  the file does not have, which the next run sees as "not up to date" and rebuilds;
  there is no moment at which a wrong file is trusted.
- The up-to-date check is about content, not about size and mtime (which anyone can set
  back). The manifest records the file's inode, size, mtime and ctime when it landed:
  the kernel changes ctime on every write and no user process can set it back, so when
  all four still match the recorded content is still there; otherwise the file is hashed
  again and compared with the recorded sha256.
- Leftovers of killed runs (temporary files whose writing process is gone) are swept
  when a store is opened.
- A manifest that cannot be read, or is valid JSON of the wrong shape, is reported once
  and treated as empty: everything in it is rebuilt.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from plugin_builder.combination import Combination
from plugin_builder.files import (
    current_umask,
    digest,
    sha256_file,
    stat_key,
    sweep_leftovers,
    temp_prefix,
    write_atomically,
)

MANIFEST = "manifest.json"
SCRATCH = ".work"  # generated go.work files, loader sources; never shipped
MARKER = ".plugin-builder"  # says: this folder was made by the tool, `clean` may remove it
# Folders and files that never feed a Go build.
_IGNORED_DIRS = ("testdata", "node_modules", "vendor.bak")

inputs_digest = digest  # the digest of a build's inputs: argv, environment, tools, sources


def tree_digest(folder: Path) -> str:
    """Digest of every file that can feed a Go build of this module (tests do not)."""
    hashed = hashlib.sha256()
    for path in sorted(_build_inputs(folder)):
        hashed.update(str(path.relative_to(folder)).encode() + b"\0")
        hashed.update(path.read_bytes() + b"\0")
    return hashed.hexdigest()


def _build_inputs(folder: Path) -> Iterator[Path]:
    for current, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if not d.startswith((".", "_")) and d not in _IGNORED_DIRS]
        for name in files:
            if not name.endswith("_test.go") and not name.startswith("."):
                yield Path(current) / name


class ArtifactStore:
    """artifacts/<combination>/: its files and manifest.json. One per combination per run."""

    def __init__(self, root: Path, combination: Combination) -> None:
        self.combination = combination
        self.root = root
        self.folder = root / combination.id
        self.manifest_path = self.folder / MANIFEST
        self.scratch = self.folder / SCRATCH
        self.problems: list[str] = []  # what was found damaged, to report
        # The manifest as last read, and the stat key of the file it was read from: a
        # static verify asks for many entries, and a manifest is read (parsed) once.
        self._read: tuple[list[int], dict[str, Any]] | None = None

    def path(self, relative: str) -> Path:
        return self.folder / relative

    def sweep(self) -> None:
        """Remove what killed runs left in the folder (temporary files of dead writers)."""
        sweep_leftovers(self.folder)

    # -- manifest ---------------------------------------------------------------------

    def manifest(self) -> dict[str, Any]:
        """The manifest as it is on disk (a copy the caller may change)."""
        return copy.deepcopy(self._manifest())

    def _manifest(self) -> dict[str, Any]:
        """The manifest, parsed once per version of the file (read-only to callers)."""
        try:
            key = stat_key(self.manifest_path.stat())
        except OSError:
            key = None
        if key is not None and self._read is not None and self._read[0] == key:
            return self._read[1]
        manifest = self._parse_manifest()
        self._read = (key, manifest) if key is not None else None
        return manifest

    def _parse_manifest(self) -> dict[str, Any]:
        try:
            manifest = json.loads(self.manifest_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return self._empty_manifest()
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
            return self._damaged(f"unreadable ({error})")
        if not _well_formed(manifest):
            return self._damaged("not a manifest of plugin-builder")
        return manifest

    def _damaged(self, why: str) -> dict[str, Any]:
        """A manifest we cannot trust describes nothing: everything is rebuilt."""
        problem = f"{self.manifest_path}: {why}; rebuilding what it described"
        if problem not in self.problems:
            self.problems.append(problem)
        return self._empty_manifest()

    def _empty_manifest(self) -> dict[str, Any]:
        c = self.combination
        return {"combination": c.id, "go": c.go, "libc": c.libc, "arch": c.arch,
                "artifacts": {}}

    @contextmanager
    def _locked(self) -> Iterator[None]:
        from filelock import FileLock  # 8 ms to import: commands that only read need none

        self.make_folder()
        with FileLock(str(self.folder / ".manifest.lock")):
            yield

    def make_folder(self) -> None:
        """The combination folder, marked as ours (so `clean` knows it may remove it)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        for folder in (self.root, self.folder):
            marker = folder / MARKER
            if not marker.exists():
                marker.write_text("made by plugin-builder; `invoke clean` may remove this "
                                  "folder\n")

    def update_manifest(self, change: Callable[[dict[str, Any]], None]) -> None:
        """Read, change and atomically rewrite the manifest under a lock."""
        with self._locked():
            self._change_manifest(change)

    def _change_manifest(self, change: Callable[[dict[str, Any]], None]) -> None:
        manifest = self.manifest()
        change(manifest)
        write_atomically(self.manifest_path, json.dumps(manifest, indent=2, sort_keys=True) + "\n")

    def entry(self, relative: str) -> dict[str, Any] | None:
        entry = self._manifest()["artifacts"].get(relative)
        return entry if isinstance(entry, dict) else None

    # -- artifacts --------------------------------------------------------------------

    def up_to_date(self, relative: str, inputs: str) -> bool:
        """Built from these inputs, and the file still holds the content recorded."""
        entry = self.entry(relative)
        if not entry or entry.get("inputs") != inputs:
            return False
        return self.intact(relative, entry)

    def intact(self, relative: str, entry: dict[str, Any]) -> bool:
        """The file holds the content its entry records (see the module docstring)."""
        try:
            stat = self.path(relative).stat()
        except OSError:
            return False
        if entry.get("stat") == stat_key(stat):
            return True
        return stat.st_size == entry.get("size") and \
            sha256_file(self.path(relative)) == entry.get("sha256")

    @contextmanager
    def staging(self, relative: str) -> Iterator[Path]:
        """A temporary path next to the artifact; removed unless land() took it."""
        target = self.path(relative)
        target.parent.mkdir(parents=True, exist_ok=True)
        self.make_folder()
        handle, name = tempfile.mkstemp(prefix=temp_prefix(target), suffix=".tmp",
                                        dir=target.parent)
        os.close(handle)
        os.unlink(name)  # go build refuses to overwrite a file it did not write
        try:
            yield Path(name)
        finally:
            Path(name).unlink(missing_ok=True)

    def land(self, relative: str, staged: Path, entry: dict[str, Any]) -> dict[str, Any]:
        """Record the new content in the manifest, then move it into place."""
        target = self.path(relative)
        staged.chmod(0o777 & ~current_umask())
        entry = {**entry, "sha256": sha256_file(staged), "size": staged.stat().st_size}

        def record(manifest: dict[str, Any]) -> None:
            manifest["artifacts"][relative] = entry

        with self._locked():
            self._change_manifest(record)  # names the new content before the file has it
            os.replace(staged, target)
            entry["stat"] = stat_key(target.stat())
            _past_the_clock_tick(entry["stat"][3])
            self._change_manifest(record)  # and the landed file's identity, for a cheap check
        return entry

    def clean(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


# How coarse the kernel's file timestamps may be (a jiffy: 1-10 ms; NFS: coarser still).
_TIMESTAMP_TICK_NS = 20_000_000


def _past_the_clock_tick(ctime_ns: int) -> None:
    """Wait until a write to the file would get another ctime than the one recorded.

    A write within the same timestamp tick as the landing could keep inode, size, mtime
    (set back) and ctime alike; after the tick it cannot (git's "racily clean" problem).
    """
    delay = (ctime_ns + _TIMESTAMP_TICK_NS - time.time_ns()) / 1e9
    if delay > 0:
        time.sleep(min(delay, _TIMESTAMP_TICK_NS / 1e9))


def _well_formed(manifest: Any) -> bool:
    return (isinstance(manifest, dict) and isinstance(manifest.get("artifacts"), dict)
            and all(isinstance(e, dict) and isinstance(e.get("sha256"), str)
                    for e in manifest["artifacts"].values()))
