"""Verify a service image: run it, and prove every plugin it ships loaded inside it; or
a released host's own image (``host.image``): load each plugin built for it there.

The image's labels (written by steps.service_image) say which plugins it ships, where
its binary is and how to probe it. The container runs the service as it would in
production; ``/healthz`` (probed from inside the container, so a remote engine works
too) must list every shipped plugin, and the service's own check command must load
each one. A service that exits (a plugin failed to load) fails with its log. The
container is removed whatever happens.

An image of another platform (``linux/arm64`` on an amd64 engine) runs through the
emulator: this machine's static ``qemu-aarch64-static`` is mounted into the container
and runs the entrypoint and every probe, with the image's own loader and libc (its
root is the library prefix). A remote engine, or one without that program here, runs
the image as it is, which works where the engine's kernel has the emulator registered.

A released host's image ships no plugin and carries none of our labels: each plugin is
copied into a container of it, created for that one check, where the host's own check
command loads it with the image's binary, loader and libc (:func:`verify_in_host_image`).
"""

from __future__ import annotations

import io
import json
import tarfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from plugin_builder import dockerengine as engine
from plugin_builder import emulation
from plugin_builder.config import check_argv
from plugin_builder.errors import ImageError, VerifyError
from plugin_builder.log import Log

TIMEOUT_S = 60.0
_POLL_S = 0.5
EMULATOR_IN_IMAGE = "/usr/local/libexec/plugin-builder/{program}"  # where qemu is mounted


@dataclass
class PluginCheck:
    type: str
    name: str
    path: str
    listed: bool = False  # /healthz lists it: the service loaded it at start
    checked: bool = False  # the service's check command loaded it again
    output: str = ""


@dataclass
class ImageReport:
    image: str
    plugins: list[PluginCheck] = field(default_factory=list)
    problem: str = ""  # why the image failed, beyond individual plugins
    log: str = ""  # the container's log, kept when it failed
    fix: str = ""  # what to do when it failed, when not rebuilding a service image

    @property
    def ok(self) -> bool:
        return not self.problem and all(p.listed and p.checked for p in self.plugins)

    def summary(self) -> str:
        lines = [f"{'ok' if self.ok else 'FAILED'}: {self.image} "
                 f"({len(self.plugins)} plugin(s))"]
        lines += [f"  {'ok' if p.listed and p.checked else 'FAILED'} {p.type}/{p.name} "
                  f"{p.path}" + (f": {p.output.strip()}" if p.output.strip() and not p.checked
                                 else "")
                  for p in self.plugins]
        if self.problem:
            lines.append(f"  {self.problem}")
        if self.log and not self.ok:
            lines += ["  container log:", *("    " + line for line in self.log.splitlines()[-30:])]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {"image": self.image, "ok": self.ok, "problem": self.problem,
                "plugins": [vars(p) for p in self.plugins]}


def verify_image(client: Any, tag: str, log: Log, *, timeout: float = TIMEOUT_S) -> ImageReport:
    image = _image(client, tag)
    labels = image.labels or {}
    if engine.PLUGINS_LABEL not in labels:
        raise ImageError(f"{tag} is not a service image of plugin-builder "
                         f"(it has no {engine.PLUGINS_LABEL} label)",
                         fix="build it with `invoke build-service-image`; a released host's "
                             "image is verified when the config names it (host.image)")
    shipped = json.loads(labels[engine.PLUGINS_LABEL])
    report = ImageReport(tag, [PluginCheck(**plugin) for plugin in shipped])
    emulator = _emulator(client, image, tag, log)
    container = client.containers.run(image.id, detach=True,
                                      labels={**engine.run_labels(),
                                              f"{engine.LABEL}.verify": tag},
                                      **(emulator.run_options(image) if emulator else {}))
    try:
        log(f"started {container.short_id} from {tag}")
        if _wait_listed(container, labels, report, timeout, emulator):
            _check_each(container, labels, report, emulator)
        if not report.ok:
            report.log = container.logs().decode(errors="replace")
    finally:
        container.remove(force=True)
    log(("verified " if report.ok else "FAILED ") + tag)
    return report


# Where a plugin is copied into a container of a released host's image.
PLUGIN_DIR_IN_IMAGE = "/plugin-builder/plugins"
RELEASED_FIX = ("read each plugin's check output above: it ran in a container of the "
                "image, with the image's own binary, loader and libc (`exec BINARY: no such "
                "file or directory` of a binary the image has: the image lacks its ELF "
                "interpreter, `plugin-builder recipe --image` names it)")


@dataclass(frozen=True)
class HostImagePlugin:
    """One plugin to load in a released host's image: built here, checked there."""

    check: PluginCheck  # its path is the one in the container
    local: Path
    command: tuple[str, ...]  # the check command's template ({binary}, {plugin})


def verify_in_host_image(client: Any, tag: str, binary: str, plugins: Sequence[HostImagePlugin],
                         log: Log, *, timeout: float = TIMEOUT_S) -> ImageReport:
    """Load each plugin with its check command in a container of the released host's
    image ``tag`` (its binary at ``binary``); every container is removed."""
    image = _image(client, tag)
    if _emulator(client, image, tag, log) is not None:
        raise ImageError(f"{tag} is not of the engine's platform: a released host's image "
                         "is verified on an engine of its own platform only",
                         fix="verify it on a machine of the image's arch, or give the "
                             "binary (host.binary) and verify without --image")
    report = ImageReport(tag, [plugin.check for plugin in plugins], fix=RELEASED_FIX)
    for plugin in plugins:
        plugin.check.listed = True  # no service runs: its check command is the whole proof
        argv = check_argv(plugin.command, binary, plugin.check.path)
        _check_in_container(client, image, tag, plugin, argv, timeout)
        log(f"{'loaded' if plugin.check.checked else 'REFUSED'} {plugin.check.path} in a "
            f"container of {tag}")
    return report


def _check_in_container(client: Any, image: Any, tag: str, plugin: HostImagePlugin,
                        argv: list[str], timeout: float) -> None:
    """Run ``argv`` once in a fresh container of ``image`` holding the plugin."""
    import docker
    import requests

    container = client.containers.create(
        image.id, entrypoint=argv[:1], command=argv[1:],
        labels={**engine.run_labels(), f"{engine.LABEL}.verify": tag})
    try:
        container.put_archive("/", _plugin_archive(plugin.local, plugin.check.path))
        container.start()
        code = container.wait(timeout=timeout).get("StatusCode", 1)
        plugin.check.checked = code == 0
        plugin.check.output = container.logs().decode(errors="replace")
    except docker.errors.APIError as error:  # the binary cannot even start in the image
        plugin.check.output = f"{' '.join(argv)} did not start: {error.explanation or error}"
    except requests.exceptions.ConnectionError:  # the engine's read timed out
        plugin.check.output = f"{' '.join(argv)} did not exit within {timeout:.0f}s"
    finally:
        container.remove(force=True)


def _plugin_archive(local: Path, in_image: str) -> bytes:
    """A tar of the plugin at ``in_image``, its folders included (the image may lack
    them), readable by whichever user the image runs as."""
    stream = io.BytesIO()
    parts = Path(in_image.lstrip("/")).parts
    with tarfile.open(fileobj=stream, mode="w") as tar:
        for depth in range(1, len(parts)):
            folder = tarfile.TarInfo("/".join(parts[:depth]))
            folder.type, folder.mode = tarfile.DIRTYPE, 0o755
            tar.addfile(folder)
        info = tar.gettarinfo(str(local), arcname="/".join(parts))
        info.uid = info.gid = 0
        info.uname = info.gname = ""
        info.mode = 0o755
        with local.open("rb") as file:
            tar.addfile(info, file)
    return stream.getvalue()


def _image(client: Any, tag: str) -> Any:
    image = engine.image_or_none(client, tag)
    if image is None:
        raise ImageError(f"no image {tag} on the engine",
                                fix="build it with `invoke build-service-image --service S`")
    return image


def _wait_listed(container: Any, labels: dict[str, str], report: ImageReport,
                 timeout: float, emulator: _Emulator | None = None) -> bool:
    """Poll until /healthz lists every shipped plugin; False (and why) when it never does."""
    probe = json.loads(labels.get(engine.HEALTHCHECK_LABEL, "[]"))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        container.reload()
        if container.status not in ("created", "running"):
            report.problem = f"the service exited ({container.status}) instead of serving"
            return False
        if container.status == "running":
            if not probe:  # nothing to poll: the check command is the proof
                for plugin in report.plugins:
                    plugin.listed = True
                return True
            code, output = _exec(container, probe, emulator)
            if code == 0 and _mark_listed(output, report):
                return True
        time.sleep(_POLL_S)
    missing = [f"{p.type}/{p.name}" for p in report.plugins if not p.listed]
    report.problem = (f"/healthz did not list {', '.join(missing) or 'a healthy service'} "
                      f"within {timeout:.0f}s")
    return False


def _mark_listed(output: bytes, report: ImageReport) -> bool:
    try:
        health = json.loads(output)
    except ValueError:
        return False
    listed = {(p.get("type"), p.get("name")) for p in health.get("plugins") or []}
    for plugin in report.plugins:
        plugin.listed = (plugin.type, plugin.name) in listed
    return health.get("status") == "ok" and all(p.listed for p in report.plugins)


def _check_each(container: Any, labels: dict[str, str], report: ImageReport,
                emulator: _Emulator | None = None) -> None:
    """Load each plugin again through the service's check command, inside the image."""
    template = json.loads(labels.get(engine.CHECK_LABEL, "[]"))
    binary = labels.get(engine.BINARY_LABEL, "")
    for plugin in report.plugins:
        if not template:
            plugin.checked = plugin.listed
            continue
        argv = check_argv(template, binary, plugin.path)
        code, output = _exec(container, argv, emulator)
        plugin.checked, plugin.output = code == 0, output.decode(errors="replace")


def _exec(container: Any, argv: list[str],
          emulator: _Emulator | None = None) -> tuple[int, bytes]:
    """Run argv in the container; a container that just exited is a failed run, not a crash."""
    import docker

    try:
        code, output = container.exec_run(emulator.wrap(argv) if emulator else argv)
    except docker.errors.APIError as error:  # 409: the service exited meanwhile
        return 1, str(error).encode()
    return code, output


@dataclass(frozen=True)
class _Emulator:
    """This machine's static qemu, mounted into a container of another platform."""

    program: str  # on this machine
    platform: str  # the image's, "linux/arm64"

    @property
    def in_image(self) -> str:
        return EMULATOR_IN_IMAGE.format(program=self.program.rsplit("/", 1)[-1])

    def wrap(self, argv: list[str]) -> list[str]:
        # The image's root holds its loader and libc: the library prefix is "/".
        return [self.in_image, "-L", "/", *argv]

    def run_options(self, image: Any) -> dict[str, Any]:
        from docker.types import Mount

        config = image.attrs.get("Config") or {}
        return {
            "entrypoint": self.wrap(list(config.get("Entrypoint") or [])),
            "command": config.get("Cmd"),
            "mounts": [Mount(self.in_image, self.program, type="bind", read_only=True)],
            "platform": self.platform,
            # The image's HEALTHCHECK would exec a binary the kernel cannot run; verify
            # probes through the emulator itself.
            "healthcheck": {"test": ["NONE"]},
        }


def _emulator(client: Any, image: Any, tag: str, log: Log) -> _Emulator | None:
    """How this engine runs the image: natively (None), or through this machine's qemu."""
    attrs = image.attrs or {}
    arch = attrs.get("Architecture") or "amd64"
    engine_arch = (client.version() or {}).get("Arch") or emulation.native_arch()
    if arch == engine_arch:
        return None
    platform = f"{attrs.get('Os') or 'linux'}/{arch}"
    local = str(getattr(client.api, "base_url", "")).startswith("http+docker://")
    program = emulation.emulator_program(arch, static=True)
    if local and program:
        log(f"{tag} is {platform} on a linux/{engine_arch} engine: running it through "
            f"{program}")
        return _Emulator(program, platform)
    if not local or Path(f"/proc/sys/fs/binfmt_misc/qemu-{_QEMU_NAME.get(arch, arch)}").exists():
        log(f"{tag} is {platform} on a linux/{engine_arch} engine: running it as it is "
            "(the engine's kernel must have the emulator registered)")
        return None
    static = emulation.EMULATORS[arch].static_program if arch in emulation.EMULATORS \
        else f"qemu-{arch}-static"
    raise ImageError(f"live check of {tag} not run: it is a {platform} image, the engine "
                     f"runs linux/{engine_arch}, and no emulator can run it ({static} is "
                     "not installed)",
                     fix=f"apt-get install {emulation.EMULATOR_PACKAGE}")


_QEMU_NAME = {"arm64": "aarch64", "amd64": "x86_64"}  # binfmt_misc entry names


def require_ok(reports: Sequence[ImageReport]) -> None:
    """A VerifyError naming every image that did not prove its plugins loaded."""
    failed = [report for report in reports if not report.ok]
    if failed:
        raise VerifyError(f"{len(failed)} of {len(reports)} image(s) failed verification: "
                          + "; ".join(f"{r.image}: {r.summary()}" for r in failed),
                          fix=next((r.fix for r in failed if r.fix),
                                   "read the container log above, fix the plugin, then "
                                   "rebuild with `invoke build-service-image`"))
