"""A failed build's output names files as the project sees them, and its fix names the
file and the command that builds the artifact again."""

from __future__ import annotations

from pathlib import Path

import pytest

from plugin_builder.errors import BuildError
from plugin_builder.steps.compiler_output import fix_for, relative_to_project

ROOT = Path("/work/project")
PLUGIN = ROOT / "plugins" / "scheduler" / "evaluator"
ENTRY = {"kind": "plugin", "type": "scheduler", "name": "evaluator", "in_tree": False}
FLAGS = "--go 1.26.6 --libc glibc --arch amd64"


def test_paths_relative_to_the_plugins_folder_become_the_projects():
    said = ("# plugin-builder.dev/plugins/evaluator\n"
            "./main.go:3:1: syntax error: unexpected {\n"
            "inner/inner.go:12:5: undefined: x\n"
            "../../../host/sdk/sdk.go:7: something\n"
            "/root/go/pkg/mod/example.com/m@v1.0.0/m.go:1:2: outside\n")
    text, first = relative_to_project(said, PLUGIN, ROOT)
    assert text.splitlines() == [
        "# plugin-builder.dev/plugins/evaluator",
        "plugins/scheduler/evaluator/main.go:3:1: syntax error: unexpected {",
        "plugins/scheduler/evaluator/inner/inner.go:12:5: undefined: x",
        "host/sdk/sdk.go:7: something",
        "/root/go/pkg/mod/example.com/m@v1.0.0/m.go:1:2: outside"]
    assert first is not None and first.shown == "plugins/scheduler/evaluator/main.go:3:1"


def test_the_fix_names_the_file_the_plugin_and_its_build():
    _, first = relative_to_project("./main.go:3:1: syntax error\n", PLUGIN, ROOT)
    assert fix_for(first, ENTRY, PLUGIN, FLAGS) == (
        "correct plugins/scheduler/evaluator/main.go:3:1 in plugin scheduler/evaluator, then "
        "invoke build-plugin --type scheduler --name evaluator --go 1.26.6 --libc glibc "
        "--arch amd64")


def test_a_file_outside_the_plugin_is_a_package_it_imports():
    _, first = relative_to_project("../../../host/sdk/sdk.go:7:1: bad\n", PLUGIN, ROOT)
    assert fix_for(first, ENTRY, PLUGIN, FLAGS).startswith(
        "correct host/sdk/sdk.go:7:1 (a package plugin scheduler/evaluator imports), then ")


def test_a_host_build_names_the_service():
    host = ROOT / "host"
    _, first = relative_to_project("./cmd/scheduler/main.go:9:2: bad\n", host, ROOT)
    assert fix_for(first, {"kind": "host", "service": "scheduler"}, host, FLAGS) == (
        "correct host/cmd/scheduler/main.go:9:2 in the host (service scheduler), then "
        f"invoke build-host {FLAGS}")


@pytest.mark.parametrize("said", [
    'github.com/google/uuid@v1.5.0: Get "https://proxy.golang.org/github.com/google/uuid/@v/'
    'v1.5.0.zip": dial tcp: lookup proxy.golang.org: i/o timeout',
    "missing go.sum entry for module providing package github.com/google/uuid",
    "no required module provides package example.com/x; to add it: go get example.com/x",
])
def test_a_module_the_go_command_could_not_fetch_is_not_the_source_to_correct(said):
    """go list names the importing file when a module download fails: the file is fine."""
    text, first = relative_to_project(f"./resource.go:7:2: {said}\n", PLUGIN, ROOT)
    assert text == f"plugins/scheduler/evaluator/resource.go:7:2: {said}\n"
    assert fix_for(first, ENTRY, PLUGIN, FLAGS) is None


def test_without_a_location_the_general_fix_reads_as_a_sentence():
    _, first = relative_to_project("go: cannot find main module\n", PLUGIN, ROOT)
    assert fix_for(first, ENTRY, PLUGIN, FLAGS) is None
    error = BuildError("building x", "go: cannot find main module")
    assert error.fix == ("correct what the output above names (a source file, or a setting "
                         "of buildconfig.toml), then run the same command again")
