"""Benchmark: two versions of the library on the same commands, as whole processes, runs
alternating so that the machine's load falls on both sides alike.

    python benchmarks/bench_ab.py --before SRC PROJECT --after SRC PROJECT [--runs 15]

SRC is a library folder put on PYTHONPATH (a worktree's ``src``), PROJECT a built
project (each side its own: a manifest of one version is not one of the other). Prints
the median CPU seconds (user+sys of the process and its children) and wall seconds of
`invoke verify --all --static-only --json` and of the no-op `invoke pipeline --all`.
CPU time is what the commands cost; on a shared machine it varies less than wall time.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

COMMANDS = [("verify", "--all", "--static-only", "--json"), ("pipeline", "--all")]


def measure(src: str, project: str, command: tuple[str, ...]) -> tuple[float, float]:
    started = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-m", "invoke", *command], cwd=project,
                             env={**os.environ, "PYTHONPATH": src},
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    if status != 0:
        raise SystemExit(f"invoke {' '.join(command)} failed in {project}")
    return usage.ru_utime + usage.ru_stime, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--before", nargs=2, metavar=("SRC", "PROJECT"), required=True)
    parser.add_argument("--after", nargs=2, metavar=("SRC", "PROJECT"), required=True)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    sides = {"before": args.before, "after": args.after}
    for src, _ in sides.values():  # compiled, as `pip install` leaves a library
        subprocess.run([sys.executable, "-m", "compileall", "-q", src], check=True,
                       capture_output=True)
    for command in COMMANDS:
        cpu: dict[str, list[float]] = {side: [] for side in sides}
        wall: dict[str, list[float]] = {side: [] for side in sides}
        for _ in range(args.runs):
            for side, (src, project) in sides.items():
                used, took = measure(src, project, command)
                cpu[side].append(used)
                wall[side].append(took)
        print(f"invoke {' '.join(command)}:")
        for side in sides:
            print(f"  {side}: CPU median {statistics.median(cpu[side]):.3f} s "
                  f"(min {min(cpu[side]):.3f}), wall median {statistics.median(wall[side]):.3f} s")


if __name__ == "__main__":
    main()
