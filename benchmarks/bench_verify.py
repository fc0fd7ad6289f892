"""Benchmark: `invoke verify --all --static-only` now, against the same command before
exact verify (commit BASELINE), each run on its own build of the default matrix.

    python benchmarks/bench_verify.py [--repeat 7]

Both sides are measured in one run, alternately, as whole processes (Python start-up
and imports included): the baseline from a git worktree of BASELINE with its own
library on PYTHONPATH, the current one from this checkout. Then, in process, the static
analysis of each pair, with the size of the plugin's dynamic symbol table, to show that
the per-pair cost stays flat as plugins grow. Goal: at most 0.3 s for the whole matrix.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import REPO, copy_project  # noqa: E402

from plugin_builder import commands  # noqa: E402
from plugin_builder.console import Console  # noqa: E402
from plugin_builder.selection import Choice  # noqa: E402
from plugin_builder.verify.rules import Side  # noqa: E402

BASELINE = "2e2fe9c"  # the last commit before exact verify (static-only ~1.8 s then)
COMMAND = ("verify", "--all", "--static-only", "--json")


def invoke(project: Path, *args: str, pythonpath: Path | None = None,
           check: bool = True) -> float:
    env = {**os.environ, "PYTHONPATH": str(pythonpath)} if pythonpath else None
    started = time.perf_counter()
    run = subprocess.run([sys.executable, "-m", "invoke", *args], cwd=project, env=env,
                         capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if check and run.returncode != 0:
        raise SystemExit(f"invoke {' '.join(args)} failed in {project}:\n{run.stderr[-3000:]}")
    return seconds


def baseline_project(scratch: Path) -> tuple[Path, Path]:
    """A worktree of BASELINE and a project copy made from it, built by its own pipeline."""
    tree = scratch / "baseline-tree"
    subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", str(tree), BASELINE],
                   check=True, capture_output=True)
    project = scratch / "baseline"
    project.mkdir()
    for name in ("host", "plugins", "buildconfig.toml", "tasks.py"):
        subprocess.run(["cp", "-r", str(tree / name), str(project / name)], check=True)
    invoke(project, "pipeline", "--all", pythonpath=tree / "src")
    return tree, project


def per_pair(project: Path) -> list[tuple[str, int, float]]:
    """(pair, dynamic symbols of the plugin, seconds of its static analysis), in process."""
    context = commands.Context.open(project / "buildconfig.toml")
    context.console = Console(stream=io.StringIO())
    found = []
    for result in commands.verify(context, Choice(every=True), live=False):
        started = time.perf_counter()
        Side.read(result.host_path)
        plugin = Side.read(result.plugin_path)
        found.append((f"{result.combination} {Path(result.plugin_path).name}",
                      len(plugin.elf.exported_symbols), time.perf_counter() - started))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-verify-") as folder:
        scratch = Path(folder).resolve()
        current = copy_project(scratch / "current")
        invoke(current, "pipeline", "--all")
        tree, old = baseline_project(scratch)
        try:
            now, before = [], []
            for _ in range(args.repeat):  # alternately, so drift hits both alike
                before.append(invoke(old, *COMMAND, pythonpath=tree / "src", check=False))
                now.append(invoke(current, *COMMAND, check=False))
            pairs = per_pair(current)
        finally:
            subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(tree)],
                           capture_output=True)
    print(f"invoke {' '.join(COMMAND)} on the default matrix ({len(pairs)} pairs), whole "
          f"process, {args.repeat} runs each, alternating")
    print(f"  before ({BASELINE})  median {statistics.median(before):6.3f} s  "
          f"min {min(before):6.3f} s")
    print(f"  now               median {statistics.median(now):6.3f} s  min {min(now):6.3f} s")
    print(f"  ratio now/before  {statistics.median(now) / statistics.median(before):6.3f}   "
          f"goal: now <= 0.300 s: {'met' if statistics.median(now) <= 0.3 else 'NOT met'}")
    print("static analysis per pair (both binaries read: ELF, build info, fingerprints):")
    for name, symbols, seconds in sorted(pairs, key=lambda p: p[1]):
        print(f"  {name:<58} {symbols:>7} symbols {seconds * 1000:7.1f} ms")
    per_symbol = [s / n * 1e6 for _, n, s in pairs if n]
    print(f"  microseconds per plugin symbol: min {min(per_symbol):.2f}, "
          f"max {max(per_symbol):.2f}")


if __name__ == "__main__":
    main()
