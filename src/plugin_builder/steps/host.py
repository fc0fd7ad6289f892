"""Step: build the host's services, linked dynamically and stamped with their version.

Each service is built in the host's own module, through the host's own go.work when
the config names one (`host.workspace`), else with workspaces off, so its module graph
is the host's and nobody else's. Extra `host.ldflags` (`-s -w`, ...) apply here only:
they do not feed package fingerprints, so plugins need not share them; `host.gcflags`
do, and are part of the flags every plugin shares.
"""

from __future__ import annotations

import shutil
import time
from datetime import UTC, datetime
from pathlib import Path

from plugin_builder.backends import BuildEnvironment
from plugin_builder.binary import buildinfo, fingerprints
from plugin_builder.config import Config, Host, Service
from plugin_builder.files import sha256_file
from plugin_builder.steps.gobuild import (
    OUTPUT,
    GoBuild,
    Outcome,
    build_env,
    buildinfo_fields,
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
    static verify) taken as it is unless it was never built; a released host's binary is
    landed as it is."""
    if job.config.host.released:
        return _land_released(job)
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


def _land_released(job: Job) -> list[Outcome]:
    """A released host's binary, landed as every service's ``bin/<binary>`` with a
    manifest entry like a built one's, so verify and images treat it the same; a recipe
    alone lands nothing (verify then needs --host)."""
    from plugin_builder.released.source import host_binary, recipe_of

    recipe_of(job.config, job.store)  # refuses another combination first
    binary = host_binary(job.config, job.store)
    if binary is None:
        job.log("a recipe only (host.recipe): no host binary to land; verify needs it: "
                "invoke verify --host PATH --plugin PATH")
        return []
    sha256 = sha256_file(binary)
    for service in job.config.host.services.values():
        if service.name not in job.request.services:
            continue
        relative = binary_path(service)
        entry = job.store.entry(relative)
        if entry is not None and entry.get("inputs") == sha256 and job.store.intact(relative,
                                                                                    entry):
            job.log(f"up to date: {relative} (the released host {binary})")
            job.hosts[service.name] = Outcome(relative, job.store.path(relative), False, 0.0,
                                              entry)
            continue
        job.hosts[service.name] = land_file(job, relative, binary, sha256, service.name)
    return list(job.hosts.values())


def land_file(job: Job, relative: str, binary: Path, sha256: str, service: str) -> Outcome:
    started = time.monotonic()
    with job.store.staging(relative) as staged:
        shutil.copyfile(binary, staged)
        landed = job.store.land(relative, staged, {
            "kind": "host", "service": service, "released": job.config.host.source[1],
            **buildinfo_fields(buildinfo.read_buildinfo(staged)),
            "fingerprints": fingerprints.record_for(staged),
            "libc": job.combination.libc, "arch": job.combination.arch,
            "inputs": sha256,
            "built_at": datetime.now(UTC).isoformat(timespec="seconds")})
    job.log(f"landed {relative}: the released host {binary}")
    return Outcome(relative, job.store.path(relative), True, time.monotonic() - started, landed)


def plan(config: Config, environment: BuildEnvironment) -> list[GoBuild]:
    """The go builds of every service, in config order."""
    return [_service_build(config, environment, service)
            for service in config.host.services.values()]


def _service_build(config: Config, environment: BuildEnvironment, service: Service) -> GoBuild:
    assert config.host.module is not None and service.main is not None  # a source host
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
