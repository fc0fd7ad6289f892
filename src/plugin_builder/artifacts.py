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
  again and compared with the recorded sha256 (and, when it matches, the entry takes
  the file's new key: the next write of the manifest keeps it).
- The manifest is believed only when it is sealed by this user's runs (see
  :mod:`sealing`): one that is not (edited by hand, written by another user or an older
  tool, or the key is gone) keeps its claims about content, but every one of them is
  checked against the bytes: no stat key, recorded fingerprint or verify proof of it is
  used, and the next write seals what was checked.
- Leftovers of killed runs (temporary files whose writing process is gone) are swept
  when a store is opened.
- A manifest that cannot be read, is valid JSON of the wrong shape, or nests deeper than
  any manifest this tool writes, is reported once and treated as empty: everything in
  it is rebuilt.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from plugin_builder import outputs, sealing
from plugin_builder.combination import Combination
from plugin_builder.files import (
    TEMP_MARK,
    content_check,
    current_umask,
    digest,
    naming,
    past_the_clock_tick,
    sha256_file,
    stat_key,
    sweep_leftovers,
    temp_prefix,
    unchanged_since,
    write_atomically,
)
from plugin_builder.golang import sources
from plugin_builder.outputs import MARKER

__all__ = ["MANIFEST", "MARKER", "SCHEMA", "ArtifactStore"]

MANIFEST = "manifest.json"
SCHEMA = "plugin-builder/manifest/2"  # what this version writes and reads
SCRATCH = ".work"  # generated go.work files, loader sources; never shipped
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
        self._claimed = False  # whether make_folder() checked the folder
        self.sealed = False  # whether the manifest last read carried this user's seal
        self.refreshed = False  # whether an entry took a new stat key since it was read

    def path(self, relative: str) -> Path:
        return self.folder / relative

    def sweep(self) -> None:
        """Remove what killed runs left in the folder (temporary files of dead writers,
        and the temporary folders of their go commands)."""
        sweep_leftovers(self.folder)

    def temporary_folder(self) -> Path:
        """Where this run's go commands keep their temporary files (go's ``$WORK``, the C
        compiler's): not the system's /tmp, where a killed build leaves them for good,
        but a folder named by our process id, which the next run sweeps once we are gone.
        The combination folder is claimed first: a go command creating this folder's
        parents would leave the artifacts folder unmarked, and a parallel session would
        then refuse it as someone else's."""
        self.make_folder()
        return self.scratch / f".tmp.{os.getpid()}{TEMP_MARK}"

    # -- manifest ---------------------------------------------------------------------

    def manifest(self) -> dict[str, Any]:
        """The manifest as it is on disk (a copy the caller may change)."""
        return copy.deepcopy(self._manifest())

    def _manifest(self) -> dict[str, Any]:
        """The manifest, parsed once per version of the file (read-only to callers, but
        for the stat keys :meth:`intact` and :func:`sources.changed` refresh)."""
        try:
            stat = self.manifest_path.stat()
        except OSError:
            stat = None
        if stat is not None and self._read is not None and \
                unchanged_since(self._read[0], stat):
            return self._read[1]
        manifest, self.sealed = self._parse_manifest()
        self.refreshed = False
        self._read = (stat_key(stat), manifest) if stat is not None else None
        return manifest

    def _parse_manifest(self) -> tuple[dict[str, Any], bool]:
        """The manifest and whether it is sealed; a damaged one is empty (and unsealed)."""
        try:
            data = self.manifest_path.read_bytes()
            manifest = json.loads(data.decode("utf-8"))
        except FileNotFoundError:
            return self._empty_manifest(), False
        except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as error:
            why = "nested too deep" if isinstance(error, RecursionError) else str(error)
            return self._damaged(f"unreadable ({why})"), False
        if not isinstance(manifest, dict) or manifest.get("schema") != SCHEMA:
            return self._damaged("not a manifest of this plugin-builder (another version "
                                 "wrote it, or it was edited)"), False
        manifest.pop("seal", None)
        if not _well_formed(manifest):
            return self._damaged("not a manifest of plugin-builder (valid JSON of another "
                                 "shape)"), False
        sealed = sealing.sealed(data) and manifest.get("combination") == self.combination.id
        if not sealed:
            _distrust(manifest)
        return manifest, sealed

    def _damaged(self, why: str) -> dict[str, Any]:
        """A manifest we cannot trust describes nothing: everything is rebuilt."""
        problem = f"{self.manifest_path}: {why}; rebuilding what it described"
        if problem not in self.problems:
            self.problems.append(problem)
        return self._empty_manifest()

    def _empty_manifest(self) -> dict[str, Any]:
        c = self.combination
        return {"schema": SCHEMA, "combination": c.id, "go": c.go, "libc": c.libc,
                "arch": c.arch, "artifacts": {}}

    @contextmanager
    def _locked(self) -> Iterator[None]:
        from filelock import FileLock  # 8 ms to import: commands that only read need none

        self.make_folder()
        with FileLock(str(self.folder / ".manifest.lock")):
            yield

    def make_folder(self) -> None:
        """The combination folder, ours (see :mod:`outputs`): the artifacts folder and it
        made by the tool (or empty when found), with no link anywhere inside. Checked
        once per store, before the first write."""
        if self._claimed:
            return
        outputs.claim(self.root)
        outputs.claim(self.folder)
        outputs.refuse_links(self.folder)
        self._claimed = True

    def update_manifest(self, change: Callable[[dict[str, Any]], None]) -> None:
        """Read, change and atomically rewrite the manifest under a lock."""
        with self._locked():
            self._change_manifest(change)

    def _change_manifest(self, change: Callable[[dict[str, Any]], None]) -> None:
        manifest = self.manifest()
        change(manifest)
        body = json.dumps(manifest, indent=2, sort_keys=True) + "\n"
        write_atomically(self.manifest_path, sealing.seal(body))

    def keep_checked(self) -> None:
        """Write the manifest again when what this run checked is not in it yet (a stat
        key refreshed, or a manifest that was not sealed and whose claims were checked):
        the next run trusts it without hashing again. Only a saving: a folder that
        cannot be written (read-only) or a key that cannot be used changes nothing."""
        self._manifest()
        if (self.refreshed or not self.sealed) and sealing.usable():
            with contextlib.suppress(OSError):
                self.update_manifest(lambda manifest: None)

    def sources_changed(self, relative: str, project: Path) -> str | None:
        """Why the recorded sources of an artifact differ from ``project``'s, or None."""
        entry = self.entry(relative) or {}
        return sources.changed(entry.get("sources"), project, on_refresh=self._refreshed)

    def _refreshed(self) -> None:
        self.refreshed = True

    def verified(self) -> dict[str, str]:
        """The verify proofs the manifest holds (none when it is not sealed)."""
        return dict(self._manifest().get("verified", {}))

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
        path = self.path(relative)
        try:
            stat = path.stat()
        except OSError:
            return False
        if unchanged_since(entry.get("stat"), stat):
            return True
        if stat.st_size != entry.get("size"):
            return False
        matches, key = content_check(path, entry.get("sha256"))
        if matches and key is not None:
            self._refresh(path, entry, key)
        return matches

    def _refresh(self, path: Path, entry: dict[str, Any], key: list[int]) -> None:
        """A file hashed and found to hold its recorded content: its entry takes the
        key it has now, and (when they were not trusted) its fingerprints again."""
        from plugin_builder.binary import fingerprints  # read only on this rare path

        entry["stat"] = key
        if "fingerprints" not in entry:
            entry["fingerprints"] = fingerprints.record_for(path)
        self._refreshed()

    @contextmanager
    def staging(self, relative: str) -> Iterator[Path]:
        """A temporary path next to the artifact; removed unless land() took it."""
        target = self.path(relative)
        self.make_folder()
        with naming(target):
            target.parent.mkdir(parents=True, exist_ok=True)
            outputs.real_folder(target.parent)
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
            with naming(target):
                os.replace(staged, target)
            entry["stat"] = stat_key(target.stat())
            past_the_clock_tick(entry["stat"][3])
            self._change_manifest(record)  # and the landed file's identity, for a cheap check
        return entry


# How deep a manifest this tool writes nests (a verify record is the deepest, at 7).
_DEPTH_LIMIT = 16


def _well_formed(manifest: dict[str, Any]) -> bool:
    """Every member this tool reads has the shape it writes; nothing nests deeper than a
    manifest of ours (a deeply nested one would only crash a later copy or write)."""
    artifacts, verified = manifest.get("artifacts"), manifest.get("verified", {})
    return (_shallow(manifest, _DEPTH_LIMIT)
            and isinstance(manifest.get("combination"), str)
            and isinstance(artifacts, dict)
            and all(isinstance(name, str) and _entry_well_formed(entry)
                    for name, entry in artifacts.items())
            and isinstance(verified, dict)
            and all(isinstance(k, str) and isinstance(v, str) for k, v in verified.items()))


def _entry_well_formed(entry: object) -> bool:
    if not isinstance(entry, dict):
        return False
    sha256, size, stat = entry.get("sha256"), entry.get("size"), entry.get("stat")
    return (isinstance(sha256, str) and type(size) is int
            and (stat is None or (isinstance(stat, list) and len(stat) == 4
                                  and all(type(item) is int for item in stat)))
            and ("sources" not in entry or sources.well_formed(entry["sources"])))


def _shallow(value: object, limit: int) -> bool:
    """Whether no list or object in ``value`` lies deeper than ``limit`` (no recursion)."""
    level: list[Any] = [value]
    for _ in range(limit):
        level = [child for item in level
                 for child in (item.values() if isinstance(item, dict) else item)
                 if isinstance(child, (dict, list))]
        if not level:
            return True
    return False


def _distrust(manifest: dict[str, Any]) -> None:
    """Keep an unsealed manifest's claims about content, none of its shortcuts: every
    artifact and source is hashed when checked, fingerprints are read from the binaries,
    and no pair counts as verified."""
    manifest.pop("verified", None)
    for entry in manifest["artifacts"].values():
        entry.pop("stat", None)
        entry.pop("fingerprints", None)
        if "sources" in entry:
            sources.distrusted(entry["sources"])
