"""modgraph: what the go command reports about module graphs, and what a plugin's build
must share with its host's. The texts below are what Go 1.26.6 printed for the pinned
fixture host (tests/fixtures/hosts/pinned) and its tracer plugin."""

from __future__ import annotations

import json

import pytest

from plugin_builder.golang import gojson
from plugin_builder.golang.gomod import Replace, parse_gomod
from plugin_builder.golang.modgraph import (
    Disagreement,
    Selected,
    build_list,
    conflicting_replacement,
    disagreements,
    go_too_new,
    host_upgrade,
    linked_modules,
    plugin_fix,
    requirement_chain,
    requirement_graph,
)

PLUGIN = "example.com/pinned-plugins/tracer"
# `go mod graph` in the plugin's generated workspace: the plugin's tidy go.mod also
# lists leaf v1.1.0 (// indirect), though only tracer asks for it.
GRAPH = f"""\
example.com/pinned example.com/compute@v1.0.0
example.com/pinned example.com/mid@v1.0.0
example.com/pinned example.com/otel@v1.2.0
example.com/pinned example.com/leaf@v1.0.0
example.com/pinned go@1.23
{PLUGIN} example.com/tracer@v1.1.0
{PLUGIN} example.com/pinned@v0.0.0
{PLUGIN} example.com/leaf@v1.1.0
{PLUGIN} go@1.23
go@1.26.6 toolchain@go1.26.6
example.com/compute@v1.0.0 example.com/otel@v1.2.0
example.com/mid@v1.0.0 example.com/leaf@v1.0.0
example.com/tracer@v1.1.0 example.com/leaf@v1.1.0
example.com/tracer@v1.1.0 go@1.23
example.com/pinned@v0.0.0 example.com/compute@v1.0.0
example.com/leaf@v1.1.0 go@1.23
"""
OTEL_PIN = Replace("example.com/otel", "v1.2.0", "example.com/otel", "v1.1.0")
HOST = {
    "example.com/pinned": Selected("example.com/pinned", "", main=True),
    "example.com/compute": Selected("example.com/compute", "v1.0.0"),
    "example.com/leaf": Selected("example.com/leaf", "v1.0.0"),
    "example.com/mid": Selected("example.com/mid", "v1.0.0"),
    "example.com/otel": Selected("example.com/otel", "v1.2.0", OTEL_PIN),
}


# -- reading the go command's JSON -------------------------------------------------------


def test_a_build_list_from_go_list_m_json() -> None:
    listed = """{"Path": "example.com/pinned", "Main": true, "Dir": "/p/host"}
{"Path": "example.com/otel", "Version": "v1.2.0",
 "Replace": {"Path": "example.com/otel", "Version": "v1.1.0", "Dir": "/m/otel@v1.1.0"}}
{"Path": "example.com/local", "Version": "v0.0.0-00010101000000-000000000000",
 "Replace": {"Path": "../local", "Dir": "/p/local"}}
{"Path": "example.com/mid", "Version": "v1.0.0"}"""
    modules = build_list(gojson.objects(listed, "go list -m all"))
    assert modules["example.com/pinned"] == Selected("example.com/pinned", "", main=True)
    assert modules["example.com/otel"] == HOST["example.com/otel"]
    # A folder is compared (and written into a go.work) as the absolute path Go resolved.
    assert modules["example.com/local"].replace == Replace(
        "example.com/local", "v0.0.0-00010101000000-000000000000", "/p/local", None)
    assert [m.label for m in modules.values()] == [
        "(main module)", "v1.2.0 => example.com/otel v1.1.0",
        "v0.0.0-00010101000000-000000000000 => /p/local", "v1.0.0"]


def test_linked_modules_are_the_modules_of_the_listed_packages() -> None:
    packages = [
        {"ImportPath": "fmt", "Standard": True},
        {"ImportPath": "example.com/leaf", "Module": {"Path": "example.com/leaf",
                                                      "Version": "v1.1.0"}},
        {"ImportPath": "example.com/otel", "Module": {
            "Path": "example.com/otel", "Version": "v1.2.0",
            "Replace": {"Path": "example.com/otel", "Version": "v1.1.0"}}},
        {"ImportPath": PLUGIN, "Module": {"Path": PLUGIN, "Main": True}},
    ]
    linked = linked_modules(json.loads(json.dumps(packages)))
    assert set(linked) == {"example.com/leaf", "example.com/otel", PLUGIN}
    assert linked["example.com/otel"] == HOST["example.com/otel"]


# -- the comparison -------------------------------------------------------------------------


def test_a_module_linked_at_the_hosts_entry_agrees() -> None:
    assert disagreements(HOST, dict(HOST)) == []


def test_a_version_pulled_up_disagrees() -> None:
    linked = {**HOST, "example.com/leaf": Selected("example.com/leaf", "v1.1.0")}
    [found] = disagreements(HOST, linked)
    assert (found.path, found.host.version, found.plugin.version) == \
        ("example.com/leaf", "v1.0.0", "v1.1.0")
    assert found.version_differs and not found.same_code


def test_the_same_replacement_under_another_selected_version_disagrees() -> None:
    """The Tyk/otel trap: the code is v1.1.0 on both sides, the recorded version is not."""
    other = Replace("example.com/otel", "v1.3.0", "example.com/otel", "v1.1.0")
    linked = {"example.com/otel": Selected("example.com/otel", "v1.3.0", other)}
    [found] = disagreements(HOST, linked)
    assert found.version_differs and found.same_code


def test_a_replacement_of_the_plugins_own_disagrees() -> None:
    mine = Replace("example.com/mid", "v1.0.0", "/p/plugin/mid", None)
    [found] = disagreements(HOST, {"example.com/mid": Selected("example.com/mid", "v1.0.0",
                                                               mine)})
    assert not found.version_differs and found.plugin.label == "v1.0.0 => /p/plugin/mid"


def test_a_plugin_whose_module_the_host_requires_disagrees() -> None:
    host = {**HOST, PLUGIN: Selected(PLUGIN, "v1.0.0")}
    [found] = disagreements(host, {PLUGIN: Selected(PLUGIN, "", main=True)})
    assert found.plugin.label == "(main module)"
    assert plugin_fix([found], TRACER_GOMOD) == [] and host_upgrade([found]) == []


def test_main_modules_and_modules_the_host_lacks_are_not_compared() -> None:
    linked = {"example.com/pinned": Selected("example.com/pinned", "", main=True),
              PLUGIN: Selected(PLUGIN, "", main=True),
              "example.com/tracer": Selected("example.com/tracer", "v1.1.0")}
    assert disagreements(HOST, linked) == []


# -- requirement chains ---------------------------------------------------------------------


def test_the_graph_leaves_go_and_toolchain_out() -> None:
    graph = requirement_graph(GRAPH)
    assert graph[PLUGIN] == ["example.com/tracer@v1.1.0", "example.com/pinned@v0.0.0",
                             "example.com/leaf@v1.1.0"]
    assert "go@1.26.6" not in graph
    assert "example.com/leaf@v1.1.0" not in graph  # it requires nothing but go


def test_the_chain_goes_through_the_dependency_that_asks() -> None:
    """The tidy go.mod's // indirect line repeats tracer's requirement; tracer is why."""
    chain = requirement_chain(requirement_graph(GRAPH), PLUGIN, "example.com/leaf@v1.1.0")
    assert chain == (PLUGIN, "example.com/tracer@v1.1.0", "example.com/leaf@v1.1.0")


def test_a_version_the_plugin_asks_for_itself_is_a_direct_chain() -> None:
    graph = requirement_graph(f"{PLUGIN} example.com/otel@v1.3.0\n"
                              f"{PLUGIN} example.com/pinned@v0.0.0\n"
                              "example.com/pinned@v0.0.0 example.com/otel@v1.2.0\n")
    chain = requirement_chain(graph, PLUGIN, "example.com/otel@v1.3.0")
    assert chain == (PLUGIN, "example.com/otel@v1.3.0")
    assert Disagreement(HOST["example.com/otel"], HOST["example.com/otel"], chain).asked_directly


def test_the_shortest_of_two_chains_and_no_chain() -> None:
    graph = requirement_graph("p a@v1\np b@v1\na@v1 c@v1\nc@v1 m@v2\nb@v1 m@v2\n")
    assert requirement_chain(graph, "p", "m@v2") == ("p", "b@v1", "m@v2")
    assert requirement_chain(graph, "p", "m@v3") == ()
    assert requirement_chain({}, "p", "m@v2") == ()


def test_a_cycle_ends() -> None:
    graph = requirement_graph("p a@v1\na@v1 b@v1\nb@v1 a@v1\n")
    assert requirement_chain(graph, "p", "m@v1") == ()


# -- the fixes --------------------------------------------------------------------------------

TRACER_GOMOD = parse_gomod(f"module {PLUGIN}\n\ngo 1.23\n\nrequire (\n"
                           "\texample.com/pinned v0.0.0\n\texample.com/tracer v1.1.0\n"
                           "\texample.com/otel v1.3.0\n\texample.com/mid v1.0.0\n)\n\n"
                           "replace example.com/mid => ./mid\n")


def test_the_plugin_fix_edits_what_it_asks_for_and_gets_what_a_dependency_pulls() -> None:
    leaf = Disagreement(HOST["example.com/leaf"], Selected("example.com/leaf", "v1.1.0"),
                        (PLUGIN, "example.com/tracer@v1.1.0", "example.com/leaf@v1.1.0"))
    otel = Disagreement(HOST["example.com/otel"], Selected(
        "example.com/otel", "v1.3.0",
        Replace("example.com/otel", "v1.3.0", "example.com/otel", "v1.1.0")),
        (PLUGIN, "example.com/otel@v1.3.0"))
    mid = Disagreement(HOST["example.com/mid"], Selected(
        "example.com/mid", "v1.0.0", Replace("example.com/mid", "v1.0.0", "/p/mid", None)))
    assert plugin_fix([leaf, otel, mid], TRACER_GOMOD) == [
        ["mod", "edit", "-require=example.com/otel@v1.2.0", "-dropreplace=example.com/mid"],
        ["get", "example.com/leaf@v1.0.0"]]
    assert host_upgrade([leaf, otel, mid]) == [
        ["get", "example.com/leaf@v1.1.0", "example.com/otel@v1.3.0"]]
    assert host_upgrade([mid]) == []


def test_without_a_chain_go_get_decides() -> None:
    leaf = Disagreement(HOST["example.com/leaf"], Selected("example.com/leaf", "v1.1.0"))
    assert plugin_fix([leaf], TRACER_GOMOD) == [["get", "example.com/leaf@v1.0.0"]]


# -- the go command's refusals ------------------------------------------------------------


@pytest.mark.parametrize("output", [
    "go: module example.com/future@v1.0.0 requires go >= 1.30 (running go 1.26.6; "
    "GOTOOLCHAIN=local)\n",
    "go: example.com/future@v1.0.0: module example.com/future@v1.0.0 requires go >= 1.30 "
    "(running go 1.26.6; GOTOOLCHAIN=local)\n",
])
def test_a_dependency_whose_go_line_is_too_new(output: str) -> None:
    found = go_too_new(output)
    assert found is not None
    assert (found.module, found.version, found.go) == ("example.com/future", "v1.0.0", "1.30")
    assert go_too_new("go: missing go.sum entry for module providing package x\n") is None


def test_conflicting_replacements() -> None:
    output = ("go: conflicting replacements for example.com/otel:\n\texample.com/otel@v1.1.0\n"
              "\texample.com/otel@v1.2.0\nuse \"go work edit -replace example.com/otel="
              "[override]\" to resolve\n")
    assert conflicting_replacement(output) == "example.com/otel"
    assert conflicting_replacement("go: something else\n") is None
