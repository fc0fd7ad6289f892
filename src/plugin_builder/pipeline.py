"""The pipeline of one combination, step by step.

:func:`run_pipeline` is the whole pipeline: read it top to bottom and you have read
what happens to a combination, in order, and what each step hands the next:

1. prepare   the backend makes its environment ready (the exact Go release; with
             docker, the builder image) and returns where builds run;
2. host      every service's binary, dynamically linked;
3. plugins   every plugin target, with the host's exact settings;
4. verify    every plugin against the binary of the service that loads it;
5. images    with a backend that makes them, each service's runtime image, proven
             by running it.

Each step is a module of :mod:`plugin_builder.steps` that takes typed inputs and returns
typed outcomes. The invoke tasks and the nox sessions both come here, so the pipeline a
developer runs is the pipeline CI runs. A step that fails ends its combination's run
with the error recorded, never the other combinations'.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from plugin_builder.artifacts import ArtifactStore
from plugin_builder.backends import Backend
from plugin_builder.combination import Combination
from plugin_builder.config import Config
from plugin_builder.errors import PluginBuilderError
from plugin_builder.log import Log
from plugin_builder.status import StepStatus, Verdict
from plugin_builder.steps import host as host_step
from plugin_builder.steps import plugin as plugin_step
from plugin_builder.steps import service_image as image_step
from plugin_builder.steps import verify as verify_step
from plugin_builder.steps.gobuild import Outcome
from plugin_builder.verify import PluginResult

T = TypeVar("T")


def run_pipeline(config: Config, combination: Combination, backend: Backend,
                 log: Log) -> CombinationResult:
    """Build, verify and (where the backend makes them) ship one combination."""
    run = Run(combination)
    store = ArtifactStore(config.artifacts, combination)

    def verify() -> None:
        run.result.verify = verify_step.verify_combination(
            config, environment, store, hosts, plugins, log, reuse_proofs=True)
        verify_step.raise_unless_verified(run.result.verify)

    try:
        environment = run.step(backend.prepare_step, lambda: backend.prepare(combination, log))
        hosts = run.step("host", lambda: host_step.build_host(config, environment, store, log))
        plugins = run.step("plugins", lambda: plugin_step.build_plugins(
            config, environment, store, config.plugins, log))
        run.step("verify", verify)
        if backend.makes_images:
            run.step("service-images", lambda: image_step.ship(config, store, hosts, plugins,
                                                              log))
    except PluginBuilderError as error:
        log(f"failed: {error}")
    for problem in store.problems:
        log(f"note: {problem}")
    return run.result


@dataclass
class StepResult:
    name: str
    seconds: float
    outcomes: list[Outcome] = field(default_factory=list)  # the artifacts it landed or kept
    status: StepStatus = StepStatus.PASSED

    @property
    def built(self) -> int:
        return sum(o.built for o in self.outcomes)


@dataclass
class CombinationResult:
    combination: Combination
    steps: list[StepResult] = field(default_factory=list)
    verify: list[PluginResult] = field(default_factory=list)
    error: str | None = None  # the message of the step that failed

    @property
    def verified(self) -> bool:
        return all(result.verdict != Verdict.FAIL for result in self.verify)

    @property
    def passed(self) -> bool:
        return self.error is None and self.verified

    @property
    def outcomes(self) -> list[Outcome]:
        return [outcome for step in self.steps for outcome in step.outcomes]


class Run:
    """Times each step and keeps its outcome; a failing step is recorded, then raised."""

    def __init__(self, combination: Combination) -> None:
        self.result = CombinationResult(combination)

    def step(self, name: str, work: Callable[[], T]) -> T:
        started = time.monotonic()
        try:
            value = work()
        except PluginBuilderError as error:
            self._record(name, started, None, StepStatus.FAILED)
            self.result.error = str(error)
            raise
        self._record(name, started, value, StepStatus.PASSED)
        return value

    def _record(self, name: str, started: float, value: Any, status: StepStatus) -> None:
        seconds = time.monotonic() - started
        self.result.steps.append(StepResult(name, seconds, _outcomes(value), status))


def _outcomes(value: Any) -> list[Outcome]:
    """The artifacts in a step's return value (a mapping of outcomes, or none)."""
    if isinstance(value, dict):
        return [v for v in value.values() if isinstance(v, Outcome)]
    return []
