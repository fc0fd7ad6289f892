"""What the tests of hosts made from tests/fixtures/hosts share (the project itself is
tests/project.py's): their config, a module proxy of the fixture modules, and what a
passing verify or pipeline looks like."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from plugin_builder.binary.buildinfo import BuildInfo, read_buildinfo
from tests.project import DEFAULT_COMBINATION as COMBINATION
from tests.project import RUN_TIMEOUT_S, Project

from . import pairs

GO = "1.26.6"
__all__ = ["COMBINATION", "RUN_TIMEOUT_S"]  # shared with the tests importing them from here


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


def verified(project: Project, plugins: int, *args: str) -> dict:
    """`invoke verify --json ARGS`: every plugin passed, loaded live by its host."""
    run = project.invoke("verify", "--json", *args)
    report = json.loads(run.stdout)
    assert_all_pass(report, plugins, output(run))
    return report


def pipeline_passed(project: Project, plugins: int, combination: str = COMBINATION) -> None:
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
