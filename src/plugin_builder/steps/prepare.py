"""Step: the backend makes the combination's build environment ready.

Locally that is the exact Go release (provisioned on first use) and the libc's C
compiler; with docker, the combination's builder image. A static verify of artifacts
that exist needs neither, so it skips this step (a build of a missing artifact still
prepares on first use, through :meth:`Job.prepared`).
"""

from __future__ import annotations

from plugin_builder.steps.gobuild import Outcome
from plugin_builder.steps.job import Job


def wanted(job: Job) -> bool:
    return job.request.build or job.request.live


def run(job: Job) -> list[Outcome]:
    job.prepared()
    return []
