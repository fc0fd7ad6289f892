"""The unit tier's project: the repository's config over empty modules (tests/project.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.project import Project


@pytest.fixture
def project(tmp_path: Path) -> Project:
    return Project.skeleton(tmp_path)
