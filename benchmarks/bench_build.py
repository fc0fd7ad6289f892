"""Benchmark: the tool's overhead on a cold matrix build, and a no-op rerun.

    python benchmarks/bench_build.py

(a) builds the whole default matrix cold (empty GOCACHE) twice, side by side in one run:
    once through `invoke pipeline --all`, once as the very same go build commands issued
    directly (planned by the same step code, run with subprocess). Prints the ratio
    tool / direct; the goal is at most 1.10.
(b) reruns `invoke pipeline --all` with nothing changed; the goal is under 1 second.

Toolchains are provisioned before anything is timed, and the module cache stays warm:
downloads are not compilation. Results are recorded in benchmarks/RESULTS.md.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import copy_project  # noqa: E402

from plugin_builder import config as config_module  # noqa: E402
from plugin_builder.artifacts import ArtifactStore  # noqa: E402
from plugin_builder.backends.local import LocalBackend  # noqa: E402
from plugin_builder.log import PrintLog  # noqa: E402
from plugin_builder.steps import host, plugin  # noqa: E402


def through_the_tool(project: Path, gocache: Path) -> float:
    env = {**os.environ, "GOCACHE": str(gocache)}
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "invoke", "pipeline", "--all"], cwd=project, env=env,
                   check=True, capture_output=True)
    return time.perf_counter() - started


def directly(project: Path, gocache: Path, outputs: Path) -> float:
    """The same go build commands, planned by the step code, run without the tool."""
    os.environ["GOCACHE"] = str(gocache)  # toolchain_env() passes GOCACHE through
    config = config_module.load(project / "buildconfig.toml")
    backend = LocalBackend(config)
    builds = []
    for combination in config.matrix.combinations:
        environment = backend.prepare(combination, PrintLog())
        store = ArtifactStore(config.artifacts, combination)
        planned = host.plan(config, environment) + plugin.plan(config, environment, store,
                                                               list(config.plugins))
        builds += [(b, outputs / combination.id / b.relative) for b in planned]
    started = time.perf_counter()
    for build, output in builds:
        subprocess.run(build.command(output), cwd=build.cwd, env=dict(build.env), check=True,
                       capture_output=True)
    return time.perf_counter() - started


def noop_rerun(project: Path, gocache: Path) -> float:
    return through_the_tool(project, gocache)


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-build-") as scratch:
        scratch_path = Path(scratch)
        tool_project = copy_project(scratch_path / "tool")
        direct_project = copy_project(scratch_path / "direct")
        # Provision toolchains first: neither side may pay for downloads.
        subprocess.run([sys.executable, "-m", "invoke", "list"], cwd=tool_project, check=True,
                       capture_output=True)
        config = config_module.load(tool_project / "buildconfig.toml")
        backend = LocalBackend(config)
        for combination in config.matrix.combinations:
            backend.prepare(combination, PrintLog())

        direct_s = directly(direct_project, scratch_path / "gocache-direct",
                            scratch_path / "direct-out")
        tool_s = through_the_tool(tool_project, scratch_path / "gocache-tool")
        noop_s = noop_rerun(tool_project, scratch_path / "gocache-tool")

    combos = len(config.matrix.combinations)
    print(f"default matrix: {combos} combinations x "
          f"({len(config.host.services)} services + {len(config.plugins)} plugins)")
    print(f"(a) cold build, go build issued directly : {direct_s:7.1f} s")
    print(f"    cold build, through invoke pipeline  : {tool_s:7.1f} s")
    print(f"    ratio tool / direct                  : {tool_s / direct_s:7.3f}  (goal <= 1.10)")
    print(f"(b) no-op rerun of the whole matrix      : {noop_s:7.3f} s  (goal < 1 s)")


if __name__ == "__main__":
    main()
