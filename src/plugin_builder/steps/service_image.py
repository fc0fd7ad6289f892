"""Step: the runtime image of one service (`invoke build-service-image --service S`).

``<docker.service_repository>:<combination id>``: the libc's ``runtime_base`` (of the
combination's arch, whose platform the image gets: ``linux/arm64`` for arm64), the
service's host binary and the plugins of every type that service loads, in
``host.plugin_dir``, running as a non-root user with a HEALTHCHECK. It takes the
outcomes of the host and plugin steps (whichever backend built them) and never builds
them itself. Labels record versions and the sha256 of
every artifact, and tell ``verify --image`` what the image must have loaded.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from plugin_builder import dockerengine as engine
from plugin_builder.backends.base_images import (
    image_platform,
    on_platform,
    require_base,
    runtime_tag,
)
from plugin_builder.combination import Combination
from plugin_builder.config import Config, PluginTarget, Service
from plugin_builder.errors import ImageError
from plugin_builder.log import Log
from plugin_builder.steps.gobuild import Outcome
from plugin_builder.steps.job import Job

DOCKERFILE = "service.Dockerfile"
PORT = 8080  # the reference host's --listen default
BIN_DIR = "/usr/local/bin"
USER = "65532:65532"  # the "nonroot" convention of minimal images


def targets_of(config: Config, service: str) -> list[PluginTarget]:
    return [p for p in config.plugins if config.plugin_types[p.type].service == service]


def run(job: Job) -> list[Outcome]:
    """The image of each service the job asks for, built and proven by running it."""
    from plugin_builder.verify.image import require_ok, verify_image

    client = engine.connect()
    if job.request.dry_run:
        plan(job, client)
        return []
    for name in job.request.services:
        service = job.config.host.services[name]
        shipped = {t: job.plugins[t] for t in targets_of(job.config, name) if t in job.plugins}
        tag = build_service_image(job.config, client, job.combination, service,
                                  job.hosts[name], shipped, job.log)
        report = verify_image(client, tag, job.log)
        job.log(report.summary())
        require_ok([report])
        job.images.append(tag)
    return []


def plan(job: Job, client: Any) -> None:
    """A dry run: which service images would be built (and run to prove them), and why."""
    for name in job.request.services:
        service = job.config.host.services[name]
        tag = job.config.docker.service_tag(name, job.combination)
        host = job.hosts.get(name)
        shipped = {t: job.plugins[t] for t in targets_of(job.config, name) if t in job.plugins}
        if host is None:
            continue  # its build would fail first, as the plan above says
        rebuilt = [o.relative for o in (host, *shipped.values()) if o.planned is not None]
        if rebuilt:
            job.log(f"would build {tag}: {', '.join(rebuilt)} would be built first")
            continue
        recipe = _recipe(job.config, client, job.combination, service, host, shipped)
        if engine.up_to_date(client, tag, recipe.inputs):
            job.log(f"up to date: {tag}; would run it to prove its plugins load")
        else:
            job.log(f"would build {tag} and run it to prove its plugins load: its base, "
                    "binaries or settings changed, or it was never built")


@dataclass(frozen=True)
class _Recipe:
    """What a service image is made from, and the digest of it all."""

    runtime_base: str
    platform: str
    dockerfile: bytes
    labels: dict[str, str]
    inputs: str


def _recipe(config: Config, client: Any, combination: Combination, service: Service,
            binary: Outcome, plugins: Mapping[PluginTarget, Outcome]) -> _Recipe:
    libc = config.libcs[combination.libc]
    # Per arch: an arm64 combination's image is FROM an arm64 runtime base, whose platform
    # (linux/arm64) the image inherits.
    runtime_base, key = libc.runtime_base_for(combination.arch)
    if not runtime_base:
        raise ImageError(f"{key} is empty: service images need a runtime base",
                         fix="set it, e.g. to \"" + runtime_tag(config, libc.name,
                                                                  combination.arch)
                             + "\" made by `invoke bootstrap-base`")
    platform = f"linux/{combination.arch}"
    base = require_base(client, runtime_base, key, platform=platform)
    if image_platform(base) != platform:
        raise ImageError(f"runtime base '{runtime_base}' ({key}) is a {image_platform(base)} "
                         f"image, so the image of {combination.id} would not run",
                         fix=f"point {key} at a {platform} image, e.g. \""
                             + runtime_tag(config, libc.name, combination.arch)
                             + "\" made by `invoke bootstrap-base`")
    dockerfile = render(config, service).encode()
    labels = _labels(config, combination, service, binary, plugins)
    return _Recipe(runtime_base, platform, dockerfile, labels,
                   engine.digest(dockerfile.decode(), base.id, labels))


def build_service_image(config: Config, client: Any, combination: Combination,
                        service: Service, binary: Outcome,
                        plugins: Mapping[PluginTarget, Outcome], log: Log) -> str:
    """The image of one service from its built binary and plugins, unless up to date."""
    recipe = _recipe(config, client, combination, service, binary, plugins)
    runtime_base, platform = recipe.runtime_base, recipe.platform
    dockerfile, labels, inputs = recipe.dockerfile, recipe.labels, recipe.inputs
    tag = config.docker.service_tag(service.name, combination)
    if engine.up_to_date(client, tag, inputs):
        log(f"up to date: {tag}")
        return tag
    files: dict[str, Any] = {"Dockerfile": dockerfile, "bin/": b"", "plugins/": b"",
                             f"bin/{service.binary}": binary.path}
    files.update({f"plugins/{outcome.path.name}": outcome.path for outcome in plugins.values()})
    # Another arch's image is built for its platform (the engine's own as before for amd64).
    builder = client if combination.arch == "amd64" else on_platform(client, platform)
    engine.build_image(builder, engine.context_tar(files), tag=tag, what=f"service image {tag}",
                       buildargs={"RUNTIME_BASE": runtime_base,
                                  "PLUGIN_DIR": config.host.plugin_dir},
                       labels={**labels, engine.INPUTS: inputs}, log=log)
    log(f"built {tag}")
    return tag


def render(config: Config, service: Service) -> str:
    """images/service.Dockerfile with its @MARKERS@ filled in (JSON exec form only), in one
    pass: a value is never read again, so a healthcheck item "@CMD@" stays that text."""
    text = (engine.IMAGES / DOCKERFILE).read_text()
    binary = f"{BIN_DIR}/{service.binary}"
    healthcheck = service.healthcheck_argv(binary, PORT)
    if not healthcheck:
        text = "\n".join("HEALTHCHECK NONE" if line.startswith("HEALTHCHECK ") else line
                         for line in text.splitlines()) + "\n"
    values = {"PORT": str(PORT), "HEALTHCHECK": json.dumps(healthcheck),
              "ENTRYPOINT": json.dumps([binary]),
              "CMD": json.dumps(["--plugin-dir", config.host.plugin_dir, "--listen", f":{PORT}"]),
              "USER": USER}
    return re.sub(r"@([A-Z]+)@", lambda marker: values.get(marker[1], marker[0]), text)


def _labels(config: Config, combination: Combination, service: Service, binary: Outcome,
            plugins: Mapping[PluginTarget, Outcome]) -> dict[str, str]:
    binary_path = f"{BIN_DIR}/{service.binary}"
    listed = [{"type": target.type, "name": target.name,
               "path": f"{config.host.plugin_dir}/{outcome.path.name}"}
              for target, outcome in plugins.items()]
    labels = {
        f"{engine.LABEL}.service": service.name,
        f"{engine.LABEL}.combination": combination.id,
        f"{engine.LABEL}.go": f"go{combination.go}",
        f"{engine.LABEL}.libc": combination.libc,
        f"{engine.LABEL}.arch": combination.arch,
        f"{engine.LABEL}.version": config.host.version,
        f"{engine.LABEL}.port": str(PORT),
        engine.BINARY_LABEL: binary_path,
        engine.PLUGINS_LABEL: json.dumps(listed),
        engine.HEALTHCHECK_LABEL: json.dumps(service.healthcheck_argv(binary_path, PORT)),
        engine.CHECK_LABEL: json.dumps(list(service.check)),
        "org.opencontainers.image.version": config.host.version,
    }
    for outcome in (binary, *plugins.values()):
        labels[f"{engine.LABEL}.sha256.{outcome.relative}"] = outcome.sha256
    return labels
