"""The suite runs in parallel (pytest-xdist, `-n auto --dist loadgroup` in pyproject.toml).

Unit tests spread over every worker. An integration file runs whole, in order, on one
worker (its module fixtures build projects of its own), and the files whose tests share
the session's `built` project (the whole matrix built once, tests/integration/conftest.py)
run together on one worker, so that it is built once. Workers share the toolchain cache,
Go's build cache and the Docker engine, which are made for concurrent use (locks, Go's
own cache, containers found by each worker's own run id, one bootstrap-base at a time).
"""

from __future__ import annotations

import pytest

INTEGRATION = "integration"
SHARED_BUILD = "built"  # the session fixture one group shares


@pytest.hookimpl(tryfirst=True)  # before xdist names the groups in the node ids
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    integration = [item for item in items if INTEGRATION in item.path.parts]
    sharing = {item.path for item in integration
               if SHARED_BUILD in getattr(item, "fixturenames", ())}
    for item in integration:
        group = SHARED_BUILD if item.path in sharing else item.path.stem
        item.add_marker(pytest.mark.integration)
        item.add_marker(pytest.mark.xdist_group(group))


def pytest_terminal_summary(terminalreporter) -> None:
    """The agreement corpus's figure (tests/integration/pairs.py), here where the xdist
    controller, which shows the summary, loads it."""
    from tests.integration import pairs

    pairs.summarize_agreement(terminalreporter)
