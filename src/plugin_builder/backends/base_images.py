"""Step: base images without a registry (`invoke bootstrap-base`).

Where a registry can be reached, the config names pulled images (``golang:*``,
``debian:bookworm-slim``, ``alpine:*``). Where none can (air-gapped sites, this
project's CI) this step makes them: ``debootstrap --variant=minbase`` of a Debian suite
with gcc, libc6-dev and musl-tools, imported as the builder base of both libcs, and one
runtime base per libc built FROM scratch with only the loader and libc taken from it
(``images/runtime-<libc>.Dockerfile``). Names are fixed so the default config can point
at them: ``plugin-builder/bootstrap:<suite>`` and ``plugin-builder/runtime:<suite>-<libc>``.

Another arch of the matrix (arm64) adds the packages of its ``[libc.<name>.arch.<arch>]``
tables to the builder base: the cross compilers, and through dpkg multiarch the
packages of the other arch itself (``musl-dev:arm64``, installed in the debootstrapped
tree once debootstrap is done). Its runtime bases,
``plugin-builder/runtime:<suite>-<libc>-<arch>``, take that arch's loader and libc from
the builder base (``images/runtime-<libc>-<arch>.Dockerfile``) and carry the platform
``linux/<arch>``, so the service images built on them do too.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
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


def runtime_tag(config: Config, libc: str, arch: str = "amd64") -> str:
    suffix = "" if arch == "amd64" else f"-{arch}"
    return f"{RUNTIME_REPOSITORY}:{config.docker.bootstrap_suite}-{libc}{suffix}"


def runtime_recipes(config: Config) -> dict[tuple[str, str], Path]:
    """(libc, arch) -> the runtime Dockerfile images/ has for it: every libc of the config
    on amd64, and each (libc, arch) of another arch the matrix builds."""
    wanted = [(name, "amd64") for name in config.libcs]
    wanted += [(c.libc, c.arch) for c in config.matrix.combinations if c.arch != "amd64"]
    found = {key: engine.IMAGES / _runtime_dockerfile(*key) for key in dict.fromkeys(wanted)}
    return {key: path for key, path in found.items() if path.is_file()}


def _runtime_dockerfile(libc: str, arch: str) -> str:
    return f"runtime-{libc}.Dockerfile" if arch == "amd64" else f"runtime-{libc}-{arch}.Dockerfile"


def cross_packages(config: Config) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The packages the matrix's cross toolchains need in the builder base: (those of the
    base's own arch, which debootstrap installs; those of another arch, "musl-dev:arm64",
    installed through dpkg multiarch afterwards)."""
    own: list[str] = []
    other: list[str] = []
    for combination in config.matrix.combinations:
        entry = config.libcs[combination.libc].toolchain(combination.arch)
        for package in entry.packages if entry is not None else ():
            (other if ":" in package else own).append(package)
    return tuple(dict.fromkeys(own)), tuple(dict.fromkeys(other))


def bootstrap_base(config: Config, client: Any, log: Log, *,
                   force: bool = False) -> list[BaseImage]:
    """Make the builder base and the runtime bases, skipping those already up to date.
    One at a time on this machine (a lock in the toolchain cache): a second run, another
    project's say, waits and then finds them up to date instead of making them again."""
    from filelock import FileLock

    config.toolchain_cache.mkdir(parents=True, exist_ok=True)
    with FileLock(str(config.toolchain_cache / ".bootstrap-base.lock")):
        base = _debian(config, client, log, force)
        results = [base]
        bootstrap = client.images.get(base.tag)
        for (libc, arch), dockerfile in runtime_recipes(config).items():
            results.append(_runtime(config, client, libc, arch, dockerfile, bootstrap, log,
                                    force))
    return results


def _debian(config: Config, client: Any, log: Log, force: bool) -> BaseImage:
    tag = bootstrap_tag(config)
    cross = cross_packages(config)
    inputs = engine.digest(config.docker.bootstrap_suite, config.docker.bootstrap_mirror,
                           PACKAGES, _TRIMMED, *([cross] if any(cross) else []))
    if not force and engine.up_to_date(client, tag, inputs):
        log(f"up to date: {tag}")
        return BaseImage(tag, False)
    _require_debootstrap()
    with tempfile.TemporaryDirectory(prefix="plugin-builder-bootstrap-") as scratch:
        tree = Path(scratch) / "root"
        _debootstrap(config, tree, log, *cross)
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


def _debootstrap(config: Config, tree: Path, log: Log, own: tuple[str, ...] = (),
                 other: tuple[str, ...] = ()) -> None:
    suite, mirror = config.docker.bootstrap_suite, config.docker.bootstrap_mirror
    packages = (*PACKAGES, *own)
    log(f"debootstrap --variant=minbase {suite} (with {', '.join(packages)}); about a minute")
    _run(["debootstrap", "--variant=minbase", f"--include={','.join(packages)}", suite,
          str(tree), mirror], f"debootstrap {suite} from {mirror}")
    if other:
        _multiarch(tree, other, log)
    for relative in _TRIMMED:
        folder = tree / relative
        if folder.is_dir():
            shutil.rmtree(folder)
            folder.mkdir()


def _multiarch(tree: Path, packages: tuple[str, ...], log: Log) -> None:
    """Install packages of other archs ("musl-dev:arm64") in the debootstrapped tree:
    dpkg is told about each arch, apt reads its package lists from the same mirror."""
    arches = sorted({package.rsplit(":", 1)[1] for package in packages})
    log(f"installing {', '.join(packages)} through dpkg multiarch ({', '.join(arches)})")
    for arch in arches:
        _run(["chroot", str(tree), "dpkg", "--add-architecture", arch],
             f"dpkg --add-architecture {arch} in the builder base")
    _run(["chroot", str(tree), "apt-get", "update", "-qq"], "apt-get update in the builder base")
    _run(["chroot", str(tree), "env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "install",
          "-y", "-qq", "--no-install-recommends", *packages],
         f"apt-get install {' '.join(packages)} in the builder base")


def _run(argv: list[str], what: str) -> None:
    done = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          check=False)
    if done.returncode != 0:
        raise BuildError(what, done.stdout or f"exit code {done.returncode}")


def _runtime(config: Config, client: Any, libc: str, arch: str, dockerfile: Path,
             bootstrap: Any, log: Log, force: bool) -> BaseImage:
    tag = runtime_tag(config, libc, arch)
    text = dockerfile.read_bytes()
    inputs = engine.digest(text.decode(), bootstrap.id)
    if not force and engine.up_to_date(client, tag, inputs):
        log(f"up to date: {tag}")
        return BaseImage(tag, False)
    context = engine.context_tar({"Dockerfile": text})
    labels = {engine.INPUTS: inputs, f"{engine.LABEL}.libc": libc}
    if arch == "amd64":  # as before: the engine's own platform
        engine.build_image(client, context, tag=tag, what=f"runtime base {tag}",
                           buildargs={"BOOTSTRAP": bootstrap_tag(config)}, labels=labels,
                           log=log)
    else:
        # The files come from the builder base (of the engine's platform); the image is
        # of the arch's platform, and so is every service image built on it.
        engine.build_image(on_platform(client, f"linux/{arch}"), context, tag=tag,
                           what=f"runtime base {tag}",
                           buildargs={"BOOTSTRAP": bootstrap_tag(config),
                                      "BOOTSTRAP_PLATFORM": image_platform(bootstrap)},
                           labels={**labels, f"{engine.LABEL}.arch": arch}, log=log)
    log(f"built {tag}")
    return BaseImage(tag, True)


def image_platform(image: Any) -> str:
    """os/arch of an image, as the engine records it ("linux/arm64")."""
    attrs = image.attrs or {}
    return f"{attrs.get('Os') or 'linux'}/{attrs.get('Architecture') or 'amd64'}"


def on_platform(client: Any, platform: str) -> Any:
    """The client as ``dockerengine.build_image`` uses it, with each build for ``platform``
    (the engine's build API takes it; the legacy builder gives a FROM-scratch image that
    platform, and an image FROM it inherits it)."""
    return SimpleNamespace(images=client.images,
                           api=SimpleNamespace(build=functools.partial(client.api.build,
                                                                       platform=platform)))


def require_base(client: Any, name: str, key: str, *, platform: str | None = None) -> Any:
    """The base image `name` (from config key `key`): local, else pulled (for `platform`,
    the engine's own when None), else a clear error."""
    import docker

    image = engine.image_or_none(client, name)
    if image is not None:
        return image
    if not name.startswith(("plugin-builder/",)):  # ours are never in a registry
        try:
            return client.images.pull(name, platform=platform)
        except docker.errors.DockerException:
            pass
    raise ImageError(
        f"base image '{name}' ({key} in buildconfig.toml) is not on the engine and "
        f"cannot be pulled",
        fix="run `invoke bootstrap-base` to make plugin-builder/bootstrap:<suite> and "
            "plugin-builder/runtime:<suite>-<libc> locally and point the key at them, "
            "or make a registry reachable",
    )
