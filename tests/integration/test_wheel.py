"""The tool as a user gets it: a wheel, installed (not editable) into a fresh virtual
environment, used in a folder of the user's own against a host outside this repository.

    pip install plugin_builder-*.whl
    plugin-builder init --host ../myhost --preset dragonfly
    invoke build-plugin --type scheduler && invoke verify
    nox -l --json && nox -s "pipeline(go1.26.6-glibc-amd64)"

The host is tests/fixtures/dragonfly copied into a temporary folder, so nothing can come
from this checkout but the wheel; the docker backend runs from the wheel's Dockerfiles.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import venv
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from plugin_builder import __version__
from tests.project import REPO

FIXTURE = REPO / "tests" / "fixtures" / "dragonfly"
COMBINATION = "go1.26.6-glibc-amd64"  # the fixture's go.mod: toolchain go1.26.6
PIP_TIMEOUT_S = 600
BUILD_TIMEOUT_S = 1800  # a fresh user's first build provisions Go and compiles cold


@dataclass(frozen=True)
class Environment:
    root: Path  # the virtual environment

    @property
    def bin(self) -> Path:
        return self.root / "bin"

    def env(self) -> dict[str, str]:
        """The user's shell after `source venv/bin/activate`: nothing of this checkout."""
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("PYTHON", "NOX_", "PLUGIN_BUILDER_CONFIG", "VIRTUAL_ENV"))}
        env.update(PATH=f"{self.bin}{os.pathsep}{os.environ.get('PATH', '')}",
                   VIRTUAL_ENV=str(self.root), PYTHONUNBUFFERED="1")
        return env

    def run(self, *argv: str, cwd: Path, check: bool = True,
            timeout: float = BUILD_TIMEOUT_S) -> subprocess.CompletedProcess[str]:
        program = argv[0] if "/" in argv[0] else str(self.bin / argv[0])
        run = subprocess.run([program, *argv[1:]], cwd=cwd, env=self.env(), text=True,
                             capture_output=True, timeout=timeout)
        if check and run.returncode != 0:
            raise AssertionError(f"{' '.join(argv)} exited {run.returncode}:\n"
                                 f"{run.stdout[-4000:]}\n{run.stderr[-4000:]}")
        return run


def _source_copy(target: Path) -> Path:
    """What `pip wheel` reads, copied, so building writes nothing into this checkout."""
    target.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(REPO / name, target / name)
    for folder in ("docs", "images"):  # src/plugin_builder/{docs,images} link to them
        shutil.copytree(REPO / folder, target / folder)
    shutil.copytree(REPO / "src", target / "src", symlinks=True,
                    ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    return target


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("wheel")
    source = _source_copy(work / "source")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet",
                    "--disable-pip-version-check", "-w", str(work / "dist"), str(source)],
                   check=True, capture_output=True, text=True, timeout=PIP_TIMEOUT_S)
    (built,) = (work / "dist").glob("plugin_builder-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> Environment:
    """A fresh virtual environment with the wheel and its dependencies, nothing else."""
    root = tmp_path_factory.mktemp("venv")
    venv.create(root, with_pip=True, clear=True)
    environment = Environment(root)
    # The docker extra: the user's folder is also built with the docker backend.
    environment.run("pip", "install", "--quiet", "--disable-pip-version-check",
                    "-c", str(REPO / "constraints.txt"), f"{wheel}[docker]",
                    cwd=root, timeout=PIP_TIMEOUT_S)
    return environment


@pytest.fixture(scope="module")
def user(installed, tmp_path_factory) -> Path:
    """The user's folder after `plugin-builder init`, the host beside it."""
    root = tmp_path_factory.mktemp("user")
    shutil.copytree(FIXTURE, root / "myhost")
    project = root / "project"
    project.mkdir()
    installed.run("plugin-builder", "init", "--host", "../myhost", "--preset", "dragonfly",
                  cwd=project)
    return project


# -- the wheel ---------------------------------------------------------------------------


def test_the_wheel_carries_what_the_tool_reads(wheel) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for needed in ("images/builder.Dockerfile", "images/service.Dockerfile",
                   "images/runtime-glibc.Dockerfile", "images/runtime-musl.Dockerfile",
                   "docs/troubleshooting.md", "docs/configuration.md",
                   "templates/scheduler/go.mod.tmpl", "presets/dragonfly.toml",
                   "presets/bifrost.toml", "presets/reference.toml", "presets/blank.toml",
                   "presets/templates/dragonfly-scheduler/main.go.tmpl", "presets/krakend.toml",
                   "presets/tyk.toml", "presets/templates/tyk-middleware/main.go.tmpl",
                   "presets/templates/blank/go.mod.tmpl", "config/buildconfig.schema.json"):
        assert f"plugin_builder/{needed}" in names, needed
    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    assert "plugin-builder = plugin_builder.cli:main" in \
        zipfile.ZipFile(wheel).read(entry_points).decode()


def test_the_installed_tool_is_the_wheel_not_this_checkout(installed, tmp_path) -> None:
    where = installed.run("python", "-c", "import plugin_builder; print(plugin_builder.__file__)",
                          cwd=tmp_path).stdout.strip()
    assert Path(where).is_relative_to(installed.root), where
    assert installed.run("plugin-builder", "--version", cwd=tmp_path).stdout.strip() == \
        f"plugin-builder {__version__}"
    pages = installed.run("plugin-builder", "docs", cwd=tmp_path).stdout.split()
    assert [Path(p).name for p in pages] == ["troubleshooting.md", "configuration.md"]
    assert all(Path(p).is_file() and Path(p).is_relative_to(installed.root) for p in pages)


# -- a user's own folder --------------------------------------------------------------------


def test_init_writes_a_config_and_thin_front_ends(user) -> None:
    assert sorted(p.name for p in user.iterdir()) == [
        ".gitignore", "buildconfig.toml", "noxfile.py", "tasks.py", "templates"]
    for thin in ("tasks.py", "noxfile.py"):
        code = [line for line in (user / thin).read_text().split('"""')[2].splitlines()
                if line.strip() and not line.lstrip().startswith("#")]
        assert len(code) <= 4, code  # imports, nox.needs_version, the registration
    config = (user / "buildconfig.toml").read_text()
    assert 'module = "../myhost"' in config and "allow_outside_paths = true" in config
    assert 'go = ["1.26.6"]' in config  # the host's toolchain line
    # The line editors read the JSON Schema by: the copy the wheel installed.
    directive = config.splitlines()[0]
    assert directive.startswith("#:schema file:///"), directive
    schema = Path(directive.removeprefix("#:schema file://"))
    assert schema.name == "buildconfig.schema.json" and schema.is_file()
    assert json.loads(schema.read_text())["title"]


def test_init_twice_keeps_the_users_config(installed, user) -> None:
    config = user / "buildconfig.toml"
    before = hashlib.sha256(config.read_bytes()).hexdigest()
    again = installed.run("plugin-builder", "init", "--host", "../myhost", "--preset", "blank",
                          cwd=user, check=False)
    assert again.returncode == 2
    assert "init never replaces it" in again.stderr and "--force" in again.stderr
    assert hashlib.sha256(config.read_bytes()).hexdigest() == before


def test_build_plugin_and_verify_in_the_users_folder(installed, user) -> None:
    installed.run("invoke", "build-plugin", "--type", "scheduler", cwd=user)
    plugin = user / "artifacts" / COMBINATION / "plugins" / "d7y-scheduler-plugin-evaluator.so"
    assert plugin.is_file()
    verify = installed.run("invoke", "verify", "--json", cwd=user)
    report = json.loads(verify.stdout)
    assert report["summary"]["pass"] == report["summary"]["total"] == 3


def test_the_same_tasks_run_as_plugin_builder(installed, user) -> None:
    listing = json.loads(installed.run("plugin-builder", "list", "--json", cwd=user).stdout)
    assert listing["combinations"] == [COMBINATION]
    assert {(p["type"], p["name"]) for p in listing["plugins"]} == {
        ("resource", "dfs"), ("scheduler", "evaluator"), ("manager", "searcher")}
    matrix = json.loads(installed.run("plugin-builder", "ci-matrix", cwd=user).stdout)
    assert matrix == json.loads(installed.run("invoke", "ci-matrix", cwd=user).stdout)


def test_nox_lists_and_runs_the_pipeline_sessions(installed, user) -> None:
    sessions = json.loads(installed.run("nox", "-l", "--json", cwd=user).stdout)
    assert [s["session"] for s in sessions] == [f"pipeline({COMBINATION})", "summary"]
    installed.run("nox", "-s", f"pipeline({COMBINATION})", cwd=user)
    result = json.loads((user / "results" / f"{COMBINATION}.json").read_text())
    assert result["status"] == "passed"
    assert result["verify"]["summary"]["pass"] == 3


def test_nox_reads_the_config_plugin_builder_config_names(installed, user, tmp_path) -> None:
    shutil.copy(user / "noxfile.py", tmp_path / "noxfile.py")
    env_config = {"PLUGIN_BUILDER_CONFIG": str(user / "buildconfig.toml")}
    run = subprocess.run([str(installed.bin / "nox"), "-l", "--json"], cwd=tmp_path,
                         env={**installed.env(), **env_config}, capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, run.stderr
    assert f"pipeline({COMBINATION})" in {s["session"] for s in json.loads(run.stdout)}


def test_errors_point_at_the_installed_troubleshooting_page(installed, user) -> None:
    run = installed.run("invoke", "build-plugin", "--type", "nosuch", cwd=user, check=False)
    assert run.returncode == 2
    see = next(line for line in run.stderr.splitlines() if "see:" in line)
    assert "docs/troubleshooting.md#usage-error" in see
    page = Path(see.rsplit("(", 1)[1].rstrip(")"))
    assert page.is_file() and page.is_relative_to(installed.root)
    assert '<a id="usage-error"></a>' in page.read_text()


# -- the docker backend, from the wheel's Dockerfiles -------------------------------------------


def test_the_docker_backend_builds_from_the_wheel(installed, user, engine) -> None:
    # The base images: made once (`sudo plugin-builder bootstrap-base`, or by the docker
    # tier before this test); up to date here, which needs no root.
    installed.run("plugin-builder", "bootstrap-base", cwd=user)
    built = installed.run("invoke", "build-plugin", "--type", "scheduler", "--backend",
                          "docker", cwd=user)
    assert "plugin-builder/builder:" + COMBINATION in built.stdout + built.stderr
    manifest = json.loads((user / "artifacts" / COMBINATION / "manifest.json").read_text())
    assert manifest["artifacts"]["plugins/d7y-scheduler-plugin-evaluator.so"]
    verify = installed.run("invoke", "verify", "--json", cwd=user)
    report = json.loads(verify.stdout)
    assert report["summary"]["pass"] == report["summary"]["total"] == 3


def test_the_wheel_is_made_for_users_environments(wheel) -> None:
    """Ranges in the metadata (exact pins live in constraints.txt, for CI), docker and
    test dependencies as extras, the license shipped."""
    import zipfile
    from email.parser import Parser

    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        metadata_name = next(n for n in names if n.endswith(".dist-info/METADATA"))
        metadata = Parser().parsestr(archive.read(metadata_name).decode())
    requires = metadata.get_all("Requires-Dist")
    assert requires and not [r for r in requires if "==" in r.split(";")[0]], requires
    assert any(r.startswith("docker") and 'extra == "docker"' in r for r in requires)
    assert not [r for r in requires if r.startswith(("docker", "pytest")) and "extra" not in r]
    assert metadata["License-Expression"] == "Apache-2.0"
    assert any(n.endswith("licenses/LICENSE") for n in names), names
    assert any(n.endswith("plugin_builder/images/service.Dockerfile") for n in names)
