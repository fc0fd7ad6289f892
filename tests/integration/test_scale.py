"""Beyond one machine, for real: a shared compile cache served by gocached, and the docker
pipeline on a second engine reached over TCP.

A second checkout at another path, with empty local caches of its own, fetches every
artifact the first one built (and compiles nothing the cache has when it must link); the
docker backend builds, lands and verifies through an engine that sees none of this
machine's paths: sources go to it, artifacts come back, images and cache volumes stay
there.
"""

from __future__ import annotations

import hashlib
import json
import re
import resource

import pytest

from plugin_builder.backends.docker import cache_volume
from plugin_builder.combination import Combination
from tests.project import Project

from .dockerfixtures import RUN_ID, containers_of_run, missing
from .scaleservices import can_start_engine, copy_images, gocached, second_engine

DEFAULT = "go1.26.6-glibc-amd64"
ARTIFACTS = ("bin/dfdaemon", "bin/scheduler", "bin/manager",
             "plugins/d7y-resource-plugin-dfs.so", "plugins/d7y-scheduler-plugin-evaluator.so",
             "plugins/d7y-manager-plugin-searcher.so")
BUILT = re.compile(r"built (\S+) in [0-9.]+s \(([0-9]+) of ([0-9]+) packages compiled\)")


def checkout(root, server_url: str) -> tuple[Project, dict[str, str]]:
    """A copy of the project using the shared cache, and its own empty local caches."""
    project = Project(root / "checkout")
    with (project.root / "buildconfig.toml").open("a") as config:
        config.write(f'\n[cache]\nprog = "go-cacher --cache-server={server_url} '
                     f'--cache-dir={root / "go-cacher"}"\n')
    return project, {"GOCACHE": str(root / "gocache")}


def cpu_seconds_of(run) -> tuple[float, object]:
    """The user+system CPU seconds of the child processes ``run()`` waits for."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = run()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), result


def sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_second_checkout_fetches_what_the_first_built(tmp_path) -> None:
    with gocached(tmp_path / "server") as server:
        first, first_env = checkout(tmp_path / "first", server.url)
        second, second_env = checkout(tmp_path / "elsewhere" / "second", server.url)
        first_cpu, built = cpu_seconds_of(lambda: first.invoke("pipeline", env=first_env))
        second_cpu, fetched = cpu_seconds_of(lambda: second.invoke("pipeline",
                                                                   env=second_env))
        # The first compiled (cold: empty GOCACHE, empty server); the second fetched
        # every artifact and compiled nothing.
        assert sum(int(n) for _, n, _ in BUILT.findall(built.stderr)) > 100, built.stderr
        for relative in ARTIFACTS:
            assert f"fetched {relative} from the shared cache" in fetched.stderr, fetched.stderr
            ours, theirs = (p.artifacts(DEFAULT) / relative for p in (first, second))
            assert sha256(ours) == sha256(theirs), relative
            assert second.manifest(DEFAULT)["artifacts"][relative]["fetched"] == "shared cache"
        assert not BUILT.findall(fetched.stderr)
        assert second_cpu <= 0.10 * first_cpu, (first_cpu, second_cpu)

        # A change only the linker sees (the version stamp): each host links again here,
        # every package it needs comes from the cache the first checkout filled.
        text = (second.root / "buildconfig.toml").read_text()
        (second.root / "buildconfig.toml").write_text(
            text.replace('version = "0.1.0"', 'version = "0.1.1"', 1))
        relinked = second.invoke("build-host", env=second_env)
        counts = {relative: int(compiled) for relative, compiled, _ in
                  BUILT.findall(relinked.stderr)}
        assert counts == {"bin/dfdaemon": 0, "bin/scheduler": 0, "bin/manager": 0}, \
            relinked.stderr


@pytest.fixture(scope="module")
def remote(engine, docker_project, tmp_path_factory):
    """A second engine on 127.0.0.1, given the base images of the main one."""
    why_not = can_start_engine()
    if why_not:
        missing(f"no second engine can be started: {why_not}")
    with second_engine(tmp_path_factory.mktemp("engine")) as started:
        copy_images(engine, started.client, ["plugin-builder/bootstrap:bookworm",
                                             "plugin-builder/runtime:bookworm-musl"])
        yield started
        assert containers_of_run(started.client) == []


def test_the_docker_pipeline_runs_on_another_engine(remote, engine, tmp_path) -> None:
    combination = "go1.26.6-musl-amd64"
    project = Project(tmp_path)
    text = (project.root / "buildconfig.toml").read_text()
    (project.root / "buildconfig.toml").write_text(text.replace(
        'service_repository = "plugin-builder/{service}"',
        'service_repository = "remote-engine-test/{service}"'))
    run = project.invoke("pipeline", "--backend", "docker", "--libc", "musl",
                         env={"DOCKER_HOST": remote.host})
    result = json.loads((project.root / "results" / f"{combination}.json").read_text())
    assert [(s["name"], s["status"]) for s in result["steps"]] == [
        ("builder-image", "passed"), ("host", "passed"), ("plugins", "passed"),
        ("verify", "passed"), ("service-images", "passed")]
    # Images and cache volumes live on the engine that built them, not on this one's.
    builder = remote.client.images.get(f"plugin-builder/builder:{combination}")
    for service in ("dfdaemon", "scheduler", "manager"):
        tag = f"remote-engine-test/{service}:{combination}"
        assert f"ok: {tag} (1 plugin(s))" in run.stderr  # verified on that engine
        assert remote.client.images.get(tag)
        assert not engine.images.list(name=f"remote-engine-test/{service}")
    volume = cache_volume("gocache", Combination("1.26.6", "musl", "amd64"))
    assert remote.client.volumes.get(volume)
    # The artifacts came back here as archives, and were landed as ever.
    manifest = project.manifest(combination)
    for relative in ARTIFACTS:
        entry = manifest["artifacts"][relative]
        assert entry["toolchain"]["builder_image"] == builder.id
        assert entry["sha256"] == sha256(project.artifacts(combination) / relative)
    assert containers_of_run(remote.client, RUN_ID) == []
