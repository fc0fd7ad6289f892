"""Each preset of `plugin-builder init`, on a host of its family: the config it writes is
valid, and every plugin type's fixture builds and loads into the service of that type.

    reference   this repository's host/ and plugins/
    dragonfly   tests/fixtures/dragonfly (in-tree testdata plugins, no check command)
    bifrost     tests/fixtures/bifrost (plugins beside the host, the host's check-plugin)
    blank       the Bifrost host, with its plugin registered by hand
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from plugin_builder import config as config_module

from .projects import REPO

FIXTURES = REPO / "tests" / "fixtures"
GO = "1.26.6"  # the release the rest of the suite builds with: a warm cache
COMBINATION = f"go{GO}-glibc-amd64"


def host_of(preset: str, root: Path) -> None:
    """The host (and plugins beside it) of the preset's family, in root/host."""
    ignore = shutil.ignore_patterns("go.work*", "*.so")
    if preset == "reference":
        shutil.copytree(REPO / "host", root / "host", ignore=ignore)
        shutil.copytree(REPO / "plugins", root / "plugins", ignore=ignore)
    elif preset == "dragonfly":
        shutil.copytree(FIXTURES / "dragonfly", root / "host", ignore=ignore)
    else:
        shutil.copytree(FIXTURES / "bifrost" / "host", root / "host", ignore=ignore)
        shutil.copytree(FIXTURES / "bifrost" / "plugins", root / "plugins", ignore=ignore)


def run(*argv: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "PLUGIN_BUILDER_CONFIG"}
    result = subprocess.run([sys.executable, "-m", *argv], cwd=cwd, env=env, text=True,
                            capture_output=True, timeout=1800)
    assert result.returncode == 0, f"{argv} exited {result.returncode}:\n" \
                                   f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


EXPECTED = {
    "reference": {"resource/dfs", "scheduler/evaluator", "manager/searcher"},
    "dragonfly": {"resource/dfs", "scheduler/evaluator", "manager/searcher"},
    "bifrost": {"hook/hello"},
    "blank": {"plugin/hello"},
}


@pytest.mark.parametrize("preset", list(EXPECTED))
def test_every_plugin_type_of_the_preset_loads_its_fixture(preset, tmp_path) -> None:
    host_of(preset, tmp_path)
    project = tmp_path / "project"
    project.mkdir()
    run("plugin_builder.cli", "init", "--host", "../host", "--preset", preset, "--go", GO,
        "--libc", "glibc", cwd=project)
    config_path = project / "buildconfig.toml"
    if preset == "blank":  # blank knows no plugin: the user registers theirs
        with config_path.open("a") as config:
            config.write('\n[[plugins]]\ntype = "plugin"\nname = "hello"\n'
                         'source = "../plugins/hello"\n')
    config = config_module.load(config_path)
    assert {p.id for p in config.plugins} == EXPECTED[preset]
    assert {p.type for p in config.plugins} == set(config.plugin_types)  # every type

    run("invoke", "pipeline", cwd=project)
    result = json.loads((project / "results" / f"{COMBINATION}.json").read_text())
    assert result["status"] == "passed", result.get("error")
    summary = result["verify"]["summary"]
    assert summary["pass"] == summary["total"] == len(EXPECTED[preset])
    for plugin in config.plugins:
        kind = config.plugin_types[plugin.type]
        assert (project / "artifacts" / COMBINATION / "plugins" /
                kind.file_name(plugin.name)).is_file()
