"""Throwaway copies of this project, so integration tests never touch the real tree."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
COPIED = ("host", "plugins", "buildconfig.toml", "tasks.py", "noxfile.py")


class Project:
    def __init__(self, root: Path) -> None:
        self.root = root
        for name in COPIED:
            source = REPO / name
            if source.is_dir():
                shutil.copytree(source, root / name,
                                ignore=shutil.ignore_patterns("go.work*", "*.so"))
            else:
                shutil.copy(source, root / name)

    def invoke(self, *args: str, check: bool = True,
               env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        """Run an invoke task exactly as a user would, from the project folder (``env``:
        variables to set besides this process's)."""
        env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
        run = subprocess.run([sys.executable, "-m", "invoke", *args], cwd=self.root, env=env,
                             capture_output=True, text=True)
        if check and run.returncode != 0:
            raise AssertionError(f"invoke {' '.join(args)} exited {run.returncode}:\n"
                                 f"{run.stdout}\n{run.stderr}")
        return run

    def artifacts(self, combination: str) -> Path:
        return self.root / "artifacts" / combination

    def manifest(self, combination: str) -> dict[str, Any]:
        return json.loads((self.artifacts(combination) / "manifest.json").read_text())
