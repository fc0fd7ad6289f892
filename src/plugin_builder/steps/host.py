"""Step: build the host's services, linked dynamically and stamped with their version.

Each service is built in the host's own module, through the host's own go.work when
the config names one (`host.workspace`), else with workspaces off, so its module graph
is the host's and nobody else's. Extra `host.ldflags` (`-s -w`, ...) apply here only:
they do not feed package fingerprints, so plugins need not share them; `host.gcflags`
do, and are part of the flags every plugin shares.
"""

from __future__ import annotations

from plugin_builder.artifacts import ArtifactStore
from plugin_builder.backends import BuildEnvironment
from plugin_builder.config import Config, Host, Service
from plugin_builder.golang import sourcestate
from plugin_builder.log import Log
from plugin_builder.steps.gobuild import (
    OUTPUT,
    GoBuild,
    Outcome,
    build_env,
    go_build,
    ldflags_value,
    shared_flags,
    stamp_words,
)


def binary_path(service: Service) -> str:
    return f"bin/{service.binary}"


def host_gowork(host: Host) -> str:
    """The GOWORK of every build in the host's module: its own go.work, or none."""
    return str(host.workspace) if host.workspace else "off"


def build_host(config: Config, environment: BuildEnvironment, store: ArtifactStore, log: Log,
               services: list[str] | None = None) -> dict[str, Outcome]:
    """Each service's binary (every service, or the named ones), by service name."""
    builds = [b for b in plan(config, environment)
              if services is None or b.entry["service"] in services]
    return {build.entry["service"]: go_build(environment, store, build, log) for build in builds}


def plan(config: Config, environment: BuildEnvironment) -> list[GoBuild]:
    """The go builds of every service, in config order."""
    return [_service_build(config, environment, service)
            for service in config.host.services.values()]


def _service_build(config: Config, environment: BuildEnvironment, service: Service) -> GoBuild:
    words = [*config.host.ldflags, *stamp_words(config.host.stamp,
                                                 stamp_values(config, environment, service))]
    ldflags = ["-ldflags", ldflags_value(words)] if words else []
    return GoBuild(
        relative=binary_path(service),
        argv=[environment.go, "build", *shared_flags(config.host), *ldflags, "-o", OUTPUT,
              "--", service.main],
        cwd=config.host.module,
        env=build_env(environment, gowork=host_gowork(config.host)),
        digest_parts={},
        entry={"kind": "host", "service": service.name, "version": config.host.version},
    )


def stamp_values(config: Config, environment: BuildEnvironment,
                 service: Service | None = None) -> dict[str, str]:
    """What stamp placeholders become for a build of this combination."""
    combination = environment.combination
    return {"version": config.host.version, "combination": combination.id,
            "go": combination.go, "libc": combination.libc, "arch": combination.arch,
            "service": service.name if service else "",
            "commit": sourcestate.commit_of(config.host.module),
            "time": sourcestate.time_of(config.host.module)}
