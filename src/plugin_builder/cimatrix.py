"""The CI fan-out: one job per pipeline session, read from `nox -l --json`.

nox is the source of truth (its sessions are generated from buildconfig.toml), so adding
a Go release to the config is the only step needed to add CI jobs.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from plugin_builder.errors import NoxError

PIPELINE_SESSION = "pipeline"


def nox_sessions(root: Path) -> list[dict[str, Any]]:
    run = subprocess.run([sys.executable, "-m", "nox", "--list", "--json"], cwd=root,
                         capture_output=True, text=True, check=False)
    if run.returncode != 0:
        raise NoxError(f"nox -l --json failed in {root}:\n{run.stderr.strip()}",
                                 fix="run it yourself to see why (is nox installed?)")
    return json.loads(run.stdout)


def github_matrix(sessions: list[dict[str, Any]]) -> dict[str, list[dict[str, str]]]:
    """A strategy.matrix for GitHub Actions: session name and combination per job."""
    return {"include": [
        {"session": s["session"], "combination": s["call_spec"]["combination"]}
        for s in sessions if s["name"] == PIPELINE_SESSION
    ]}
