"""Step: build the host's services, linked dynamically and stamped with their version.

Each service is built in the host's own module, through the host's own go.work when
the config names one (`host.workspace`), else with workspaces off, so its module graph
is the host's and nobody else's. Extra `host.ldflags` (`-s -w`, ...) apply here only:
they do not feed package fingerprints, so plugins need not share them; `host.gcflags`
do, and are part of the flags every plugin shares.
"""

from __future__ import annotations

from plugin_builder.backends import BuildEnvironment
from plugin_builder.config import Config, Host, Service
from plugin_builder.steps.gobuild import (
    OUTPUT,
    GoBuild,
    Outcome,
    build_env,
    existing,
    go_build,
    ldflags_value,
    shared_flags,
    stamp_values,
    stamp_words,
)
from plugin_builder.steps.job import Job


def binary_path(service: Service) -> str:
    return f"bin/{service.binary}"


def host_gowork(host: Host) -> str:
    """The GOWORK of every build in the host's module: its own go.work, or none."""
    return str(host.workspace) if host.workspace else "off"


def run(job: Job) -> list[Outcome]:
    """The binary of each service the job asks for: built when not up to date, or (a
    static verify) taken as it is unless it was never built."""
    for service in job.config.host.services.values():
        if service.name not in job.request.services:
            continue
        relative = binary_path(service)
        if job.request.build or not job.store.path(relative).is_file():
            environment = job.prepared()
            build = _service_build(job.config, environment, service)
            job.hosts[service.name] = go_build(environment, job.store, build, job.log)
        else:
            job.hosts[service.name] = existing(job.store, relative, job.config.root)
    return list(job.hosts.values())


def plan(config: Config, environment: BuildEnvironment) -> list[GoBuild]:
    """The go builds of every service, in config order."""
    return [_service_build(config, environment, service)
            for service in config.host.services.values()]


def _service_build(config: Config, environment: BuildEnvironment, service: Service) -> GoBuild:
    values = stamp_values(config, environment.combination, config.host.module,
                          service=service.name)
    words = [*config.host.ldflags, *stamp_words(config.host.stamp, values)]
    ldflags = ["-ldflags", ldflags_value(words)] if words else []
    return GoBuild(
        relative=binary_path(service),
        argv=[environment.go, "build", *shared_flags(config.host), *ldflags, "-o", OUTPUT,
              "--", service.main],
        cwd=config.host.module,
        env=build_env(environment, gowork=host_gowork(config.host)),
        digest_parts={},
        entry={"kind": "host", "service": service.name, "version": config.host.version},
        project=config.root,
    )
