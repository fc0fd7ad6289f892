"""Every workflow in the suite (this repository's and the one `init --ci github` writes)
passes actionlint, which runs shellcheck on each `run:` script, and the CI scripts pass
shellcheck: what `nox -s lint` checks, here in the suite too."""

from __future__ import annotations

import shutil

import pytest

from tests import cilint


def test_actionlint_and_shellcheck_find_nothing() -> None:
    if shutil.which("shellcheck") is None:
        pytest.fail("shellcheck is not installed: apt-get install shellcheck (.ci/run does)")
    assert cilint.problems() == []
