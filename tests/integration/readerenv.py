"""Where a new reader of the README starts: a copy of this repository and a fresh virtual
environment (README's own advice where pip may not install into the machine's Python,
and this suite's rule), with the machine's tools and nothing of this checkout's on the
path. tests/integration/test_readme.py runs the README's blocks in it;
benchmarks/transcript.py records a first hour in it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def copy_repository(target: Path) -> Path:
    """The files git would ship (tracked, and new ones not ignored), copied to ``target``."""
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard",
                             "-z"], cwd=REPO, capture_output=True, check=True).stdout
    for name in filter(None, listed.decode().split("\0")):
        source, copied = REPO / name, target / name
        if not (source.is_symlink() or source.is_file()):
            continue  # deleted in the work tree, not yet in the index
        copied.parent.mkdir(parents=True, exist_ok=True)
        if source.is_symlink():
            copied.symlink_to(os.readlink(source))
        else:
            copied.write_bytes(source.read_bytes())
            copied.chmod(source.stat().st_mode)
    return target


def reader_env(root: Path, repository: Path, **extra: str) -> dict[str, str]:
    """The environment of a shell with a fresh venv in ``root/venv`` active."""
    venv = root / "venv"
    if not venv.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    shims = root / "shims"
    shims.mkdir(exist_ok=True)
    if os.geteuid() == 0:  # root has no sudo to ask (a bare CI machine may lack it)
        (shims / "sudo").write_text('#!/bin/sh\nexec "$@"\n')
        (shims / "sudo").chmod(0o755)
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PLUGIN_BUILDER_CONFIG")}
    env.update(PATH=os.pathsep.join([str(venv / "bin"), str(shims), env["PATH"]]),
               VIRTUAL_ENV=str(venv), PIP_DISABLE_PIP_VERSION_CHECK="1",
               # CI installs exactly these versions; a reader gets the newest in range.
               PIP_CONSTRAINT=str(repository / "constraints.txt"), **extra)
    return env
