"""Fixtures of the docker tier: a real engine, or a visible skip (a failure in CI)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from plugin_builder import dockerengine
from plugin_builder.errors import PluginBuilderError
from tests.project import Project

# One run id for every tool process this session starts (they inherit it): the tier
# counts its own containers, never those of another run sharing the engine.
os.environ.setdefault(dockerengine.RUN_ID_ENV, f"tests-{uuid.uuid4().hex[:12]}")
RUN_ID = os.environ[dockerengine.RUN_ID_ENV]


SKIP_ENV = "PLUGIN_BUILDER_TESTS_WITHOUT_DOCKER"  # "1": skip what needs an engine, by choice


def missing(what: str) -> None:
    """What the docker tier needs is not here: a failure, since a skipped test proves
    nothing; a skip only when the person running the suite asked for one (never in CI)."""
    if os.environ.get(SKIP_ENV) == "1" and os.environ.get("CI", "").lower() != "true":
        pytest.skip(f"{SKIP_ENV}=1: {what}")
    pytest.fail(f"{what} (set {SKIP_ENV}=1 to skip the docker tier outside CI)")


def containers_of_run(client: Any, run_id: str = RUN_ID) -> list[Any]:
    """The containers of one run (this session's by default), running or not."""
    return dockerengine.managed_containers(client, [f"{dockerengine.RUN_LABEL}={run_id}"])


@pytest.fixture(scope="module")
def engine() -> Iterator[Any]:
    """The Docker engine the tests run against; afterwards, none of this session's
    containers is left."""
    try:
        client = dockerengine.connect()
    except PluginBuilderError as error:
        missing(f"no Docker engine answers (.ci/run starts one): {error}")
    yield client
    left = containers_of_run(client)
    assert not left, f"containers left behind: {[c.name for c in left]}"


@pytest.fixture(scope="module")
def docker_project(engine, tmp_path_factory) -> Project:
    """A project copy whose base images exist, made by `invoke bootstrap-base`."""
    project = Project(tmp_path_factory.mktemp("docker-project"))
    project.bootstrap = project.invoke("bootstrap-base")  # type: ignore[attr-defined]
    return project
