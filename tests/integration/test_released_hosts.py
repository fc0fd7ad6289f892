"""Plugins for a host users run: a binary made by plain `go install` outside the tool,
given to plugin-builder only as that binary; and a glibc floor.

The host, example.com/released v1.0.0, is served by the file:// module proxy of
tests/fixtures/pairs/modules and built here with `go install ...@v1.0.0`, so its main
module has a version and a sum, as a released binary's has; its own check-plugin loads
the plugins plugin-builder builds for it (one combination each for glibc and musl).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from plugin_builder.binary.verneed import read_version_needs
from plugin_builder.config import default_toolchain_cache
from plugin_builder.golang.toolchains import go_toolchain
from tests.project import Project

from .hostprojects import (
    GO,
    assert_all_pass,
    config_text,
    file_proxy_env,
    output,
)

PACKAGE = "example.com/released/cmd/gateway@v1.0.0"
COMPILERS = {"glibc": "gcc", "musl": "musl-gcc"}


def go_install(root: Path, env: dict[str, str], libc: str, *flags: str,
               folder: Path | None = None) -> Path:
    """The host as its project releases it: go install, nothing of plugin-builder's."""
    go = go_toolchain(GO, default_toolchain_cache()).go
    gobin = root / f"bin-{libc}"
    run = subprocess.run(
        [str(go), "install", *flags, PACKAGE] if folder is None
        else [str(go), "build", *flags, "-o", str(gobin / "gateway"), "./cmd/gateway"],
        cwd=folder or root, capture_output=True, text=True, timeout=600,
        env={**{k: v for k, v in os.environ.items() if not k.startswith("GO")}, **env,
             "GOBIN": str(gobin), "GOPATH": str(root / "gopath"), "GOFLAGS": "-modcacherw",
             "GOTOOLCHAIN": "local", "CGO_ENABLED": "1", "CC": COMPILERS[libc]})
    assert run.returncode == 0, run.stderr
    return gobin / "gateway"


def released_config(libc: str, host: str = 'binary = "gateway"') -> str:
    return config_text(f"""\
[host]
{host}

[host.services.gateway]
check = ["{{binary}}", "check-plugin", "{{plugin}}"]

[plugin_types.describer]
service = "gateway"
file = "{{name}}.so"
symbols = {{ Describe = "func() string" }}

[[plugins]]
type = "describer"
name = "describer"
source = "plugins/describer"
""").replace('libc = ["glibc"]', f'libc = ["{libc}"]').replace(
        f"go{GO}-glibc-amd64", f"go{GO}-{libc}-amd64").replace(
        '[libc.glibc]\ncc = "gcc"', f'[libc.{libc}]\ncc = "{COMPILERS[libc]}"')


@pytest.fixture(scope="module")
def proxy(tmp_path_factory) -> dict[str, str]:
    return file_proxy_env(tmp_path_factory.mktemp("released-proxy"))


@pytest.mark.parametrize("libc", ["glibc", "musl"])
def test_a_go_install_binary_gets_plugins_its_own_loader_accepts(tmp_path, proxy, libc):
    project = Project(tmp_path / "project", fixture="released", config=released_config(libc),
                      env=proxy)
    binary = go_install(tmp_path, proxy, libc, "-trimpath")
    shutil.copy(binary, project.root / "gateway")
    recipe = json.loads(subprocess.run(
        [sys.executable, "-m", "plugin_builder.cli", "recipe", "--json",
         str(project.root / "gateway")], capture_output=True, text=True, check=True).stdout)
    run = project.invoke("verify", "--json")
    report = json.loads(run.stdout)
    assert_all_pass(report, 1, output(run))
    combination = f"go{GO}-{libc}-amd64"
    assert "landed bin/gateway: the released host" in run.stderr, output(run)
    plugin = project.artifact("plugins/describer.so", combination)
    # The host's own plugin.Open, on the binary exactly as it was released.
    loaded = subprocess.run([str(project.root / "gateway"), "check-plugin", str(plugin)],
                            capture_output=True, text=True, timeout=60)
    assert loaded.returncode == 0 and "hello, describer!" in loaded.stdout, loaded
    assert (recipe["combination"], recipe["reproducible"]) == (combination, True)
    assert recipe["main"]["version"] == "v1.0.0"


def test_a_binary_built_from_a_checkout_is_refused_with_the_reason(tmp_path, proxy):
    checkout = tmp_path / "checkout"
    shutil.copytree(Path(__file__).resolve().parents[1] / "fixtures" / "pairs" / "modules" /
                    "example.com" / "released@v1.0.0", checkout)
    (checkout / "go.sum").write_text(
        (Path(__file__).resolve().parents[1] / "fixtures" / "hosts" / "released" / "plugins" /
         "describer" / "go.sum").read_text())
    binary = go_install(tmp_path, proxy, "glibc", "-trimpath", "-buildvcs=false",
                        folder=checkout)
    project = Project(tmp_path / "project", fixture="released", config=released_config("glibc"),
                          env=proxy)
    shutil.copy(binary, project.root / "gateway")
    run = project.invoke("verify", expect=3)
    said = output(run)
    assert "host.binary: plugins cannot be built for the released host" in said, said
    assert "its main module example.com/released is recorded as (devel)" in said, said
    assert "the host's source is needed" in said, said


FLOOR_CONFIG = config_text("""\
[host]
module = "host"

[host.services.scheduler]
main = "./cmd/scheduler"
check = ["{binary}", "check-plugin", "{plugin}"]

[plugin_types.scheduler]
service = "scheduler"
file = "d7y-{type}-plugin-{name}.so"
entry_symbol = "DragonflyPluginInit"
names = ["evaluator"]

[[plugins]]
type = "scheduler"
name = "evaluator"
source = "host/plugins/evaluator"
""")


def test_a_plugin_above_the_glibc_floor_fails_and_built_to_it_passes(tmp_path):
    project = Project(tmp_path, fixture="dragonfly", config=FLOOR_CONFIG)
    project.invoke("build-plugin")
    plugin = project.artifact("plugins/d7y-scheduler-plugin-evaluator.so")
    assert read_version_needs(plugin).newest_glibc == "GLIBC_2.34"  # gcc on Debian 12
    config = project.root / "buildconfig.toml"
    config.write_text(config.read_text().replace('cc = "gcc"', 'cc = "gcc"\n'
                                                 'glibc_floor = "2.28"'))
    refused = project.invoke("verify", "--static-only", expect=10)  # VerifyError
    said = output(refused)
    assert "glibc-floor" in said and "@GLIBC_2.34" in said, said
    assert "newer than the glibc floor 2.28" in said, said
    passed = project.invoke("verify", "--json")  # rebuilt with zig cc for the floor
    assert_all_pass(json.loads(passed.stdout), 1, output(passed))
    for binary in (plugin, project.artifact("bin/scheduler")):
        newest = read_version_needs(binary).newest_glibc
        assert newest is not None and tuple(map(int, newest[6:].split("."))) <= (2, 28)
    project.check_plugin("bin/scheduler", "plugins/d7y-scheduler-plugin-evaluator.so")
