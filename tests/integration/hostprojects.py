"""Projects made from tests/fixtures/hosts, run through `invoke` as a user runs them.

Shared by test_real_hosts.py and test_module_graphs.py: a fixture copied into a
temporary folder with its buildconfig.toml and tasks.py, ``python -m invoke ...`` run
in it, and the built binaries run (a plugin loaded by its host's own ``check-plugin``).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from plugin_builder.binary.buildinfo import BuildInfo, read_buildinfo

from . import pairs
from .projects import REPO

FIXTURES = REPO / "tests" / "fixtures" / "hosts"
GO = "1.26.6"
COMBINATION = f"go{GO}-glibc-amd64"
INVOKE_TIMEOUT_S = 900  # a cold build of a whole standard library, or a toolchain download
RUN_TIMEOUT_S = 60
# The files of a user's module graph: the tool reads them and must never write them.
MODULE_FILES = ("go.mod", "go.sum", "go.work", "go.work.sum")


class HostProject:
    """A copy of one fixture with its buildconfig.toml and tasks.py.

    ``env`` is added to the environment of every command (a module proxy, say).
    """

    def __init__(self, root: Path, fixture: str, config: str,
                 env: Mapping[str, str] | None = None) -> None:
        self.root = root
        self.env = dict(env or {})
        shutil.copytree(FIXTURES / fixture, root, dirs_exist_ok=True)
        (root / "buildconfig.toml").write_text(config, encoding="utf-8")
        (root / "tasks.py").write_text("from plugin_builder.tasks import ns  # noqa: F401\n")

    def invoke(self, *args: str, cwd: Path | None = None,
               expect: int | None = 0) -> subprocess.CompletedProcess[str]:
        """``python -m invoke ARGS`` in the project (or in ``cwd``); checks the exit code."""
        env = {**os.environ, "PYTHONUNBUFFERED": "1", **self.env}
        run = subprocess.run([sys.executable, "-m", "invoke", *args], cwd=cwd or self.root,
                             env=env, capture_output=True, text=True, timeout=INVOKE_TIMEOUT_S)
        if expect is not None and run.returncode != expect:
            raise AssertionError(f"invoke {' '.join(args)} exited {run.returncode}, "
                                 f"expected {expect}:\n{run.stdout}\n{run.stderr}")
        return run

    def artifact(self, relative: str, combination: str = COMBINATION) -> Path:
        return self.root / "artifacts" / combination / relative

    def manifest(self, combination: str = COMBINATION) -> dict:
        return json.loads((self.root / "artifacts" / combination / "manifest.json").read_text())

    def run(self, relative: str, *args: str,
            combination: str = COMBINATION) -> subprocess.CompletedProcess[str]:
        """Run a built binary of the combination, arguments being artifact paths or text."""
        return subprocess.run([str(self.artifact(relative, combination)), *args],
                              capture_output=True, text=True, timeout=RUN_TIMEOUT_S)

    def check_plugin(self, binary: str, plugin: str,
                     combination: str = COMBINATION) -> subprocess.CompletedProcess[str]:
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
                if not path.is_relative_to(ours[0]) and not path.is_relative_to(ours[1])}


def file_proxy_env(root: Path) -> dict[str, str]:
    """A module proxy of tests/fixtures/pairs/modules (file://, offline) and a module
    cache of its own in ``root``: the example.com modules never reach the user's."""
    proxy = pairs.write_file_proxy(root / "proxy", pairs.FIXTURES / "modules")
    return {"GOPROXY": proxy.resolve().as_uri(), "GONOSUMDB": "example.com",
            "GOMODCACHE": str(root / "modcache")}


def output(run: subprocess.CompletedProcess[str]) -> str:
    return run.stdout + run.stderr


def fix_of(log: str) -> str:
    """The command a refusal's fix line starts with, as a user copies it: "(cd ... )"."""
    [line] = [line.strip() for line in log.splitlines() if line.strip().startswith("fix: (cd ")]
    command = line.removeprefix("fix: ")
    return command[:command.index(")") + 1]


def verified(project: HostProject, plugins: int, *args: str) -> dict:
    """`invoke verify --json ARGS`: every plugin passed, loaded live by its host."""
    run = project.invoke("verify", "--json", *args)
    report = json.loads(run.stdout)
    assert_all_pass(report, plugins, output(run))
    return report


def pipeline_passed(project: HostProject, plugins: int, combination: str = COMBINATION) -> None:
    """The last pipeline run's result file: passed, every plugin verified and loaded."""
    result = json.loads((project.root / "results" / f"{combination}.json").read_text())
    assert result["status"] == "passed", result
    assert_all_pass(result["verify"], plugins, json.dumps(result, indent=1))


def assert_all_pass(report: dict, plugins: int, context: str) -> None:
    assert report["summary"] == {"total": plugins, "pass": plugins, "warn": 0, "fail": 0}, \
        context
    for result in report["results"]:
        assert (result["verdict"], result["live"]["status"]) == ("pass", "ok"), context


def buildinfo(path: Path) -> BuildInfo:
    info = read_buildinfo(path)
    assert info is not None, f"{path} carries no Go build information"
    return info


def config_text(body: str, *, go: str = GO, project: str = "") -> str:
    """A buildconfig.toml: one glibc combination of ``go``, then ``body``."""
    return f"""\
[project]
artifacts = "artifacts"
results = "results"
{project}
[matrix]
go = ["{go}"]
libc = ["glibc"]
default = "go{go}-glibc-amd64"

[libc.glibc]
cc = "gcc"

{body}"""
