"""The Docker engine, as every docker-using step sees it.

One place connects (``DOCKER_HOST``, else the current docker context, else the local
socket), turns an unreachable engine into one message saying how to start it, streams
image builds, and names the labels every image and container of ours carries, so
``docker ps -a --filter label=dev.plugin-builder.managed`` finds all of them. A
container also carries its run (``dev.plugin-builder.run=<id>``: one id per process, or
``$PLUGIN_BUILDER_RUN_ID``) and its owner (host, pid and the pid's start time), so an
engine shared by many runs and machines is cleaned of a killed run's containers only.
"""

from __future__ import annotations

import functools
import io
import logging
import os
import socket
import tarfile
import uuid
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from plugin_builder.errors import BuildError, EngineError
from plugin_builder.files import digest, process_alive  # noqa: F401  (digest: image inputs)
from plugin_builder.log import Log

LABEL = "dev.plugin-builder"
MANAGED = f"{LABEL}.managed"  # on every container and image we create
INPUTS = f"{LABEL}.inputs"  # digest of what an image was built from: equal means up to date
# Labels of service images, which `verify --image` reads to know what the image ships.
PLUGINS_LABEL = f"{LABEL}.plugins"  # JSON: [{"type", "name", "path"}]
BINARY_LABEL = f"{LABEL}.binary"
HEALTHCHECK_LABEL = f"{LABEL}.healthcheck"  # JSON argv, "[]" when none
CHECK_LABEL = f"{LABEL}.check"  # JSON argv template of the service's plugin check
RUN_LABEL = f"{LABEL}.run"  # on our containers: the run that made it
CONTAINER_LABEL = f"{LABEL}.container"  # on our build containers: that one container
# Who made a container: a later run removes it once that process is gone.
OWNER_HOST, OWNER_PID = f"{LABEL}.owner.host", f"{LABEL}.owner.pid"
OWNER_STARTED = f"{LABEL}.owner.started"  # the pid's start time: a reused pid is not it
RUN_ID_ENV = "PLUGIN_BUILDER_RUN_ID"
# The Dockerfiles, shipped inside the package (in the wheel and in an editable install).
IMAGES = Path(__file__).resolve().parent / "images"


def _quiet_libraries() -> None:
    """docker-py and urllib3 log every request at DEBUG; a host process that logs DEBUG
    (nox does) would print them all. Their warnings still show."""
    for name in ("docker", "urllib3"):
        logging.getLogger(name).setLevel(logging.WARNING)


def connect() -> Any:
    """A docker client for the engine DOCKER_HOST or the docker context names."""
    _quiet_libraries()
    try:
        import docker  # imported here: the local backend never needs it
    except ModuleNotFoundError:
        raise EngineError("the docker backend needs the Python package 'docker', which is "
                          "not installed", fix="pip install 'plugin-builder[docker]'") from None

    where = os.environ.get("DOCKER_HOST") or _context_host() or "unix:///var/run/docker.sock"
    try:
        # ssh://: through this machine's ssh client (its config, agent and known hosts),
        # not paramiko, which the docker package does not install.
        ssh = where.startswith("ssh://")
        if os.environ.get("DOCKER_HOST") or where.startswith("unix:///var/run/"):
            client = docker.from_env(use_ssh_client=ssh)
        else:
            client = docker.DockerClient(base_url=where, use_ssh_client=ssh)
        client.ping()
    except Exception as error:  # docker raises DockerException, requests' errors, OSError
        raise EngineError(
            f"cannot reach the Docker engine at {where} ({_short(error)})",
            fix="start it (`sudo systemctl start docker`, or `sudo dockerd &` where there is "
                "no systemd), or point DOCKER_HOST / `docker context use` at a running engine",
        ) from None
    return client


def _context_host() -> str | None:
    """The endpoint of the current docker context, when it is not the default one."""
    try:
        from docker.context import ContextAPI

        context = ContextAPI.get_current_context()
        return context.Host if context and context.name != "default" else None
    except Exception:  # an unreadable ~/.docker/config.json: fall back to the socket
        return None


def _short(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[-1][:200] if text else type(error).__name__


def image_or_none(client: Any, name: str) -> Any:
    import docker

    try:
        return client.images.get(name)
    except docker.errors.ImageNotFound:
        return None
    except docker.errors.APIError as error:
        raise EngineError(f"asking the engine for image {name}: {_short(error)}") from None


def up_to_date(client: Any, tag: str, inputs: str) -> Any:
    """The image tagged `tag` when it was built from exactly these inputs, else None."""
    image = image_or_none(client, tag)
    if image is not None and (image.labels or {}).get(INPUTS) == inputs:
        return image
    return None


def context_tar(files: Mapping[str, bytes | Path], trees: Mapping[str, Path] | None = None,
                target: io.BufferedIOBase | None = None) -> io.BufferedIOBase:
    """A build context: named files (bytes or paths; "name/" a folder) and trees, as one tar."""
    stream = target if target is not None else io.BytesIO()
    with tarfile.open(fileobj=stream, mode="w") as tar:
        for name, content in files.items():
            if name.endswith("/"):  # a folder that must exist even when empty
                info = tarfile.TarInfo(name.rstrip("/"))
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                tar.addfile(info)
            elif isinstance(content, Path):
                tar.add(str(content), arcname=name, recursive=False)
            else:
                info = tarfile.TarInfo(name)
                info.size, info.mode = len(content), 0o644
                tar.addfile(info, io.BytesIO(content))
        for name, folder in (trees or {}).items():
            tar.add(str(folder), arcname=name)
    stream.seek(0)
    return stream


def build_image(client: Any, context: io.BufferedIOBase, *, tag: str, what: str,
                buildargs: Mapping[str, str], labels: Mapping[str, str], log: Log) -> Any:
    """Build and tag an image, streaming its log; raise BuildError (and tag nothing) on failure.

    The legacy builder tags only after the last step succeeded, so a failed build
    leaves the previous image under the tag, and intermediate containers are removed
    (forcerm) whatever happens.
    """
    import docker

    output: list[str] = []
    image_id = None
    try:
        for chunk in client.api.build(fileobj=context, custom_context=True, tag=tag,
                                      buildargs=dict(buildargs), labels={**labels, MANAGED: "true"},
                                      rm=True, forcerm=True, pull=False, decode=True):
            image_id = _follow(chunk, output, log) or image_id
    except _BuildFailed as failed:
        raise BuildError(f"building {what}", "\n".join(output[-40:] + [str(failed)])) from None
    except docker.errors.APIError as error:
        raise BuildError(f"building {what}", "\n".join(output + [_short(error)])) from None
    if image_id is None:
        raise BuildError(f"building {what}", "\n".join(output) or "the engine returned no image")
    return client.images.get(tag)


class _BuildFailed(Exception):
    """The engine reported errorDetail: the build failed and nothing was tagged."""


def _follow(chunk: Mapping[str, Any], output: list[str], log: Log) -> str | None:
    """Log one decoded build message; return the image id once the build reports it."""
    if "errorDetail" in chunk or "error" in chunk:
        message = (chunk.get("errorDetail") or {}).get("message") or chunk.get("error", "")
        raise _BuildFailed(message)
    text = chunk.get("stream", "")
    for line in text.rstrip("\n").splitlines():
        if line.strip():
            output.append(line)
            log(line)
    aux = chunk.get("aux") or {}
    return aux.get("ID")


@functools.cache
def run_id() -> str:
    """This run's id: $PLUGIN_BUILDER_RUN_ID (a test or CI job naming its run), else one
    made for this process."""
    return os.environ.get(RUN_ID_ENV, "").strip() or uuid.uuid4().hex


def run_labels() -> dict[str, str]:
    """The labels of a container of this run: ours, which run, and who runs it."""
    pid = os.getpid()
    return {MANAGED: "true", RUN_LABEL: run_id(), OWNER_HOST: socket.gethostname(),
            OWNER_PID: str(pid), OWNER_STARTED: _started(pid)}


def remove_orphans(client: Any, log: Log) -> int:
    """Remove the containers of runs on this machine whose process is gone (a SIGKILLed
    build): never another machine's, never a live run's."""
    removed = 0
    for container in managed_containers(client, [f"{OWNER_HOST}={socket.gethostname()}"]):
        labels = container.labels or {}
        pid = labels.get(OWNER_PID, "")
        if pid.isdigit() and not _owner_alive(int(pid), labels.get(OWNER_STARTED, "")):
            log(f"removing container {container.short_id} left by a killed run (pid {pid})")
            container.remove(force=True)
            removed += 1
    return removed


def _owner_alive(pid: int, started: str) -> bool:
    """The process that made a container still runs: the pid is alive and (when recorded)
    started when it did then."""
    if not process_alive(pid):
        return False
    now = _started(pid)
    return not (started and now) or started == now


def _started(pid: int) -> str:
    """When the process started, in clock ticks since boot (/proc's stat); "" unknown."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    fields = stat[stat.rfind(")") + 2:].split()  # after "(comm)", which may hold spaces
    return fields[19] if len(fields) > 19 else ""


def managed_containers(client: Any, extra: Iterable[str] = ()) -> list[Any]:
    """Every container of ours, running or not (what `docker ps -a` would list)."""
    filters = {"label": [f"{MANAGED}=true", *extra]}
    return client.containers.list(all=True, filters=filters)
