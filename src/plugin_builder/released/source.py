"""Where a released host's binary and recipe come from: ``host.binary``, ``host.recipe``,
or ``host.image`` (the binary copied out of a container of the image, never run)."""

from __future__ import annotations

import functools
import os
from pathlib import Path

from plugin_builder import recipe as recipes
from plugin_builder.artifacts import ArtifactStore
from plugin_builder.config import Config
from plugin_builder.errors import BinaryError, ConfigError, ImageError
from plugin_builder.files import digest
from plugin_builder.recipe import Recipe


def host_binary(config: Config, store: ArtifactStore) -> Path | None:
    """The released host binary (copied out of its image first); None for a recipe only."""
    host = config.host
    if host.binary is not None:
        return host.binary
    if host.image is not None and host.image_binary is not None:
        return from_image(host.image, host.image_binary, store.scratch / "released")
    return None


def recipe_of(config: Config, store: ArtifactStore) -> Recipe:
    """The released host's recipe, for the combination ``store`` is of; a ConfigError
    naming the key when plugins cannot be built for it."""
    host = config.host
    key, _ = host.source
    path = host.recipe if host.recipe is not None else host_binary(config, store)
    assert path is not None
    recipe = read_checked(config, f"host.{key}", path)
    if recipe.combination != store.combination:
        raise ConfigError(config.path.name, f"host.{key}",
                          f"the released host is {recipe.combination.id}, not "
                          f"{store.combination.id}: plugins load only into the combination "
                          "their host was built for",
                          fix=f"build {recipe.combination.id} (--go {recipe.go} --libc "
                              f"{recipe.libc} --arch {recipe.arch}), or drop the others from "
                              "[matrix]")
    return recipe


def read_checked(config: Config, key: str, path: Path) -> Recipe:
    """The recipe of a file, refused with its reasons (a ConfigError naming ``key``)."""
    stat = path.stat()
    try:
        recipe = _read(str(path), stat.st_mtime_ns, stat.st_size)
    except BinaryError as error:
        raise ConfigError(config.path.name, key, error.message, fix=error.fix) from None
    if recipe.refusals:
        raise ConfigError(config.path.name, key,
                          f"plugins cannot be built for the released host {path}: "
                          + "; ".join(recipe.refusals),
                          fix="see `plugin-builder recipe " + str(path) + "`; build the host "
                              "from its source (host.module), or use a release that can "
                              "load plugins built elsewhere")
    return recipe


@functools.cache
def _read(path: str, mtime_ns: int, size: int) -> Recipe:
    del mtime_ns, size  # the cache key: a changed file is read again
    return recipes.read(Path(path))


def from_image(image: str, path_in_image: str, folder: Path) -> Path:
    """The file ``path_in_image`` of ``image``, copied out of a container created (never
    started) from it, into ``folder``; kept while the image is the same."""
    from plugin_builder import dockerengine
    from plugin_builder.backends.transfer import fetch

    client = dockerengine.connect()
    found = dockerengine.image_or_none(client, image)
    if found is None:
        raise ImageError(f"image {image} of host.image is not on this engine",
                         fix=f"docker pull {image} (or load it), then run again")
    target = folder / digest(found.id, path_in_image)[:16] / os.path.basename(path_in_image)
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staged = target.with_name(f".{target.name}.part")
    container = client.containers.create(found.id, command=["/nonexistent"],
                                          labels=dockerengine.run_labels())
    try:
        if not fetch(container, Path(path_in_image), staged):
            raise ImageError(f"image {image} has no file {path_in_image} (host.image_binary)",
                             fix="name the host binary's path in the image, e.g. "
                                 "docker run --rm --entrypoint ls IMAGE -l /usr/bin")
    finally:
        container.remove(force=True)
    staged.chmod(0o755)
    staged.rename(target)
    return target
