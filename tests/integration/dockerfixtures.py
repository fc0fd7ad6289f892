"""Fixtures of the docker tier: a real engine, or a visible skip (a failure in CI)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from plugin_builder import dockerengine
from plugin_builder.errors import PluginBuilderError

from .projects import Project


@pytest.fixture(scope="module")
def engine() -> Iterator[Any]:
    """The Docker engine the tests run against; afterwards, none of our containers is left."""
    try:
        client = dockerengine.connect()
    except PluginBuilderError as error:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true but no Docker engine answers (.ci/run starts one): {error}")
        pytest.skip(f"no Docker engine on this machine, docker tests skipped: {error}")
    yield client
    left = dockerengine.managed_containers(client)
    assert not left, f"containers left behind: {[c.name for c in left]}"


@pytest.fixture(scope="module")
def docker_project(engine, tmp_path_factory) -> Project:
    """A project copy whose base images exist, made by `invoke bootstrap-base`."""
    project = Project(tmp_path_factory.mktemp("docker-project"))
    project.bootstrap = project.invoke("bootstrap-base")  # type: ignore[attr-defined]
    return project
