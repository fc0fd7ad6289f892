"""Each preset of `plugin-builder init`, on a host of its family: the config it writes is
valid, and every plugin type's fixture builds and loads into the service of that type.

    reference   this repository's host/ and plugins/
    dragonfly   tests/fixtures/dragonfly (in-tree testdata plugins, no check command: the
                stand-in loader calls DragonflyPluginInit and checks what it returns)
    bifrost     tests/fixtures/bifrost (plugins beside the host, the host's check-plugin)
    krakend     tests/fixtures/krakend (three kinds on one gateway, a test-plugin flag each,
                the registerer interfaces in lura, a module the gateway requires)
    tyk         tests/fixtures/tyk (the goplugin tag; a check that ignores types)
    blank       the Bifrost host, with its plugin registered by hand (no symbols declared:
                the first verify of a blank project)
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from plugin_builder import config as config_module
from tests.project import REPO, host_of_preset
from tests.project import run_module as run

FIXTURES = REPO / "tests" / "fixtures"
GO = "1.26.6"  # the release the rest of the suite builds with: a warm cache
COMBINATION = f"go{GO}-glibc-amd64"


EXPECTED = {
    "reference": {"resource/dfs", "scheduler/evaluator", "manager/searcher"},
    "dragonfly": {"resource/dfs", "scheduler/evaluator", "manager/searcher"},
    "bifrost": {"hook/hello"},
    "krakend": {"handler/hello", "client/echo", "modifier/stamp"},
    "tyk": {"middleware/hello", "response/stamp"},
    "blank": {"plugin/hello"},
}


@pytest.mark.parametrize("preset", list(EXPECTED))
def test_every_plugin_type_of_the_preset_loads_its_fixture(preset, tmp_path) -> None:
    host_of_preset(preset, tmp_path)
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

    if preset == "blank":  # its first command: verify builds, then checks plugin.Open alone
        report = json.loads(run("invoke", "verify", "--json", cwd=project).stdout)
        assert [r["verdict"] for r in report["results"]] == ["pass"], report
        assert "types not checked" in report["results"][0]["authority"]["contract"]
    run("invoke", "pipeline", cwd=project)
    result = json.loads((project / "results" / f"{COMBINATION}.json").read_text())
    assert result["status"] == "passed", result.get("error")
    summary = result["verify"]["summary"]
    assert summary["pass"] == summary["total"] == len(EXPECTED[preset])
    for plugin in config.plugins:
        kind = config.plugin_types[plugin.type]
        assert (project / "artifacts" / COMBINATION / "plugins" /
                kind.file_name(plugin.name)).is_file()


def test_scaffolded_dragonfly_plugins_pass_verify_and_load_into_dragonflys_services(
        tmp_path) -> None:
    """`invoke new-plugin` gives each Dragonfly type a plugin whose entry returns what the
    service checks (the metadata, the type's own interface): verify's stand-in loader
    calls it as the service does, and the services load it (evaluatorv2 is refused: the
    scheduler loads only the plugin named evaluator)."""
    host_of_preset("dragonfly", tmp_path)
    for found in (tmp_path / "host").rglob("testdata"):
        shutil.rmtree(found)  # the fixture's own plugins: the scaffolds take their names
    project = tmp_path / "project"
    project.mkdir()
    run("plugin_builder.cli", "init", "--host", "../host", "--preset", "dragonfly", "--go",
        GO, "--libc", "glibc", cwd=project)
    refused = subprocess.run([sys.executable, "-m", "invoke", "new-plugin", "--type",
                              "scheduler", "--name", "evaluatorv2"], cwd=project,
                             capture_output=True, text=True)
    assert refused.returncode != 0 and "must be one of: evaluator" in refused.stderr
    for kind, name in (("resource", "s3"), ("scheduler", "evaluator"), ("manager", "searcher")):
        run("invoke", "new-plugin", "--type", kind, "--name", name, cwd=project)
    report = json.loads(run("invoke", "verify", "--json", cwd=project).stdout)
    assert report["summary"]["pass"] == report["summary"]["total"] == 3
    for result in report["results"]:
        assert "called DragonflyPluginInit" in result["authority"]["contract"], result
    built = project / "artifacts" / COMBINATION
    for service, args in (("dfget", ["s3"]), ("scheduler", []), ("manager", [])):
        loaded = subprocess.run([str(built / "bin" / service), "-plugin-dir",
                                 str(built / "plugins"), *args], capture_output=True,
                                text=True, timeout=60)
        assert loaded.returncode == 0 and "loaded" in loaded.stdout, loaded.stderr


def test_a_type_the_hosts_module_graph_lacks_is_a_config_error_naming_its_key(
        tmp_path) -> None:
    """verify builds its stand-in loader in the host's module graph: a declared type that
    does not resolve there ends verify with a config error naming the key and the type,
    after the static findings were reported (never a build error of a generated file)."""
    host_of_preset("krakend", tmp_path)
    project = tmp_path / "project"
    project.mkdir()
    run("plugin_builder.cli", "init", "--host", "../host", "--preset", "krakend", "--go", GO,
        "--libc", "glibc", cwd=project)
    config = project / "buildconfig.toml"
    config.write_text(config.read_text().replace(
        'HandlerRegisterer = "plugin.Registerer"', 'HandlerRegisterer = "plugin.Handler"'))
    verify = subprocess.run([sys.executable, "-m", "invoke", "verify"], cwd=project,
                            capture_output=True, text=True, timeout=1800)
    assert verify.returncode == config_module.ConfigError.return_code, verify.stderr
    assert "Traceback" not in verify.stderr
    assert ("buildconfig.toml: plugin_types.handler.symbols.HandlerRegisterer: "
            "'plugin.Handler' does not compile in the host's module graph: undefined: "
            "plugin.Handler") in verify.stderr
    assert "contract_0.go" not in verify.stderr.split("error:")[-1]
    assert "loader-not-built" in verify.stdout and "plugin verification" in verify.stdout
