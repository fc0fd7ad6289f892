"""commands: a verify that could not judge every plugin it was asked about never passes."""

from __future__ import annotations

import pytest

from plugin_builder import commands
from plugin_builder.combination import Combination
from plugin_builder.errors import BinaryError, VerifyError
from plugin_builder.log import PrintReporter
from plugin_builder.steps.job import CombinationResult


def failing_run(error):
    def run(self, choice, request, through):
        result = CombinationResult(Combination("1.26.6", "glibc", "amd64"))
        result.error, result.failed_step, result.failure = str(error), "verify", error
        return [result]

    return run


@pytest.fixture
def context(project) -> commands.Context:
    return commands.Context.open(project.config_path, reporter=PrintReporter())


def test_a_verify_step_that_could_not_read_a_binary_fails(context, monkeypatch) -> None:
    """Before: any failure of the verify step was taken for a VerifyError, whose verdicts
    are reported; a plugin that could not be read left no verdict, and verify passed."""
    error = BinaryError("plugins/x.so: not an ELF binary (no ELF magic number)")
    monkeypatch.setattr(commands.Context, "run", failing_run(error))
    with pytest.raises(BinaryError):
        commands.verify(context, Combination("1.26.6", "glibc", "amd64"), live=False)


def test_a_verify_error_is_reported_with_its_verdicts(context, monkeypatch) -> None:
    monkeypatch.setattr(commands.Context, "run", failing_run(VerifyError("1 of 1 ...")))
    assert commands.verify(context, Combination("1.26.6", "glibc", "amd64"), live=False) == []
