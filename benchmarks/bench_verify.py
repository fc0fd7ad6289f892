"""Benchmark: verify's static analysis of the whole default matrix, and each live check.

    python benchmarks/bench_verify.py

Builds the default matrix in a throwaway copy of the project (not timed), then measures
in one run: the static analysis of every plugin (ELF facts, Go build info of both sides,
the rules; goal: the whole matrix under 2 seconds), the same through the command line
(`invoke verify --all --static-only`, Python start-up included), and the live check of
each plugin through its service's check-plugin in a child process.
"""

from __future__ import annotations

import io
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import copy_project  # noqa: E402

from plugin_builder import commands  # noqa: E402
from plugin_builder import config as config_module  # noqa: E402
from plugin_builder.console import Console  # noqa: E402
from plugin_builder.selection import Choice  # noqa: E402
from plugin_builder.verify import run_check  # noqa: E402

REPEATS = 3



def invoke(project: Path, *args: str) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "invoke", *args], cwd=project, check=True,
                   capture_output=True)
    return time.perf_counter() - started


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-verify-") as scratch:
        project = copy_project(Path(scratch).resolve())
        invoke(project, "pipeline", "--all")
        config = config_module.load(project / "buildconfig.toml")
        context = commands.Context.open(project / "buildconfig.toml")
        context.console = Console(stream=io.StringIO())
        pairs = [(r.combination, r.host_path, r.plugin_path)
                 for r in commands.verify(context, Choice(every=True), live=False)]

        static_runs = []
        for _ in range(REPEATS):
            started = time.perf_counter()
            commands.verify(context, Choice(every=True), live=False)
            static_runs.append(time.perf_counter() - started)
        cli_static = min(invoke(project, "verify", "--all", "--static-only", "--json")
                         for _ in range(REPEATS))

        live = {}
        for combination, host, plugin in pairs:
            argv = [host, "check-plugin", plugin]
            live[f"{combination} {Path(plugin).name}"] = min(
                run_check(argv, 60).duration_s for _ in range(REPEATS))

    print(f"default matrix: {len(config.matrix.combinations)} combinations, "
          f"{len(pairs)} host/plugin pairs; best of {REPEATS}")
    print(f"static analysis, all pairs, in process : {min(static_runs):6.3f} s "
          f"({min(static_runs) / len(pairs) * 1000:.1f} ms per pair; goal < 2 s)")
    print(f"static analysis, invoke verify --all   : {cli_static:6.3f} s (with Python start-up)")
    print("live check per plugin (child process, the service's check-plugin):")
    for name, seconds in live.items():
        print(f"  {name:<58} {seconds * 1000:7.1f} ms")
    print(f"  median {statistics.median(live.values()) * 1000:.1f} ms, "
          f"max {max(live.values()) * 1000:.1f} ms")


if __name__ == "__main__":
    main()
