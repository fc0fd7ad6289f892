"""The commit and time a folder's sources are at, for `{commit}` and `{time}` stamps.

Both come from the folder's git state, so stamping them keeps builds reproducible: the
same commit gives the same binary, and a rebuild of unchanged sources is still skipped.
``SOURCE_DATE_EPOCH`` (the reproducible-builds convention) overrides the time. Outside
a git checkout, or without git, both are "unknown"; a checkout with uncommitted changes
gets a "-dirty" commit.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

UNKNOWN = "unknown"


@cache
def commit_of(folder: Path) -> str:
    head = _git(folder, "rev-parse", "--short=12", "HEAD")
    if head is None:
        return UNKNOWN
    dirty = _git(folder, "status", "--porcelain", "--untracked-files=no", "--", ".")
    return head + ("-dirty" if dirty else "")


@cache
def time_of(folder: Path) -> str:
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if epoch.isdigit():
        return _iso(int(epoch))
    committed = _git(folder, "log", "-1", "--format=%ct")
    return _iso(int(committed)) if committed and committed.isdigit() else UNKNOWN


def _iso(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _git(folder: Path, *args: str) -> str | None:
    git = shutil.which("git")
    if git is None:
        return None
    try:
        done = subprocess.run([git, "-C", str(folder), *args], capture_output=True, text=True,
                              timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None
