"""The stand-in loader's Go source, read as text: Go types as the config writes them, Go
literals of TOML data, and the files generated from contracts (no Go runs here; the
integration corpus compiles and runs them against real hosts)."""

from __future__ import annotations

import re

import pytest

from plugin_builder.golang.gotypes import (
    GoTypeError,
    Signature,
    func_signature,
    go_string,
    literal,
)
from plugin_builder.steps.loader import _standard_only
from plugin_builder.steps.loader_source import MAIN, LoaderSource, generate
from plugin_builder.verify.findings import Contract, ContractCall, ReturnCheck

ENTRY = "func(map[string]string) (any, map[string]string, error)"


# -- Go types -------------------------------------------------------------------------------


@pytest.mark.parametrize("go_type, signature", [
    (ENTRY, Signature(("map[string]string",), ("any", "map[string]string", "error"))),
    ("func() error", Signature((), ("error",))),
    ("func()", Signature((), ())),
    ("func(config any) error", Signature(("any",), ("error",))),
    ("func(ctx *schemas.BifrostContext, req *schemas.HTTPRequest) (*schemas.HTTPResponse, "
     "error)", Signature(("*schemas.BifrostContext", "*schemas.HTTPRequest"),
                         ("*schemas.HTTPResponse", "error"))),
    ("func(a, b string, c int) (n int, err error)",
     Signature(("string", "string", "int"), ("int", "error"))),
    ("func(func(string, int) bool, chan int) func() error",
     Signature(("func(string, int) bool", "chan int"), ("func() error",))),
    ("func(w http.ResponseWriter, r *http.Request)",
     Signature(("http.ResponseWriter", "*http.Request"), ())),
    ("func(args ...string)", Signature(("...string",), (), variadic=True)),
])
def test_a_function_type_gives_its_parameters_and_results(go_type, signature) -> None:
    assert func_signature(go_type) == signature


@pytest.mark.parametrize("go_type", ["*string", "interface{ M() }", "plugin.Registerer",
                                     "map[string]func()"])
def test_other_types_are_no_function(go_type) -> None:
    assert func_signature(go_type) is None


def test_a_name_without_a_type_is_refused() -> None:
    with pytest.raises(GoTypeError, match="name without a type"):
        func_signature("func(a, b int, c)")  # c has no type after it


@pytest.mark.parametrize("text, quoted", [
    ("plain", '"plain"'),
    ('a "quote" and a \\', '"a \\"quote\\" and a \\\\"'),
    ("é", '"\\u00e9"'),
    ("\U0001F600", '"\\U0001f600"'),
    ("\u2028", '"\\u2028"'),  # a line separator: an escape, never a line break
    ("`); os.Exit(1); //", '"`); os.Exit(1); //"'),  # data, whatever it says
])
def test_strings_become_inert_go_string_literals(text, quoted) -> None:
    literal_text = go_string(text)
    assert literal_text == quoted
    assert all(32 <= ord(c) < 127 for c in literal_text)


@pytest.mark.parametrize("go_type, value, expected", [
    ("map[string]string", {}, "map[string]string{}"),
    ("map[string]string", {"b": "2", "a": "1"}, 'map[string]string{"a": "1", "b": "2"}'),
    ("map[string]interface{}", {"n": 1, "ok": True, "f": 0.5, "l": ["x"], "m": {}},
     'map[string]any{"f": float64(0.5), "l": []any{"x"}, "m": map[string]any{}, '
     '"n": int64(1), "ok": true}'),
    ("any", "x", '"x"'),
    ("string", "x", '"x"'),
    ("bool", False, "false"),
    ("int8", -128, "int8(-128)"),
    ("uint16", 65535, "uint16(65535)"),
    ("float32", 2, "float32(2.0)"),
    ("[]string", ["a", "b"], '[]string{"a", "b"}'),
])
def test_toml_values_become_literals_of_the_parameter_type(go_type, value, expected) -> None:
    assert literal(go_type, value) == expected


@pytest.mark.parametrize("go_type, value, words", [
    ("map[string]string", {"a": 1}, "1 is not a string"),
    ("map[string]string", "x", "is not a table of strings"),
    ("string", 1, "is not a string"),
    ("int", True, "is not an integer"),
    ("bool", 1, "is not true or false"),
    ("uint8", -1, "does not fit a uint8"),
    ("[]string", "ab", "is not an array"),
    ("float64", float("inf"), "has no Go literal"),
    ("chan int", 1, "no argument can be written"),
    ("*schemas.BifrostContext", {}, "no argument can be written"),
])
def test_a_value_that_does_not_fit_its_parameter_is_refused(go_type, value, words) -> None:
    with pytest.raises(GoTypeError, match=re.escape(words)):
        literal(go_type, value)


# -- the generated files --------------------------------------------------------------------


def dragonfly(plugin_type: str = "scheduler") -> Contract:
    return Contract(
        plugin_type, ("DragonflyPluginInit",), types=(("DragonflyPluginInit", ENTRY),),
        imports=("d7y.io/dragonfly/v2/scheduler/scheduling/evaluator",),
        call=ContractCall("DragonflyPluginInit", ("map[string]string{}",), (
            ReturnCheck(implements="evaluator.Evaluator"),
            ReturnCheck(has=(("type", "{type}"), ("name", "{name}"))),
            ReturnCheck(is_nil=True))))


def test_an_empty_contract_is_go_that_uses_everything_it_declares() -> None:
    source = generate([Contract("plugin", ())])
    assert source.files["contract_0.go"].endswith("func pbContract0(pbC *pbCheck) {\n}\n")
    assert "import" not in source.files["contract_0.go"]  # nothing to import, nothing unused
    assert '"0": pbContract0,' in source.files["main.go"]


def test_each_contract_is_a_file_of_its_own_with_its_own_imports() -> None:
    # KrakenD: three packages called plugin, one per kind; Go imports are per file.
    kinds = [Contract(kind, (symbol,), types=((symbol, "plugin.Registerer"),),
                      imports=(f"github.com/luraproject/lura/v2/{path}/plugin",))
             for kind, symbol, path in (("handler", "HandlerRegisterer", "transport/http/server"),
                                        ("client", "ClientRegisterer", "transport/http/client"),
                                        ("modifier", "ModifierRegisterer", "proxy"))]
    source = generate(kinds)
    assert sorted(source.files) == ["contract_0.go", "contract_1.go", "contract_2.go",
                                    "main.go"]
    for index, contract in enumerate(kinds):
        text = source.files[f"contract_{index}.go"]
        assert f'\t"{contract.imports[0]}"\n' in text
        assert "pbS.(plugin.Registerer)" in text
    # The loader's own packages are aliased: a user's package called plugin is free.
    assert '\tpbplugin "plugin"\n' in MAIN


def test_a_declared_type_is_asserted_and_an_untyped_symbol_only_looked_up() -> None:
    contract = Contract("greeter", ("Plugin", "Version"), optional=("Hook",),
                        types=(("Plugin", "*greeter.Greeter"),
                               ("Hook", "func(*greeter.Request) error")),
                        imports=("example.com/host/greeter",))
    text = generate([contract]).files["contract_0.go"]
    assert 'pbC.lookup("Version", true)\n' in text
    assert 'pbC.lookup("Plugin", true); pbFound {' in text
    assert "pbS.(*greeter.Greeter); !pbOK {" in text
    assert 'pbC.lookup("Hook", false); pbFound {' in text  # optional: absent is fine
    assert 'pbC.wrongType("Hook", pbS, "func(*greeter.Request) error")' in text


def test_a_call_checks_the_error_first_then_the_value_and_the_metadata() -> None:
    text = generate([dragonfly()]).files["contract_0.go"]
    lines = text.splitlines()
    call = next(i for i, line in enumerate(lines) if ":= pbF(map[string]string{})" in line)
    error = next(i for i, line in enumerate(lines) if "pbC.returnedNil(" in line)
    value = next(i for i, line in enumerate(lines) if "(evaluator.Evaluator); !pbOK" in line)
    meta = next(i for i, line in enumerate(lines) if 'pbC.has("DragonflyPluginInit", 2' in line)
    assert call < error < value < meta
    assert 'pbC.has("DragonflyPluginInit", 2, pbR1, "type", "scheduler")' in text
    assert 'pbC.has("DragonflyPluginInit", 2, pbR1, "name", pbC.name)' in text
    assert 'pbC.call("DragonflyPluginInit", func() {' in text  # a panic fails the check


def test_every_generated_line_a_config_key_wrote_maps_back_to_it() -> None:
    source = generate([Contract("plugin", ()), dragonfly()])
    keys = {key: value for key, value in source.keys.values()}
    assert keys["plugin_types.scheduler.imports[0]"] == \
        "d7y.io/dragonfly/v2/scheduler/scheduling/evaluator"
    assert keys["plugin_types.scheduler.symbols.DragonflyPluginInit"] == ENTRY
    assert keys["plugin_types.scheduler.call.returns[0].implements"] == "evaluator.Evaluator"
    assert keys["plugin_types.scheduler.call.returns[1].has.name"] == "{name}"
    for (file, line), (key, _) in source.keys.items():
        assert file == "contract_1.go"
        written = source.files[file].splitlines()[line - 1]
        assert written.strip(), key


def test_the_loader_prints_its_token_only_after_every_check() -> None:
    main = MAIN.split("func main() {", 1)[1]
    assert main.index("ReadString") < main.index("pbplugin.Open")  # drained before any init
    assert main.index("contract(c)") < main.index('"plugin-builder-loader: done", token')
    # Nothing the generated code declares can be shadowed by a user's import name.
    declared = re.findall(r"^(?:func|type|var) (?:\([^)]*\) )?([A-Za-z_]\w*)", MAIN, re.M)
    assert all(name.startswith("pb") or name in ("main", "fail", "lookup", "wrongType",
                                                 "call", "returnedNil", "returnedValue",
                                                 "notA", "has")
               for name in declared), declared


def test_without_the_host_source_only_standard_types_stay_asserted() -> None:
    contract = Contract("hook", ("GetName", "Cleanup"), optional=("PreHook", "Handler"),
                        types=(("GetName", "func() string"),
                               ("PreHook", "func(*schemas.Request) error"),
                               ("Handler", "func(http.ResponseWriter, *http.Request)")),
                        imports=("net/http", "context", "example.com/host/schemas"))
    kept, dropped = _standard_only(contract)
    assert dropped == ("PreHook",)
    assert dict(kept.types) == {"GetName": "func() string",
                                "Handler": "func(http.ResponseWriter, *http.Request)"}
    assert kept.imports == ("net/http",)  # context was named by nothing kept
    kept, dropped = _standard_only(dragonfly())
    assert dropped == ("DragonflyPluginInit()",) and kept.call is None  # it names evaluator


@pytest.mark.parametrize("shown", ["./contract_0.go", "contract_0.go",
                                   ".work/loaders/4b41da3aed5c2ab9/contract_0.go"])
def test_a_compile_error_on_a_generated_line_names_its_config_key(shown: str) -> None:
    from plugin_builder.errors import BuildError
    from plugin_builder.steps.loader import _config_error

    source = LoaderSource({"contract_0.go": ""}, {("contract_0.go", 12): (
        "plugin_types.handler.symbols.HandlerRegisterer", "plugin.Handler")})
    error = BuildError("building loaders/loader-x", f"# plugin-builder.dev/loader\n"
                       f"{shown}:12:29: undefined: plugin.Handler")
    found = _config_error(error, source, "buildconfig.toml")
    assert found is not None
    assert "plugin_types.handler.symbols.HandlerRegisterer: 'plugin.Handler' does not " \
           "compile in the host's module graph: undefined: plugin.Handler" in str(found)


def test_the_loaders_workspace_is_the_same_in_every_checkout(tmp_path) -> None:
    """go.work names the host's modules relative to the loader's folder: two checkouts of
    one project get one loader (its name and shared-cache key), none built twice."""
    from types import SimpleNamespace

    from plugin_builder.steps.loader import HostGraph, _gowork

    environment = SimpleNamespace(combination=SimpleNamespace(go="1.26.6"))
    works = []
    for checkout in ("first", "elsewhere/second"):
        root = tmp_path / checkout
        graph = HostGraph(flags=("-trimpath",), modules=(root / "host", root / "shared"),
                          replaces=(f'replace example.com/x => "{root / "x"}"',
                                    "replace example.com/y v1.0.0 => example.com/z v1.1.0"))
        works.append(_gowork(environment, graph, root / "artifacts" / "c" / ".work" / "loaders"))
    assert works[0] == works[1]
    assert '"../../../../../host"' in works[0] and '=> "../../../../../x"' in works[0]
    assert "replace example.com/y v1.0.0 => example.com/z v1.1.0" in works[0]
