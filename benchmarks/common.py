"""What every benchmark shares: a throwaway copy of this project to measure in."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
COPIED = ("host", "plugins", "buildconfig.toml", "tasks.py", "noxfile.py")
sys.path.insert(0, str(REPO / "src"))  # the library, also without an installed package


def copy_project(root: Path) -> Path:
    """A copy of the project's sources and config in root (created), never its artifacts."""
    root.mkdir(parents=True, exist_ok=True)
    for name in COPIED:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, root / name, ignore=shutil.ignore_patterns("go.work*"))
        else:
            shutil.copy(source, root / name)
    return root.resolve()
