"""Docker backend benchmark, measured side by side in one run.

(a) Rebuild one plugin after a one-line change: the docker backend with its warm
    GOCACHE/GOMODCACHE volumes, against a Dragonfly-style cold `docker run` of the same
    builder image with no cache mounts (same argv, same image; only the caches differ).
    Goal: warm at least 3x faster.
(b) The size of each service image per libc. Goal: musl images under 30 MB.

    python3 benchmarks/bench_docker.py [--repeat N]

Needs a running engine and the base images (`invoke bootstrap-base`). Works on a copy
of the project in a temporary folder, so the checkout is never touched.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from common import copy_project  # noqa: E402

from plugin_builder import commands, dockerengine  # noqa: E402
from plugin_builder import config as config_module  # noqa: E402
from plugin_builder.backends.docker import DockerBackend  # noqa: E402
from plugin_builder.combination import Combination  # noqa: E402
from plugin_builder.console import guard  # noqa: E402
from plugin_builder.log import PrintReporter  # noqa: E402
from plugin_builder.selection import Choice  # noqa: E402
from plugin_builder.steps import plugin as plugin_step  # noqa: E402
from plugin_builder.steps.job import Job, Request  # noqa: E402

TARGET = ("scheduler", "evaluator")


class Quiet:
    verbose = False

    def __call__(self, message: str) -> None:
        pass

    def status(self, activity: str, progress: str = "") -> None:
        pass

MUSL_GOAL = 30_000_000


quiet = Quiet()


def timed_rebuild(config, backend: DockerBackend, combination: Combination, edit: int) -> float:
    """One-line change to the plugin, then one build of it; wall seconds of the build."""
    target = next(p for p in config.plugins if (p.type, p.name) == TARGET)
    (target.source / "bench_edit.go").write_text(f"package main\n\nvar benchEdit = {edit}\n")
    job = Job.open(config, combination, backend, Request((), (target,)), quiet)
    job.prepared()
    started = time.monotonic()
    plugin_step.run(job)
    seconds = time.monotonic() - started
    assert job.plugins[target].built, "the edit did not cause a rebuild"
    return seconds


def rebuild_benchmark(config_path: Path, repeat: int) -> None:
    config = config_module.load(config_path)
    combination = config.matrix.default
    warm_backend = DockerBackend(config)
    cold_backend = DockerBackend(config, cache_volumes=False)
    timed_rebuild(config, warm_backend, combination, 0)  # fill the volumes once
    warm, cold = [], []
    for index in range(repeat):  # interleaved, so drift in the machine hits both alike
        warm.append(timed_rebuild(config, warm_backend, combination, 2 * index + 1))
        cold.append(timed_rebuild(config, cold_backend, combination, 2 * index + 2))
    print(f"(a) rebuild of {'/'.join(TARGET)} after a one-line change, {combination.id}, "
          f"{repeat} runs each")
    print(f"    {'':<38} {'median':>8} {'min':>8} {'max':>8}")
    for name, runs in (("warm cache volumes (--backend docker)", warm),
                       ("cold docker run, no cache mounts", cold)):
        print(f"    {name:<38} {statistics.median(runs):>7.1f}s {min(runs):>7.1f}s "
              f"{max(runs):>7.1f}s")
    ratio = statistics.median(cold) / statistics.median(warm)
    print(f"    warm is {ratio:.1f}x faster (goal >= 3x): {'met' if ratio >= 3 else 'NOT met'}")


def size_benchmark(config_path: Path) -> None:
    config = config_module.load(config_path)
    client = dockerengine.connect()
    print("(b) service image sizes")
    print(f"    {'image':<48} {'size':>9}")
    for libc in config.matrix.libc:
        context = commands.Context.open(config_path, "docker", PrintReporter())
        tags = commands.build_service_image(context, Choice(libc=libc))
        for tag in tags:
            size = client.images.get(tag).attrs["Size"]
            verdict = ("" if libc != "musl" else
                       ("  < 30 MB: met" if size < MUSL_GOAL else "  >= 30 MB: NOT met"))
            print(f"    {tag:<48} {size / 1e6:>7.1f}MB{verdict}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-docker-") as folder:
        config_path = copy_project(Path(folder)) / "buildconfig.toml"
        with guard():
            rebuild_benchmark(config_path, args.repeat)
            size_benchmark(config_path)


if __name__ == "__main__":
    main()
