from __future__ import annotations

import pytest

from tests.project import Project

from .dockerfixtures import docker_project, engine  # noqa: F401  (the docker tier's)


@pytest.fixture(scope="session")
def built(tmp_path_factory) -> Project:
    """A project copy with the whole default matrix built once through `invoke pipeline`."""
    project = Project(tmp_path_factory.mktemp("project"))
    run = project.invoke("pipeline", "--all")
    project.first_run = run  # type: ignore[attr-defined]
    return project
