"""Writing files so that a reader never sees half of one, and hashing what was written.

Every file the tool writes (artifacts, manifests, results, generated go.work files, the
config `new-plugin` edits) lands through :func:`write_atomically`: the text goes to a
temporary name in the same folder, is flushed to disk and renamed over the target, so
a crash or SIGKILL at any moment leaves either the old file or the new one. Temporary
names carry our process id, so a later run can tell the leftovers of a dead process
(:func:`sweep_leftovers`) from a file a live one is still writing.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

TEMP_MARK = ".pb-tmp"  # every temporary name contains it, and nothing else does


def temp_prefix(target: Path) -> str:
    return f".{target.name}.{os.getpid()}{TEMP_MARK}."


def write_atomically(path: Path, text: str, *, mode: int | None = None) -> Path:
    """Replace ``path`` with ``text`` at once; the mode is the old file's, else the umask's.

    A symbolic link at ``path`` is replaced, never followed. A failure (a full or
    read-only file system) names ``path``, not the temporary file nor nothing at all.
    """
    with naming(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(prefix=temp_prefix(path), dir=path.parent)
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as stream:
                stream.write(text)
                stream.flush()
                os.fsync(stream.fileno())
            os.chmod(name, mode if mode is not None else _mode_for(path, 0o666))
            os.replace(name, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(name)
            raise
    return path


@contextlib.contextmanager
def naming(target: Path) -> Iterator[None]:
    """An OSError raised while writing ``target`` names ``target``: a write, flush or
    fsync error names no file, and one about a temporary name means nothing to a user."""
    try:
        yield
    except OSError as error:
        if error.filename is not None and str(error.filename) == str(target):
            raise
        raise OSError(error.errno, error.strerror or str(error), str(target)) from error


def _mode_for(path: Path, default: int) -> int:
    """Keep an existing file's permissions; a new one gets ``default`` less the umask."""
    try:
        return path.stat().st_mode & 0o777
    except FileNotFoundError:
        return default & ~current_umask()


def current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def stat_key(stat: os.stat_result) -> list[int]:
    """What identifies a file's content without reading it: inode, size, mtime and ctime.

    The kernel sets ctime on every write and on every utime() call, and no user process
    can set it back, so content written since the key was taken always changes it (size
    and mtime alone can be restored after an edit). A different key means: hash again.
    """
    return [stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns]


# How coarse the kernel's file timestamps may be on a file system that has sub-second
# ones (a jiffy: 1-10 ms). File systems with whole seconds are never trusted at all.
TIMESTAMP_TICK_NS = 20_000_000
_SECOND_NS = 1_000_000_000


def unchanged_since(recorded: object, stat: os.stat_result) -> bool:
    """Whether a file still holds what it held when ``recorded`` (its stat key) was taken.

    Only a key with a sub-second ctime vouches: on a file system with 1-second
    timestamps, a change made in the same second keeps every field of the key alike,
    so there the content is hashed instead.
    """
    key = stat_key(stat)
    return recorded == key and fine_grained(key)


def fine_grained(key: list[int]) -> bool:
    return key[3] % _SECOND_NS != 0


def content_check(path: Path, sha256: object) -> tuple[bool, list[int] | None]:
    """Whether ``path`` holds exactly the content ``sha256`` names, by hashing it; and if
    so, its stat key when that key can vouch for the content from now on (None: a coarse
    or too recent timestamp, where a write in the same tick would keep the key alike)."""
    try:
        before = stat_key(path.stat())
        if sha256_file(path) != sha256:
            return False, None
        key = stat_key(path.stat())
    except OSError:
        return False, None
    if key != before:
        return False, None  # written while it was read: what was hashed is no one content
    if not fine_grained(key) or time.time_ns() - key[3] < TIMESTAMP_TICK_NS:
        return True, None
    return True, key


def past_the_clock_tick(ctime_ns: int) -> None:
    """Wait until a write to the file would get another ctime than ``ctime_ns``.

    A write within the same timestamp tick as the landing could keep inode, size, mtime
    (set back) and ctime alike; after the tick it cannot (git's "racily clean" problem).
    """
    delay = (ctime_ns + TIMESTAMP_TICK_NS - time.time_ns()) / 1e9
    if delay > 0:
        time.sleep(min(delay, TIMESTAMP_TICK_NS / 1e9))


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def digest(*parts: Any) -> str:
    """One sha256 of JSON-able parts (argv, environments, tool identities, digests)."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def sweep_leftovers(folder: Path) -> list[Path]:
    """Remove temporary files and folders under ``folder`` whose writing process is gone
    (a folder: the temporary folder of a build killed with its go commands)."""
    removed = []
    for path in _temporaries(folder):
        if not _writer_alive(path.name):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
                removed.append(path)
                continue
            with contextlib.suppress(FileNotFoundError, IsADirectoryError, PermissionError):
                path.unlink()
                removed.append(path)
    return removed


def _temporaries(folder: Path) -> Iterator[Path]:
    if not folder.is_dir():
        return
    for current, dirs, names in os.walk(folder):
        temporary = [d for d in dirs if TEMP_MARK in d]
        dirs[:] = [d for d in dirs if TEMP_MARK not in d]  # not into what another run writes
        for name in (*temporary, *names):
            if TEMP_MARK in name:
                yield Path(current) / name


def _writer_alive(name: str) -> bool:
    """Whether the process whose id the temporary name carries still runs."""
    try:
        pid = int(name.split(TEMP_MARK, 1)[0].rsplit(".", 1)[1])
    except (IndexError, ValueError):
        return False
    return process_alive(pid)


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's live process
    return True
