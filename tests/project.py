"""The one throwaway project every test works in, never the real tree.

Three starting points, one class:

- ``Project(root)``: a copy of this repository's project (host/, plugins/, buildconfig.toml,
  tasks.py, noxfile.py), built with the real toolchains by integration tests;
- ``Project(root, fixture="gateway", config=...)``: a host of tests/fixtures/hosts with a
  buildconfig.toml of the test's own (``env``: added to every command, a module proxy say);
- ``Project.skeleton(root)``: the repository's buildconfig.toml with empty Go modules where
  it names them, for unit tests of the config (no Go: ``data`` changed, then ``write()``);
- ``Project.existing(root)``: a folder made otherwise (a copy of a built project).

Commands run as a user types them: ``python -m invoke ARGS`` in the project, its exit code
checked against ``expect`` (None: any).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Mapping
from functools import cached_property
from pathlib import Path
from typing import Any

import tomlkit

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures"
HOST_FIXTURES = FIXTURES / "hosts"
COPIED = ("host", "plugins", "buildconfig.toml", "tasks.py", "noxfile.py")
DEFAULT_COMBINATION = "go1.26.6-glibc-amd64"
INVOKE_TIMEOUT_S = 3600  # a cold build of the whole matrix, toolchains included
RUN_TIMEOUT_S = 60
# The files of a user's module graph: the tool reads them and must never write them.
MODULE_FILES = ("go.mod", "go.sum", "go.work", "go.work.sum")
TASKS = "from plugin_builder.tasks import ns  # noqa: F401\n"


class Project:
    def __init__(self, root: Path, *, fixture: str | None = None, config: str | None = None,
                 env: Mapping[str, str] | None = None) -> None:
        self.root = root
        self.config_path = root / "buildconfig.toml"
        self.env = dict(env or {})
        if fixture is None:
            _copy_repository_project(root)
        else:
            shutil.copytree(HOST_FIXTURES / fixture, root, dirs_exist_ok=True)
            (root / "tasks.py").write_text(TASKS)
        if config is not None:
            self.write(config)

    @classmethod
    def existing(cls, root: Path) -> Project:
        """A project folder made otherwise (a copy of another, a fixture as it is)."""
        project = cls.__new__(cls)
        project.root, project.config_path, project.env = root, root / "buildconfig.toml", {}
        return project

    @classmethod
    def skeleton(cls, root: Path) -> Project:
        """The repository's config over empty module folders: enough to load it."""
        project = cls.existing(root)
        project.data = tomllib.loads((REPO / "buildconfig.toml").read_text())
        (root / "host").mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO / "host" / "go.mod", root / "host" / "go.mod")
        for plugin in project.data["plugins"]:
            folder = root / plugin["source"]
            folder.mkdir(parents=True)
            (folder / "go.mod").write_text(f"module example.com/{plugin['name']}\n\ngo 1.26\n")
        project.write()
        return project

    # -- the config -------------------------------------------------------------------

    @cached_property
    def data(self) -> dict[str, Any]:
        """The config as data: change it, then ``write()``."""
        return tomllib.loads(self.config_path.read_text())

    def write(self, text: str | None = None) -> Path:
        """Write ``text``, or ``data``, as the project's buildconfig.toml."""
        if text is not None:
            self.__dict__.pop("data", None)  # read again from what was written
        self.config_path.write_text(text if text is not None else tomlkit.dumps(self.data),
                                    encoding="utf-8")
        return self.config_path

    # -- commands ---------------------------------------------------------------------

    def invoke(self, *args: str, expect: int | None = 0, env: Mapping[str, str] | None = None,
               cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        """``python -m invoke ARGS`` in the project (or ``cwd``), as a user runs it;
        ``env``: variables to set besides the project's and this process's."""
        env = {**os.environ, "PYTHONUNBUFFERED": "1", **self.env, **(env or {})}
        run = subprocess.run([sys.executable, "-m", "invoke", *args], cwd=cwd or self.root,
                             env=env, capture_output=True, text=True, timeout=INVOKE_TIMEOUT_S)
        if expect is not None and run.returncode != expect:
            raise AssertionError(f"invoke {' '.join(args)} exited {run.returncode}, "
                                 f"expected {expect}:\n{run.stdout}\n{run.stderr}")
        return run

    # -- what it built ----------------------------------------------------------------

    def artifacts(self, combination: str = DEFAULT_COMBINATION) -> Path:
        return self.root / "artifacts" / combination

    def artifact(self, relative: str, combination: str = DEFAULT_COMBINATION) -> Path:
        return self.artifacts(combination) / relative

    def manifest(self, combination: str = DEFAULT_COMBINATION) -> dict[str, Any]:
        return json.loads((self.artifacts(combination) / "manifest.json").read_text())

    def run(self, relative: str, *args: str,
            combination: str = DEFAULT_COMBINATION) -> subprocess.CompletedProcess[str]:
        """Run a built binary of the combination, arguments being artifact paths or text."""
        return subprocess.run([str(self.artifact(relative, combination)), *args],
                              capture_output=True, text=True, timeout=RUN_TIMEOUT_S)

    def check_plugin(self, binary: str, plugin: str,
                     combination: str = DEFAULT_COMBINATION) -> subprocess.CompletedProcess[str]:
        """The host's own check-plugin: a real plugin.Open of the built plugin."""
        run = self.run(binary, "check-plugin", str(self.artifact(plugin, combination)),
                       combination=combination)
        assert run.returncode == 0, f"{binary} refused {plugin}:\n{run.stdout}{run.stderr}"
        return run

    def module_files(self) -> dict[str, str]:
        """sha256 of every go.mod, go.sum, go.work and go.work.sum of the user's."""
        ours = (self.root / "artifacts", self.root / "results")
        return {str(path.relative_to(self.root)): hashlib.sha256(path.read_bytes()).hexdigest()
                for name in MODULE_FILES for path in sorted(self.root.rglob(name))
                if not any(path.is_relative_to(folder) for folder in ours)}


def host_of_preset(preset: str, root: Path) -> None:
    """A host of the preset's family as root/host, with what it needs beside it (its
    plugins; lura for the KrakenD gateway, whose go.mod replaces it by ../lura)."""
    ignore = shutil.ignore_patterns("go.work*", "*.so")
    if preset == "reference":
        shutil.copytree(REPO / "host", root / "host", ignore=ignore)
        shutil.copytree(REPO / "plugins", root / "plugins", ignore=ignore)
    elif preset == "dragonfly":
        shutil.copytree(FIXTURES / "dragonfly", root / "host", ignore=ignore)
    elif preset == "krakend":
        shutil.copytree(FIXTURES / "krakend" / "krakend-ce", root / "host", ignore=ignore)
        shutil.copytree(FIXTURES / "krakend" / "lura", root / "lura", ignore=ignore)
        shutil.copytree(FIXTURES / "krakend" / "plugins", root / "plugins", ignore=ignore)
    elif preset == "tyk":
        shutil.copytree(FIXTURES / "tyk" / "gateway", root / "host", ignore=ignore)
        shutil.copytree(FIXTURES / "tyk" / "plugins", root / "plugins", ignore=ignore)
    else:  # bifrost, and blank on the Bifrost-style host
        shutil.copytree(FIXTURES / "bifrost" / "host", root / "host", ignore=ignore)
        shutil.copytree(FIXTURES / "bifrost" / "plugins", root / "plugins", ignore=ignore)


def run_module(*argv: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``python -m ARGV`` in ``cwd`` as a user runs it (no config named by the environment):
    a project being made (init) and used before it is one of ours; it must exit 0."""
    env = {k: v for k, v in os.environ.items() if k != "PLUGIN_BUILDER_CONFIG"}
    result = subprocess.run([sys.executable, "-m", *argv], cwd=cwd, env=env, text=True,
                            capture_output=True, timeout=INVOKE_TIMEOUT_S)
    assert result.returncode == 0, f"{argv} exited {result.returncode}:\n" \
                                   f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


def _copy_repository_project(root: Path) -> None:
    for name in COPIED:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, root / name,
                            ignore=shutil.ignore_patterns("go.work*", "*.so"))
        else:
            shutil.copy(source, root / name)
