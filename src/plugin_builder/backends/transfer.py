"""Files between this machine and a Docker engine that may be on another one.

Nothing is bind-mounted: before a build command starts, its container receives one
archive (``put_archive``) holding the sources at their own absolute paths, the
combination's scratch folder (generated go.work files, loader sources) and the folders
the command writes to, owned by the invoking uid:gid the command runs as; afterwards the
files the command wrote come back as archives (``get_archive``) and are written where
the step expects them, on this machine, to be landed by ArtifactStore as ever. So a
build runs the same against the local engine and one reached through
``DOCKER_HOST=tcp://...`` or ``ssh://...``.
"""

from __future__ import annotations

import os
import tarfile
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

# Folders that never hold what a Go build reads: version control, tools' caches.
SKIPPED = frozenset({".git", ".hg", ".svn", ".bzr", ".nox", ".tox", ".venv", "__pycache__",
                     ".mypy_cache", ".pytest_cache", ".ruff_cache", "node_modules"})
# Held in memory up to this size, in a temporary file beyond.
_SPOOL_BYTES = 16 << 20


@dataclass(frozen=True)
class Upload:
    """What a command's container receives, all at their absolute paths."""

    sources: tuple[Path, ...]  # folders sent whole (less SKIPPED and ``apart``)
    apart: tuple[Path, ...]  # folders inside them that are not sources (artifacts, results)
    copied: tuple[Path, ...] = ()  # more folders sent whole (the combination's scratch)
    folders: tuple[Path, ...] = ()  # folders sent empty: where the command writes
    files: tuple[tuple[Path, str], ...] = ()  # (this machine's file, its path in the container)

    def archive(self) -> IO[bytes]:
        """One tar of all of it, owned by this process's uid:gid, rewound."""
        stream = tempfile.SpooledTemporaryFile(max_size=_SPOOL_BYTES)  # noqa: SIM115
        with tarfile.open(fileobj=stream, mode="w") as tar:
            for root in self.sources:
                _add_tree(tar, root, self.apart)
            for root in self.copied:
                _add_tree(tar, root, ())
            for folder in self.folders:
                _add_folder(tar, folder)
            for local, inside in self.files:
                tar.add(str(local), arcname=inside.lstrip("/"), filter=_owned)
        stream.seek(0)
        return stream


def _add_tree(tar: tarfile.TarFile, root: Path, apart: Iterable[Path]) -> None:
    if not root.is_dir():
        return
    skipped = {str(path) for path in apart}
    for current, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in SKIPPED
                         and os.path.join(current, d) not in skipped)
        tar.add(current, arcname=current.lstrip("/"), recursive=False, filter=_owned)
        # A symlink to a folder is listed among the folders, and walked into by no one.
        linked = [d for d in dirs if os.path.islink(os.path.join(current, d))]
        for name in sorted(files) + linked:
            path = os.path.join(current, name)
            tar.add(path, arcname=path.lstrip("/"), recursive=False, filter=_owned)


def _add_folder(tar: tarfile.TarFile, folder: Path) -> None:
    info = tarfile.TarInfo(str(folder).lstrip("/"))
    info.type, info.mode = tarfile.DIRTYPE, 0o755
    tar.addfile(_owned(info))


def _owned(info: tarfile.TarInfo) -> tarfile.TarInfo:
    """As the command's user: it writes into its folders, and reads every file."""
    info.uid, info.gid, info.uname, info.gname = os.getuid(), os.getgid(), "", ""
    return info


def fetch(container: Any, path: Path, target: Path | None = None) -> bool:
    """Write the file ``path`` of the container to ``target`` here (the same path by
    default); False when the container has none (the command failed before writing it)."""
    import docker

    try:
        chunks, _ = container.get_archive(str(path))
    except docker.errors.NotFound:
        return False
    with tempfile.TemporaryFile() as stream:
        for chunk in chunks:
            stream.write(chunk)
        stream.seek(0)
        with tarfile.open(fileobj=stream, mode="r") as tar:
            member = next(_regular_files(tar), None)
            source = tar.extractfile(member) if member is not None else None
            if source is None:
                return False
            with (target or path).open("wb") as written:
                while block := source.read(1 << 20):
                    written.write(block)
    return True


def _regular_files(tar: tarfile.TarFile) -> Iterator[tarfile.TarInfo]:
    return (member for member in tar if member.isreg())
