"""Output folders the tool made itself, and writes into without following links.

``project.artifacts`` may name any folder. If a build adopted a folder that already held
the user's files (``docs``, ``.git``, the home folder), the marker it writes there would
make ``invoke clean`` remove them; if a link stood where a folder of ours must be
(``artifacts/<combination>``, its ``plugins/``, the marker itself), builds would write
wherever it points. So:

- :func:`claim` makes a folder ours: it creates it, or takes one that already carries
  the marker, or one that is empty; a folder with someone's files in it is refused, and
  so is a link or a file where the folder must be. The marker is created, never
  written through a link.
- :func:`refuse_links` checks that nothing inside a folder of ours is a link: the tool
  never makes one, so one found there was put there, and every write would follow it.
- :func:`remove` (``invoke clean``) removes what a marker vouches for: a combination
  folder whole, and of the artifacts folder only the marker and the folders of ours
  in it; anything else is kept, and said.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
from pathlib import Path
from typing import NoReturn

from plugin_builder.errors import FilesystemError, UsageError
from plugin_builder.files import TEMP_MARK
from plugin_builder.untrusted import quoted

MARKER = ".plugin-builder"  # says: this folder was made by the tool, `clean` may remove it
MARKER_TEXT = "made by plugin-builder; `invoke clean` may remove this folder\n"


def ours(folder: Path) -> bool:
    """Whether ``folder`` is a real folder (not a link) that carries our marker."""
    try:
        return stat.S_ISDIR(os.lstat(folder).st_mode) and \
            stat.S_ISREG(os.lstat(folder / MARKER).st_mode)
    except OSError:
        return False


def claim(folder: Path) -> None:
    """Make ``folder`` a folder of ours (see the module docstring), creating missing
    parents (which are not marked: only ``folder`` becomes ours)."""
    try:
        os.mkdir(folder)
    except FileNotFoundError:
        folder.parent.mkdir(parents=True, exist_ok=True)
        return claim(folder)
    except FileExistsError:
        real_folder(folder)
        if ours(folder):
            return
        if (folder / MARKER).is_symlink():
            _refuse_link(folder / MARKER)
        if _holds_anything(folder):
            raise UsageError(
                f"{quoted(folder)} already holds files that plugin-builder did not make (it "
                f"has no {MARKER} file): building into it would mix them with build output, "
                "and invoke clean would remove them",
                fix="point project.artifacts at a folder of its own (e.g. \"artifacts\"), or "
                    f"empty {quoted(folder)} first") from None
    _mark(folder)


def real_folder(folder: Path) -> None:
    """``folder`` exists and is a folder, not a link to one (created when missing)."""
    try:
        info = os.lstat(folder)
    except FileNotFoundError:
        folder.mkdir(parents=True, exist_ok=True)
        info = os.lstat(folder)
    if stat.S_ISLNK(info.st_mode):
        _refuse_link(folder)
    if not stat.S_ISDIR(info.st_mode):
        raise FilesystemError(f"{quoted(folder)}: a file stands where plugin-builder's "
                              "output folder must be",
                              fix=f"remove the file ({quoted(folder)}) or correct the config")


def refuse_links(folder: Path) -> None:
    """No link anywhere inside ``folder`` (the marker included): refuse before writing.
    Temporary folders of running go commands (``$WORK``) are theirs, and not looked at."""
    for current, dirs, names in os.walk(folder):
        dirs[:] = [d for d in dirs if TEMP_MARK not in d]
        for name in (*dirs, *names):
            path = Path(current) / name
            if path.is_symlink():
                _refuse_link(path)


def remove(folder: Path, *, whole: bool, dry_run: bool = False) -> list[Path]:
    """Remove the folder of ours ``folder``: ``whole``, or (the artifacts folder) only the
    folders of ours in it and its marker, then the folder when nothing else is left.
    Returns what was kept (the folder is then no longer ours); a folder that is not
    ours is refused. ``dry_run``: remove nothing, return what would be kept."""
    if not ours(folder):
        raise UsageError(f"{quoted(folder)} was not made by plugin-builder (it has no "
                         f"{MARKER} file); not removing it",
                         fix="remove it yourself if it is yours to remove, or correct "
                             "project.artifacts in buildconfig.toml")
    if whole:
        if not dry_run:
            shutil.rmtree(folder)
        return []
    kept = []
    for entry in sorted(os.scandir(folder), key=lambda e: e.name):
        path = Path(entry.path)
        if entry.name == MARKER:
            continue
        if entry.is_dir(follow_symlinks=False) and ours(path):
            if not dry_run:
                shutil.rmtree(path)
        else:
            kept.append(path)
    if dry_run:
        return kept
    # Without the marker, a folder that still holds someone's files is no longer taken
    # for a build (an older plugin-builder marked folders it had not made).
    (folder / MARKER).unlink()
    if not kept:
        folder.rmdir()
    return kept


def _mark(folder: Path) -> None:
    with contextlib.suppress(FileExistsError):
        handle = os.open(folder / MARKER, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
                         | os.O_CLOEXEC, 0o666)
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(MARKER_TEXT)
    if not ours(folder):  # a link or a folder took the marker's place: not ours
        raise FilesystemError(
            f"{quoted(folder / MARKER)} is not the marker file plugin-builder writes (a link "
            "or a folder stands there); nothing was written",
            fix=f"remove it (rm -r {quoted(folder / MARKER)}); plugin-builder writes it itself")


def _holds_anything(folder: Path) -> bool:
    with os.scandir(folder) as entries:
        return any(True for _ in entries)


def _refuse_link(path: Path) -> NoReturn:
    raise FilesystemError(
        f"{quoted(path)} is a symbolic link where plugin-builder's own folder or file must "
        "be: writing through it would write outside the output folder; nothing was written",
        fix=f"remove the link (rm {quoted(path)}); plugin-builder makes what it needs itself")
