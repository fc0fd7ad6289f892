"""The presets of `plugin-builder init`: TOML files that carry their own marks, so a new
host family is one file; the blank preset, generic and short, with a template."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from plugin_builder import cli, init, scaffold
from plugin_builder import config as config_module
from plugin_builder.errors import UsageError
from plugin_builder.init import presets

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures"

ACME = '''\
summary = "Acme gateways: AcmeRegister, acme-<name>.so"
plugin_dir = "/opt/acme/plugins"
order = 50

[marks]
symbols = ["AcmeRegister"]

[types.filter]
about = "request filters"
service = "@loader"
file = "acme-{name}.so"
entry_symbol = "AcmeRegister"
symbols = { AcmeRegister = "func() error" }
template = "acme"
'''

ACME_HOST = {
    "go.mod": "module example.org/gateway\n\ngo 1.26\n",
    "cmd/gw/main.go": 'package main\n\nimport "plugin"\n\nvar _ = plugin.Open\n\n'
                      "func main() {}\n",
    "filters/auth/main.go": "package main\n\nfunc AcmeRegister() error { return nil }\n\n"
                            "func main() {}\n",
}


def write(root: Path, files: dict[str, str]) -> Path:
    for relative, text in files.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text(text)
    return root


@pytest.fixture
def acme(tmp_path, monkeypatch) -> Path:
    """A host family no Python names: its preset is a file in $PLUGIN_BUILDER_PRESETS."""
    folder = write(tmp_path / "my-presets", {
        "acme.toml": ACME,
        "templates/acme/go.mod.tmpl": "module ${module}\n\ngo ${go}\n",
        "templates/acme/main.go.tmpl": "package main\n\nfunc AcmeRegister() error "
                                       "{ return nil }\n\nfunc main() {}\n"})
    monkeypatch.setenv(presets.SEARCH_ENV, str(folder))
    write(tmp_path / "host", ACME_HOST)
    (tmp_path / "project").mkdir()
    return tmp_path


def test_a_new_preset_file_is_recognised_without_python(acme) -> None:
    assert "acme" in presets.names()
    assert cli.guess_preset(acme / "host") == "acme"
    outcome = init.write(init.plan(init.Options(folder=acme / "project", host=acme / "host",
                                                preset="acme", go=("1.26.6",))))
    config = config_module.load(acme / "project" / "buildconfig.toml")
    assert [p.id for p in config.plugins] == ["filter/auth"]
    assert config.plugin_types["filter"].file_name("auth") == "acme-auth.so"
    assert "templates/acme/" in outcome.written
    assert (acme / "project" / "templates" / "acme" / "main.go.tmpl").is_file()


def test_the_presets_are_listed_in_their_order() -> None:
    assert presets.names() == ("reference", "dragonfly", "bifrost", "krakend", "tyk", "blank")


@pytest.mark.parametrize("module, symbols, expected", [
    ("plugin-builder.dev/host", {"DragonflyPluginInit"}, "reference"),  # exactly its module
    ("d7y.io/dragonfly/v2", set(), "dragonfly"),  # a module prefix
    ("github.com/maximhq/bifrost/transports", set(), "bifrost"),  # a substring
    ("example.com/fork", {"DragonflyPluginInit"}, "dragonfly"),  # reference: module only
    ("example.com/gw", {"GetName"}, "bifrost"),
    ("github.com/krakend/krakend-ce/v2", set(), "krakend"),
    ("example.com/gw", {"HandlerRegisterer"}, "krakend"),
    ("github.com/TykTechnologies/tyk", set(), "tyk"),
    ("example.com/gw", {"Other"}, "blank"),  # the fallback
])
def test_the_guess_is_a_loop_over_the_presets_marks(module, symbols, expected) -> None:
    guessed = presets.guess(presets.available(), module, [frozenset(symbols)])
    assert guessed.name == expected


def test_a_module_mark_outranks_plugin_symbols() -> None:
    exports = [frozenset({"GetName"})] * 3
    assert presets.guess(presets.available(), "d7y.io/x", exports).name == "dragonfly"


@pytest.mark.parametrize("text, message", [
    ("summary = 1\n", "summary: must be a str"),
    ('summary = "s"\nplugin_dir = "/p"\nmark = []\n[types.t]\nabout = "a"\nservice = "s"\n'
     'file = "{name}.so"\n', "mark: unknown key"),
    ('summary = "s"\nplugin_dir = "/p"\n', "types: required"),
    ('summary = "s"\nplugin_dir = "/p"\n[marks]\nsymbols = "X"\n[types.t]\nabout = "a"\n'
     'service = "s"\nfile = "{name}.so"\n', "marks.symbols: must be a list"),
    ("not toml [", "preset "),
])
def test_a_broken_preset_file_is_one_message_naming_it(tmp_path, monkeypatch, text,
                                                       message) -> None:
    (tmp_path / "broken.toml").write_text(text)
    monkeypatch.setenv(presets.SEARCH_ENV, str(tmp_path))
    with pytest.raises(UsageError, match=re.escape(message)) as raised:
        presets.load("broken")
    assert str(tmp_path / "broken.toml") in raised.value.message


# -- the blank preset ----------------------------------------------------------------------


@pytest.fixture
def blank(tmp_path) -> Path:
    shutil.copytree(FIXTURES / "hosts" / "gateway" / "host", tmp_path / "host")
    (tmp_path / "project").mkdir()
    init.write(init.plan(init.Options(folder=tmp_path / "project", host=tmp_path / "host",
                                      preset="blank", go=("1.26.6",), arch=("amd64",))))
    return tmp_path / "project"


def test_the_blank_config_is_short_generic_and_valid(blank) -> None:
    text = (blank / "buildconfig.toml").read_text()
    assert len(text.splitlines()) <= 80
    for word in ("dragonfly", "d7y", "evaluator", "searcher", "DragonflyPluginInit"):
        assert word.lower() not in text.lower(), word
    config = config_module.load(blank / "buildconfig.toml")
    assert set(config.plugin_types) == {"plugin"}
    assert config.host.services["bifrost-http"].main == "./cmd/bifrost-http"


def test_the_blank_config_says_what_a_plugins_go_mod_requires(blank) -> None:
    text = (blank / "buildconfig.toml").read_text()
    assert "#     require example.com/gateway v0.0.0" in text


def test_new_plugin_renders_the_blank_template(blank) -> None:
    folder = scaffold.new_plugin(blank / "buildconfig.toml", "plugin", "hello")
    assert "require example.com/gateway v0.0.0" in (folder / "go.mod").read_text()
    assert re.search(r"^func New\(", (folder / "main.go").read_text(), re.M)
    assert "func TestNewReturnsThePlugin" in (folder / "main_test.go").read_text()
    config = config_module.load(blank / "buildconfig.toml")
    assert [p.id for p in config.plugins] == ["plugin/hello"]


def test_the_explained_presets_still_explain_every_key(tmp_path) -> None:
    shutil.copytree(FIXTURES / "bifrost" / "host", tmp_path / "host")
    shutil.copytree(FIXTURES / "bifrost" / "plugins", tmp_path / "plugins")
    (tmp_path / "project").mkdir()
    init.write(init.plan(init.Options(folder=tmp_path / "project", host=tmp_path / "host",
                                      preset="bifrost", go=("1.26.6",))))
    text = (tmp_path / "project" / "buildconfig.toml").read_text()
    assert "# host.gcflags (string" in text and "[docker]" in text
    assert "#     require example.com/bifrost v0.0.0" in text  # what hello's go.mod says


def test_a_module_named_after_a_family_counts_only_when_borne_out() -> None:
    # A gateway of one's own called krakend-ce that loads plugins its own way (the
    # library fixture): neither lura in its build list nor a registerer's name in its
    # source, so it is not taken for KrakenD.
    available = presets.available()
    assert presets.guess(available, "example.com/krakend-ce", [],
                         lambda preset: False).name == "blank"
    assert presets.guess(available, "example.com/krakend-ce", [],
                         lambda preset: preset.name == "krakend").name == "krakend"
    # An exact module path or prefix needs nothing more.
    assert presets.guess(available, "github.com/krakend/krakend-ce/v2", [],
                         lambda preset: False).name == "krakend"


@pytest.mark.parametrize("fixture, expected", [
    ("hosts/library", "blank"),  # opens plugins, names no symbol, has no lura
    ("bifrost/host", "bifrost"),  # looks up "GetName" (schemas.SymbolGetName)
])
def test_init_guesses_by_what_the_host_is(fixture: str, expected: str, tmp_path) -> None:
    from plugin_builder.init.planning import guess_preset

    host = FIXTURES / fixture
    if (host / "gateway").is_dir():
        host = host / "gateway"
    assert guess_preset(host) == expected
