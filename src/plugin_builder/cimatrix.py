"""The CI fan-out: one job per pipeline session, read from `nox -l --json`.

nox is the source of truth (its sessions are generated from buildconfig.toml), so adding
a Go release to the config is the only step needed to add CI jobs. Each job runs on a
runner of its combination's arch (GitHub's native arm64 runners for arm64: no cross
compiler, no emulator), which installs the libc's compiler package.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from plugin_builder.config import Config
from plugin_builder.errors import NoxError

PIPELINE_SESSION = "pipeline"
# The GitHub-hosted runner of each arch.
RUNNERS = {"amd64": "ubuntu-24.04", "arm64": "ubuntu-24.04-arm"}


def nox_sessions(root: Path) -> list[dict[str, Any]]:
    run = subprocess.run([sys.executable, "-m", "nox", "--list", "--json"], cwd=root,
                         capture_output=True, text=True, check=False)
    if run.returncode != 0:
        raise NoxError(f"nox -l --json failed in {root}:\n{run.stderr.strip()}",
                                 fix="run it yourself to see why (is nox installed?)")
    return json.loads(run.stdout)


def github_matrix(sessions: list[dict[str, Any]],
                  config: Config) -> dict[str, list[dict[str, str]]]:
    """A strategy.matrix for GitHub Actions: per job, the session, its combination, the
    runner of its arch and the Debian packages of its C compiler there (it runs natively,
    so the libc's own compiler package: `gcc` names the arch's compiler on every arch)."""
    combinations = {c.id: c for c in config.matrix.combinations}
    jobs = []
    for session in sessions:
        if session["name"] != PIPELINE_SESSION:
            continue
        combination = combinations[session["call_spec"]["combination"]]
        jobs.append({"session": session["session"], "combination": combination.id,
                     "runner": RUNNERS[combination.arch],
                     "packages": config.libcs[combination.libc].cc_package})
    return {"include": jobs}
