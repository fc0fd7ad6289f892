"""Compose the steps for one combination: (builder image,) host, plugins, verify,
(service images, verified by running them).

This is the one place that orders steps; the invoke tasks and the nox sessions both
call it, so the pipeline a developer runs is the pipeline CI runs. A step that fails
ends its combination's run with the error recorded, never the other combinations'.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from plugin_builder.backends import BuildEnvironment, backend_for
from plugin_builder.combination import Combination
from plugin_builder.config import Config, PluginTarget
from plugin_builder.console import Console
from plugin_builder.errors import PluginBuilderError, VerifyError
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
    status: str = "passed"  # or "failed"

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
        return all(result.verdict != FAIL for result in self.verify)

    @property
    def passed(self) -> bool:
        return self.error is None and self.verified

    def timed(self, name: str, work: Callable[[], list[Outcome] | None]) -> None:
        """Run one step; a PluginBuilderError fails the step and is kept, then raised."""
        started = time.monotonic()
        try:
            outcomes = work() or []
        except PluginBuilderError as error:
            self.steps.append(StepResult(name, time.monotonic() - started, [], "failed"))
            self.error = str(error)
            raise
        self.steps.append(StepResult(name, time.monotonic() - started, outcomes))


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
        def work() -> None:
            pairs = combination_pairs(self.config, combination)
            passed = passed_keys(self.config, combination)
            result.verify = verify_pairs(self.config, pairs, self.log(combination),
                                         passed=passed)
            if any(pair.cache_key not in passed for pair in pairs):
                # Only a new proof changes the record: a no-op rerun leaves it as it was.
                record(self.config, combination, pairs, result.verify)
            if not result.verified:
                failed = [p for p in result.verify if p.verdict == FAIL]
                raise VerifyError(f"{len(failed)} plugin(s) would not load: "
                                  + "; ".join(_first_cause(p) for p in failed))
        result.timed("verify", work)

    def service_images(self, combination: Combination, result: CombinationResult) -> None:
        """Every service's runtime image, built and proven by running it (docker only)."""
        from plugin_builder import dockerengine
        from plugin_builder.errors import VerifyError
        from plugin_builder.steps.service_image import build_service_image
        from plugin_builder.verify.image import verify_image

        def work() -> None:
            client = dockerengine.connect()
            for service in self.config.host.services:
                tag = build_service_image(self.config, self, client, combination, service)
                report = verify_image(client, tag, self.log(combination))
                self.log(combination)(report.summary())
                if not report.ok:
                    raise VerifyError(f"{tag}: {report.summary()}")
        result.timed("service-images", work)

    def _builder_image(self, combination: Combination) -> None:
        self.environment(combination)  # the docker backend builds or finds it here

    def pipeline(self, combination: Combination) -> CombinationResult:
        result = CombinationResult(combination)
        docker = self.backend.name == "docker"
        try:
            if docker:  # the builder image is what the docker environment stands on
                result.timed("builder-image", lambda: self._builder_image(combination))
            self.build_host(combination, result)
            self.build_plugins(combination, list(self.config.plugins), result)
            self.verify(combination, result)
            if docker:
                self.service_images(combination, result)
        except PluginBuilderError as error:
            self.log(combination)(f"failed: {error}")
        return result


def _first_cause(result: PluginResult) -> str:
    name = result.plugin_path.rsplit("/", 1)[-1]
    if result.errors:
        return f"{name}: {result.errors[0].message}"
    live = result.live
    return f"{name}: {live.error_line if live and live.error_line else 'did not load'}"
