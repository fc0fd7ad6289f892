"""Step: the runtime image of one service (`invoke build-service-image --service S`).

``<docker.service_repository>:<combination id>``: the libc's ``runtime_base``, the
service's host binary and the plugins of every type that service loads, in
``host.plugin_dir``, running as a non-root user with a HEALTHCHECK. It composes: the
binary and plugins are built first through the ordinary steps (skipped when up to
date), by whichever backend the session uses. Labels record versions and the sha256 of
every artifact, and tell ``verify --image`` what the image must have loaded.
"""

from __future__ import annotations

import json
from typing import Any

from plugin_builder import dockerengine as engine
from plugin_builder.artifacts import ArtifactStore
from plugin_builder.backends import Log
from plugin_builder.combination import Combination
from plugin_builder.config import Config, PluginTarget, Service
from plugin_builder.steps import host as host_step
from plugin_builder.steps import plugin as plugin_step
from plugin_builder.steps.base_images import require_base
from plugin_builder.steps.gobuild import go_build

DOCKERFILE = "service.Dockerfile"
PORT = 8080  # the reference host's --listen default
BIN_DIR = "/usr/local/bin"
USER = "65532:65532"  # the "nonroot" convention of minimal images
# Labels verify --image reads.
PLUGINS_LABEL = f"{engine.LABEL}.plugins"  # JSON: [{"type", "name", "path"}]
BINARY_LABEL = f"{engine.LABEL}.binary"
HEALTHCHECK_LABEL = f"{engine.LABEL}.healthcheck"  # JSON argv, "[]" when none
CHECK_LABEL = f"{engine.LABEL}.check"  # JSON argv template of the service's plugin check


def targets_of(config: Config, service: str) -> list[PluginTarget]:
    return [p for p in config.plugins if config.plugin_types[p.type].service == service]


def build_service_image(config: Config, session: Any, client: Any, combination: Combination,
                        service_name: str) -> str:
    """Build what the image needs, then the image unless it is up to date; return its tag."""
    log = session.log(combination)
    service = config.host.services[service_name]
    store = ArtifactStore(config.artifacts, combination)
    binary, plugins = _artifacts(config, session.environment(combination), store, service, log)
    libc = config.libcs[combination.libc]
    key = f"libc.{libc.name}.runtime_base"
    if not libc.runtime_base:
        raise engine.ImageError(f"{key} is empty: service images need a runtime base",
                                fix="set it, e.g. to \"plugin-builder/runtime:bookworm-"
                                    f"{libc.name}\" made by `invoke bootstrap-base`")
    base = require_base(client, libc.runtime_base, key)
    dockerfile = render(config, service).encode()
    labels = _labels(config, combination, service, store, binary, plugins)
    inputs = engine.digest(dockerfile.decode(), base.id, labels)
    tag = config.docker.service_tag(service.name, combination)
    if engine.up_to_date(client, tag, inputs):
        log(f"up to date: {tag}")
        return tag
    files: dict[str, Any] = {"Dockerfile": dockerfile, "bin/": b"", "plugins/": b"",
                             f"bin/{service.binary}": store.path(binary)}
    files.update({f"plugins/{_file(p)}": store.path(p) for p in plugins})
    engine.build_image(client, engine.context_tar(files), tag=tag, what=f"service image {tag}",
                       buildargs={"RUNTIME_BASE": libc.runtime_base,
                                  "PLUGIN_DIR": config.host.plugin_dir},
                       labels={**labels, engine.INPUTS: inputs}, log=log)
    log(f"built {tag}")
    return tag


def _artifacts(config: Config, environment: Any, store: ArtifactStore, service: Service,
               log: Log) -> tuple[str, list[str]]:
    """Build (or find up to date) the service's binary and its plugins; their paths."""
    builds = [b for b in host_step.plan(config, environment)
              if b.entry.get("service") == service.name]
    builds += plugin_step.plan(config, environment, targets_of(config, service.name))
    outcomes = [go_build(environment, store, build, log) for build in builds]
    return outcomes[0].relative, [o.relative for o in outcomes[1:]]


def _file(relative: str) -> str:
    return relative.rsplit("/", 1)[-1]


def render(config: Config, service: Service) -> str:
    """images/service.Dockerfile with its @MARKERS@ filled in (JSON exec form only)."""
    text = (engine.IMAGES / DOCKERFILE).read_text()
    binary = f"{BIN_DIR}/{service.binary}"
    healthcheck = service.healthcheck_argv(binary, PORT)
    if not healthcheck:
        text = "\n".join("HEALTHCHECK NONE" if line.startswith("HEALTHCHECK ") else line
                         for line in text.splitlines()) + "\n"
    for marker, value in (("@PORT@", str(PORT)), ("@HEALTHCHECK@", json.dumps(healthcheck)),
                          ("@ENTRYPOINT@", json.dumps([binary])),
                          ("@CMD@", json.dumps(["--plugin-dir", config.host.plugin_dir,
                                                "--listen", f":{PORT}"])),
                          ("@USER@", USER)):
        text = text.replace(marker, value)
    return text


def _labels(config: Config, combination: Combination, service: Service, store: ArtifactStore,
            binary: str, plugins: list[str]) -> dict[str, str]:
    manifest = store.manifest()["artifacts"]
    binary_path = f"{BIN_DIR}/{service.binary}"
    listed = [{"type": manifest[p]["type"], "name": manifest[p]["name"],
               "path": f"{config.host.plugin_dir}/{_file(p)}"} for p in plugins]
    labels = {
        f"{engine.LABEL}.service": service.name,
        f"{engine.LABEL}.combination": combination.id,
        f"{engine.LABEL}.go": f"go{combination.go}",
        f"{engine.LABEL}.libc": combination.libc,
        f"{engine.LABEL}.arch": combination.arch,
        f"{engine.LABEL}.version": config.host.version,
        f"{engine.LABEL}.port": str(PORT),
        BINARY_LABEL: binary_path,
        PLUGINS_LABEL: json.dumps(listed),
        HEALTHCHECK_LABEL: json.dumps(service.healthcheck_argv(binary_path, PORT)),
        CHECK_LABEL: json.dumps(list(service.check)),
        "org.opencontainers.image.version": config.host.version,
    }
    for relative in (binary, *plugins):
        labels[f"{engine.LABEL}.sha256.{relative}"] = manifest[relative]["sha256"]
    return labels
