"""Beyond one machine, measured: the shared compile cache, and a remote Docker engine.

(a) Two checkouts of the project at different paths, each with empty local caches of its
    own (GOCACHE, go-cacher's folder), sharing one gocached on 127.0.0.1 (empty at the
    start): `invoke pipeline` of the default combination in the first (cold), then in the
    second. Goal: the second costs at most 0.10 of the first's CPU (user + system of every
    process). Then, in the second, a change only the linker sees (host.version): every
    package comes from the cache, each host links again.
(b) `invoke pipeline --backend docker --libc musl` against a second engine on
    tcp://127.0.0.1 (its own data root and bridge; base images copied with docker save |
    docker load) and against the local engine: the first run on the new engine (cold
    cache volumes), then on each engine the pipeline after a one-line change to a plugin
    (warm volumes), best of --repeat.

    python3 benchmarks/bench_scale.py [--only cache|engine] [--repeat N]

(b) needs root (a second dockerd, a bridge and NAT rules of its own, all removed
afterwards), a running engine and its base images (`invoke bootstrap-base`).
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import REPO, copy_project  # noqa: E402

sys.path.insert(0, str(REPO))  # tests.integration.scaleservices: the servers the tests use

from tests.integration.scaleservices import (  # noqa: E402
    copy_images,
    gocached,
    second_engine,
)

from plugin_builder import dockerengine  # noqa: E402

GOAL = 0.10
COMBINATION = "go1.26.6-musl-amd64"


def invoke(root: Path, *args: str, env: dict[str, str] | None = None) -> tuple[float, float]:
    """(wall seconds, CPU seconds of every process) of one invoke run, as a user types it."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "invoke", *args], cwd=root,
                          env={**os.environ, **(env or {})}, capture_output=True, text=True)
    wall = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        sys.exit(f"invoke {' '.join(args)} failed:\n{done.stderr[-3000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def shared_cache(scratch: Path) -> None:
    with gocached(scratch / "server") as server:
        envs, roots = [], []
        for name in ("first", "elsewhere/second"):
            root = copy_project(scratch / name / "checkout")
            with (root / "buildconfig.toml").open("a") as config:
                config.write(f'\n[cache]\nprog = "go-cacher --cache-server={server.url} '
                             f'--cache-dir={scratch / name / "go-cacher"}"\n')
            roots.append(root)
            envs.append({"GOCACHE": str(scratch / name / "gocache")})
        first = invoke(roots[0], "pipeline", env=envs[0])
        second = invoke(roots[1], "pipeline", env=envs[1])
        config = roots[1] / "buildconfig.toml"
        config.write_text(config.read_text().replace('version = "0.1.0"', 'version = "0.1.1"'))
        relinked = invoke(roots[1], "build-host", env=envs[1])
    print("(a) invoke pipeline, default combination (3 services, 3 plugins, verify)")
    print(f"    first checkout, cold             : {first[1]:7.1f} s CPU  {first[0]:6.1f} s wall")
    print(f"    second checkout, another path    : {second[1]:7.1f} s CPU  {second[0]:6.1f} s wall")
    print(f"    ratio second / first (CPU)       : {second[1] / first[1]:7.3f}  "
          f"(goal <= {GOAL:.2f})")
    print(f"    then a link-only change, 3 hosts : {relinked[1]:7.1f} s CPU  "
          f"{relinked[0]:6.1f} s wall  (ratio {relinked[1] / first[1]:.3f})")


def remote_engine(scratch: Path, repeat: int) -> None:
    main = dockerengine.connect()
    args = ("pipeline", "--backend", "docker", "--libc", "musl")
    with second_engine(scratch / "engine") as remote:
        started = time.monotonic()
        copy_images(main, remote.client, ["plugin-builder/bootstrap:bookworm",
                                          "plugin-builder/runtime:bookworm-musl"])
        copied = time.monotonic() - started
        # A project copy per engine: an artifact's inputs name its builder image, so one
        # built on the other engine would be rebuilt, not compared.
        engines = {"local": {}, "remote": {"DOCKER_HOST": remote.host}}
        roots = {name: _project(scratch / name) for name in engines}
        cold = invoke(roots["remote"], *args, env=engines["remote"])
        invoke(roots["local"], *args, env=engines["local"])  # not timed: warm volumes
        warm: dict[str, list[float]] = {name: [] for name in engines}
        for edit in range(repeat):
            for name, env in engines.items():
                source = roots[name] / "plugins" / "scheduler" / "evaluator" / "bench_edit.go"
                source.write_text(f"package main\n\nvar benchEdit = {edit}\n")
                warm[name].append(invoke(roots[name], *args, env=env)[0])
    print(f"(b) invoke {' '.join(args)}")
    print(f"    base images onto the new engine (save | load) : {copied:6.1f} s")
    print(f"    remote engine, first run (cold volumes)       : {cold[0]:6.1f} s wall")
    for name in engines:
        print(f"    {name:6} engine, after a one-line plugin change : "
              f"{min(warm[name]):6.1f} s wall (best of {repeat})")
    print(f"    ratio remote / local                          : "
          f"{min(warm['remote']) / min(warm['local']):6.2f}")


def _project(root: Path) -> Path:
    """A copy of the project whose images are its own (the engine's others stay apart)."""
    root = copy_project(root)
    config = root / "buildconfig.toml"
    config.write_text(config.read_text()
                      .replace('"plugin-builder/builder"', '"scale-bench/builder"')
                      .replace('"plugin-builder/{service}"', '"scale-bench/{service}"'))
    return root


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", choices=("cache", "engine"))
    parser.add_argument("--repeat", type=int, default=2)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="plugin-builder-bench-scale-") as scratch:
        if options.only in (None, "cache"):
            shared_cache(Path(scratch) / "cache")
        if options.only in (None, "engine"):
            remote_engine(Path(scratch) / "remote", options.repeat)


if __name__ == "__main__":
    main()
