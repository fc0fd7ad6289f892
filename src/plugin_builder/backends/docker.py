"""The docker backend: the same build commands, run in a container of the builder image.

Steps hand this backend exactly the argv and environment they hand the local one; only
where the command runs differs. Paths are identical inside and outside: the project
(and any source outside it) is mounted read-only at its own absolute path, and the
combination's artifact folder read-write at its own, so the generated go.work, the cwd
and the staging path of an artifact mean the same thing on both sides, and artifacts
still land through ArtifactStore's atomic rename, on this machine. GOCACHE and
GOMODCACHE are named volumes per combination, so a rebuild is warm. The container runs
as the invoking uid:gid, streams its log live and is removed whatever happens.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from plugin_builder import dockerengine as engine
from plugin_builder.backends import PlannedEnvironment, RunResult, builder_image
from plugin_builder.combination import Combination
from plugin_builder.config import Config
from plugin_builder.golang.goenv import MODULE_FETCH_ENV
from plugin_builder.log import Log

# The machine's CA bundle is mounted here, so `go mod download` in the container trusts
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
    mounts: list[Any]  # docker.types.Mount: sources and the artifact folder
    cc: str
    go: str = builder_image.GO
    cache_volumes: bool = True  # False: a cold, Dragonfly-style run (benchmarks)
    ca_bundle: bool = False  # the machine's CA bundle is mounted at CA_BUNDLE
    identity: Mapping[str, str] = field(default_factory=dict)

    def base_env(self) -> dict[str, str]:
        return container_env(ca_bundle=self.ca_bundle)

    def run(self, argv: Sequence[str], *, cwd: Path, env: Mapping[str, str],
            on_stderr: Callable[[str], None] | None = None) -> RunResult:
        # A label unique to this run finds the container even when Ctrl-C lands while
        # the engine is still creating it and we never got its id.
        run_label = f"{engine.LABEL}.run={uuid.uuid4().hex}"
        try:
            container = self.client.containers.create(
                self.image.id, command=list(argv), working_dir=str(cwd), environment=dict(env),
                user=f"{os.getuid()}:{os.getgid()}", mounts=self.mounts + self._cache_mounts(),
                labels=dict([run_label.split("=", 1)], **{
                    engine.MANAGED: "true", f"{engine.LABEL}.combination": self.combination.id},
                    **engine.owner_labels()),
                detach=True)
            container.start()
            said = "".join(_stderr_lines(container, on_stderr))
            status = container.wait().get("StatusCode", 1)
            # What the command printed for machines, whole and apart from stderr, once
            # it has ended: a stream interleaves and splits lines.
            stdout = container.logs(stdout=True, stderr=False).decode(errors="replace")
        finally:
            # On success, failure and Ctrl-C alike: no container of ours is left behind.
            for leftover in engine.managed_containers(self.client, [run_label]):
                leftover.remove(force=True)
        return RunResult(status, stdout, said)

    def _cache_mounts(self) -> list[Any]:
        from docker.types import Mount

        if not self.cache_volumes:
            return []
        return [Mount(builder_image.GOCACHE, cache_volume("gocache", self.combination)),
                Mount(builder_image.GOMODCACHE, cache_volume("gomodcache", self.combination))]


def container_env(*, ca_bundle: bool) -> dict[str, str]:
    """The environment a go command starts from in a builder container."""
    env = {"PATH": _PATH, "HOME": builder_image.HOME, "GOCACHE": builder_image.GOCACHE,
           "GOMODCACHE": builder_image.GOMODCACHE, "GOPATH": f"{builder_image.HOME}/go",
           "GOTOOLCHAIN": "local", "GOENV": "off"}
    env.update({k: os.environ[k] for k in MODULE_FETCH_ENV if k in os.environ})
    if ca_bundle:
        env["SSL_CERT_FILE"] = CA_BUNDLE
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
        """The builder image of the combination (built when out of date), and the mounts."""
        if not self._swept:  # containers a SIGKILLed run of ours left behind
            engine.remove_orphans(self.client, log)
            self._swept = True
        image = builder_image.ensure_builder_image(self.config, self.client, combination, log)
        libc = self.config.libcs[combination.libc]
        mounts = self._mounts(combination)
        ca = _machine_ca_bundle()
        if ca is not None:
            mounts.append(_bind(ca, CA_BUNDLE, read_only=True))
        return DockerEnvironment(
            combination=combination, client=self.client, image=image,
            mounts=mounts, cc=libc.cc_for(combination.arch),
            cache_volumes=self.cache_volumes, ca_bundle=ca is not None,
            identity={"go": f"go{combination.go}", "cc": libc.cc_for(combination.arch),
                      "builder_image": image.id},
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

    def _mounts(self, combination: Combination) -> list[Any]:
        artifacts = self.config.artifact_dir(combination)
        artifacts.mkdir(parents=True, exist_ok=True)
        mounts = [_bind(path, path, read_only=True) for path in self._source_roots()]
        # Mounted on top of the read-only project: the only place a build writes.
        mounts.append(_bind(artifacts, artifacts, read_only=False))
        return mounts

    def _source_roots(self) -> list[Path]:
        """The project, plus any source folder outside it (allow_outside_paths)."""
        root = self.config.root.resolve()
        others = [self.config.host.module, *(p.source for p in self.config.plugins)]
        outside = {p.resolve() for p in others if not p.resolve().is_relative_to(root)}
        return [root, *sorted(outside)]


def _bind(source: Path, target: Path | str, *, read_only: bool) -> Any:
    from docker.types import Mount

    return Mount(str(target), str(source), type="bind", read_only=read_only)


def _machine_ca_bundle() -> Path | None:
    """The CA bundle this machine's TLS clients use (SSL_CERT_FILE, else Debian's)."""
    for candidate in (os.environ.get("SSL_CERT_FILE"), "/etc/ssl/certs/ca-certificates.crt"):
        if candidate and Path(candidate).is_file():
            return Path(candidate).resolve()
    return None
