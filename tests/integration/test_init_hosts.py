"""`plugin-builder init` on a host that loads plugins only through a library module
(KrakenD through lura: tests/fixtures/hosts/library), with the real go command, then the
blank preset's template as a user starts from it: new-plugin, pipeline, every plugin
loaded by the host's own check command."""

from __future__ import annotations

import json
import shutil

from tests.project import REPO
from tests.project import run_module as run

GO = "1.26.6"  # the release the rest of the suite builds with: a warm cache
COMBINATION = f"go{GO}-glibc-amd64"


def test_a_host_loading_plugins_through_a_library_gets_its_service_and_loads_a_new_plugin(
        tmp_path) -> None:
    shutil.copytree(REPO / "tests" / "fixtures" / "hosts" / "library", tmp_path / "library")
    project = tmp_path / "project"
    project.mkdir()
    init = run("plugin_builder.cli", "init", "--host", "../library/gateway", "--go", GO,
               "--libc", "glibc", "--arch", "amd64", cwd=project)
    # No --preset: nothing marks this host, so the generic preset is guessed.
    assert "[plugin_types.plugin]" in (project / "buildconfig.toml").read_text()
    assert "krakend" in init.stdout and "through example.com/lura/proxy" in init.stdout
    assert f"`go list -deps` (Go {GO}) found" in init.stdout

    run("invoke", "new-plugin", "--type", "plugin", "--name", "hello", cwd=project)
    run("invoke", "pipeline", cwd=project)
    result = json.loads((project / "results" / f"{COMBINATION}.json").read_text())
    assert result["status"] == "passed", result.get("error")
    summary = result["verify"]["summary"]
    assert summary["pass"] == summary["total"] == 1
    assert (project / "artifacts" / COMBINATION / "plugins" / "hello.so").is_file()
