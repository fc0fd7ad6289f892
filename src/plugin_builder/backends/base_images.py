"""Step: base images without a registry (`invoke bootstrap-base`).

Where a registry can be reached, the config names pulled images (``golang:*``,
``debian:bookworm-slim``, ``alpine:*``). Where none can (air-gapped sites, this
project's CI) this step makes them: ``debootstrap --variant=minbase`` of a Debian suite
with gcc, libc6-dev and musl-tools, imported as the builder base of both libcs, and one
runtime base per libc built FROM scratch with only the loader and libc taken from it
(``images/runtime-<libc>.Dockerfile``). Names are fixed so the default config can point
at them: ``plugin-builder/bootstrap:<suite>`` and ``plugin-builder/runtime:<suite>-<libc>``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from plugin_builder import dockerengine as engine
from plugin_builder.config import Config
from plugin_builder.errors import BuildError, ImageError, ToolchainError
from plugin_builder.log import Log

BOOTSTRAP_REPOSITORY = "plugin-builder/bootstrap"
RUNTIME_REPOSITORY = "plugin-builder/runtime"
# What builds need in the builder base: both libcs' C toolchains and TLS roots for `go mod`.
PACKAGES = ("gcc", "libc6-dev", "musl-tools", "ca-certificates")
# Never read by a build; removing them makes the imported layer half as big.
_TRIMMED = ("var/cache/apt/archives", "var/lib/apt/lists", "usr/share/doc", "usr/share/man",
            "usr/share/locale", "usr/share/info")


@dataclass(frozen=True)
class BaseImage:
    tag: str
    built: bool  # False: it was up to date


def bootstrap_tag(config: Config) -> str:
    return f"{BOOTSTRAP_REPOSITORY}:{config.docker.bootstrap_suite}"


def runtime_tag(config: Config, libc: str) -> str:
    return f"{RUNTIME_REPOSITORY}:{config.docker.bootstrap_suite}-{libc}"


def runtime_recipes(config: Config) -> dict[str, Path]:
    """The libcs of the config that images/ has a runtime Dockerfile for."""
    found = {name: engine.IMAGES / f"runtime-{name}.Dockerfile" for name in config.libcs}
    return {name: path for name, path in found.items() if path.is_file()}


def bootstrap_base(config: Config, client: Any, log: Log, *,
                   force: bool = False) -> list[BaseImage]:
    """Make the builder base and the runtime bases, skipping those already up to date."""
    base = _debian(config, client, log, force)
    results = [base]
    bootstrap_id = client.images.get(base.tag).id
    for libc, dockerfile in runtime_recipes(config).items():
        results.append(_runtime(config, client, libc, dockerfile, bootstrap_id, log, force))
    return results


def _debian(config: Config, client: Any, log: Log, force: bool) -> BaseImage:
    tag = bootstrap_tag(config)
    inputs = engine.digest(config.docker.bootstrap_suite, config.docker.bootstrap_mirror,
                           PACKAGES, _TRIMMED)
    if not force and engine.up_to_date(client, tag, inputs):
        log(f"up to date: {tag}")
        return BaseImage(tag, False)
    _require_debootstrap()
    with tempfile.TemporaryDirectory(prefix="plugin-builder-bootstrap-") as scratch:
        tree = Path(scratch) / "root"
        _debootstrap(config, tree, log)
        archive = Path(scratch) / "root.tar"
        _run(["tar", "--numeric-owner", "-C", str(tree), "-cf", str(archive), "."], "tar")
        log(f"importing {tag}")
        client.api.import_image_from_file(
            str(archive), repository=tag.split(":")[0], tag=tag.split(":")[1],
            changes=[f"LABEL {engine.INPUTS}={inputs} {engine.MANAGED}=true",
                     "CMD [\"/bin/bash\"]"])
    log(f"built {tag}")
    return BaseImage(tag, True)


def _require_debootstrap() -> None:
    if shutil.which("debootstrap") is None:
        raise ToolchainError("debootstrap is not installed: bootstrap-base needs it",
                             fix="apt-get install debootstrap")
    if os.geteuid() != 0:
        raise ToolchainError("debootstrap must run as root to make a base image",
                             fix="run `sudo invoke bootstrap-base`, or pull the images the "
                                 "config names from a registry instead")


def _debootstrap(config: Config, tree: Path, log: Log) -> None:
    suite, mirror = config.docker.bootstrap_suite, config.docker.bootstrap_mirror
    log(f"debootstrap --variant=minbase {suite} (with {', '.join(PACKAGES)}); about a minute")
    _run(["debootstrap", "--variant=minbase", f"--include={','.join(PACKAGES)}", suite,
          str(tree), mirror], f"debootstrap {suite} from {mirror}")
    for relative in _TRIMMED:
        folder = tree / relative
        if folder.is_dir():
            shutil.rmtree(folder)
            folder.mkdir()


def _run(argv: list[str], what: str) -> None:
    done = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          check=False)
    if done.returncode != 0:
        raise BuildError(what, done.stdout or f"exit code {done.returncode}")


def _runtime(config: Config, client: Any, libc: str, dockerfile: Path, bootstrap_id: str,
             log: Log, force: bool) -> BaseImage:
    tag = runtime_tag(config, libc)
    text = dockerfile.read_bytes()
    inputs = engine.digest(text.decode(), bootstrap_id)
    if not force and engine.up_to_date(client, tag, inputs):
        log(f"up to date: {tag}")
        return BaseImage(tag, False)
    context = engine.context_tar({"Dockerfile": text})
    engine.build_image(client, context, tag=tag, what=f"runtime base {tag}",
                       buildargs={"BOOTSTRAP": bootstrap_tag(config)},
                       labels={engine.INPUTS: inputs, f"{engine.LABEL}.libc": libc}, log=log)
    log(f"built {tag}")
    return BaseImage(tag, True)


def require_base(client: Any, name: str, key: str) -> Any:
    """The base image `name` (from config key `key`): local, else pulled, else a clear error."""
    import docker

    image = engine.image_or_none(client, name)
    if image is not None:
        return image
    if not name.startswith(("plugin-builder/",)):  # ours are never in a registry
        try:
            return client.images.pull(name)
        except docker.errors.DockerException:
            pass
    raise ImageError(
        f"base image '{name}' ({key} in buildconfig.toml) is not on the engine and "
        f"cannot be pulled",
        fix="run `invoke bootstrap-base` to make plugin-builder/bootstrap:<suite> and "
            "plugin-builder/runtime:<suite>-<libc> locally and point the key at them, "
            "or make a registry reachable",
    )
