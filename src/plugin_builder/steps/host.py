"""Step: build the host's services, linked dynamically and stamped with their version."""

from __future__ import annotations

from plugin_builder.artifacts import ArtifactStore, tree_digest
from plugin_builder.backends import BuildEnvironment
from plugin_builder.config import Config, Service
from plugin_builder.log import Log
from plugin_builder.steps.gobuild import (
    OUTPUT,
    GoBuild,
    Outcome,
    build_env,
    go_build,
    ldflags_quote,
    shared_flags,
)


def binary_path(service: Service) -> str:
    return f"bin/{service.binary}"


def build_host(config: Config, environment: BuildEnvironment, store: ArtifactStore, log: Log,
               services: list[str] | None = None) -> dict[str, Outcome]:
    """Each service's binary (every service, or the named ones), by service name."""
    builds = [b for b in plan(config, environment)
              if services is None or b.entry["service"] in services]
    return {build.entry["service"]: go_build(environment, store, build, log) for build in builds}


def plan(config: Config, environment: BuildEnvironment) -> list[GoBuild]:
    """The go builds of every service, in config order."""
    module_digest = tree_digest(config.host.module)
    return [_service_build(config, environment, service, module_digest)
            for service in config.host.services.values()]


def _service_build(config: Config, environment: BuildEnvironment, service: Service,
                   module_digest: str) -> GoBuild:
    return GoBuild(
        relative=binary_path(service),
        argv=[environment.go, "build", *shared_flags(config.host),
              "-ldflags", _stamp(config, environment, service), "-o", OUTPUT, service.main],
        cwd=config.host.module,
        # The host is its own main module: no workspace may change its dependencies.
        env=build_env(environment, gowork="off"),
        digest_parts={"host": module_digest},
        entry={"kind": "host", "service": service.name, "version": config.host.version},
    )


def _stamp(config: Config, environment: BuildEnvironment, service: Service) -> str:
    combination = environment.combination
    values = {"version": config.host.version, "combination": combination.id,
              "go": combination.go, "libc": combination.libc, "arch": combination.arch,
              "service": service.name}
    return " ".join(ldflags_quote(f"-X={variable}={template.format(**values)}")
                    for variable, template in config.host.stamp.items())
