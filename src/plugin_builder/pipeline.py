"""The pipeline of one combination: one job passed through an ordered list of steps.

:data:`STEPS` is the whole pipeline; read it top to bottom and you have read what
happens to a combination, in order:

1. prepare   the backend makes its environment ready (the exact Go release; with
             docker, the builder image) and says where builds run;
2. host      the services' binaries, dynamically linked;
3. plugins   the plugin targets, with the host's exact settings;
4. verify    every plugin against the binary of the service that loads it;
5. service-images  each service's runtime image, proven by running it.

Every command that builds is a prefix of that list (as GoReleaser's commands are
prefixes of its pipes): ``build-host`` runs through ``host``, ``build-plugin`` through
``plugins``, ``verify`` through ``verify``, ``pipeline`` to the end. A :class:`Request`
says what the command asked for (which services and targets, a live load or not); a
:class:`Job` carries the combination's state from step to step: each step reads what
the steps before it left there and adds its own outcomes. A step that fails ends its
combination's run with the error recorded, never the other combinations'.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial

from plugin_builder.errors import PluginBuilderError
from plugin_builder.steps.gobuild import Outcome
from plugin_builder.steps.job import CombinationResult, Job, Request

__all__ = ["CombinationResult", "Job", "Request", "run"]


@dataclass(frozen=True)
class Step:
    name: str
    run: Callable[[Job], Sequence[Outcome]]  # returns the artifacts it landed or kept
    wanted: Callable[[Job], bool] = lambda job: True


def _steps() -> tuple[Step, ...]:
    # The step modules bring their dependencies (the docker client, image code) with
    # them: imported when a pipeline runs, not when verify or report start.
    from plugin_builder.steps import host, plugin, prepare, service_image, verify

    return (
        Step("prepare", prepare.run, prepare.wanted),
        Step("host", host.run, lambda job: bool(job.request.services)),
        Step("plugins", plugin.run, lambda job: bool(job.request.plugins)),
        Step("verify", verify.run, lambda job: bool(job.request.plugins)),
        Step("service-images", service_image.run, lambda job: job.request.images),
    )


# What a step is doing, as the console shows it until the step says more.
_ACTIVITY = {"prepare": "preparing the toolchain", "host": "building the host",
             "plugins": "building plugins", "verify": "verifying plugins",
             "service-images": "building service images"}


def run(job: Job, *, through: str = "service-images") -> CombinationResult:
    """Run the job's steps in order up to and including ``through``; never raises for a
    step that fails (its error is in the result)."""
    try:
        for step in _steps():
            if step.wanted(job):
                job.log.status(_ACTIVITY[step.name])
                job.result.run_step(_step_name(step, job), partial(step.run, job))
            if step.name == through:
                break
    except PluginBuilderError:
        pass  # recorded in job.result: the command says it, once
    for problem in job.store.problems:
        job.log(f"note: {problem}")
    return job.result


def _step_name(step: Step, job: Job) -> str:
    """How reports name a step: the backend names its preparation ("toolchain",
    "builder-image")."""
    return job.backend.prepare_step if step.name == "prepare" else step.name


