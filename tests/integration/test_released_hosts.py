"""Plugins for a host users run: a binary made by plain `go install` outside the tool,
given to plugin-builder only as that binary; and a glibc floor.

The host, example.com/released v1.0.0, is served by the file:// module proxy of
tests/fixtures/pairs/modules and built here with `go install ...@v1.0.0`, so its main
module has a version and a sum, as a released binary's has; its own check-plugin loads
the plugins plugin-builder builds for it (one combination each for glibc and musl).

The Dragonfly-, Bifrost- and KrakenD-shaped fixture hosts are released the same way
(their folders served as modules at a version, KrakenD's lura as a module of its own
instead of the folder its go.mod replaces it by): `plugin-builder recipe` reads each
binary, and the tool builds from that recipe alone a plugin the binary's loader accepts.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from plugin_builder import dockerengine
from plugin_builder.binary.verneed import read_version_needs
from plugin_builder.config import default_toolchain_cache
from plugin_builder.golang.toolchains import go_toolchain
from tests.project import FIXTURES, HOST_FIXTURES, Project, host_of_preset

from . import pairs
from .dockerfixtures import RUN_ID, containers_of_run
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
               folder: Path | None = None, package: str = PACKAGE) -> Path:
    """The host as its project releases it: go install, nothing of plugin-builder's."""
    gobin = root / f"bin-{libc}"
    binary = package.partition("@")[0].rsplit("/", 1)[-1]
    plain_go(["install", *flags, package] if folder is None
             else ["build", *flags, "-o", str(gobin / binary), "./cmd/gateway"],
             folder or root, {**env, "GOBIN": str(gobin), "GOPATH": str(root / "gopath"),
                              "CGO_ENABLED": "1", "CC": COMPILERS[libc]})
    return gobin / binary


def plain_go(args: list[str], cwd: Path, env: dict[str, str]) -> None:
    """The provisioned Go, run as a user runs go (none of this process's GO* settings)."""
    go = go_toolchain(GO, default_toolchain_cache()).go
    run = subprocess.run(
        [str(go), *args], cwd=cwd, capture_output=True, text=True, timeout=600,
        env={**{k: v for k, v in os.environ.items() if not k.startswith("GO")},
             "GOFLAGS": "-modcacherw", "GOTOOLCHAIN": "local", **env})
    assert run.returncode == 0, f"go {' '.join(args)}:\n{run.stderr}"


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


RUNTIME = "plugin-builder/runtime:bookworm-{libc}"  # `invoke bootstrap-base`'s, offline
IN_IMAGE = "/usr/local/bin/gateway"


@pytest.fixture
def released_image(request, engine, docker_project, tmp_path, proxy) -> Iterator[str]:
    """The go install'd gateway released as an image FROM a local runtime base (no
    registry), tagged and labelled with this run's id. The test names the binary's libc
    and the runtime's: "glibc-in-glibc"."""
    libc, _, runtime_libc = request.param.partition("-in-")
    binary = go_install(tmp_path, proxy, libc, "-trimpath")
    runtime = RUNTIME.format(libc=runtime_libc)
    context = io.BytesIO()
    with tarfile.open(fileobj=context, mode="w") as tar:
        dockerfile = f'FROM {runtime}\nCOPY gateway {IN_IMAGE}\nENTRYPOINT ["{IN_IMAGE}"]\n'
        info = tarfile.TarInfo("Dockerfile")
        info.size = len(dockerfile)
        tar.addfile(info, io.BytesIO(dockerfile.encode()))
        tar.add(str(binary), arcname="gateway")
    context.seek(0)
    tag = f"plugin-builder-tests/released-gateway:{RUN_ID}-{tmp_path.name}"
    engine.images.build(fileobj=context, custom_context=True, tag=tag, rm=True, forcerm=True,
                        labels={dockerengine.RUN_LABEL: RUN_ID})
    yield tag
    engine.images.remove(tag, force=True)


@pytest.mark.parametrize(("released_image", "libc"), [("glibc-in-glibc", "glibc"),
                                                     ("musl-in-musl", "musl")],
                         indirect=["released_image"])
def test_a_released_image_gets_plugins_verify_image_loads_in_it(tmp_path, proxy, engine,
                                                                 released_image, libc):
    host = f'image = "{released_image}"\nimage_binary = "{IN_IMAGE}"'
    project = Project(tmp_path / "project", fixture="released", env=proxy,
                      config=released_config(libc, host=host))
    run = project.invoke("verify", "--image", released_image, "--json")
    [report] = json.loads(run.stdout)
    assert report["ok"] and report["image"] == released_image, output(run)
    [plugin] = report["plugins"]
    assert plugin["checked"] and "hello, describer!" in plugin["output"], report
    assert plugin["path"] == "/plugin-builder/plugins/describer.so", report
    # The plugin the image loaded is the one built for the binary copied out of it.
    assert "landed bin/gateway: the released host" in run.stderr, output(run)
    assert project.artifact("plugins/describer.so", f"go{GO}-{libc}-amd64").is_file()
    assert not containers_of_run(engine), "verify --image left its containers"
    recipe = json.loads(subprocess.run(
        [sys.executable, "-m", "plugin_builder.cli", "recipe", "--json", "--image",
         released_image, "--binary", IN_IMAGE], capture_output=True, text=True,
        check=True).stdout)
    assert (recipe["main"]["version"], recipe["reproducible"]) == ("v1.0.0", True), recipe


@pytest.mark.parametrize("released_image", ["glibc-in-musl"], indirect=True)
def test_a_released_image_whose_binary_cannot_run_in_it_fails_verify_image(
        tmp_path, proxy, engine, released_image):
    """The glibc gateway in a musl runtime: the copy out of the image loads the plugin
    here, but in the image the binary has no loader: verify --image says so."""
    host = f'image = "{released_image}"\nimage_binary = "{IN_IMAGE}"'
    project = Project(tmp_path / "project", fixture="released", env=proxy,
                      config=released_config("glibc", host=host))
    run = project.invoke("verify", "--image", released_image, expect=10)  # VerifyError
    said = output(run)
    assert f"FAILED: {released_image} (1 plugin(s))" in said, said
    assert "FAILED describer/describer /plugin-builder/plugins/describer.so: " \
           f"exec {IN_IMAGE}: no such file or directory" in said, said
    assert "the image lacks its ELF interpreter" in said, said
    assert "Traceback" not in said and not containers_of_run(engine), said


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


@dataclass(frozen=True)
class Shape:
    """A fixture host released as a module (``served``: module@version => its folder),
    and one out-of-tree plugin of its shape."""

    served: dict[str, Path]
    package: str  # what `go install` is given
    plugin: Path  # the plugin's main.go
    plugin_module: str  # its go.mod, as its author wrote it
    plugin_file: str  # what the tool builds, under the combination's artifacts
    check: tuple[str, ...]  # the host's own loader: binary ARGS plugin
    loaded: str  # what it prints when it accepted the plugin
    config: str  # buildconfig.toml below [host]
    contract: str = ""  # a Go file beside main.go
    declares_types: bool = False  # of host packages, which verify's loader must resolve


KRAKEND = FIXTURES / "krakend"
SHAPES = {
    "dragonfly": Shape(
        {"example.com/dragonfly@v1.0.0": HOST_FIXTURES / "dragonfly" / "host"},
        "example.com/dragonfly/cmd/scheduler@v1.0.0",
        HOST_FIXTURES / "dragonfly" / "host" / "plugins" / "evaluator" / "main.go",
        "module example.com/dragonfly-plugins/evaluator\n\ngo 1.23\n\n"
        "require example.com/dragonfly v1.0.0\n",
        "plugins/d7y-scheduler-plugin-evaluator.so", ("check-plugin",),
        "ok: loaded scheduler plugin evaluator", """\
[host.services.scheduler]
check = ["{binary}", "check-plugin", "{plugin}"]

[plugin_types.scheduler]
service = "scheduler"
file = "d7y-{type}-plugin-{name}.so"
entry_symbol = "DragonflyPluginInit"
names = ["evaluator"]

[[plugins]]
type = "scheduler"
name = "evaluator"
source = "plugins/evaluator"
"""),
    "bifrost": Shape(
        {"example.com/bifrost@v1.0.0": FIXTURES / "bifrost" / "host"},
        "example.com/bifrost/cmd/bifrost@v1.0.0",
        FIXTURES / "bifrost" / "plugins" / "hello" / "main.go",
        "module example.com/bifrost-plugins/hello\n\ngo 1.26\n\n"
        "require example.com/bifrost v1.0.0\n",
        "plugins/hello.so", ("check-plugin",), "ok: loaded plugin hello", """\
[host.services.bifrost]
check = ["{binary}", "check-plugin", "{plugin}"]

[plugin_types.hook]
service = "bifrost"
file = "{name}.so"
required_symbols = ["GetName", "Init", "Cleanup"]

[[plugins]]
type = "hook"
name = "hello"
source = "plugins/hello"
"""),
    "krakend": Shape(
        {"github.com/krakend/krakend-ce/v2@v2.0.0": KRAKEND / "krakend-ce",
         "github.com/luraproject/lura/v2@v2.0.0": KRAKEND / "lura"},
        "github.com/krakend/krakend-ce/v2/cmd/krakend-ce@v2.0.0",
        KRAKEND / "plugins" / "handler" / "hello" / "main.go",
        "module example.com/krakend-plugins/hello\n\ngo 1.23\n",
        "plugins/handler-hello.so", ("test-plugin", "-s"), "[OK]", """\
[host.services.krakend]

[plugin_types.handler]
service = "krakend"
file = "{type}-{name}.so"
symbols = { HandlerRegisterer = "plugin.Registerer" }
imports = ["github.com/luraproject/lura/v2/transport/http/server/plugin"]
check = ["{binary}", "test-plugin", "-s", "{plugin}"]

[[plugins]]
type = "handler"
name = "hello"
source = "plugins/hello"
""",
        # lura's package in the plugin too: the module the host's source replaced by a
        # folder, here at the version the binary records.
        contract='package main\n\nimport server '
                 '"github.com/luraproject/lura/v2/transport/http/server/plugin"\n\n'
                 'var _ server.Registerer = HandlerRegisterer\n',
        declares_types=True),
}
# The shapes' module paths: served by the file:// proxy, never looked up in the sum database.
SHAPE_PATHS = "example.com,github.com/krakend,github.com/luraproject"


@pytest.fixture(scope="module")
def shapes_proxy(tmp_path_factory) -> dict[str, str]:
    """The file:// proxy of tests/fixtures/pairs/modules and of every shape's modules."""
    root = tmp_path_factory.mktemp("shapes-proxy")
    env = file_proxy_env(root)
    for served in (shape.served for shape in SHAPES.values()):
        for module, folder in served.items():
            release(folder, root / "modules" / module)
    pairs.write_file_proxy(Path(env["GOPROXY"].removeprefix("file://")), root / "modules")
    return {**env, "GONOSUMDB": SHAPE_PATHS}


def release(folder: Path, module: Path) -> None:
    """A fixture host's folder as its release: no folder replacements in its go.mod (a
    module with them cannot be `go install`ed at a version), no built files."""
    shutil.copytree(folder, module, ignore=shutil.ignore_patterns("go.work*", "*.so"))
    go_mod = module / "go.mod"
    go_mod.write_text("".join(line for line in go_mod.read_text().splitlines(keepends=True)
                              if not line.startswith("replace ")))


@pytest.mark.parametrize("name", list(SHAPES))
def test_a_recipe_of_a_shaped_host_builds_plugins_its_binary_loads(tmp_path, shapes_proxy, name):
    shape = SHAPES[name]
    binary = go_install(tmp_path, shapes_proxy, "glibc", "-trimpath", package=shape.package)
    recipe_file = tmp_path / "project" / f"{binary.name}.recipe.json"
    # The project holds the recipe and the plugin, not the binary: it is built from the
    # recipe alone ("released" is the fixture without a host).
    project = Project(tmp_path / "project", fixture="released", env=shapes_proxy,
                      config=config_text(f'[host]\nrecipe = "{recipe_file.name}"\n\n'
                                         + shape.config))
    recipe_file.write_text(subprocess.run(
        [sys.executable, "-m", "plugin_builder.cli", "recipe", "--json", str(binary)],
        capture_output=True, text=True, check=True).stdout)
    recipe = json.loads(recipe_file.read_text())
    main_module = shape.package.partition("/cmd/")[0]
    assert (recipe["main"]["path"], recipe["main"]["version"], recipe["reproducible"]) == (
        main_module, shape.package.partition("@")[2], True), recipe["refusals"]
    linked = {f"{dep['path']}@{dep['version']}" for dep in recipe["deps"]}
    assert linked >= set(shape.served) - {f"{main_module}@{recipe['main']['version']}"}, linked
    source = project.root / "plugins" / shape.plugin.parent.name
    source.mkdir(parents=True)
    shutil.copy(shape.plugin, source / "main.go")
    (source / "go.mod").write_text(shape.plugin_module)
    if shape.contract:
        (source / "contract.go").write_text(shape.contract)
    plain_go(["mod", "tidy"], source, {**shapes_proxy, "GOWORK": "off"})  # the author's go.sum
    project.invoke("build-plugin")
    plugin = project.artifact(shape.plugin_file)
    loaded = subprocess.run([str(binary), *shape.check, str(plugin)], capture_output=True,
                            text=True, timeout=60)
    assert loaded.returncode == 0 and shape.loaded in loaded.stdout, \
        f"{name} refused {plugin}:\n{loaded.stdout}{loaded.stderr}"
    # And plugin-builder's verify agrees, of the two files (the binary's own check
    # included) and of the project with the binary as its host. Its stand-in loader is
    # built in the host's recorded build list (its modules fetched at their versions), so
    # it asserts a declared type of a host package too (KrakenD's lura Registerer).
    verified = project.invoke("verify", "--host", str(binary), "--plugin", str(plugin),
                              "--host-check", "--json")
    assert_all_pass(json.loads(verified.stdout), 1, output(verified))
    shutil.copy(binary, project.root / binary.name)
    project.write(project.config_path.read_text().replace(
        f'recipe = "{recipe_file.name}"', f'binary = "{binary.name}"'))
    report = json.loads(project.invoke("verify", "--json").stdout)
    assert_all_pass(report, 1, json.dumps(report, indent=1))
    contract = dict(report["results"][0]["authority"])["contract"]
    assert contract == "the stand-in loader asserted the declared types" or \
        not shape.declares_types, contract


def test_a_krakend_shape_built_with_lura_replaced_by_its_folder_is_refused_naming_lura(
        tmp_path):
    """KrakenD's own way: go.mod replaces lura by ../lura, built in the checkout. Neither
    the gateway's module nor lura is on a proxy: the recipe says so, naming each."""
    host_of_preset("krakend", tmp_path)
    binary = tmp_path / "krakend-ce"
    plain_go(["build", "-trimpath", "-o", str(binary), "./cmd/krakend-ce"], tmp_path / "host",
             {"CGO_ENABLED": "1", "CC": "gcc"})
    recipe = json.loads(subprocess.run(
        [sys.executable, "-m", "plugin_builder.cli", "recipe", "--json", str(binary)],
        capture_output=True, text=True, check=True).stdout)
    assert not recipe["reproducible"], recipe
    assert any("module github.com/luraproject/lura/v2 is replaced by the folder ../lura"
               in refusal for refusal in recipe["refusals"]), recipe["refusals"]
    assert any("github.com/krakend/krakend-ce/v2 is recorded as (devel)" in refusal
               for refusal in recipe["refusals"]), recipe["refusals"]
