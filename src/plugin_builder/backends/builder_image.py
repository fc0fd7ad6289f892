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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from plugin_builder import dockerengine as engine
from plugin_builder import sharedcache
from plugin_builder.backends.base_images import require_base
from plugin_builder.combination import Combination
from plugin_builder.config import Config
from plugin_builder.errors import ImageError
from plugin_builder.files import sha256_file
from plugin_builder.golang.toolchains import (
    GoToolchain,
    as_provisioned,
    go_toolchain,
    toolchain_home,
)
from plugin_builder.log import Log

DOCKERFILE = "builder.Dockerfile"
GOROOT = "/usr/local/go"  # where the toolchain is in the image
GO = f"{GOROOT}/bin/go"
# Folders of the image that named volumes are mounted on (and seeded from).
GOCACHE, GOMODCACHE, HOME = "/cache/gocache", "/cache/gomodcache", "/cache/home"


@dataclass(frozen=True)
class _Recipe:
    """What a combination's builder image is made from, and the digest of it all."""

    tag: str
    base: str  # the builder base image's name
    cc: str
    goroot: Path
    dockerfile: bytes
    tools: dict[str, Path]  # programs for /usr/local/bin, by their place in the context
    inputs: str


def _base(config: Config, client: Any, combination: Combination) -> Any:
    """The builder base image of the combination's libc, which must exist."""
    libc = config.libcs[combination.libc]
    key = f"libc.{libc.name}.builder_base"
    if not libc.builder_base:
        raise ImageError(f"{key} is empty: the docker backend needs a builder base",
                                fix="set it, e.g. to \"plugin-builder/bootstrap:bookworm\" "
                                    "made by `invoke bootstrap-base`")
    return require_base(client, libc.builder_base, key)


def _recipe(config: Config, client: Any, combination: Combination, toolchain: GoToolchain,
            tools: dict[str, Path]) -> _Recipe:
    libc = config.libcs[combination.libc]
    base = _base(config, client, combination)
    dockerfile = (engine.IMAGES / DOCKERFILE).read_bytes()
    # The image runs on the engine's own arch and cross-compiles for another one with the
    # cross compiler of [libc.<name>.arch.<arch>] (bootstrap-base installs it).
    cc = libc.cc_for(combination.arch)
    # The toolchain's manifest digest: the image is rebuilt when what the GOROOT holds
    # differs (go_toolchain has checked that it still holds what was provisioned).
    inputs = engine.digest(dockerfile.decode(), base.id, combination.id, cc, toolchain.digest,
                           *([{name: sha256_file(path) for name, path in tools.items()}]
                             if tools else []))
    return _Recipe(config.docker.builder_tag(combination), libc.builder_base, cc,
                   toolchain.go.parent.parent, dockerfile, tools, inputs)


def ensure_builder_image(config: Config, client: Any, combination: Combination, log: Log,
                         *, force: bool = False) -> Any:
    """The up-to-date builder image of this combination, built when it is not."""
    toolchain = go_toolchain(combination.go, config.toolchain_cache, log=log)
    recipe = _recipe(config, client, combination, toolchain,
                     _tools(config, client, combination, toolchain, log))
    tag, goroot = recipe.tag, recipe.goroot
    image = None if force else engine.up_to_date(client, tag, recipe.inputs)
    if image is not None:
        log(f"up to date: {tag}")
        return image
    log(f"building {tag} from {recipe.base} with go{combination.go} ({goroot})")
    with tempfile.TemporaryFile(prefix="plugin-builder-context-") as stream:
        files: dict[str, bytes | Path] = {"Dockerfile": recipe.dockerfile, "tools/": b"",
                                          **recipe.tools}
        context = engine.context_tar(files, {"go": goroot}, target=stream)
        image = engine.build_image(
            client, context, tag=tag, what=f"builder image {tag}",
            buildargs={"BASE": recipe.base, "CC": recipe.cc},
            labels={engine.INPUTS: recipe.inputs, f"{engine.LABEL}.go": f"go{combination.go}",
                    f"{engine.LABEL}.libc": combination.libc,
                    f"{engine.LABEL}.arch": combination.arch,
                    f"{engine.LABEL}.cc": recipe.cc,
                    f"{engine.LABEL}.combination": combination.id},
            log=log)
    log(f"built {tag} ({image.short_id})")
    return image


def planned_builder_image(config: Config, client: Any, combination: Combination, log: Log, *,
                          force: bool = False) -> Any:
    """What ensure_builder_image would do, said to ``log``, doing none of it: the image
    when it is up to date (and not forced), else None."""
    tag = config.docker.builder_tag(combination)
    toolchain = as_provisioned(combination.go, config.toolchain_cache)
    if toolchain is None:
        _base(config, client, combination)  # which a real run would need too
        log(f"would provision go{combination.go} into "
            f"{toolchain_home(combination.go, config.toolchain_cache)}, then build {tag}")
        return None
    if _needs_tools(config, combination):
        # Whether the [cache] program is current is known once it is built.
        log(f"would build the [cache] program for the image, then build {tag} unless it "
            "is up to date")
        return None
    recipe = _recipe(config, client, combination, toolchain, {})
    image = None if force else engine.up_to_date(client, tag, recipe.inputs)
    if image is not None:
        log(f"up to date: {tag}")
    else:
        why = "--force" if force else "its base, Dockerfile, C compiler or Go changed, or " \
                                      "it was never built"
        log(f"would build {tag} from {recipe.base} with go{combination.go}: {why}")
    return image


def _needs_tools(config: Config, combination: Combination) -> bool:
    return sharedcache.applies(config, combination) and sharedcache.bundled(config)


def _tools(config: Config, client: Any, combination: Combination, toolchain: GoToolchain,
           log: Log) -> dict[str, Path]:
    """The programs the image gets in /usr/local/bin, by their place in the build context:
    the [cache] program, built for the engine's arch, when the builds use it."""
    if not _needs_tools(config, combination):
        return {}
    arch = (client.version() or {}).get("Arch") or None
    program = sharedcache.program(config, toolchain, arch, log)
    return {f"tools/{program.name}": program}
