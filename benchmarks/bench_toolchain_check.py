"""Benchmark: what checking a cached toolchain against its manifest costs (issue 23).

    PLUGIN_BUILDER_CACHE=/some/cache python benchmarks/bench_toolchain_check.py [RELEASE...]

For each release (default: the matrix of buildconfig.toml), provisioned first if needed,
in process, best of 7 (each from a fresh per-process memo):
  record     hashing every tracked file and writing the manifest (once, at provisioning)
  no keys    the keys missing or stale (a copied cache): every file hashed, keys recorded
  cold       the first check in a process: one lstat per tracked file and folder
  warm       any later check in the same process: the memo answers
Then the whole-process cost is what a no-op `invoke pipeline --all` adds: cold once per
release (benchmarks/quick_timings.sh measures that command).
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

from common import REPO  # noqa: F401  (puts the library on sys.path)

from plugin_builder.config import default_toolchain_cache, load
from plugin_builder.golang import goroot
from plugin_builder.golang.toolchains import go_toolchain, toolchain_home

RUNS = 7


def best(action, runs: int = RUNS) -> float:
    times = []
    for _ in range(runs):
        goroot._CHECKED.clear()  # a fresh process, as far as the check knows
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return min(times)


def main(releases: list[str]) -> None:
    cache = default_toolchain_cache()
    print(f"toolchain cache: {cache}")
    print(f"{'release':10} {'entries':>8} {'MB':>7} {'record':>8} {'no keys':>8} "
          f"{'cold':>8} {'warm':>9}")
    for release in releases:
        go_toolchain(release, cache, log=lambda _: None)
        print(f"go{release:8} " + measure(toolchain_home(release, cache)))


def measure(home: Path) -> str:
    manifest = json.loads((home / goroot.MANIFEST).read_text())
    entries = len(manifest["files"]) + len(manifest["folders"])
    megabytes = sum(size for size, _ in manifest["files"].values()) / 1e6
    with tempfile.TemporaryDirectory() as scratch:  # never rewrite the cache's manifest
        copy = Path(scratch) / home.name
        shutil.copytree(home / goroot.GOROOT, copy / goroot.GOROOT, symlinks=True)
        record = best(lambda: goroot.record(copy), runs=3)
        no_keys = best(lambda: (copy / goroot.KEYS).unlink() or goroot.check(copy), runs=1)
    assert goroot.check(home).problems == []
    goroot.record_keys(home, goroot.check(home))
    cold = best(lambda: goroot.check(home))
    goroot.check(home)
    started = time.perf_counter()
    for _ in range(1000):
        goroot.check(home)
    warm = (time.perf_counter() - started) / 1000
    return (f"{entries:8} {megabytes:7.1f} {record:7.3f}s {no_keys:7.3f}s "
            f"{cold * 1000:6.1f}ms {warm * 1e6:6.1f}us")


if __name__ == "__main__":
    main(sys.argv[1:] or list(load(REPO / "buildconfig.toml").matrix.go))
