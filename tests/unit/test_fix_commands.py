"""Every fix verify prints parses and names only what the config has.

A corpus of pairs, one per kind of finding, each judged three ways: the plugin a target of
the config and the host's combination in its matrix (the fix is `invoke build-plugin
--type T --name N ...`), the plugin no target of it (the fix says so and gives the go
command, through `plugin-builder go` for a combination of the matrix), and the host built
by a Go release the matrix does not have (the go command then fetches it). For
`--host/--plugin` binaries the rebuild a finding suggested named a target that did not
exist. (tests/integration/test_verify_corpus.py checks the fixes of real pairs too.)
"""

from __future__ import annotations

import dataclasses

import pytest

from plugin_builder import config as config_module
from plugin_builder.verify import Contract, RebuildHint, RuleId, analyze
from plugin_builder.verify.findings import ProjectView
from plugin_builder.verify.live import LiveResult, LiveStatus
from plugin_builder.verify.pairs import project_view
from plugin_builder.verify.runtime import live_finding

from . import fixcommands
from .test_verify_rules import (
    PLUGIN_PACKAGE,
    STATIC,
    buildinfo,
    dep,
    host,
    host_elf,
    plugin,
    plugin_elf,
)

UUID = "github.com/google/uuid"


def host_of(module: str, go: str = "go1.26.6", **settings: str):
    return host(host_elf(interpreter="/lib64/ld-linux-x86-64.so.2",
                         needed=("libc.so.6",), libc="glibc"),
                dataclasses.replace(buildinfo(f"{module}/cmd/scheduler", "exe", go=go,
                                              deps=[dep(UUID, "v1.5.0")], **settings),
                                    main=buildinfo(module, "exe").main))


def plugin_of(go: str = "go1.26.6", **settings: str):
    return plugin(plugin_elf(interpreter=None, needed=("libc.so.6",), libc="glibc"),
                  buildinfo(PLUGIN_PACKAGE, "plugin", go=go, deps=[dep(UUID, "v1.5.0")],
                            **settings))


def pairs(host_module: str):
    """(name, host, plugin): one pair per kind of finding a fix is printed for."""
    good_host, good_plugin = host_of(host_module), plugin_of()
    return [
        ("go-version", host_of(host_module, "go1.27.3"), good_plugin),
        ("cgo-disabled", host_of(host_module, CGO_ENABLED="0"), good_plugin),
        ("static-host", dataclasses.replace(good_host, elf=host_elf(**STATIC, libc=None)),
         good_plugin),
        ("arch", good_host, plugin(plugin_elf(machine="EM_AARCH64", goarch="arm64",
                                              libc="glibc"),
                                   buildinfo(PLUGIN_PACKAGE, "plugin", go="go1.26.6",
                                             GOARCH="arm64"))),
        ("libc", good_host, plugin(plugin_elf(), buildinfo(PLUGIN_PACKAGE, "plugin",
                                                           go="go1.26.6"))),
        ("not-a-plugin", good_host, plugin_of(**{"-buildmode": "exe"})),
        ("trimpath", host_of(host_module, **{"-trimpath": "true"}), good_plugin),
        ("tags", good_host, plugin_of(**{"-tags": "netgo"})),
        ("module-version", good_host,
         plugin(plugin_of().elf, buildinfo(PLUGIN_PACKAGE, "plugin", go="go1.26.6",
                                           deps=[dep(UUID, "v1.6.0")]))),
        ("entry-symbol", good_host,
         plugin(plugin_elf(exported_symbols=frozenset({"sdk.Register"}), libc="glibc",
                           interpreter=None, needed=("libc.so.6",)), plugin_of().buildinfo)),
        ("not-a-go-host", dataclasses.replace(good_host, buildinfo=None), good_plugin),
        ("not-a-go-plugin", good_host, dataclasses.replace(good_plugin, buildinfo=None)),
    ]


@pytest.fixture(scope="module")
def config(tmp_path_factory):
    from tests.project import Project

    return config_module.load(Project.skeleton(tmp_path_factory.mktemp("fixes")).config_path)


def fixes_of(config, host_side, plugin_side, plugin_type: str, name: str | None,
             view: ProjectView) -> list[str]:
    contract = Contract.entry(plugin_type)
    hint = RebuildHint.for_host(host_side, plugin_type, name, project=view,
                                plugin_file="d7y-scheduler-plugin-x.so")
    found = list(analyze(host_side, plugin_side, contract, hint))
    said = "check-plugin: plugin x.so: metadata: type is manager"
    refused = live_finding(LiveResult(("host",), LiveStatus.REFUSED, 1, None, said, (said,),
                                      0.1), hint)
    found += [refused] if refused is not None else []
    return [finding.fix for finding in found if finding.rule != RuleId.PACKAGE_FINGERPRINT
            or finding.severity == "error"]


# Who the plugin is: a target of the config, a file of a known type but no target, a type
# the config does not have.
WHO = [("scheduler", "evaluator"), ("scheduler", "otherevaluator"), ("plugin", None)]


@pytest.mark.parametrize("name, host_side, plugin_side",
                         pairs("plugin-builder.dev/host") + pairs("example.com/other"),
                         ids=[f"{n}-{h}" for h in ("ours", "other")
                              for n, _, _ in pairs("x")])
@pytest.mark.parametrize("who", WHO, ids=lambda w: "/".join(map(str, w)))
def test_every_fix_parses_and_names_what_the_config_has(config, name, host_side, plugin_side,
                                                       who):
    view = project_view(config)
    assert view.host_module == "plugin-builder.dev/host"
    fixes = fixes_of(config, host_side, plugin_side, *who, view)
    assert fixes, f"{name}: no finding"
    for fix in fixes:
        for words in fixcommands.check(fix, config):
            if words[0] == "invoke" and words[1] == "build-plugin":
                assert who == ("scheduler", "evaluator"), fix  # only a real target


def test_a_plugin_that_is_no_target_is_said_so_with_its_go_build(config):
    view = project_view(config)
    [fix] = fixes_of(config, host_of("plugin-builder.dev/host", "go1.27.3"), plugin_of(),
                     "scheduler", "otherevaluator", view)[:1]
    assert fix == (f"plugin-builder go --config {config.path} --go 1.27.3 --libc glibc "
                   "--arch amd64 -- build -buildmode=plugin -o d7y-scheduler-plugin-x.so .  "
                   "(in the plugin's module folder: d7y-scheduler-plugin-x.so is not a plugin "
                   "target of buildconfig.toml)")


def test_a_release_the_matrix_lacks_is_fetched_by_the_go_command(config):
    view = project_view(config)
    [fix] = fixes_of(config, host_of("plugin-builder.dev/host", "go1.25.4"), plugin_of(),
                     "scheduler", "evaluator", view)[:1]
    assert fix.startswith("GOTOOLCHAIN=go1.25.4 CGO_ENABLED=1 GOARCH=amd64 CC=gcc go build "
                          "-buildmode=plugin -o d7y-scheduler-plugin-x.so .")


def test_a_target_of_the_matrix_is_rebuilt_by_invoke(config):
    view = project_view(config)
    [fix] = fixes_of(config, host_of("plugin-builder.dev/host", "go1.27.3"), plugin_of(),
                     "scheduler", "evaluator", view)[:1]
    assert fix == "invoke build-plugin --type scheduler --name evaluator --go 1.27.3 " \
                  "--libc glibc"


def test_a_module_fix_runs_the_projects_go_in_the_targets_folder(config):
    view = project_view(config)
    _, _, newer = next(p for p in pairs("plugin-builder.dev/host") if p[0] == "module-version")
    [fix] = fixes_of(config, host_of("plugin-builder.dev/host"), newer, "scheduler",
                     "evaluator", view)[:1]
    source = dict(view.targets)["scheduler/evaluator"]
    go = f"plugin-builder go --config {config.path} --go 1.26.6 --libc glibc --arch amd64 --"
    assert fix == f"(cd {source} && {go} mod edit -require={UUID}@v1.5.0 && {go} mod tidy)"
