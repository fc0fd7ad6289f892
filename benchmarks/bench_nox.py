"""Benchmark: the default matrix through nox, serial (`nox`) against parallel (`nox -j auto`).

    python benchmarks/bench_nox.py

Measured side by side in one run, in a throwaway copy of the project:
  cold: empty GOCACHE, no artifacts   (what a fresh CI machine pays)
  warm: GOCACHE kept, no artifacts     (every build runs, go's build cache answers)
  no-op: everything up to date         (a rerun)
and, from the results/*.json the runs write, where the time goes per step.
Toolchains are provisioned before anything is timed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from common import copy_project  # noqa: E402


def nox(project: Path, gocache: Path, *args: str) -> float:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NOX_")}
    env["GOCACHE"] = str(gocache)
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "nox", *args], cwd=project, env=env, check=True,
                   capture_output=True)
    return time.perf_counter() - started


def reset(project: Path) -> None:
    for folder in ("artifacts", "results"):
        shutil.rmtree(project / folder, ignore_errors=True)


def step_seconds(project: Path) -> dict[str, float]:
    totals: dict[str, float] = defaultdict(float)
    for path in (project / "results").glob("*.json"):
        for step in json.loads(path.read_text())["steps"]:
            totals[step["name"]] += step["seconds"]
    return dict(totals)


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-nox-") as scratch:
        root = Path(scratch).resolve()
        project = copy_project(root / "project")
        subprocess.run([sys.executable, "-m", "invoke", "list"], cwd=project, check=True,
                       capture_output=True)
        # Provision every toolchain first: downloads are not what is measured.
        from plugin_builder import config as config_module
        from plugin_builder.golang.toolchains import go_toolchain

        config = config_module.load(project / "buildconfig.toml")
        for version in config.matrix.go:
            go_toolchain(version, config.toolchain_cache)

        rows = {}
        where = {}
        for label, args in (("serial  (nox)", ()), ("parallel (nox -j auto)", ("-j", "auto"))):
            gocache = root / f"gocache-{len(rows)}"
            reset(project)
            cold = nox(project, gocache, *args)
            where[label] = step_seconds(project)
            reset(project)
            warm = nox(project, gocache, *args)
            noop = nox(project, gocache, *args)
            rows[label] = (cold, warm, noop)

    print(f"default matrix: {len(config.matrix.combinations)} combinations on "
          f"{os.cpu_count()} cores")
    print(f"{'':24} {'cold':>8} {'warm':>8} {'no-op':>8}")
    for label, (cold, warm, noop) in rows.items():
        print(f"{label:24} {cold:7.1f}s {warm:7.1f}s {noop:7.1f}s")
    serial, parallel = rows["serial  (nox)"], rows["parallel (nox -j auto)"]
    print(f"{'speed-up serial/parallel':24} {serial[0] / parallel[0]:7.2f}x "
          f"{serial[1] / parallel[1]:7.2f}x {serial[2] / parallel[2]:7.2f}x")
    print("where the cold time goes (sum over combinations, seconds of each step):")
    for label, steps in where.items():
        print(f"  {label:24} " + "  ".join(f"{k} {v:.1f}" for k, v in steps.items()))


if __name__ == "__main__":
    main()
