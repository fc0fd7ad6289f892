"""A contributor's day: `invoke new-plugin`, and a whole other host profile as pure config.

Everything runs for real: invoke in a subprocess, the real toolchains, real loads.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from plugin_builder.config import default_toolchain_cache
from plugin_builder.errors import UsageError, VerifyError
from plugin_builder.golang.goenv import toolchain_env
from plugin_builder.golang.toolchains import go_toolchain
from plugin_builder.verify import RuleId
from tests.project import REPO, Project

BIFROST = REPO / "tests" / "fixtures" / "bifrost"
DEFAULT = "go1.26.6-glibc-amd64"


def _snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file() and "artifacts" not in p.parts}


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Project:
    return Project(tmp_path_factory.mktemp("contrib"))


@pytest.mark.parametrize("args, says", [
    (("--type", "scheduler", "--name", "foo"), "must contain 'evaluator'"),
    (("--type", "sheduler", "--name", "fooevaluator"), "did you mean 'scheduler'?"),
    (("--type", "nope", "--name", "foo"), "the types are: resource, scheduler, manager"),
    (("--type", "resource", "--name", "dfs"), "plugin target resource/dfs already exists"),
    (("--type", "resource", "--name", "S3-x"), "is not a valid plugin name"),
])
def test_new_plugin_refuses_bad_input_and_writes_nothing(project, args, says):
    before = _snapshot(project.root)
    run = project.invoke("new-plugin", *args, expect=None)
    assert run.returncode == UsageError.return_code, run.stderr
    assert says in run.stderr
    assert "Traceback" not in run.stderr and run.stderr.count("error:") == 1
    assert "see: docs/troubleshooting.md#" in run.stderr
    assert _snapshot(project.root) == before


def test_new_plugin_refuses_an_existing_folder(project):
    folder = project.root / "plugins" / "resource" / "gcs"
    folder.mkdir()
    before = _snapshot(project.root)
    run = project.invoke("new-plugin", "--type", "resource", "--name", "gcs", expect=None)
    assert run.returncode == UsageError.return_code and "already exists" in run.stderr
    assert _snapshot(project.root) == before
    folder.rmdir()


def test_new_plugins_build_in_every_combination_and_verify(project):
    config_before = (project.root / "buildconfig.toml").read_text()
    for type_, name in (("resource", "s3"), ("scheduler", "fastevaluator"),
                        ("manager", "nearsearcher")):
        run = project.invoke("new-plugin", "--type", type_, "--name", name)
        assert f"plugins/{type_}/{name}" in run.stdout
    config_after = (project.root / "buildconfig.toml").read_text()
    # Registered with every comment and blank line of the original kept.
    assert config_after.startswith(config_before.rstrip("\n"))
    assert '[[plugins]]\ntype = "resource"\nname = "s3"\nsource = "plugins/resource/s3"' \
        in config_after
    gomod = (project.root / "plugins/resource/s3/go.mod").read_text()
    assert "require plugin-builder.dev/host v0.0.0" in gomod  # what the others require

    # The Done-when sequence: the new target alone, then verify with nothing else built.
    project.invoke("build-plugin", "--type", "resource", "--name", "s3")
    verified = json.loads(project.invoke("verify", "--json").stdout)
    assert verified["summary"] == {"total": 6, "pass": 6, "warn": 0, "fail": 0}

    project.invoke("build-plugin", "--all")
    everything = json.loads(project.invoke("verify", "--all", "--json").stdout)
    combinations = 6  # 4 amd64, and arm64 (glibc, musl) for the default release
    assert everything["summary"]["pass"] == everything["summary"]["total"] == 6 * combinations


def test_scaffolded_go_test_passes(tmp_path):
    project = Project(tmp_path)
    project.invoke("new-plugin", "--type", "resource", "--name", "s3")
    go = go_toolchain("1.26.6", default_toolchain_cache()).go
    work = project.root / "go.work.test"
    work.write_text("go 1.26.6\n\nuse (\n\t./host\n\t./plugins/resource/s3\n)\n\n"
                    "replace plugin-builder.dev/host v0.0.0 => ./host\n")
    run = subprocess.run([str(go), "test", "./..."], cwd=project.root / "plugins/resource/s3",
                         env={**toolchain_env(), "GOWORK": str(work), "CGO_ENABLED": "1"},
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr


# -- a second host profile, Bifrost-style, with no Python of its own ----------------------


@pytest.fixture(scope="module")
def bifrost(tmp_path_factory) -> Project:
    root = tmp_path_factory.mktemp("bifrost")
    shutil.copytree(BIFROST, root, dirs_exist_ok=True)
    shutil.copy(REPO / "tasks.py", root / "tasks.py")
    return Project.existing(root)


def test_bifrost_profile_builds_verifies_and_loads_from_json(bifrost):
    bifrost.invoke("build-host", "--all")
    bifrost.invoke("build-plugin", "--type", "hook", "--all")
    report = json.loads(bifrost.invoke("verify", "--all", "--json").stdout)
    assert report["summary"] == {"total": 2, "pass": 2, "warn": 0, "fail": 0}
    for combination in ("go1.26.6-glibc-amd64", "go1.26.6-musl-amd64"):
        folder = bifrost.artifacts(combination)
        plugin = folder / "plugins" / "hello.so"  # "any file name": {name}.so
        config = folder / "config.json"
        config.write_text(json.dumps(
            {"plugins": [{"path": str(plugin), "config": {"greeting": "hi"}}]}))
        run = subprocess.run([str(folder / "bin" / "bifrost"), "-config", str(config)],
                             capture_output=True, text=True, timeout=60)
        assert run.returncode == 0, run.stderr
        assert f"loaded plugin hello from {plugin}" in run.stderr
        assert "hi from the hello plugin" in run.stdout


def test_bifrost_required_symbols_are_enforced(bifrost):
    """A hook plugin without Cleanup fails verify, statically and in the real host."""
    source = bifrost.root / "plugins" / "nocleanup"
    shutil.copytree(bifrost.root / "plugins" / "hello", source)
    main = source / "main.go"
    text = main.read_text().replace("func Cleanup() error", "func cleanup() error")
    main.write_text(text.replace("CleanupFunc = Cleanup", "CleanupFunc = cleanup"))
    config = bifrost.root / "buildconfig.toml"
    config.write_text(config.read_text() + '\n[[plugins]]\ntype = "hook"\nname = "nocleanup"\n'
                                           'source = "plugins/nocleanup"\n')
    bifrost.invoke("build-plugin", "--type", "hook", "--name", "nocleanup")
    run = bifrost.invoke("verify", "--json", expect=None)
    assert run.returncode == VerifyError.return_code
    results = {Path(r["plugin"]).name: r for r in json.loads(run.stdout)["results"]}
    assert results["hello.so"]["verdict"] == "pass"
    bad = results["nocleanup.so"]
    assert bad["verdict"] == "fail"
    assert RuleId.ENTRY_SYMBOL in [f["rule"] for f in bad["findings"]]
    assert "Cleanup" in json.dumps(bad["findings"])


def test_bifrost_new_plugin_from_the_projects_own_template(bifrost):
    run = bifrost.invoke("new-plugin", "--type", "hook", "--name", "logger")
    assert "plugins/hook/logger" in run.stdout
    assert "require example.com/bifrost v0.0.0" in (
        bifrost.root / "plugins/hook/logger/go.mod").read_text()
    bifrost.invoke("build-plugin", "--type", "hook", "--name", "logger")
    assert os.path.isfile(bifrost.artifacts(DEFAULT) / "plugins" / "logger.so")
    report = json.loads(bifrost.invoke("verify", "--json", expect=None).stdout)
    verdicts = {Path(r["plugin"]).name: r["verdict"] for r in report["results"]}
    assert verdicts["logger.so"] == "pass"
