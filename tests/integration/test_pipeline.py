"""The foundation, end to end, with the real toolchains, C compilers and plugin loading."""

from __future__ import annotations

import hashlib
import re
import subprocess

import pytest

from plugin_builder import config as config_module
from plugin_builder.errors import BuildError, UsageError
from tests.project import REPO, Project

# The combinations whose binaries run on this machine (amd64); the default matrix also
# cross-builds arm64 for the default release, which tests/integration/test_arm64.py runs
# under qemu.
MATRIX = ["go1.26.6-glibc-amd64", "go1.26.6-musl-amd64",
          "go1.27.3-glibc-amd64", "go1.27.3-musl-amd64"]
EVERY = ["go1.26.6-glibc-amd64", "go1.26.6-glibc-arm64", "go1.26.6-musl-amd64",
         "go1.26.6-musl-arm64", "go1.27.3-glibc-amd64", "go1.27.3-musl-amd64"]
SERVICE_OF = {"resource": "dfdaemon", "scheduler": "scheduler", "manager": "manager"}
PLUGINS = {"resource": "dfs", "scheduler": "evaluator", "manager": "searcher"}


def plugin_file(type_: str) -> str:
    return f"d7y-{type_}-plugin-{PLUGINS[type_]}.so"


def check_plugin(project: Project, host_combination: str, type_: str,
                 plugin_combination: str) -> subprocess.CompletedProcess[str]:
    binary = project.artifacts(host_combination) / "bin" / SERVICE_OF[type_]
    plugin = project.artifacts(plugin_combination) / "plugins" / plugin_file(type_)
    return subprocess.run([str(binary), "check-plugin", str(plugin)], capture_output=True,
                          text=True, timeout=60)


def test_the_default_config_declares_the_tested_matrix() -> None:
    loaded = config_module.load(REPO / "buildconfig.toml")
    assert [c.id for c in loaded.matrix.combinations] == EVERY


@pytest.mark.parametrize("combination", MATRIX)
def test_every_artifact_of_the_matrix_is_built_and_recorded(built: Project, combination) -> None:
    manifest = built.manifest(combination)
    go, libc, _ = combination.split("-")
    assert manifest["combination"] == combination
    expected = {f"bin/{s}" for s in SERVICE_OF.values()} | \
        {f"plugins/{plugin_file(t)}" for t in PLUGINS}
    # The pipeline built one stand-in loader for every service of the combination, like
    # the hosts; other tests sharing `built` verify other contract sets, each a loader.
    first = built.first_run.stderr  # type: ignore[attr-defined]
    assert len(re.findall(rf"^\S+ {combination} +built loaders/loader-", first, re.M)) == 1
    loaders = {r for r in manifest["artifacts"] if r.startswith("loaders/loader-")}
    assert loaders and set(manifest["artifacts"]) == expected | loaders
    for loader in loaders:
        entry = manifest["artifacts"][loader]
        assert (entry["kind"], entry["go_version"], entry["libc"]) == ("loader", go, libc)
        assert "-trimpath" in entry["flags"]
    for relative, entry in manifest["artifacts"].items():
        if relative in loaders:
            continue
        path = built.artifacts(combination) / relative
        assert hashlib.sha256(path.read_bytes()).hexdigest() == entry["sha256"]
        assert entry["size"] == path.stat().st_size
        assert entry["go_version"] == go
        assert (entry["libc"], entry["arch"]) == (libc, "amd64")
        assert entry["settings"]["CGO_ENABLED"] == "1"
        assert entry["settings"]["-trimpath"] == "true"
        assert "-trimpath" in entry["flags"]
        assert any(d["path"] == "github.com/google/uuid" for d in entry["deps"])
    assert manifest["artifacts"][f"plugins/{plugin_file('scheduler')}"]["settings"][
        "-buildmode"] == "plugin"
    # No temporary file or generated workspace was left among the artifacts.
    leftovers = [p for p in (built.artifacts(combination) / "bin").iterdir()
                 if p.name.startswith(".")]
    assert leftovers == []


@pytest.mark.parametrize("combination", MATRIX)
def test_hosts_are_dynamic_and_stamped(built: Project, combination) -> None:
    binary = built.artifacts(combination) / "bin" / "scheduler"
    version = subprocess.run([str(binary), "version"], capture_output=True, text=True,
                             check=True).stdout
    assert "0.1.0" in version and combination in version
    interpreter = "ld-musl" if "-musl-" in combination else "ld-linux"
    assert interpreter.encode() in binary.read_bytes()[:4096]


@pytest.mark.parametrize("combination", MATRIX)
@pytest.mark.parametrize("type_", list(PLUGINS))
def test_each_service_loads_its_plugin(built: Project, combination, type_) -> None:
    run = check_plugin(built, combination, type_, combination)
    assert run.returncode == 0, run.stderr
    assert f'{type_} plugin "{PLUGINS[type_]}"' in run.stdout


@pytest.mark.parametrize(("host", "plugin", "expected"), [
    ("go1.27.3-glibc-amd64", "go1.26.6-glibc-amd64", "no plugin module data"),
    ("go1.26.6-musl-amd64", "go1.27.3-musl-amd64", "no plugin module data"),
    ("go1.26.6-glibc-amd64", "go1.26.6-musl-amd64", "invalid ELF header"),
])
def test_a_plugin_of_another_release_or_libc_is_refused(built: Project, host, plugin,
                                                        expected) -> None:
    run = check_plugin(built, host, "scheduler", plugin)
    assert run.returncode != 0
    assert expected in run.stdout + run.stderr


def test_a_musl_host_loads_a_glibc_plugin_on_this_machine(built: Project) -> None:
    """Measured, not assumed: musl's loader maps libc.so.6 onto itself, so this pair loads.

    verify reports it as a warning, not as a load failure; if this test ever fails, the
    pair became a hard failure and verify's libc rule should say so.
    """
    run = check_plugin(built, "go1.26.6-musl-amd64", "scheduler", "go1.26.6-glibc-amd64")
    assert run.returncode == 0, run.stderr


def test_a_second_run_rebuilds_nothing(built: Project) -> None:
    before = {c: built.manifest(c) for c in EVERY}
    run = built.invoke("pipeline", "--all")
    assert "built " not in run.stderr
    assert len(re.findall(r" up to date: (bin|plugins)/", run.stderr)) == 6 * len(EVERY)
    assert run.stderr.count(": pass (up to date: host and plugin unchanged") == 3 * len(EVERY)
    assert {c: built.manifest(c) for c in EVERY} == before


def test_user_sources_are_never_written(built: Project) -> None:
    for folder in ("host", "plugins"):
        names = {p.name for p in (built.root / folder).rglob("*")}
        assert not names & {"go.work", "go.work.sum"}
    copy = built.root / "plugins" / "scheduler" / "evaluator" / "go.mod"
    original = REPO / "plugins" / "scheduler" / "evaluator" / "go.mod"
    assert copy.read_text() == original.read_text()


def test_a_change_rebuilds_only_what_it_feeds(tmp_path) -> None:
    project = Project(tmp_path)
    project.invoke("build-plugin", "--type", "manager")
    source = project.root / "plugins" / "manager" / "searcher" / "main.go"
    source.write_text(source.read_text() + "\n// a change\n")
    run = project.invoke("build-plugin")
    assert "built plugins/d7y-manager-plugin-searcher.so" in run.stderr
    assert "built plugins/d7y-scheduler-plugin-evaluator.so" in run.stderr  # first build
    run = project.invoke("build-plugin")
    assert "built " not in run.stderr


def test_a_failing_build_keeps_the_previous_artifact_and_manifest(tmp_path) -> None:
    project = Project(tmp_path)
    project.invoke("build-plugin", "--type", "scheduler")
    combination = "go1.26.6-glibc-amd64"
    artifact = project.artifacts(combination) / "plugins" / plugin_file("scheduler")
    before = (artifact.read_bytes(), project.manifest(combination))
    main_go = project.root / "plugins" / "scheduler" / "evaluator" / "main.go"
    main_go.write_text(main_go.read_text() + "\nfunc broken( {\n")

    run = project.invoke("build-plugin", "--type", "scheduler", expect=None)

    assert run.returncode == BuildError.return_code
    assert "syntax error" in run.stderr and "Traceback" not in run.stderr
    # The compiler ran in the plugin's folder; its paths are the project's, and the fix
    # names the file and the command that builds that plugin again.
    line = int(re.search(r"plugins/scheduler/evaluator/main\.go:(\d+):\d+: syntax error",
                         run.stderr)[1])
    assert line == len(main_go.read_text().splitlines())
    assert f"fix: correct plugins/scheduler/evaluator/main.go:{line}:" in run.stderr
    assert "in plugin scheduler/evaluator, then invoke build-plugin --type scheduler --name " \
           "evaluator --go 1.26.6 --libc glibc --arch amd64" in run.stderr
    assert (artifact.read_bytes(), project.manifest(combination)) == before
    assert [p.name for p in artifact.parent.iterdir()] == [artifact.name]


def test_unknown_type_or_name_lists_what_exists(tmp_path) -> None:
    project = Project(tmp_path)
    run = project.invoke("build-plugin", "--type", "schedular", expect=None)
    assert run.returncode == UsageError.return_code
    assert "did you mean 'scheduler'?" in run.stderr
    assert "resource, scheduler, manager" in run.stderr
    run = project.invoke("build-plugin", "--type", "scheduler", "--name", "nope", expect=None)
    assert run.returncode == UsageError.return_code
    assert "the targets are: scheduler/evaluator" in run.stderr
    run = project.invoke("build-host", "--go", "1.25.0", expect=None)
    assert run.returncode == UsageError.return_code
    assert "go1.26.6-glibc-amd64" in run.stderr
    assert not (project.root / "artifacts").exists()


def test_readme_quick_start_builds_a_plugin_the_service_loads(tmp_path) -> None:
    """README: `invoke build-plugin --type scheduler`, then the service's check-plugin."""
    project = Project(tmp_path)
    project.invoke("build-plugin", "--type", "scheduler")
    project.invoke("build-host")
    run = check_plugin(project, "go1.26.6-glibc-amd64", "scheduler", "go1.26.6-glibc-amd64")
    assert run.returncode == 0, run.stderr


def test_list_json_and_clean(tmp_path) -> None:
    import json

    project = Project(tmp_path)
    listing = json.loads(project.invoke("list", "--json").stdout)
    assert listing["combinations"] == EVERY
    assert listing["default"] == "go1.26.6-glibc-amd64"
    assert {p["file"] for p in listing["plugins"]} == {plugin_file(t) for t in PLUGINS}
    # clean removes only what the tool made (its marker says so), never a folder of yours.
    (project.root / "artifacts" / "x").mkdir(parents=True)
    refused = project.invoke("clean", expect=None)
    assert refused.returncode == UsageError.return_code and "not made by plugin-builder" in \
        refused.stderr
    assert (project.root / "artifacts" / "x").is_dir()
    # A marker vouches for itself and the folders of ours in it, not for a folder of yours.
    (project.root / "artifacts" / ".plugin-builder").write_text("made by plugin-builder\n")
    ours = project.root / "artifacts" / "go1.26.6-glibc-amd64"
    ours.mkdir()
    (ours / ".plugin-builder").write_text("made by plugin-builder\n")
    run = project.invoke("clean")
    assert not ours.exists() and (project.root / "artifacts" / "x").is_dir()
    assert not (project.root / "artifacts" / ".plugin-builder").exists()
    assert "kept what it did not make: x" in run.stdout, run.stdout
    (project.root / "artifacts" / "x").rmdir()
    (project.root / "artifacts" / ".plugin-builder").write_text("made by plugin-builder\n")
    project.invoke("clean")
    assert not (project.root / "artifacts").exists()


