"""`plugin-builder init` on the shapes real hosts have: a plugin import behind a build tag
(Tyk), behind a library (KrakenD through lura), binaries named by the host's own build,
example plugins beside the host (Bifrost), the host's own version, a go.work.

No Go runs here: `go list` is replaced by its recorded answer (the real one runs in
tests/integration/test_init_hosts.py).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from plugin_builder import config as config_module
from plugin_builder import init
from plugin_builder.init import binaries, golist, hostscan

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures"


def write(root: Path, files: dict[str, str]) -> Path:
    for relative, text in files.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text(text)
    return root


def never_asked(*_args) -> str:
    raise AssertionError("go list was asked although the sources show a loader")


def planned(root: Path, host: str, preset: str = "blank", lister=never_asked, **more):
    (root / "project").mkdir(exist_ok=True)
    return init.plan(init.Options(folder=root / "project", host=root / host, preset=preset,
                                  go=("1.26.6",), arch=("amd64",), **more), lister=lister)


def landed(root: Path, host: str, preset: str = "blank", **more) -> str:
    init.write(planned(root, host, preset, **more))
    config_module.load(root / "project" / "buildconfig.toml")
    return (root / "project" / "buildconfig.toml").read_text()


TYK = {  # the module root is the main package; "plugin" only with -tags goplugin
    "go.mod": "module github.com/TykTechnologies/tyk\n\ngo 1.26\n",
    "main.go": 'package main\n\nimport "github.com/TykTechnologies/tyk/gateway"\n\n'
               "func main() { gateway.Start() }\n",
    "gateway/gateway.go": 'package gateway\n\nimport "github.com/TykTechnologies/tyk/goplugin"'
                          '\n\nfunc Start() { goplugin.Load("x") }\n',
    "goplugin/goplugin.go": "//go:build goplugin\n// +build goplugin\n\npackage goplugin\n\n"
                            'import "plugin"\n\nfunc Load(p string) { plugin.Open(p) }\n',
    "goplugin/no_goplugin.go": "//go:build !goplugin\n\npackage goplugin\n\n"
                               "func Load(p string) {}\n",
}


# -- build tags -----------------------------------------------------------------------------


def test_a_plugin_import_behind_a_build_tag_puts_the_tag_in_host_tags(tmp_path) -> None:
    write(tmp_path / "tyk-v5-5-0", TYK)
    plan = planned(tmp_path, "tyk-v5-5-0")
    assert plan.tags == ("goplugin",)
    assert any('host.tags = ["goplugin"]' in note for note in plan.notes)
    init.write(plan)
    config = config_module.load(tmp_path / "project" / "buildconfig.toml")
    assert config.host.tags == ("goplugin",)


def test_build_tags_the_go_command_sets_itself_are_not_host_tags() -> None:
    assert hostscan.build_tags("//go:build linux && amd64 && cgo\n\npackage x\n") == set()
    assert hostscan.build_tags("//go:build goplugin && !windows\n\npackage x\n") == {
        "goplugin"}
    assert hostscan.build_tags("//go:build !goplugin\n\npackage x\n") == set()
    assert hostscan.build_tags("package x\n\n//go:build goplugin\n") == set()  # not a header


def test_an_unconditional_plugin_import_needs_no_tag(tmp_path) -> None:
    files = dict(TYK)
    files["goplugin/other.go"] = 'package goplugin\n\nimport "plugin"\n\nvar _ = plugin.Open\n'
    write(tmp_path / "tyk", files)
    assert planned(tmp_path, "tyk").tags == ()


# -- service and binary names ---------------------------------------------------------------


def test_a_service_at_the_module_root_is_named_after_the_module(tmp_path) -> None:
    write(tmp_path / "tyk-v5-5-0", TYK)
    [service] = planned(tmp_path, "tyk-v5-5-0").services
    assert (service.name, service.main, service.binary) == ("tyk", ".", None)


@pytest.mark.parametrize("build, binary", [
    ({".goreleaser.yml": "project_name: tyk\nbuilds:\n  - id: std\n    main: ./main.go\n"
                         "    binary: tyk-gateway\n    flags:\n      - -tags=goplugin\n"},
     "tyk-gateway"),
    ({"Makefile": "build:\n\tgo build -tags goplugin -o bin/tyk_gw .\n"}, "tyk_gw"),
])
def test_the_hosts_own_build_names_the_binary(tmp_path, build, binary) -> None:
    write(tmp_path / "tyk-v5-5-0", {**TYK, **build})
    [service] = planned(tmp_path, "tyk-v5-5-0").services
    assert service.name == binary.replace("_", "-")
    assert (service.binary or service.name) == binary


@pytest.mark.parametrize("main", [".", "gateway-v2", "v2"])
def test_a_version_folder_is_no_service_name(tmp_path, main) -> None:
    source = 'package main\n\nimport "plugin"\n\nvar _ = plugin.Open\n\nfunc main() {}\n'
    write(tmp_path / "gw-2.1.0", {"go.mod": "module example.com/gw/v2\n\ngo 1.26\n",
                                  f"{main}/main.go": source})
    [service] = planned(tmp_path, "gw-2.1.0").services
    assert service.name == "gw" and service.main == ("." if main == "." else f"./{main}")


def test_goreleaser_and_makefile_binaries(tmp_path) -> None:
    write(tmp_path, {
        ".goreleaser.yaml": "builds:\n  - main: ./cmd/x\n    binary: 'bin/x-tool'\n"
                            "  - main: .\n    binary: \"{{ .ProjectName }}\"\n"
                            "archives:\n  - binary: nope\n",
        "Makefile": "all:\n\tgo build -o dist/gw ./cmd/gateway\n"
                    "\t$(GO) build \\\n\t  -o out/other example.com/m/cmd/other\n"
                    "\tgo build -o $(OUT)/skipped ./cmd/skipped\n"})
    assert binaries.declared(tmp_path, "example.com/m") == {
        "./cmd/x": "x-tool", "./cmd/gateway": "gw", "./cmd/other": "other"}
    assert binaries.go_default("d7y.io/dragonfly/v2") == "dragonfly"


# -- plugins beside the host ----------------------------------------------------------------


def test_example_plugins_beside_the_host_are_found(tmp_path) -> None:
    """Bifrost's layout: the host module in transports/, examples/plugins/* beside it."""
    shutil.copytree(FIXTURES / "bifrost" / "host", tmp_path / "transports")
    hello = FIXTURES / "bifrost" / "plugins" / "hello"
    shutil.copytree(hello, tmp_path / "examples" / "plugins" / "hello-world")
    shutil.copytree(hello, tmp_path / "examples" / "logging-plugin")
    plan = planned(tmp_path, "transports", "bifrost")
    assert {(t.name, t.source) for t in plan.targets} == {
        ("hello-world", "../examples/plugins/hello-world"),
        ("logging-plugin", "../examples/logging-plugin")}


# -- the host's version ----------------------------------------------------------------------


def test_the_version_variables_value_is_the_hosts_version(tmp_path) -> None:
    shutil.copytree(FIXTURES / "dragonfly", tmp_path / "host")
    version = tmp_path / "host" / "version" / "version.go"
    version.write_text(version.read_text().replace('"v0.0.0"', '"v2.1.0"'))
    text = landed(tmp_path, "host", "dragonfly")
    assert 'version = "v2.1.0"  # the value of version.GitVersion in the host\'s source' in text


def test_a_placeholder_value_is_no_version(tmp_path) -> None:
    """The reference host's Version is "dev": the preset's version stays."""
    shutil.copytree(REPO / "host", tmp_path / "host", ignore=shutil.ignore_patterns("go.work*"))
    assert planned(tmp_path, "host", "reference").version == "0.1.0"


def git(folder: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(folder), "-c", "user.name=t", "-c", "user.email=t@t",
                    *args], check=True, capture_output=True)


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_a_git_tag_is_the_hosts_version(tmp_path) -> None:
    write(tmp_path / "repo" / "tyk", TYK)
    write(tmp_path / "repo" / "gateway", {
        name: text.replace("github.com/TykTechnologies/tyk", "example.com/gateway")
        for name, text in TYK.items()})
    git(tmp_path / "repo", "init", "-q")
    git(tmp_path / "repo", "add", "-A")
    git(tmp_path / "repo", "commit", "-q", "-m", "one")
    git(tmp_path / "repo", "tag", "v1.4.2")
    git(tmp_path / "repo", "tag", "gateway/v0.3.0")  # Go's tag of a module in a subfolder
    plan = planned(tmp_path, "repo/gateway")
    assert (plan.version, plan.version_reason) == ("v0.3.0", "the host's latest git tag")
    assert planned(tmp_path, "repo/tyk").version == "0.0.0"  # no tyk/v* tag


# -- a go.work --------------------------------------------------------------------------------


def test_the_go_work_hint_stands_above_the_workspace_key(tmp_path) -> None:
    shutil.copytree(FIXTURES / "hosts" / "workspace", tmp_path / "ws")
    lines = landed(tmp_path, "ws/gateway", "blank", libc=("glibc",)).splitlines()
    hint = next(i for i, line in enumerate(lines) if line.startswith("# found ../ws/go.work"))
    after = next(line for line in lines[hint:] if not line.startswith("# found")
                 and not line.startswith("# build"))
    assert after == '# workspace = "../ws/go.work"'


def test_a_go_work_that_does_not_use_the_host_is_not_offered(tmp_path) -> None:
    shutil.copytree(FIXTURES / "hosts" / "workspace", tmp_path / "ws")
    (tmp_path / "ws" / "go.work").write_text("go 1.23\n\nuse ./shared\n")
    assert planned(tmp_path, "ws/gateway").facts.workspace is None


# -- "plugin" through a library: go list --------------------------------------------------------


def listed(*packages: dict) -> str:
    return "\n".join(json.dumps(p) for p in packages)


GATEWAY_LIST = listed(
    {"ImportPath": "plugin", "Name": "plugin", "Module": None},
    {"ImportPath": "example.com/lura/proxy", "Name": "proxy", "Imports": ["plugin"],
     "Deps": ["plugin"], "Module": {"Path": "example.com/lura"}},
    {"ImportPath": "example.com/krakend-ce/cmd/krakend", "Name": "main",
     "Imports": ["example.com/lura/proxy"], "Deps": ["example.com/lura/proxy", "plugin"],
     "Module": {"Path": "example.com/krakend-ce", "Main": True}},
    {"ImportPath": "example.com/krakend-ce/cmd/tool", "Name": "main", "Imports": ["fmt"],
     "Deps": ["fmt"], "Module": {"Path": "example.com/krakend-ce", "Main": True}})


def library_host(root: Path) -> Path:
    shutil.copytree(FIXTURES / "hosts" / "library", root / "library")
    write(root / "library" / "gateway", {"cmd/tool/main.go": "package main\n\nfunc main() {}\n"})
    return root


def test_go_list_finds_a_service_that_loads_plugins_through_a_library(tmp_path) -> None:
    asked = []

    def lister(host, release, tags):
        asked.append((host.name, release, tuple(tags)))
        return GATEWAY_LIST

    plan = planned(library_host(tmp_path), "library/gateway", lister=lister)
    assert asked == [("gateway", "1.26.6", ())]
    assert [(s.name, s.found) for s in plan.services] == [
        ("krakend", "loads plugins through example.com/lura/proxy, says go list")]
    assert any("`go list -deps` (Go 1.26.6) found" in n and "./cmd/krakend" in n
               for n in plan.notes)


def test_when_go_list_cannot_answer_a_note_says_so(tmp_path) -> None:
    def lister(*_args):
        raise golist.Unanswered("go: example.com/lura@v0.0.0: missing go.sum entry")

    plan = planned(library_host(tmp_path), "library/gateway", lister=lister)
    assert {s.name for s in plan.services} == {"krakend", "tool"}  # every main package
    assert any("could not say more: go: example.com/lura@v0.0.0" in n for n in plan.notes)
    assert any("every main package is taken as a service" in n for n in plan.notes)


def test_go_list_is_not_asked_when_the_sources_show_a_loader(tmp_path) -> None:
    shutil.copytree(FIXTURES / "bifrost" / "host", tmp_path / "host")
    planned(tmp_path, "host")  # never_asked would fail
