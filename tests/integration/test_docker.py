"""The docker backend against a real engine: bases without a registry, builder images,
builds in containers, service images verified inside themselves, and the faults.

Only the scheduler service's images are built (vfs/overlay engines on 2 cores are slow);
every other service takes the same code path.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import docker
import pytest

from plugin_builder import dockerengine
from plugin_builder.backends.docker import cache_volume
from plugin_builder.errors import BuildError, EngineError, ImageError, VerifyError
from tests.project import Project

from ..unit.test_dry_run import snapshot
from .dockerfixtures import containers_of_run

LIBCS = ["glibc", "musl"]
PLUGIN = "plugins/d7y-scheduler-plugin-evaluator.so"
SOURCE = "plugins/scheduler/evaluator"


def combination(libc: str) -> str:
    return f"go1.26.6-{libc}-amd64"


def check_plugin(host, plugin) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(host), "check-plugin", str(plugin)], capture_output=True,
                          text=True, timeout=60)


def entry(project: Project, libc: str, relative: str) -> dict:
    return project.manifest(combination(libc))["artifacts"][relative]


def test_bootstrap_base_makes_the_configured_bases_offline(docker_project, engine) -> None:
    tags = docker_project.bootstrap.stdout.split()
    assert tags == ["plugin-builder/bootstrap:bookworm", "plugin-builder/runtime:bookworm-glibc",
                    "plugin-builder/runtime:bookworm-musl",
                    "plugin-builder/runtime:bookworm-glibc-arm64",
                    "plugin-builder/runtime:bookworm-musl-arm64"]
    # The runtime bases hold only a loader and libc: a megabyte or two, not a distribution.
    assert engine.images.get("plugin-builder/runtime:bookworm-musl").attrs["Size"] < 2_000_000
    assert engine.images.get("plugin-builder/runtime:bookworm-glibc").attrs["Size"] < 5_000_000
    again = docker_project.invoke("bootstrap-base")
    assert again.stderr.count("up to date") == 5


def test_a_docker_dry_run_builds_no_image_and_writes_nothing(docker_project, engine) -> None:
    """The plan names the builder and service images; no image, container or file is made."""
    before = snapshot(docker_project.root)
    images = sorted(image.id for image in engine.images.list())
    run = docker_project.invoke("pipeline", "--backend", "docker", "--libc", "musl",
                                "--dry-run")
    assert "dry run: nothing was provisioned, built or written" in run.stdout
    assert "plugin-builder/builder:go1.26.6-musl-amd64" in run.stderr
    assert "plugin-builder/scheduler:go1.26.6-musl-amd64" in run.stderr
    assert snapshot(docker_project.root) == before
    assert sorted(image.id for image in engine.images.list()) == images
    assert not dockerengine.managed_containers(engine)


@pytest.mark.parametrize("libc", LIBCS)
def test_builder_image_is_labelled_and_not_rebuilt(docker_project, engine, libc) -> None:
    docker_project.invoke("build-builder-image", "--libc", libc)
    image = engine.images.get(f"plugin-builder/builder:{combination(libc)}")
    labels = image.labels
    assert (labels["dev.plugin-builder.go"], labels["dev.plugin-builder.libc"],
            labels["dev.plugin-builder.arch"]) == ("go1.26.6", libc, "amd64")
    assert len(labels[dockerengine.INPUTS]) == 64
    again = docker_project.invoke("build-builder-image", "--libc", libc)
    assert "up to date" in again.stderr
    assert engine.images.get(f"plugin-builder/builder:{combination(libc)}").id == image.id


@pytest.mark.parametrize("libc", LIBCS)
def test_a_plugin_built_in_docker_loads_into_the_local_host(docker_project, engine, libc,
                                                            tmp_path) -> None:
    run = docker_project.invoke("build-plugin", "--type", "scheduler", "--backend", "docker",
                                "--libc", libc)
    assert f"{combination(libc)}" in run.stderr  # the live log is prefixed
    plugin = docker_project.artifacts(combination(libc)) / PLUGIN
    builder = engine.images.get(f"plugin-builder/builder:{combination(libc)}")
    recorded = entry(docker_project, libc, PLUGIN)
    assert recorded["toolchain"]["builder_image"] == builder.id
    assert recorded["sha256"] == hashlib.sha256(plugin.read_bytes()).hexdigest()
    assert plugin.stat().st_uid == os.getuid()
    shutil.copy(plugin, tmp_path / plugin.name)
    docker_project.invoke("build-host", "--libc", libc)  # local backend
    host = docker_project.artifacts(combination(libc)) / "bin" / "scheduler"
    assert "builder_image" not in entry(docker_project, libc, "bin/scheduler")["toolchain"]
    loaded = check_plugin(host, tmp_path / plugin.name)
    assert loaded.returncode == 0, loaded.stderr


@pytest.mark.parametrize("libc", LIBCS)
def test_a_local_plugin_loads_into_the_host_built_in_docker(docker_project, libc,
                                                            tmp_path) -> None:
    docker_project.invoke("build-plugin", "--type", "scheduler", "--libc", libc)
    plugin = docker_project.artifacts(combination(libc)) / PLUGIN
    shutil.copy(plugin, tmp_path / plugin.name)
    docker_project.invoke("build-host", "--backend", "docker", "--libc", libc)
    assert "builder_image" in entry(docker_project, libc, "bin/scheduler")["toolchain"]
    host = docker_project.artifacts(combination(libc)) / "bin" / "scheduler"
    loaded = check_plugin(host, tmp_path / plugin.name)
    assert loaded.returncode == 0, loaded.stderr


@pytest.mark.parametrize("libc", LIBCS)
def test_the_service_image_runs_as_nonroot_and_verifies(docker_project, engine, libc) -> None:
    tag = f"plugin-builder/scheduler:{combination(libc)}"
    built = docker_project.invoke("build-service-image", "--service", "scheduler",
                                  "--backend", "docker", "--libc", libc)
    assert built.stdout.split() == [tag]
    image = engine.images.get(tag)
    config = image.attrs["Config"]
    assert config["User"] not in ("", "0", "root", "0:0")
    assert config["Healthcheck"]["Test"][1:] == [
        "/usr/local/bin/scheduler", "healthcheck", "http://127.0.0.1:8080/healthz"]
    for relative in ("bin/scheduler", PLUGIN):
        assert image.labels[f"dev.plugin-builder.sha256.{relative}"] == \
            entry(docker_project, libc, relative)["sha256"]
    assert image.attrs["Size"] < 30_000_000  # both libcs; the goal is for musl
    verified = docker_project.invoke("verify", "--image", tag, "--json")
    report = json.loads(verified.stdout)
    assert report[0]["ok"] and [p["name"] for p in report[0]["plugins"]] == ["evaluator"]
    assert all(p["listed"] and p["checked"] for p in report[0]["plugins"])
    assert "up to date" in docker_project.invoke(
        "build-service-image", "--service", "scheduler", "--backend", "docker",
        "--libc", libc).stderr


def test_verify_image_fails_when_a_plugin_does_not_load(engine, docker_project,
                                                        tmp_path) -> None:
    # A plugin file that is no shared object: the service refuses it at start and exits.
    (tmp_path / "plugins").mkdir()
    (tmp_path / "plugins" / PLUGIN.split("/")[1]).write_bytes(b"not an ELF file\n")
    # FROM the service image by its id (made here when missing): the engine may serve
    # other runs that tag plugin-builder/scheduler images too.
    tag = f"plugin-builder/scheduler:{combination('musl')}"
    docker_project.invoke("build-service-image", "--service", "scheduler", "--backend",
                          "docker", "--libc", "musl")
    (tmp_path / "Dockerfile").write_text(
        f"FROM {engine.images.get(tag).id}\n"
        "COPY plugins/ /usr/local/dragonfly/plugins/\n")
    engine.images.build(path=str(tmp_path), tag="plugin-builder/scheduler:broken-test",
                        labels={dockerengine.MANAGED: "true"}, rm=True)
    try:
        run = docker_project.invoke("verify", "--image",
                                    "plugin-builder/scheduler:broken-test", expect=None)
    finally:
        engine.images.remove("plugin-builder/scheduler:broken-test", force=True)
    assert run.returncode == VerifyError.return_code, run.stdout + run.stderr
    assert "FAILED" in run.stdout and "Traceback" not in run.stderr


def test_a_failing_build_in_docker_writes_nothing(docker_project) -> None:
    source = docker_project.root / SOURCE / "broken.go"
    before = entry(docker_project, "musl", PLUGIN)
    source.write_text("package main\n\nfunc broken() { undefined_call() }\n")
    try:
        run = docker_project.invoke("build-plugin", "--type", "scheduler", "--backend",
                                    "docker", "--libc", "musl", expect=None)
    finally:
        source.unlink()
    assert run.returncode == BuildError.return_code
    assert "undefined: undefined_call" in run.stderr and "Traceback" not in run.stderr
    assert entry(docker_project, "musl", PLUGIN) == before
    plugins = docker_project.artifacts(combination("musl")) / "plugins"
    assert not [p for p in plugins.iterdir() if p.name.startswith(".")]


def test_a_failing_image_build_tags_nothing(docker_project, engine) -> None:
    text = (docker_project.root / "buildconfig.toml").read_text()
    broken = text.replace('cc = "musl-gcc"', 'cc = "no-such-cc"').replace(
        'builder_repository = "plugin-builder/builder"',
        'builder_repository = "plugin-builder/broken-test"')
    (docker_project.root / "broken.toml").write_text(broken)
    run = docker_project.invoke("build-builder-image", "--libc", "musl",
                                "--config", "broken.toml", expect=None)
    assert run.returncode == BuildError.return_code
    assert "no C compiler 'no-such-cc'" in run.stderr and "Traceback" not in run.stderr
    assert not engine.images.list(name="plugin-builder/broken-test")


def test_a_missing_base_image_names_the_key_and_the_fix(docker_project) -> None:
    text = (docker_project.root / "buildconfig.toml").read_text()
    (docker_project.root / "nobase.toml").write_text(text.replace(
        'builder_base = "plugin-builder/bootstrap:bookworm"\nruntime_base = '
        '"plugin-builder/runtime:bookworm-glibc"',
        'builder_base = "plugin-builder/bootstrap:nosuchsuite"\nruntime_base = '
        '"plugin-builder/runtime:bookworm-glibc"'))
    run = docker_project.invoke("build-builder-image", "--libc", "glibc",
                                "--config", "nobase.toml", expect=None)
    assert run.returncode == ImageError.return_code
    assert "libc.glibc.builder_base" in run.stderr and "invoke bootstrap-base" in run.stderr


def test_ctrl_c_during_a_build_leaves_no_container(docker_project, engine) -> None:
    # Cold caches make the build last long enough to be interrupted mid-way.
    for kind in ("gocache", "gomodcache"):
        with contextlib.suppress(docker.errors.NotFound):
            engine.volumes.get(cache_volume(kind, _combo("glibc"))).remove(force=True)
    (docker_project.root / SOURCE / "extra.go").write_text("package main\n\nvar extra = 1\n")
    run_id = f"ctrl-c-{os.getpid()}-{time.time_ns()}"  # its own: no other run's container
    build = subprocess.Popen(
        [sys.executable, "-m", "invoke", "build-plugin", "--type", "scheduler", "--backend",
         "docker", "--libc", "glibc"], cwd=docker_project.root, start_new_session=True,
        env={**os.environ, dockerengine.RUN_ID_ENV: run_id},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        _wait_for_a_container(engine, run_id)
        os.killpg(build.pid, signal.SIGINT)
        output, _ = build.communicate(timeout=60)
    finally:
        (docker_project.root / SOURCE / "extra.go").unlink()
        if build.poll() is None:
            build.kill()
    assert build.returncode == 130, output
    assert "Traceback" not in output
    assert containers_of_run(engine, run_id) == []


def _combo(libc: str):
    from plugin_builder.combination import Combination

    return Combination("1.26.6", libc, "amd64")


def _wait_for_a_container(client, run_id: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if containers_of_run(client, run_id):
            return
        time.sleep(0.2)
    raise AssertionError("the build never started a container")


def test_the_docker_pipeline_ends_with_verified_service_images(docker_project, engine) -> None:
    run = docker_project.invoke("pipeline", "--backend", "docker", "--libc", "musl")
    tags = [f"plugin-builder/{service}:{combination('musl')}"
            for service in ("dfdaemon", "scheduler", "manager")]
    for tag in tags:
        assert f"ok: {tag} (1 plugin(s))" in run.stderr
        assert engine.images.get(tag).labels["dev.plugin-builder.libc"] == "musl"
    result = json.loads((docker_project.root / "results" / f"{combination('musl')}.json")
                        .read_text())
    assert [(s["name"], s["status"]) for s in result["steps"]] == [
        ("builder-image", "passed"), ("host", "passed"), ("plugins", "passed"),
        ("verify", "passed"), ("service-images", "passed")]


def test_an_unreachable_engine_is_one_message(tmp_path) -> None:
    project = Project(tmp_path)
    env = {**os.environ, "DOCKER_HOST": f"unix://{tmp_path}/no-engine.sock"}
    run = subprocess.run([sys.executable, "-m", "invoke", "build-plugin", "--backend",
                          "docker"], cwd=project.root, env=env, capture_output=True, text=True)
    assert run.returncode == EngineError.return_code
    assert "cannot reach the Docker engine" in run.stderr and "dockerd" in run.stderr
    assert "Traceback" not in run.stderr
