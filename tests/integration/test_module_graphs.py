"""Module graphs shaped like real hosts': built by the tool, loaded by the real loader.

Every host here is a fixture of tests/fixtures/hosts whose modules come from a file://
module proxy of tests/fixtures/pairs/modules (real version labels and sums, offline).
Each plugin is built with ``invoke`` and loaded by the host's own ``check-plugin`` (a
real ``plugin.Open``); ``invoke verify`` must agree with that load. A plugin whose build
could not agree with its host's is refused before compiling, with the requirement chain
and a fix that, typed as printed, makes it build and load. No invocation of the tool
edits a go.mod, go.sum, go.work or go.work.sum of the user's.

1. The pinned host (Tyk's shape): its go.mod replaces example.com/otel with v1.1.0,
   lower than example.com/compute requires (the build list says otel v1.2.0 => v1.1.0).
   An in-tree plugin and one asking for otel v1.1.0 load; one asking for v1.3.0 gets
   the same code but records v1.3.0 (the ``=>`` trap) and is refused; one requiring
   example.com/tracer v1.1.0 has leaf pulled past the host's v1.0.0 without its go.mod
   naming leaf, and is refused with the chain through tracer.
2. The workspace host: built through its go.work, which replaces otel the same way; an
   in-tree and an out-of-tree plugin load (the go.work's replace reaches the plugin).
3. A plugin's go.mod ``toolchain`` line never switches Go; a ``go`` line newer than the
   combination's and a godebug setting it does not know get a message of their own.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from plugin_builder.errors import ModuleGraphError
from tests.project import Project

from .hostprojects import (
    COMBINATION,
    GO,
    RUN_TIMEOUT_S,
    buildinfo,
    config_text,
    file_proxy_env,
    fix_of,
    output,
    pipeline_passed,
    verified,
)

OTEL, LEAF = "example.com/otel", "example.com/leaf"
GATEWAY = "bin/gateway"


@pytest.fixture(scope="module")
def proxy_env(tmp_path_factory) -> dict[str, str]:
    return file_proxy_env(tmp_path_factory.mktemp("modules"))


def plugin_entries(*plugins: tuple[str, str]) -> str:
    return "".join(f'\n[[plugins]]\ntype = "describer"\nname = "{name}"\nsource = "{source}"\n'
                   for name, source in plugins)


def pinned_config(*plugins: tuple[str, str]) -> str:
    return config_text("""\
[host]
module = "host"
version = "5.5.0"

[host.services.gateway]
main = "./cmd/gateway"
check = ["{binary}", "check-plugin", "{plugin}"]

[plugin_types.describer]
service = "gateway"
file = "{name}.so"
symbols = { Describe = "func() string" }
""" + plugin_entries(*plugins))


PINNED_PLUGINS = (("inline", "host/plugins/inline"), ("otel-older", "plugins/otel-older"),
                  ("otel-newer", "plugins/otel-newer"), ("tracer", "plugins/tracer"))


class Unedited:
    """Runs ``invoke`` and asserts each run left the user's module files as they were."""

    def __init__(self, project: Project) -> None:
        self.project = project

    def invoke(self, *args: str, expect: int | None = 0) -> subprocess.CompletedProcess[str]:
        before = self.project.module_files()
        run = self.project.invoke(*args, expect=expect)
        assert self.project.module_files() == before, f"invoke {' '.join(args)} edited them"
        assert "Traceback" not in output(run), output(run)
        return run


def type_the_fix(log: str, env: dict[str, str]) -> None:
    """Run the fix line's command as printed (with the proxy a user would have)."""
    run = subprocess.run(["bash", "-c", fix_of(log)], timeout=RUN_TIMEOUT_S,
                         env={**os.environ, **env}, capture_output=True, text=True)
    assert run.returncode == 0, f"the fix failed:\n{fix_of(log)}\n{run.stdout}{run.stderr}"


def same_module_entries(project: Project, plugin: str, *paths: str) -> None:
    """The plugin records exactly the host's entry of each module: version, sum, replacement."""
    host = buildinfo(project.artifact(GATEWAY)).modules_by_path()
    built = buildinfo(project.artifact(f"plugins/{plugin}.so")).modules_by_path()
    for path in paths:
        assert built[path] == host[path], (path, built[path], host[path])


# -- 1. the pinned host ------------------------------------------------------------------


@pytest.fixture(scope="module")
def pinned(tmp_path_factory, proxy_env) -> Project:
    project = Project(tmp_path_factory.mktemp("pinned"), fixture="pinned",
                          config=pinned_config(*PINNED_PLUGINS), env=proxy_env)
    Unedited(project).invoke("build-host")
    return project


@pytest.mark.parametrize("name", ["inline", "otel-older"])
def test_plugins_that_agree_build_load_and_verify(pinned: Project, name: str) -> None:
    Unedited(pinned).invoke("build-plugin", "--name", name)
    loaded = pinned.check_plugin(GATEWAY, f"plugins/{name}.so")
    assert f"hello, {name}! (zone/v1.1.0, otel v1.1.0)" in loaded.stdout
    # Go selected what the host selected: otel v1.2.0 => v1.1.0, as the host records it.
    same_module_entries(pinned, name, OTEL, LEAF, "example.com/compute", "example.com/mid")
    assert buildinfo(pinned.artifact(f"plugins/{name}.so")).modules_by_path()[OTEL].label == \
        f"v1.2.0 => {OTEL} v1.1.0"
    verified(pinned, 1, "--name", name)


def test_the_same_code_under_another_selected_version_is_refused_then_fixed(
        pinned: Project) -> None:
    """The Tyk/otel trap: "v1.3.0 => v1.1.0" is v1.1.0's code, and still not the host's."""
    tool = Unedited(pinned)
    log = output(tool.invoke("build-plugin", "--name", "otel-newer",
                             expect=ModuleGraphError.return_code))
    assert log.count("plugin describer/otel-newer would not share the host's copy of "
                     f"{OTEL}: nothing was compiled") == 1, log
    assert f"{OTEL}: the host has v1.2.0 => {OTEL} v1.1.0, the plugin v1.3.0 => {OTEL} " \
           "v1.1.0 (the same code, but the selected version is part of every package's " \
           "fingerprint); required through example.com/pinned-plugins/otel-newer -> " \
           f"{OTEL}@v1.3.0" in log, log
    assert not pinned.artifact("plugins/otel-newer.so").exists()
    # verify says the same, and why, without building anything either
    refused = tool.invoke("verify", "--json", "--name", "otel-newer", expect=10)
    assert '"verdict": "fail"' in refused.stdout and "would not share" in refused.stdout

    type_the_fix(log, pinned.env)
    assert f"{OTEL} v1.2.0" in (pinned.root / "plugins/otel-newer/go.mod").read_text()
    tool.invoke("build-plugin", "--name", "otel-newer")
    pinned.check_plugin(GATEWAY, "plugins/otel-newer.so")
    same_module_entries(pinned, "otel-newer", OTEL)
    verified(pinned, 1, "--name", "otel-newer")


def test_a_version_pulled_up_only_transitively_is_refused_then_fixed(
        pinned: Project) -> None:
    gomod = pinned.root / "plugins/tracer/go.mod"
    assert LEAF not in gomod.read_text()  # its go.mod never names leaf
    tool = Unedited(pinned)
    log = output(tool.invoke("build-plugin", "--name", "tracer",
                             expect=ModuleGraphError.return_code))
    assert f"{LEAF}: the host has v1.0.0, the plugin v1.1.0; required through " \
           "example.com/pinned-plugins/tracer -> example.com/tracer@v1.1.0 -> " \
           f"{LEAF}@v1.1.0" in log, log
    assert not pinned.artifact("plugins/tracer.so").exists()

    type_the_fix(log, pinned.env)  # go get leaf@v1.0.0: tracer goes down to v1.0.0
    assert "example.com/tracer v1.0.0" in gomod.read_text()
    tool.invoke("build-plugin", "--name", "tracer")
    pinned.check_plugin(GATEWAY, "plugins/tracer.so")
    same_module_entries(pinned, "tracer", LEAF, OTEL)
    verified(pinned, 1, "--name", "tracer")


# -- 2. the workspace host ---------------------------------------------------------------

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

[[plugins]]
type = "greeter"
name = "inline"
source = "gateway/plugins/inline"
""")


@pytest.fixture(scope="module")
def workspace(tmp_path_factory, proxy_env) -> Project:
    project = Project(tmp_path_factory.mktemp("workspace"), fixture="workspace", config=WORKSPACE,
                          env=proxy_env)
    project.first_run = Unedited(project).invoke("pipeline")  # type: ignore[attr-defined]
    return project


def test_a_host_builds_through_its_own_go_work(workspace: Project) -> None:
    log = output(workspace.first_run)  # type: ignore[attr-defined]
    assert "built bin/gateway" in log, log
    assert workspace.run(GATEWAY).stdout == "hello, gateway\n"
    deps = buildinfo(workspace.artifact(GATEWAY)).modules_by_path()
    assert deps[OTEL].label == f"v1.2.0 => {OTEL} v1.1.0"  # the go.work's replace
    assert "example.com/platform/shared" in deps, deps


@pytest.mark.parametrize("name, words", [("greeter", "from the greeter plugin"),
                                         ("inline", "from the inline plugin")])
def test_workspace_plugins_in_and_out_of_tree_load(workspace: Project, name: str,
                                                   words: str) -> None:
    pipeline_passed(workspace, plugins=2)
    loaded = workspace.check_plugin(GATEWAY, f"plugins/{name}.so")
    assert f"hello, plugin {words}, otel v1.1.0 (host: hello, host)" in loaded.stdout
    same_module_entries(workspace, name, OTEL)


def test_a_workspace_plugin_asking_for_more_is_refused(workspace: Project) -> None:
    gomod = workspace.root / "plugins/greeter/go.mod"
    original = gomod.read_text()
    gomod.write_text(original + f"\nrequire {OTEL} v1.3.0\n")
    try:
        log = output(Unedited(workspace).invoke("build-plugin", "--name", "greeter",
                                                expect=ModuleGraphError.return_code))
    finally:
        gomod.write_text(original)
    assert f"{OTEL}: the host has v1.2.0 => {OTEL} v1.1.0, the plugin v1.3.0 => {OTEL} " \
           "v1.1.0" in log, log


# -- 3. toolchain, go and godebug lines --------------------------------------------------


@pytest.fixture
def plain(tmp_path: Path, proxy_env) -> Project:
    """The pinned host's otel-older and inline plugins, in a project of their own."""
    return Project(tmp_path, fixture="pinned",
                   config=pinned_config(("inline", "host/plugins/inline"),
                                        ("otel-older", "plugins/otel-older")),
                   env=proxy_env)


def test_a_toolchain_line_never_switches_go(plain: Project) -> None:
    gomod = plain.root / "plugins/otel-older/go.mod"
    gomod.write_text(gomod.read_text().replace("go 1.23\n", "go 1.23\n\ntoolchain go1.27.3\n"))
    Unedited(plain).invoke("build-plugin", "--name", "otel-older")
    info = buildinfo(plain.artifact("plugins/otel-older.so"))
    assert info.go_version == f"go{GO}"
    # nothing was fetched to switch to: GOTOOLCHAIN=local
    assert not list(Path(plain.env["GOMODCACHE"]).glob("cache/download/golang.org/toolchain"))


def test_a_go_line_newer_than_the_combinations_go_is_refused(plain: Project) -> None:
    gomod = plain.root / "plugins/otel-older/go.mod"
    gomod.write_text(gomod.read_text().replace("go 1.23\n", "go 1.27\n"))
    log = output(Unedited(plain).invoke("build-plugin", "--name", "otel-older",
                                        expect=ModuleGraphError.return_code))
    assert f"{gomod} says go 1.27, newer than Go {GO} of {COMBINATION}: plugin " \
           "describer/otel-older was not compiled" in log, log
    assert "requires go >=" not in log, log  # not Go's words: ours


@pytest.mark.parametrize("name, file", [("otel-older", "plugins/otel-older/main.go"),
                                        ("inline", "host/plugins/inline/main.go")])
def test_an_unknown_godebug_setting_is_named(plain: Project, name: str, file: str) -> None:
    source = plain.root / file
    source.write_text("//go:debug panicnil=1\n//go:debug nosuchsetting=1\n\n" +
                      source.read_text())
    log = output(Unedited(plain).invoke("build-plugin", "--name", name,
                                        expect=ModuleGraphError.return_code))
    assert f"plugin describer/{name} sets godebug nosuchsetting, which Go {GO} does not " \
           "know; nothing was compiled" in log, log
    assert f'nosuchsetting=1 ({source}:2): unknown godebug "nosuchsetting"' in log, log
    assert "panicnil" not in log.split("sets godebug", 1)[1].split("\n", 1)[0]
