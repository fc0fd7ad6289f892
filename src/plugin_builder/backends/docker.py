"""The docker backend: the same build commands, run in a container of the builder image.

Steps hand this backend exactly the argv and environment they hand the local one; only
where the command runs differs. Paths are identical inside and outside, and nothing of
this machine is mounted, so the engine may be another machine's (``DOCKER_HOST``):
each command's container receives the project (and any source outside it) and the
combination's scratch folder at their own absolute paths, and the files the command
writes come back as archives (:mod:`.transfer`), landed through ArtifactStore's atomic
rename on this machine. GOCACHE and GOMODCACHE are named volumes per combination on the
engine, so a rebuild is warm. The container runs as the invoking uid:gid, carries the
labels of this run (:func:`dockerengine.run_labels`), streams its log live and is
removed whatever happens.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from plugin_builder import dockerengine as engine
from plugin_builder import sharedcache
from plugin_builder.artifacts import SCRATCH
from plugin_builder.backends import PlannedEnvironment, RunResult, builder_image
from plugin_builder.backends.transfer import Upload, fetch
from plugin_builder.combination import Combination
from plugin_builder.config import Config
from plugin_builder.errors import ToolchainError
from plugin_builder.golang import quoted
from plugin_builder.golang.goenv import MODULE_FETCH_ENV
from plugin_builder.log import Log

if TYPE_CHECKING:
    from plugin_builder.sharedcache import LinkCache

# The machine's CA bundle is copied here, so `go mod download` in the container trusts
# the roots this machine trusts (a TLS-inspecting proxy's CA included).
CA_BUNDLE = "/etc/plugin-builder/ca-certificates.crt"
_PATH = "/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def cache_volume(kind: str, combination: Combination) -> str:
    """The cache volume of a combination, one per user: builds run as the invoking
    uid, and a cache another uid filled (root's, through sudo) is not writable to it."""
    uid = os.getuid()
    return f"plugin-builder-{kind}-{combination.id}" + (f"-uid{uid}" if uid else "")


@dataclass
class DockerEnvironment:
    combination: Combination
    client: Any
    image: Any  # the builder image
    upload: Upload  # what every command's container receives
    cc: str
    go: str = builder_image.GO
    cache_volumes: bool = True  # False: a cold, Dragonfly-style run (benchmarks)
    ca_bundle: bool = False  # the machine's CA bundle is at CA_BUNDLE in the container
    identity: Mapping[str, str] = field(default_factory=dict)
    cache_prog: str = ""  # GOCACHEPROG of every go command, as the image runs it
    link_cache: LinkCache | None = None

    def base_env(self) -> dict[str, str]:
        return container_env(ca_bundle=self.ca_bundle, cache_prog=self.cache_prog)

    def run(self, argv: Sequence[str], *, cwd: Path, env: Mapping[str, str],
            on_stderr: Callable[[str], None] | None = None,
            outputs: Sequence[Path] = ()) -> RunResult:
        # A label of this container alone finds it even when Ctrl-C lands while the
        # engine is still creating it and we never got its id.
        mine = uuid.uuid4().hex
        upload = replace(self.upload, folders=tuple(dict.fromkeys(p.parent for p in outputs)))
        try:
            container = self.client.containers.create(
                self.image.id, command=list(argv), working_dir=str(cwd), environment=dict(env),
                user=f"{os.getuid()}:{os.getgid()}", mounts=self._cache_mounts(),
                labels={**engine.run_labels(), engine.CONTAINER_LABEL: mine,
                        f"{engine.LABEL}.combination": self.combination.id},
                detach=True)
            with upload.archive() as archive:
                container.put_archive("/", archive)
            container.start()
            said = "".join(_stderr_lines(container, on_stderr))
            status = container.wait().get("StatusCode", 1)
            # What the command printed for machines, whole and apart from stderr, once
            # it has ended: a stream interleaves and splits lines.
            stdout = container.logs(stdout=True, stderr=False).decode(errors="replace")
            for path in outputs if status == 0 else ():
                fetch(container, path)
        finally:
            # On success, failure and Ctrl-C alike: no container of ours is left behind.
            for leftover in engine.managed_containers(self.client,
                                                      [f"{engine.CONTAINER_LABEL}={mine}"]):
                leftover.remove(force=True)
        return RunResult(status, stdout, said)

    def _cache_mounts(self) -> list[Any]:
        from docker.types import Mount

        if not self.cache_volumes:
            return []
        return [Mount(builder_image.GOCACHE, cache_volume("gocache", self.combination)),
                Mount(builder_image.GOMODCACHE, cache_volume("gomodcache", self.combination))]


def container_env(*, ca_bundle: bool, cache_prog: str = "") -> dict[str, str]:
    """The environment a go command starts from in a builder container."""
    env = {"PATH": _PATH, "HOME": builder_image.HOME, "GOCACHE": builder_image.GOCACHE,
           "GOMODCACHE": builder_image.GOMODCACHE, "GOPATH": f"{builder_image.HOME}/go",
           "GOTOOLCHAIN": "local", "GOENV": "off"}
    env.update({k: os.environ[k] for k in MODULE_FETCH_ENV if k in os.environ})
    if ca_bundle:
        env["SSL_CERT_FILE"] = CA_BUNDLE
    if cache_prog:
        env["GOCACHEPROG"] = cache_prog
        # go-cacher keeps its local copies under the user cache folder: on the GOCACHE
        # volume they outlive the container, as Go's own cache does without a program.
        env["XDG_CACHE_HOME"] = f"{builder_image.GOCACHE}/xdg"
    return env


def _stderr_lines(container: Any, on_line: Callable[[str], None] | None) -> Iterator[str]:
    """The container's stderr, line by line as it comes, each handed to ``on_line``."""
    pending = b""
    for chunk in container.logs(stream=True, follow=True, stdout=False, stderr=True):
        pending += chunk
        *lines, pending = pending.split(b"\n")
        for raw in lines:
            yield _seen(raw, on_line)
    if pending:
        yield _seen(pending, on_line)


def _seen(raw: bytes, on_line: Callable[[str], None] | None) -> str:
    line = raw.decode(errors="replace")
    if on_line is not None:
        on_line(line)
    return line + "\n"


class DockerBackend:
    name = "docker"
    prepare_step = "builder-image"
    makes_images = True

    def __init__(self, config: Config, *, cache_volumes: bool = True) -> None:
        self.config = config
        self.cache_volumes = cache_volumes
        self._client: Any = None
        self._swept = False

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = engine.connect()
        return self._client

    def prepare(self, combination: Combination, log: Log) -> DockerEnvironment:
        """The builder image of the combination (built when out of date), and what each
        command's container receives."""
        if not self._swept:  # containers a SIGKILLed run of ours left behind
            engine.remove_orphans(self.client, log)
            self._swept = True
        libc = self.config.libcs[combination.libc]
        if libc.glibc_floor:
            raise ToolchainError(
                f"libc.{libc.name}.glibc_floor is built with zig cc, which builder images "
                "do not hold yet",
                fix=f"build {combination.id} with the local backend (--backend local)")
        image = builder_image.ensure_builder_image(self.config, self.client, combination, log)
        ca = _machine_ca_bundle()
        cache = _shared_cache(self.config, combination, log)
        return DockerEnvironment(
            combination=combination, client=self.client, image=image,
            upload=self._upload(combination, ca), cc=libc.cc_for(combination.arch),
            cache_volumes=self.cache_volumes, ca_bundle=ca is not None,
            identity={"go": f"go{combination.go}", "cc": libc.cc_for(combination.arch),
                      "builder_image": image.id},
            cache_prog=quoted.join(sharedcache.words(self.config)) if cache else "",
            link_cache=sharedcache.LinkCache.of(self.config, cache),
        )

    def plan(self, combination: Combination, log: Log) -> PlannedEnvironment:
        """The builder image a build would run in, if it is up to date; nothing is built,
        provisioned or run (a container would write to the cache volumes)."""
        image = builder_image.planned_builder_image(self.config, self.client, combination, log)
        cc = self.config.libcs[combination.libc].cc_for(combination.arch)
        identity = {"go": f"go{combination.go}", "cc": cc,
                    "builder_image": image.id if image is not None else ""}
        first = "" if image is not None else \
            f"the builder image {self.config.docker.builder_tag(combination)} is built first"
        return PlannedEnvironment(combination, builder_image.GO, cc, identity, first,
                                  identity_known=image is not None,
                                  env=container_env(ca_bundle=_machine_ca_bundle() is not None))

    def _upload(self, combination: Combination, ca: Path | None) -> Upload:
        """The project and any source folder outside it (allow_outside_paths) less the
        tool's own outputs, the combination's scratch folder, and the CA bundle."""
        root = self.config.root.resolve()
        others = [p for p in (self.config.host.module, self.config.host.binary,
                              self.config.host.recipe) if p is not None]
        others += [p.source for p in self.config.plugins]
        outside = {p.resolve() for p in others if not p.resolve().is_relative_to(root)}
        apart = (self.config.artifacts, self.config.results, self.config.toolchain_cache)
        return Upload(sources=(root, *sorted(outside)),
                      apart=tuple(p.resolve() for p in apart),
                      copied=((self.config.artifact_dir(combination) / SCRATCH).resolve(),),
                      files=((ca, CA_BUNDLE),) if ca is not None else ())


def _shared_cache(config: Config, combination: Combination, log: Log) -> list[str]:
    """The cache program as this machine runs it (for linked artifacts), or [] when the
    combination has no shared cache. Containers run it as [cache] prog names it."""
    if not sharedcache.applies(config, combination):
        return []
    from plugin_builder.golang.toolchains import go_toolchain

    toolchain = go_toolchain(combination.go, config.toolchain_cache, log=log)
    return sharedcache.local_words(config, toolchain, log)


def _machine_ca_bundle() -> Path | None:
    """The CA bundle this machine's TLS clients use (SSL_CERT_FILE, else Debian's)."""
    for candidate in (os.environ.get("SSL_CERT_FILE"), "/etc/ssl/certs/ca-certificates.crt"):
        if candidate and Path(candidate).is_file():
            return Path(candidate).resolve()
    return None
