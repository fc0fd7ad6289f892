"""Benchmark: arm64 cross-built and live-checked under qemu, against the same amd64
combination built and checked natively.

    python benchmarks/bench_arm64.py [--libc glibc --libc musl] [--zig]

(a) For each libc, builds go1.26.6-<libc>-amd64 and go1.26.6-<libc>-arm64 cold (an empty
    GOCACHE each, one after the other) through `invoke pipeline`, and prints host,
    plugins and total seconds and the ratio arm64 / amd64.
(b) The live check time per plugin: each plugin's host check command run natively
    (amd64) and under qemu-aarch64-static (arm64), best of 5 runs each.
(c) With --zig (PyPI's ziglang installed), the musl arm64 combination is also built cold
    with `zig cc -target aarch64-linux-musl -dynamic` as its cross compiler, the
    alternative to Debian's multiarch musl-dev:arm64 that the config uses.

Toolchains are provisioned and the module cache is warm before anything is timed.
Results are recorded in benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import copy_project  # noqa: E402

from plugin_builder.verify.live import run_check  # noqa: E402

GO = "1.26.6"
RUNS = 5


def pipeline(project: Path, combination: str, gocache: Path,
             extra_env: dict[str, str] | None = None) -> dict:
    go, libc, arch = combination.removeprefix("go").split("-")
    env = {**os.environ, "GOCACHE": str(gocache), **(extra_env or {})}
    started = time.perf_counter()
    run = subprocess.run([sys.executable, "-m", "invoke", "pipeline", "--go", go, "--libc", libc,
                          "--arch", arch], cwd=project, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if run.returncode != 0:
        raise SystemExit(f"{combination} failed:\n{run.stderr[-3000:]}")
    result = json.loads((project / "results" / f"{combination}.json").read_text())
    steps = {step["name"]: step["seconds"] for step in result["steps"]}
    return {"wall": wall, **steps}


def live_times(project: Path, combination: str) -> dict[str, float]:
    """Best of RUNS of each plugin's live check, with the very argv verify ran."""
    manifest = json.loads((project / "artifacts" / combination / "manifest.json").read_text())
    times = {}
    for result in manifest["verify"]["results"]:
        argv = result["live"]["argv"]
        best = min(run_check(argv, 60.0).duration_s for _ in range(RUNS))
        times[Path(result["plugin"]).name] = best
    return times


def zig_compiler(scratch: Path) -> Path | None:
    """A cc wrapper around PyPI's ziglang, or None when it is not installed."""
    try:
        import ziglang  # type: ignore[import-not-found]
    except ImportError:
        return None
    zig = Path(ziglang.__file__).parent / "zig"
    wrapper = scratch / "zig-aarch64-linux-musl-cc"
    # -dynamic: zig links musl statically by default, and a static host cannot load plugins.
    wrapper.write_text(f"#!/bin/sh\nexec {zig} cc -target aarch64-linux-musl -dynamic \"$@\"\n")
    wrapper.chmod(0o755)
    return wrapper


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--libc", action="append", choices=["glibc", "musl"])
    parser.add_argument("--zig", action="store_true", help="also build musl arm64 with zig cc")
    args = parser.parse_args()
    libcs = args.libc or ["glibc", "musl"]
    with tempfile.TemporaryDirectory(prefix="bench-arm64-") as scratch_name:
        scratch = Path(scratch_name)
        project = copy_project(scratch / "project")
        subprocess.run([sys.executable, "-m", "invoke", "list"], cwd=project, check=True,
                       capture_output=True)  # provisions nothing yet; warms Python imports
        cold: dict[str, dict] = {}
        for libc in libcs:
            for arch in ("amd64", "arm64"):
                combination = f"go{GO}-{libc}-{arch}"
                cold[combination] = pipeline(project, combination,
                                             scratch / f"gocache-{combination}")
        live = {c: live_times(project, c) for c in cold}
        zig = None
        if args.zig and "musl" in libcs:
            wrapper = zig_compiler(scratch)
            if wrapper is None:
                print("--zig: PyPI's ziglang is not installed (pip install ziglang)")
            else:
                zig_project = copy_project(scratch / "zig-project")
                config = zig_project / "buildconfig.toml"
                config.write_text(config.read_text().replace(
                    'cc = "aarch64-linux-musl-gcc"', f'cc = "{wrapper}"'))
                zig_cache = scratch / "zig-cache"
                zig = pipeline(zig_project, f"go{GO}-musl-arm64", scratch / "gocache-zig",
                               {"ZIG_GLOBAL_CACHE_DIR": str(zig_cache),
                                "ZIG_LOCAL_CACHE_DIR": str(zig_cache)})
                shutil.rmtree(zig_cache, ignore_errors=True)

    print(f"one combination (3 services + 3 plugins), cold GOCACHE, go{GO}; seconds")
    print(f"{'combination':<24}{'host':>8}{'plugins':>9}{'verify':>8}{'total':>8}")
    for combination, steps in cold.items():
        print(f"{combination:<24}{steps['host']:>8.1f}{steps['plugins']:>9.1f}"
              f"{steps['verify']:>8.2f}{steps['wall']:>8.1f}")
    for libc in libcs:
        amd64, arm64 = cold[f"go{GO}-{libc}-amd64"], cold[f"go{GO}-{libc}-arm64"]
        print(f"ratio arm64 / amd64, {libc:<5}: build (host + plugins) "
              f"{(arm64['host'] + arm64['plugins']) / (amd64['host'] + amd64['plugins']):.2f}, "
              f"total {arm64['wall'] / amd64['wall']:.2f}")
    if zig is not None:
        debian = cold[f"go{GO}-musl-arm64"]
        print(f"musl arm64 with zig cc (cold zig cache too): host {zig['host']:.1f}, plugins "
              f"{zig['plugins']:.1f}, total {zig['wall']:.1f} s; "
              f"{zig['wall'] / debian['wall']:.2f}x Debian's musl-dev:arm64")
    print(f"live check per plugin (the service's check-plugin), best of {RUNS}, ms:")
    for combination, times in live.items():
        how = "qemu-aarch64-static" if combination.endswith("arm64") else "native"
        for plugin, seconds in times.items():
            print(f"  {combination:<22} {plugin:<36} {seconds * 1000:7.1f}  ({how})")
    for libc in libcs:
        native = sorted(live[f"go{GO}-{libc}-amd64"].values())
        emulated = sorted(live[f"go{GO}-{libc}-arm64"].values())
        print(f"  {libc}: median native {native[len(native) // 2] * 1000:.0f} ms, under qemu "
              f"{emulated[len(emulated) // 2] * 1000:.0f} ms "
              f"({emulated[len(emulated) // 2] / native[len(native) // 2]:.0f}x)")


if __name__ == "__main__":
    main()
