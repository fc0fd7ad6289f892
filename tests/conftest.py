"""The suite runs in parallel (pytest-xdist, `-n auto --dist loadgroup` in pyproject.toml):
unit tests spread over every worker, while the integration tests stay together on one
worker, in order, as they were written to run: they share session fixtures that build the
whole matrix once (`built`), one Docker engine's base images and the toolchain cache."""

from __future__ import annotations

import pytest

INTEGRATION = "integration"


@pytest.hookimpl(tryfirst=True)  # before xdist names the groups in the node ids
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if INTEGRATION in item.path.parts:
            item.add_marker(pytest.mark.integration)
            item.add_marker(pytest.mark.xdist_group(INTEGRATION))
