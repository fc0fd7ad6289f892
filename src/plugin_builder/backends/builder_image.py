"""Step: the builder image of a combination (`invoke build-builder-image`).

``<docker.builder_repository>:<combination id>``, made by ``images/builder.Dockerfile``
from the libc's ``builder_base``, with the Go toolchain COPIED from the same toolchain
store the local backend uses (so both backends compile with byte-identical toolchains,
which is what lets their plugins and hosts load into each other), and, when ``[cache]
prog`` names the program ``[cache] install`` makes, that program built with the
combination's Go for the engine's arch, in ``/usr/local/bin``. Labels record the Go
version, libc, arch and the digest of every input; an image with the same digest is
not rebuilt.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from plugin_builder import dockerengine as engine
from plugin_builder import sharedcache
from plugin_builder.backends.base_images import require_base
from plugin_builder.combination import Combination
from plugin_builder.config import Config
from plugin_builder.errors import ImageError
from plugin_builder.files import sha256_file
from plugin_builder.golang.toolchains import GoToolchain, go_toolchain
from plugin_builder.log import Log

DOCKERFILE = "builder.Dockerfile"
GOROOT = "/usr/local/go"  # where the toolchain is in the image
GO = f"{GOROOT}/bin/go"
# Folders of the image that named volumes are mounted on (and seeded from).
GOCACHE, GOMODCACHE, HOME = "/cache/gocache", "/cache/gomodcache", "/cache/home"


def ensure_builder_image(config: Config, client: Any, combination: Combination, log: Log,
                         *, force: bool = False) -> Any:
    """The up-to-date builder image of this combination, built when it is not."""
    tag = config.docker.builder_tag(combination)
    libc = config.libcs[combination.libc]
    key = f"libc.{libc.name}.builder_base"
    if not libc.builder_base:
        raise ImageError(f"{key} is empty: the docker backend needs a builder base",
                                fix="set it, e.g. to \"plugin-builder/bootstrap:bookworm\" "
                                    "made by `invoke bootstrap-base`")
    base = require_base(client, libc.builder_base, key)
    toolchain = go_toolchain(combination.go, config.toolchain_cache, log=log)
    goroot = toolchain.go.parent.parent
    dockerfile = (engine.IMAGES / DOCKERFILE).read_bytes()
    tools = _tools(config, client, combination, toolchain, log)
    # The image runs on the engine's own arch and cross-compiles for another one with the
    # cross compiler of [libc.<name>.arch.<arch>] (bootstrap-base installs it).
    cc = libc.cc_for(combination.arch)
    # The toolchain's manifest digest: the image is rebuilt when what the GOROOT holds
    # differs (go_toolchain has checked that it still holds what was provisioned).
    inputs = engine.digest(dockerfile.decode(), base.id, combination.id, cc, toolchain.digest,
                           *([{name: sha256_file(path) for name, path in tools.items()}]
                             if tools else []))
    image = None if force else engine.up_to_date(client, tag, inputs)
    if image is not None:
        log(f"up to date: {tag}")
        return image
    log(f"building {tag} from {libc.builder_base} with go{combination.go} ({goroot})")
    with tempfile.TemporaryFile(prefix="plugin-builder-context-") as stream:
        files: dict[str, bytes | Path] = {"Dockerfile": dockerfile, "tools/": b"", **tools}
        context = engine.context_tar(files, {"go": goroot}, target=stream)
        image = engine.build_image(
            client, context, tag=tag, what=f"builder image {tag}",
            buildargs={"BASE": libc.builder_base, "CC": cc},
            labels={engine.INPUTS: inputs, f"{engine.LABEL}.go": f"go{combination.go}",
                    f"{engine.LABEL}.libc": combination.libc,
                    f"{engine.LABEL}.arch": combination.arch,
                    f"{engine.LABEL}.cc": cc,
                    f"{engine.LABEL}.combination": combination.id},
            log=log)
    log(f"built {tag} ({image.short_id})")
    return image


def _tools(config: Config, client: Any, combination: Combination, toolchain: GoToolchain,
           log: Log) -> dict[str, Path]:
    """The programs the image gets in /usr/local/bin, by their place in the build context:
    the [cache] program, built for the engine's arch, when the builds use it."""
    if not (sharedcache.applies(config, combination) and sharedcache.bundled(config)):
        return {}
    arch = (client.version() or {}).get("Arch") or None
    program = sharedcache.program(config, toolchain, arch, log)
    return {f"tools/{program.name}": program}
