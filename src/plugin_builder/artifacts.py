"""One combination's artifact folder and its manifest.

Artifacts land atomically: a build writes to a temporary name in the same folder and
only a finished, hashed file is renamed into place and recorded in manifest.json, so a
failed or interrupted build leaves the previous artifact and its manifest entry intact.
Each entry keeps the digest of everything that fed the build, which is how an
unchanged artifact is recognised and skipped.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from filelock import FileLock

from plugin_builder.combination import Combination

MANIFEST = "manifest.json"
SCRATCH = ".work"  # generated go.work files and temporary outputs; never shipped
# Folders and files that never feed a Go build.
_IGNORED_DIRS = ("testdata", "node_modules", "vendor.bak")


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def tree_digest(folder: Path) -> str:
    """Digest of every file that can feed a Go build of this module (tests do not)."""
    digest = hashlib.sha256()
    for path in sorted(_build_inputs(folder)):
        digest.update(str(path.relative_to(folder)).encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def _build_inputs(folder: Path) -> Iterator[Path]:
    for current, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if not d.startswith((".", "_")) and d not in _IGNORED_DIRS]
        for name in files:
            if not name.endswith("_test.go") and not name.startswith("."):
                yield Path(current) / name


def inputs_digest(*parts: Any) -> str:
    """One digest of JSON-able parts: argv, environment, tool identities, tree digests."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


class ArtifactStore:
    """artifacts/<combination>/: its files and manifest.json."""

    def __init__(self, root: Path, combination: Combination) -> None:
        self.combination = combination
        self.folder = root / combination.id
        self.manifest_path = self.folder / MANIFEST
        self.scratch = self.folder / SCRATCH

    def path(self, relative: str) -> Path:
        return self.folder / relative

    # -- manifest ---------------------------------------------------------------------

    def manifest(self) -> dict[str, Any]:
        try:
            return json.loads(self.manifest_path.read_text())
        except FileNotFoundError:
            return self._empty_manifest()
        except json.JSONDecodeError:
            # A manifest we cannot read describes nothing: everything is rebuilt.
            return self._empty_manifest()

    def _empty_manifest(self) -> dict[str, Any]:
        c = self.combination
        return {"combination": c.id, "go": c.go, "libc": c.libc, "arch": c.arch,
                "artifacts": {}}

    @contextmanager
    def _locked(self) -> Iterator[None]:
        self.folder.mkdir(parents=True, exist_ok=True)
        with FileLock(str(self.folder / ".manifest.lock")):
            yield

    def update_manifest(self, change: Callable[[dict[str, Any]], None]) -> None:
        """Read, change and atomically rewrite the manifest under a lock."""
        with self._locked():
            manifest = self.manifest()
            change(manifest)
            _write_atomically(self.manifest_path,
                              json.dumps(manifest, indent=2, sort_keys=True) + "\n")

    def entry(self, relative: str) -> dict[str, Any] | None:
        return self.manifest()["artifacts"].get(relative)

    # -- artifacts --------------------------------------------------------------------

    def up_to_date(self, relative: str, inputs: str) -> bool:
        """Built from these inputs, and the file is still the one that was recorded."""
        entry = self.entry(relative)
        if not entry or entry.get("inputs") != inputs:
            return False
        try:
            stat = self.path(relative).stat()
        except FileNotFoundError:
            return False
        if (stat.st_size, stat.st_mtime_ns) == (entry["size"], entry.get("mtime_ns")):
            return True
        return sha256_file(self.path(relative)) == entry["sha256"]

    @contextmanager
    def staging(self, relative: str) -> Iterator[Path]:
        """A temporary path next to the artifact; removed unless land() took it."""
        target = self.path(relative)
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        os.close(handle)
        os.unlink(name)  # go build refuses to overwrite a file it did not write
        try:
            yield Path(name)
        finally:
            Path(name).unlink(missing_ok=True)

    def land(self, relative: str, staged: Path, entry: dict[str, Any]) -> dict[str, Any]:
        """Move a finished build into place and record it in the manifest."""
        target = self.path(relative)
        staged.chmod(0o755)
        entry = {**entry, "sha256": sha256_file(staged), "size": staged.stat().st_size}
        os.replace(staged, target)
        entry["mtime_ns"] = target.stat().st_mtime_ns

        def record(manifest: dict[str, Any]) -> None:
            manifest["artifacts"][relative] = entry

        self.update_manifest(record)
        return entry

    def clean(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


def _write_atomically(path: Path, text: str) -> None:
    handle, name = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    with os.fdopen(handle, "w") as stream:
        stream.write(text)
    os.replace(name, path)
