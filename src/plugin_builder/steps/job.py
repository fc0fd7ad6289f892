"""The state of one combination's run, handed from step to step.

A :class:`Request` says what a command asks of each combination (which services and
plugin targets, whether to build, a live load or not); a :class:`Job` carries a
combination's inputs and what each step has produced so far. :mod:`plugin_builder.pipeline`
runs the steps in order over one job.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from plugin_builder.artifacts import ArtifactStore
from plugin_builder.backends import Backend, BuildEnvironment
from plugin_builder.combination import Combination
from plugin_builder.config import Config, PluginTarget
from plugin_builder.errors import PluginBuilderError
from plugin_builder.log import Log
from plugin_builder.status import StepStatus, Verdict
from plugin_builder.steps.gobuild import Outcome
from plugin_builder.verify import PluginResult


@dataclass(frozen=True)
class Request:
    """What a command asks of each combination it runs."""

    services: tuple[str, ...]  # the services whose binaries it needs
    plugins: tuple[PluginTarget, ...]  # the plugin targets it needs
    # True: bring every artifact up to date; False: build only what was never built and
    # take the rest as it is (a static verify must not need a toolchain).
    build: bool = True
    live: bool = True  # verify loads each plugin for real (else: static analysis only)
    reuse_proofs: bool = False  # verify trusts a pass recorded for unchanged binaries
    # A target that fails to build becomes a failing verdict instead of ending the run,
    # so one broken plugin does not hide the others' verdicts.
    keep_going: bool = False
    images: bool = False  # end with each service's runtime image
    # Say what would be provisioned, built, verified and why, and do none of it: no
    # toolchain provisioned, no command run but read-only ones, nothing written.
    dry_run: bool = False

    @classmethod
    def everything(cls, config: Config, **options: bool) -> Request:
        return cls(tuple(config.host.services), config.plugins, **options)


@dataclass
class Job:
    """One combination's run: its inputs, and what each step has produced so far."""

    config: Config
    combination: Combination
    backend: Backend
    request: Request
    log: Log
    store: ArtifactStore
    environment: BuildEnvironment | None = None
    hosts: dict[str, Outcome] = field(default_factory=dict)
    plugins: dict[PluginTarget, Outcome] = field(default_factory=dict)
    unbuilt: dict[PluginTarget, PluginBuilderError] = field(default_factory=dict)
    verdicts: list[PluginResult] = field(default_factory=list)
    images: list[str] = field(default_factory=list)
    result: CombinationResult = field(init=False)

    def __post_init__(self) -> None:
        self.result = CombinationResult(self.combination, verify=self.verdicts,
                                        images=self.images)

    @classmethod
    def open(cls, config: Config, combination: Combination, backend: Backend,
             request: Request, log: Log) -> Job:
        return cls(config, combination, backend, request, log,
                   ArtifactStore(config.artifacts, combination))

    def prepared(self) -> BuildEnvironment:
        """Where builds run; the backend prepares it on first use, after the output
        folder was made ours (every build and generated file goes there); a dry run
        plans it and makes nothing."""
        if self.environment is None:
            if self.request.dry_run:
                self.environment = self.backend.plan(self.combination, self.log)
            else:
                self.store.make_folder()
                self.environment = self.backend.prepare(self.combination, self.log)
        return self.environment


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
    images: list[str] = field(default_factory=list)  # the service images it shipped
    error: str | None = None  # the message of the step that failed
    failed_step: str | None = None
    # The error that ended the run, for commands that raise it as it is (its class is
    # the exit code); not part of any record.
    failure: PluginBuilderError | None = field(default=None, repr=False)

    @property
    def verified(self) -> bool:
        return all(result.verdict != Verdict.FAIL for result in self.verify)

    @property
    def passed(self) -> bool:
        return self.error is None and self.verified

    @property
    def outcomes(self) -> list[Outcome]:
        return [outcome for step in self.steps for outcome in step.outcomes]

    def run_step(self, name: str, work: Callable[[], Sequence[Outcome]]) -> None:
        """Time one step and keep its outcomes; a failing step is recorded, then raised."""
        started = time.monotonic()
        try:
            outcomes = list(work())
        except PluginBuilderError as error:
            self.steps.append(StepResult(name, time.monotonic() - started,
                                         status=StepStatus.FAILED))
            self.error, self.failed_step, self.failure = str(error), name, error
            raise
        self.steps.append(StepResult(name, time.monotonic() - started, outcomes))
