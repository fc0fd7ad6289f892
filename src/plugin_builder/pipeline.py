"""Compose the steps for one combination: host, then plugins (then verify).

This is the one place that orders steps; the invoke tasks and the nox sessions both
call it, so the pipeline a developer runs is the pipeline CI runs.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from plugin_builder.backends import BuildEnvironment, backend_for
from plugin_builder.combination import Combination
from plugin_builder.config import Config, PluginTarget
from plugin_builder.console import Console
from plugin_builder.steps.gobuild import Outcome
from plugin_builder.steps.host import build_host
from plugin_builder.steps.plugin import build_plugins
from plugin_builder.steps.verify import combination_pairs, passed_keys, record, verify_pairs
from plugin_builder.verify.report import FAIL, PluginResult


@dataclass
class StepResult:
    name: str
    seconds: float
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def built(self) -> int:
        return sum(o.built for o in self.outcomes)


@dataclass
class CombinationResult:
    combination: Combination
    steps: list[StepResult] = field(default_factory=list)
    verify: list[PluginResult] = field(default_factory=list)

    @property
    def verified(self) -> bool:
        return all(result.verdict != FAIL for result in self.verify)

    def timed(self, name: str, work: Callable[[], list[Outcome]]) -> list[Outcome]:
        started = time.monotonic()
        outcomes = work()
        self.steps.append(StepResult(name, time.monotonic() - started, outcomes))
        return outcomes


class Session:
    """One command's view of the config: a backend and a console shared by its steps."""

    def __init__(self, config: Config, console: Console, backend: str | None = None) -> None:
        self.config = config
        self.console = console
        self.backend = backend_for(config, backend, console.line)
        self._environments: dict[Combination, BuildEnvironment] = {}

    def environment(self, combination: Combination) -> BuildEnvironment:
        if combination not in self._environments:
            self._environments[combination] = self.backend.environment(combination)
        return self._environments[combination]

    def log(self, combination: Combination):
        return self.console.for_prefix(combination.id)

    def build_host(self, combination: Combination, result: CombinationResult) -> None:
        environment = self.environment(combination)
        result.timed("host", lambda: build_host(self.config, environment, self.log(combination)))

    def build_plugins(self, combination: Combination, targets: list[PluginTarget],
                      result: CombinationResult) -> None:
        environment = self.environment(combination)
        result.timed("plugins", lambda: build_plugins(self.config, environment, targets,
                                                      self.log(combination)))

    def verify(self, combination: Combination, result: CombinationResult) -> None:
        started = time.monotonic()
        pairs = combination_pairs(self.config, combination)
        result.verify = verify_pairs(self.config, pairs, self.log(combination),
                                     passed=passed_keys(self.config, combination))
        record(self.config, combination, pairs, result.verify)
        result.steps.append(StepResult("verify", time.monotonic() - started))

    def pipeline(self, combination: Combination) -> CombinationResult:
        result = CombinationResult(combination)
        self.build_host(combination, result)
        self.build_plugins(combination, list(self.config.plugins), result)
        self.verify(combination, result)
        return result
