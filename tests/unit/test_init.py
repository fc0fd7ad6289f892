"""`plugin-builder init`: what it reads from a host module, and the files it writes.

No Go toolchain runs here; tests/integration/test_presets.py builds and verifies what
each preset writes, tests/integration/test_wheel.py does it from the installed wheel.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from plugin_builder import config as config_module
from plugin_builder import init
from plugin_builder.config.schema import SCHEMA_FILE
from plugin_builder.errors import UsageError
from plugin_builder.golang.gomod import parse_gomod
from plugin_builder.init import hostscan, presets
from plugin_builder.init.render import key_docs
from tests.project import host_of_preset

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures"


@pytest.fixture
def dragonfly(tmp_path: Path) -> Path:
    shutil.copytree(FIXTURES / "dragonfly", tmp_path / "myhost")
    (tmp_path / "project").mkdir()
    return tmp_path


@pytest.fixture
def bifrost(tmp_path: Path) -> Path:
    shutil.copytree(FIXTURES / "bifrost" / "host", tmp_path / "host")
    shutil.copytree(FIXTURES / "bifrost" / "plugins", tmp_path / "plugins")
    (tmp_path / "project").mkdir()
    return tmp_path


def options(root: Path, host: str, preset: str, **more) -> init.Options:
    return init.Options(folder=root / "project", host=root / "project" / host, preset=preset,
                        **more)


def written(root: Path, host: str, preset: str, **more) -> config_module.Config:
    outcome = init.write(init.plan(options(root, host, preset, **more)))
    assert "buildconfig.toml" in outcome.written
    return config_module.load(root / "project" / "buildconfig.toml")


# -- reading the host ---------------------------------------------------------------------


def test_scan_finds_services_plugins_and_stamps_of_a_dragonfly_host(dragonfly) -> None:
    facts = hostscan.scan(dragonfly / "myhost", ["DragonflyPluginInit"])
    mains = {m.relative: m for m in facts.mains}
    assert set(mains) == {"./cmd/dfget", "./cmd/scheduler", "./cmd/manager", "./cmd/dfcache"}
    # dfget loads plugins through internal/dfplugin; dfcache loads none.
    assert {m.name for m in facts.loaders} == {"dfget", "scheduler", "manager"}
    assert not any(m.has_check for m in facts.mains)
    assert facts.stamps == (("d7y.io/dragonfly/v2/version.GitVersion", "{version}"),)
    found = {(p.meta_type, p.meta_name, p.own_module) for p in facts.plugins}
    assert found == {("resource", "dfs", False), ("scheduler", "evaluator", False),
                     ("manager", "searcher", False)}


def test_scan_sees_a_check_command_in_the_packages_a_service_uses() -> None:
    facts = hostscan.scan(REPO / "host", ["DragonflyPluginInit"], elsewhere=[REPO / "plugins"])
    assert {m.name for m in facts.mains if m.has_check and m.loads_plugins} == {
        "dfdaemon", "scheduler", "manager"}
    assert {(p.meta_type, p.own_module) for p in facts.plugins} == {
        ("resource", True), ("scheduler", True), ("manager", True)}


def test_comments_and_strings_do_not_fool_the_scan(tmp_path) -> None:
    host = tmp_path / "host"
    (host / "cmd" / "svc").mkdir(parents=True)
    (host / "go.mod").write_text("module example.com/h\n\ngo 1.26.6\n")
    (host / "cmd" / "svc" / "main.go").write_text(
        'package main\n\n// import "plugin"\n/* func DragonflyPluginInit( */\n'
        'var s = "import \\"plugin\\" // not a comment"\n\nfunc main() {}\n')
    facts = hostscan.scan(host, ["DragonflyPluginInit"])
    assert [(m.relative, m.loads_plugins) for m in facts.mains] == [("./cmd/svc", False)]
    assert facts.plugins == ()


@pytest.mark.parametrize("gomod, release", [
    ("go 1.26\ntoolchain go1.26.6\n", "1.26.6"),
    ("go 1.26.8\ntoolchain go1.26.6\n", "1.26.8"),  # the go command takes the newer
    ("go 1.27.3\n", "1.27.3"),
    ("go 1.26\n", "1.26.0"),  # a language version: its first release
    ("go 1.16\n", init.DEFAULT_GO),  # before toolchains: the tool's default
    ("", init.DEFAULT_GO),
])
def test_the_go_release_comes_from_the_toolchain_or_go_line(gomod, release) -> None:
    found, reason = hostscan.go_release(parse_gomod(f"module m\n{gomod}"), init.DEFAULT_GO)
    assert found == release and reason


# -- what init writes -----------------------------------------------------------------------


@pytest.mark.parametrize("preset", presets.names())
def test_every_preset_writes_a_valid_config_for_its_host(preset, tmp_path) -> None:
    host_of_preset(preset, tmp_path)
    (tmp_path / "project").mkdir()
    config = written(tmp_path, "../host", preset, go=("1.26.6",))
    expected_types = {"reference": {"resource", "scheduler", "manager"},
                      "dragonfly": {"resource", "scheduler", "manager"},
                      "bifrost": {"hook"}, "krakend": {"handler", "client", "modifier"},
                      "tyk": {"middleware", "response"}, "blank": {"plugin"}}[preset]
    assert set(config.plugin_types) == expected_types
    targets = {p.id for p in config.plugins}
    assert targets == {"reference": {"resource/dfs", "scheduler/evaluator", "manager/searcher"},
                       "dragonfly": {"resource/dfs", "scheduler/evaluator",
                                     "manager/searcher"},
                       "bifrost": {"hook/hello"},
                       "krakend": {"handler/hello", "client/echo", "modifier/stamp"},
                       "tyk": {"middleware/hello", "response/stamp"}, "blank": set()}[preset]
    assert config.matrix.default.id == "go1.26.6-glibc-amd64"


def test_the_dragonfly_preset_follows_dragonflys_conventions(dragonfly) -> None:
    config = written(dragonfly, "../myhost", "dragonfly")
    assert config.matrix.go == ("1.26.6",)  # the fixture's toolchain line
    assert set(config.host.services) == {"dfdaemon", "scheduler", "manager"}
    assert config.host.services["dfdaemon"].main == "./cmd/dfget"
    assert config.host.services["dfdaemon"].binary == "dfget"
    for name, kind in config.plugin_types.items():
        assert kind.file_name("x") == f"d7y-{name}-plugin-x.so"
        assert kind.entry_symbol == "DragonflyPluginInit"
        assert kind.contract_symbols[0].go_type == \
            "func(map[string]string) (any, map[string]string, error)"
        assert kind.service == {"resource": "dfdaemon"}.get(name, name)
        # Dragonfly calls the entry, checks its metadata and asserts the value to the
        # type's own interface, in its own package (the fixture has Dragonfly's paths).
        call = kind.call
        assert call is not None and call.symbol == "DragonflyPluginInit"
        assert call.arguments == ({},)
        assert [r.is_nil for r in call.returns] == [None, None, True]
        assert dict(call.returns[1].has)["name"] == "{name}"
    assert config.plugin_types["scheduler"].call.returns[0].implements == "evaluator.Evaluator"
    assert config.plugin_types["scheduler"].imports == (
        "d7y.io/dragonfly/v2/scheduler/scheduling/evaluator",)
    # It loads exactly one name per type: evaluatorv2 would never be loaded.
    assert config.plugin_types["scheduler"].names == ("evaluator",)
    assert config.plugin_types["manager"].names == ("searcher",)
    assert config.plugin_types["scheduler"].name_problem("evaluatorv2")
    assert dict(config.plugin_types["resource"].call.returns[1].has)["scheme"] == "{name}"
    assert all(p.in_tree for p in config.plugins)  # Dragonfly's testdata/plugin folders
    assert dict(config.host.stamp) == {"d7y.io/dragonfly/v2/version.GitVersion": "{version}"}
    # new-plugin renders the preset's template of each type, copied into the project.
    template = dragonfly / "project" / "templates" / "dragonfly-scheduler"
    assert config.plugin_types["scheduler"].template == template
    assert "evaluator.Evaluator" in (template / "main.go.tmpl").read_text()


def test_the_bifrost_preset_declares_the_contract_and_a_json_plugins_config(bifrost) -> None:
    config = written(bifrost, "../host", "bifrost", go=("1.26.6",))
    hook = config.plugin_types["hook"]
    assert hook.file_name("hello") == "hello.so"
    # As Bifrost's loader has it: GetName and Cleanup required, Init optional.
    assert {(s.name, s.go_type, s.required) for s in hook.contract_symbols} == {
        ("GetName", "func() string", True), ("Cleanup", "func() error", True),
        ("Init", "func(config any) error", False)}
    # The fixture host has its own `check-plugin`: verify uses it (and its loader).
    assert config.host.services["bifrost"].check[1:] == ("check-plugin", "{plugin}")
    # The hooks' types name Bifrost's schemas package, which this host's build list lacks:
    # listed for reference, not declared (on Bifrost itself they are).
    text = (bifrost / "project" / "buildconfig.toml").read_text()
    assert "github.com/maximhq/bifrost/core/schemas" in text
    for hook_symbol in ("HTTPTransportPreHook", "HTTPTransportStreamChunkHook", "PreLLMHook",
                        "PostLLMHook", "PreHook", "PostHook", "PreMCPHook", "PostMCPHook",
                        "Inject"):
        assert re.search(rf"^#\s+{hook_symbol} = \"func\(", text, re.M), hook_symbol
    plugins = (bifrost / "project" / "plugins.json").read_text()
    assert '"path": "/app/data/plugins/hello.so"' in plugins


def test_the_krakend_preset_checks_each_kind_by_its_flag_in_luras_types(tmp_path) -> None:
    host_of_preset("krakend", tmp_path)
    (tmp_path / "project").mkdir()
    config = written(tmp_path, "../host", "krakend", go=("1.26.6",))
    assert config.host.services["krakend"].main == "./cmd/krakend-ce"
    for kind, symbol, flag, package in (
            ("handler", "HandlerRegisterer", "-s", "transport/http/server/plugin"),
            ("client", "ClientRegisterer", "-c", "transport/http/client/plugin"),
            ("modifier", "ModifierRegisterer", "-m", "proxy/plugin")):
        plugin_type = config.plugin_types[kind]
        assert plugin_type.service == "krakend"
        assert dict(plugin_type.symbol_types) == {symbol: "plugin.Registerer"}
        assert plugin_type.imports == (f"github.com/luraproject/lura/v2/{package}",)
        assert plugin_type.check == ("{binary}", "test-plugin", flag, "{plugin}")


def test_a_host_whose_build_list_lacks_the_contracts_package_looks_the_symbols_up(
        tmp_path) -> None:
    """A KrakenD fork that does not require lura: its types cannot compile in its module
    graph, so init declares the registerers required (looked up) and lists their types."""
    host_of_preset("krakend", tmp_path)
    go_mod = tmp_path / "host" / "go.mod"
    go_mod.write_text("module github.com/krakend/krakend-ce/v2\n\ngo 1.23\n")
    (tmp_path / "project").mkdir()
    config = written(tmp_path, "../host", "krakend", go=("1.26.6",))
    handler = config.plugin_types["handler"]
    assert handler.required_symbols == ("HandlerRegisterer",) and not handler.symbol_types
    assert handler.imports == ()
    text = (tmp_path / "project" / "buildconfig.toml").read_text()
    assert "has no github.com/luraproject/lura/v2/transport/http/server/plugin" in text
    assert '#   HandlerRegisterer = "plugin.Registerer"' in text


def test_the_tyk_preset_builds_with_goplugin_and_asserts_what_its_check_ignores(
        tmp_path) -> None:
    host_of_preset("tyk", tmp_path)
    (tmp_path / "project").mkdir()
    config = written(tmp_path, "../host", "tyk", go=("1.26.6",))
    assert config.host.tags == ("goplugin",)
    middleware = config.plugin_types["middleware"]
    assert dict(middleware.symbol_types) == {
        "ProcessRequest": "func(http.ResponseWriter, *http.Request)"}
    assert middleware.check[1:] == ("plugin", "load", "-f", "{plugin}", "-s",
                                    "ProcessRequest")


def test_every_key_of_the_model_is_explained_in_the_written_config(dragonfly) -> None:
    written(dragonfly, "../myhost", "dragonfly")
    text = (dragonfly / "project" / "buildconfig.toml").read_text()
    comments = "\n".join(line for line in text.splitlines() if line.startswith("#"))
    # docs/configuration.md documents exactly the model's keys (test_configuration_doc.py)
    for row in key_docs():
        assert f"# {row} (" in comments, f"{row} is not explained"
    assert len(key_docs()) >= 40  # the table was read


def test_every_explained_key_is_set_or_shows_its_example_commented_out(dragonfly) -> None:
    """What the header says: the keys init fills in are set, the others show an example
    commented out (README said "keys left at their default shown commented out", while
    init set them)."""
    written(dragonfly, "../myhost", "dragonfly")
    lines = (dragonfly / "project" / "buildconfig.toml").read_text().splitlines()
    assert "the keys init fills in are set, the others show an example commented out" in \
        " ".join(line.removeprefix("# ") for line in lines[:8])
    assignment = re.compile(r'^(# )?("[^"]+"|[A-Za-z0-9_.-]+) = ')
    for row in key_docs():
        [start] = [i for i, line in enumerate(lines) if line.startswith(f"# {row} (")]
        end = start + 1
        while lines[end].startswith("# ") and not assignment.match(lines[end]):
            end += 1  # the explanation, wrapped
        assert assignment.match(lines[end]), f"{row}: neither set nor shown: {lines[end]!r}"


def test_the_written_config_is_commented_and_its_values_are_set(dragonfly) -> None:
    written(dragonfly, "../myhost", "dragonfly", libc=("glibc,musl",))
    text = (dragonfly / "project" / "buildconfig.toml").read_text()
    directive, comment = text.splitlines()[:2]
    assert comment.startswith("# buildconfig.toml of this project, written by `plugin-builder init")
    assert 'libc = ["glibc", "musl"]' in text
    # What taplo (Even Better TOML) reads: the JSON Schema installed with the tool.
    assert directive == f"#:schema {SCHEMA_FILE.resolve().as_uri()}"
    assert json.loads(SCHEMA_FILE.read_text())["title"]
    assert "allow_outside_paths = true" in text  # the host is beside the project


def test_the_schema_line_is_relative_when_the_tool_is_installed_in_the_project(tmp_path):
    from plugin_builder.init.render import schema_directive

    assert schema_directive(SCHEMA_FILE.parents[3]) == \
        "#:schema ./src/plugin_builder/config/buildconfig.schema.json"
    assert schema_directive(tmp_path).startswith("#:schema file:///")


def test_thin_front_ends_import_the_tools_own(dragonfly) -> None:
    init.write(init.plan(options(dragonfly, "../myhost", "dragonfly")))
    project = dragonfly / "project"
    assert "from plugin_builder.tasks import ns" in (project / "tasks.py").read_text()
    noxfile = (project / "noxfile.py").read_text()
    assert "noxsessions.register()" in noxfile
    assert "/artifacts/" in (project / ".gitignore").read_text()


def test_init_twice_changes_nothing_without_force(dragonfly) -> None:
    init.write(init.plan(options(dragonfly, "../myhost", "dragonfly")))
    project = dragonfly / "project"
    (project / "buildconfig.toml").write_text("# mine\n")
    (project / "tasks.py").write_text("# mine\n")
    with pytest.raises(UsageError, match="init never replaces it"):
        init.write(init.plan(options(dragonfly, "../myhost", "blank")))
    assert (project / "buildconfig.toml").read_text() == "# mine\n"
    assert (project / "tasks.py").read_text() == "# mine\n"
    outcome = init.write(init.plan(options(dragonfly, "../myhost", "dragonfly", force=True)))
    assert "buildconfig.toml" in outcome.written and "tasks.py" in outcome.written
    config_module.load(project / "buildconfig.toml")


def test_an_existing_tasks_py_of_the_users_is_kept(dragonfly) -> None:
    project = dragonfly / "project"
    (project / "tasks.py").write_text("# my own tasks\n")
    outcome = init.write(init.plan(options(dragonfly, "../myhost", "dragonfly")))
    assert outcome.kept == ("tasks.py",)
    assert (project / "tasks.py").read_text() == "# my own tasks\n"
    assert (project / "noxfile.py").is_file()


def test_a_host_inside_the_project_needs_no_outside_paths(tmp_path) -> None:
    shutil.copytree(FIXTURES / "dragonfly", tmp_path / "project" / "host")
    config = written(tmp_path, "host", "dragonfly")
    assert config.host.module == (tmp_path / "project" / "host").resolve()
    assert "allow_outside_paths" not in "".join(
        line for line in (tmp_path / "project" / "buildconfig.toml").read_text().splitlines()
        if not line.startswith("#"))


@pytest.mark.parametrize("change, message", [
    ({"preset": "nosuch"}, "--preset nosuch: no such preset"),
    ({"go": ("1.26",)}, "--go 1.26: not a Go release"),
    ({"libc": ("uclibc",)}, "--libc uclibc: no such libc"),
    ({"arch": ("386",)}, "--arch 386: not a supported GOARCH"),
    ({"host": "nowhere"}, "no go.mod in"),
])
def test_bad_flags_are_one_message_and_write_nothing(dragonfly, change, message) -> None:
    values = {"host": "../myhost", "preset": "dragonfly", **change}
    host, preset = values.pop("host"), values.pop("preset")
    with pytest.raises(UsageError, match=re.escape(message)):
        init.write(init.plan(options(dragonfly, host, preset, **values)))
    assert list((dragonfly / "project").iterdir()) == []


def test_a_preset_of_another_family_says_so(bifrost) -> None:
    with pytest.raises(UsageError, match="this preset can take as a service"):
        init.plan(options(bifrost, "../host", "dragonfly"))


def test_a_plugin_breaking_a_naming_rule_is_left_out_with_a_note(dragonfly) -> None:
    plugin = dragonfly / "myhost" / "scheduler" / "scheduling" / "evaluator" / "testdata" / "plugin"
    source = plugin / "evaluator.go"
    source.write_text(source.read_text().replace('"name": "evaluator"', '"name": "ranker"'))
    plan = init.plan(options(dragonfly, "../myhost", "dragonfly"))
    assert "scheduler/evaluator" not in {f"{t.type}/{t.name}" for t in plan.targets}
    assert any("breaks the scheduler naming rule" in note for note in plan.notes)


def test_this_repositorys_layout_registers_each_plugin_once(tmp_path) -> None:
    """The project folder holds the host and plugins/ (as this repository does)."""
    project = tmp_path / "project"
    shutil.copytree(REPO / "host", project / "host", ignore=shutil.ignore_patterns("go.work*"))
    shutil.copytree(REPO / "plugins", project / "plugins")
    plan = init.plan(init.Options(folder=project, host=project / "host", preset="reference",
                                  go=("1.26.6",)))
    assert plan.notes == []
    assert [(t.type, t.name, t.source) for t in plan.targets] == [
        ("resource", "dfs", "plugins/resource/dfs"),
        ("scheduler", "evaluator", "plugins/scheduler/evaluator"),
        ("manager", "searcher", "plugins/manager/searcher")]
    assert not plan.allow_outside


def test_the_noxfiles_declare_the_nox_release_where_nox_reads_it(tmp_path):
    """nox reads needs_version from the noxfile's source before importing it; an
    assignment inside a function (noxsessions.register) is never seen."""
    from nox._version import _read_needs_version

    from plugin_builder.init import NOXFILE_PY

    written = tmp_path / "noxfile.py"
    written.write_text(NOXFILE_PY)
    repository = Path(__file__).resolve().parents[2] / "noxfile.py"
    for noxfile in (written, repository):
        assert _read_needs_version(str(noxfile)) == ">=2026.08.10", noxfile
