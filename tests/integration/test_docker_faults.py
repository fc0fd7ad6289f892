"""A docker build whose tool is killed: its container is removed by the next run.

SIGKILL gives the tool no chance to clean up, and the engine keeps running the build
container. Every container of ours carries its run id and the owner's host, pid and start
time, so the next docker run of the tool finds the one whose owner is gone and removes
it (and no other run's).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from plugin_builder import dockerengine
from tests.project import Project

from .dockerfixtures import containers_of_run

LIBC = ("--libc", "musl")


def test_a_killed_docker_build_leaves_no_container_after_the_next_run(
        engine, docker_project: Project) -> None:
    docker_project.invoke("build-builder-image", *LIBC)  # not timed: the image exists
    source = docker_project.root / "plugins" / "scheduler" / "evaluator" / "killed.go"
    source.write_text(f"package main\n\nvar killedAt = {time.time_ns()}\n")  # forces a build
    run_id = f"killed-{os.getpid()}-{time.time_ns()}"
    try:
        tool = subprocess.Popen(
            [sys.executable, "-m", "invoke", "build-plugin", "--type", "scheduler",
             "--backend", "docker", *LIBC], cwd=docker_project.root,
            env={**os.environ, dockerengine.RUN_ID_ENV: run_id},
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 180
        while not containers_of_run(engine, run_id) and time.monotonic() < deadline:
            assert tool.poll() is None, "the build ended before a container was seen"
            time.sleep(0.2)
        assert containers_of_run(engine, run_id), "no build container appeared"
        os.kill(tool.pid, signal.SIGKILL)  # the tool alone: the container keeps running
        tool.wait()
        assert containers_of_run(engine, run_id), "the engine removed it by itself"

        docker_project.invoke("build-plugin", "--type", "scheduler", "--backend", "docker",
                              *LIBC)
        assert containers_of_run(engine, run_id) == []
    finally:
        source.unlink(missing_ok=True)
