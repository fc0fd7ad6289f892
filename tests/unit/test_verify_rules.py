"""The static rules on hand-made ELF facts and build information.

The factories describe a matching musl host and plugin (built by go1.27.3); each test
changes one fact and checks that exactly the right rule fires, with the host error the
real host shows (tests/integration reproduces those with real binaries).
"""

from __future__ import annotations

import dataclasses
import json
from types import MappingProxyType

import pytest
from rich.console import Console

from plugin_builder.binary.buildinfo import BuildInfo, Module
from plugin_builder.binary.elffacts import ElfFacts
from plugin_builder.binary.fingerprints import Fingerprints
from plugin_builder.verify import (
    ERROR,
    RULE_IDS,
    RULES,
    WARNING,
    Contract,
    Finding,
    LiveResult,
    PluginResult,
    RebuildHint,
    Rule,
    RuleId,
    Side,
    analyze,
    print_report,
    render_table,
    to_dict,
    to_json,
)
from plugin_builder.verify.load_rules import symbol_prefix

HOST_PATH = "/srv/scheduler"
PLUGIN_PATH = "/plugins/d7y-scheduler-plugin-evaluator.so"
PLUGIN_PACKAGE = "example.com/evaluator"
HOST_MODULE = "d7y.io/dragonfly"
CONTRACT = Contract.entry("scheduler")
HINT = RebuildHint("scheduler", None, "1.27.3", "musl", "amd64")
REBUILD = "invoke build-plugin --type scheduler --go 1.27.3 --libc musl"
NO_MODULE_DATA = "fatal error: runtime: no plugin module data"


# -- factories ----------------------------------------------------------------------------


def host_elf(**changes) -> ElfFacts:
    facts = ElfFacts(
        path=HOST_PATH,
        elf_class=64,
        machine="EM_X86_64",
        goarch="amd64",
        elf_type="ET_EXEC",
        interpreter="/lib/ld-musl-x86_64.so.1",
        is_dynamic=True,
        needed=("libc.musl-x86_64.so.1",),
        libc="musl",
        exported_symbols=frozenset({"runtime.main"}),
    )
    return dataclasses.replace(facts, **changes)


def plugin_elf(**changes) -> ElfFacts:
    facts = host_elf(
        path=PLUGIN_PATH,
        elf_type="ET_DYN",
        interpreter=None,
        exported_symbols=frozenset({f"{PLUGIN_PACKAGE}.DragonflyPluginInit", "sdk.Register"}),
    )
    return dataclasses.replace(facts, **changes)


def buildinfo(
    path: str, buildmode: str, go: str = "go1.27.3", deps=(), **settings: str
) -> BuildInfo:
    base = {
        "-buildmode": buildmode,
        "-compiler": "gc",
        "CGO_ENABLED": "1",
        "GOARCH": "amd64",
        "GOOS": "linux",
        "GOAMD64": "v1",
    }
    return BuildInfo(
        go_version=go,
        path=path,
        main=Module(path, "(devel)"),
        deps=tuple(deps),
        settings=MappingProxyType({**base, **settings}),
    )


def host(elf: ElfFacts | None = None, info: BuildInfo | None | str = "default") -> Side:
    info = buildinfo(HOST_MODULE, "exe") if info == "default" else info
    return Side(elf or host_elf(), info, HOST_PATH)


def plugin(elf: ElfFacts | None = None, info: BuildInfo | None | str = "default") -> Side:
    info = buildinfo(PLUGIN_PACKAGE, "plugin") if info == "default" else info
    return Side(elf or plugin_elf(), info, PLUGIN_PATH)


def findings_for(host_side: Side | None = None, plugin_side: Side | None = None, contract=CONTRACT):
    """The build-info rules alone: these hand-made sides export no fingerprints, the case
    in which build information is all verify has (tested below: the unreadable note)."""
    return without_unreadable_note(
        analyze(host_side or host(), plugin_side or plugin(), contract, HINT))


def without_unreadable_note(found: list[Finding]) -> list[Finding]:
    return [f for f in found
            if not (f.rule == RuleId.PACKAGE_FINGERPRINT and f.severity == WARNING)]


def rules(findings: list[Finding]) -> list[tuple[str, str]]:
    return [(finding.rule, finding.subject) for finding in findings]


def dep(path: str, version: str, sum_: str = "", replace: Module | None = None) -> Module:
    return Module(path, version, sum_, replace)


# -- the matching pair and the message ----------------------------------------------------


def test_matching_pair_has_no_findings():
    assert findings_for() == []


def test_rule_ids_are_stable():
    assert RULE_IDS == (
        "not-a-go-host",
        "host-cgo-disabled",
        "host-static",
        "arch",
        "libc",
        "glibc-floor",
        "not-a-go-plugin",
        "not-a-plugin",
        "go-version",
        "build-setting",
        "module-version",
        "package-fingerprint",
        "entry-symbol",
        "plugin-path",
        "plugin-conflict",
        "contract",
        "plugin-error",
        "file-name",
        "load-refused",
        "load-crashed",
        "load-incomplete",
        "contract-unchecked",
        "loader-not-built",
        "not-built",
        "stale-artifact",
    )


def test_every_rule_id_has_one_record_and_the_records_are_consistent():
    assert sorted(RULE_IDS) == sorted(RuleId) and len(set(RULE_IDS)) == len(RULES)
    order = {rule.id: index for index, rule in enumerate(RULES)}
    steps = [step for rule in RULES for step, _ in rule.live_steps]
    assert len(steps) == len(set(steps)), "a live step reports under one rule"
    for rule in RULES:
        # A consequence is left out unchecked, so it must come after its cause.
        assert all(order[later] > order[rule.id] for later in rule.consequences), rule.id
        assert rule.explains is None or rule.explains in order
        assert rule.check is not None or not rule.consequences, "only checks fire statically"
        assert rule.anchor == f"rule-{rule.id}"


def test_a_rule_is_one_record(monkeypatch):
    """A record put into RULES is checked in its place, and its consequences left out."""
    from plugin_builder.verify import rules as rules_module

    def made_up(pair):
        yield Finding(RuleId.LOAD_REFUSED, "made up", "", "", "", "fix", "summary")

    extra = Rule(RuleId.LOAD_REFUSED, made_up, consequences=(RuleId.GO_VERSION,))
    monkeypatch.setattr(rules_module, "RULES", (extra, *RULES))
    old = plugin(info=buildinfo(PLUGIN_PACKAGE, "plugin", go="go1.26.6"))
    assert rules(findings_for(plugin_side=old)) == [(RuleId.LOAD_REFUSED, "made up")]


def test_message_names_cause_host_error_and_fix():
    [finding] = findings_for(
        plugin_side=plugin(info=buildinfo(PLUGIN_PACKAGE, "plugin", go="go1.26.6"))
    )
    assert finding.message == (
        "plugin built by go1.26.6, host by go1.27.3: the host dies with "
        '"fatal error: runtime: no plugin module data"; '
        "fix: rebuild with: invoke build-plugin --type scheduler --go 1.27.3 --libc musl"
    )


def test_plugin_name_goes_into_the_fix():
    hint = dataclasses.replace(HINT, plugin_name="evaluator")
    old = plugin(info=buildinfo(PLUGIN_PACKAGE, "plugin", go="go1.26.6"))
    [finding] = without_unreadable_note(analyze(host(), old, CONTRACT, hint))
    assert (
        finding.fix
        == "invoke build-plugin --type scheduler --name evaluator --go 1.27.3 --libc musl"
    )


# -- hosts that cannot load plugins -------------------------------------------------------


STATIC = {"interpreter": None, "is_dynamic": False, "needed": ()}


def test_cgo_disabled_host_is_one_finding():
    nocgo = host(host_elf(**STATIC, libc=None), buildinfo(HOST_MODULE, "exe", CGO_ENABLED="0"))
    [finding] = findings_for(nocgo)
    assert (finding.rule, finding.host_error) == (RuleId.HOST_CGO_DISABLED,
                                                  "plugin: not implemented")
    assert finding.fix == "invoke build-host --go 1.27.3 --libc musl"


def test_static_glibc_host_dies():
    static = host(host_elf(**STATIC, libc="glibc"))
    [finding] = findings_for(static)
    assert (finding.rule, finding.host_error, finding.host_crashes) == (
        RuleId.HOST_STATIC,
        NO_MODULE_DATA,
        True,
    )


def test_static_musl_host_refuses_and_fix_uses_the_plugins_libc():
    static = host(host_elf(**STATIC, libc=None))
    hint = RebuildHint.for_host(static, "scheduler")
    [finding] = analyze(static, plugin(), CONTRACT, hint)
    assert finding.host_error == f'plugin.Open("{PLUGIN_PATH}"): Dynamic loading not supported'
    assert not finding.host_crashes
    assert finding.fix == "invoke build-host --go 1.27.3 --libc musl"


# -- what dlopen checks -------------------------------------------------------------------


def test_other_machine_is_an_arch_finding_with_arch_in_the_fix():
    arm = plugin(
        plugin_elf(machine="EM_AARCH64", goarch="arm64"),
        buildinfo(PLUGIN_PACKAGE, "plugin", GOARCH="arm64"),
    )
    [finding] = findings_for(plugin_side=arm)
    assert (finding.rule, finding.host_value, finding.plugin_value) == (
        RuleId.ARCH, "amd64", "arm64")
    assert finding.fix == REBUILD + " --arch amd64"
    assert finding.host_error.endswith("cannot open shared object file: No such file or directory")


def test_other_elf_class_names_the_class():
    i386 = plugin(
        plugin_elf(elf_class=32, machine="EM_386", goarch="386"),
        buildinfo(PLUGIN_PACKAGE, "plugin", GOARCH="386"),
    )
    [finding] = findings_for(plugin_side=i386)
    assert (
        finding.host_error
        == f'plugin.Open("{PLUGIN_PATH}"): {PLUGIN_PATH}: wrong ELF class: ELFCLASS32'
    )


def test_higher_goamd64_in_plugin_is_a_warning_lower_is_fine():
    v3 = plugin(info=buildinfo(PLUGIN_PACKAGE, "plugin", GOAMD64="v3"))
    [finding] = findings_for(plugin_side=v3)
    assert (finding.rule, finding.subject, finding.severity) == (RuleId.ARCH, "GOAMD64", WARNING)
    v3_host = host(info=buildinfo(HOST_MODULE, "exe", GOAMD64="v3"))
    assert findings_for(v3_host) == []


def test_musl_plugin_in_glibc_host_hits_the_libc_linker_script():
    glibc = host(
        host_elf(interpreter="/lib64/ld-linux-x86-64.so.2", needed=("libc.so.6",), libc="glibc")
    )
    debian_musl = plugin(plugin_elf(needed=("libc.so",)))
    [finding] = without_unreadable_note(
        analyze(glibc, debian_musl, CONTRACT, RebuildHint.for_host(glibc, "scheduler")))
    assert (finding.rule, finding.host_value, finding.plugin_value) == (
        RuleId.LIBC, "glibc", "musl")
    assert (
        finding.host_error
        == f'plugin.Open("{PLUGIN_PATH}"): /lib/x86_64-linux-gnu/libc.so: invalid ELF header'
    )
    assert finding.fix == "invoke build-plugin --type scheduler --go 1.27.3 --libc glibc"


def test_alpine_musl_plugin_in_glibc_host_misses_the_musl_library():
    glibc = host(
        host_elf(interpreter="/lib64/ld-linux-x86-64.so.2", needed=("libc.so.6",), libc="glibc")
    )
    [finding] = findings_for(glibc)
    assert finding.host_error.endswith(
        "libc.musl-x86_64.so.1: cannot open shared object file: No such file or directory"
    )


def test_glibc_plugin_in_musl_host():
    glibc_plugin = plugin(plugin_elf(needed=("libc.so.6",), libc="glibc"))
    [finding] = findings_for(plugin_side=glibc_plugin)
    assert finding.rule == RuleId.LIBC and "symbol not found" in finding.host_error


@pytest.mark.parametrize(
    ("elf_changes", "buildmode", "error_end", "crashes"),
    [
        ({"elf_type": "ET_EXEC"}, "exe", "cannot dynamically load executable", False),
        (
            {"interpreter": "/lib/ld-musl-x86_64.so.1"},
            "pie",
            "cannot dynamically load position-independent executable",
            False,
        ),
        ({}, "c-shared", NO_MODULE_DATA, True),
    ],
)
def test_not_a_plugin(elf_changes, buildmode, error_end, crashes):
    wrong = plugin(plugin_elf(**elf_changes), buildinfo(PLUGIN_PACKAGE, buildmode))
    [finding] = findings_for(plugin_side=wrong)
    assert (finding.rule, finding.plugin_value, finding.host_crashes) == (
        RuleId.NOT_A_PLUGIN,
        buildmode,
        crashes,
    )
    assert finding.host_error.endswith(error_end)


def test_not_a_plugin_swallows_its_consequences():
    # An executable built with CGO_ENABLED=0 and no entry symbol: one cause.
    exe = plugin(
        plugin_elf(elf_type="ET_EXEC", exported_symbols=frozenset()),
        buildinfo(PLUGIN_PACKAGE, "exe", CGO_ENABLED="0"),
    )
    assert rules(findings_for(plugin_side=exe)) == [(RuleId.NOT_A_PLUGIN, "-buildmode")]


# -- what the Go runtime checks -----------------------------------------------------------


# -- what is not Go at all ---------------------------------------------------------------


@pytest.mark.parametrize("elf_changes", [{}, STATIC, {"machine": "EM_AARCH64", "goarch": "arm64"},
                                         {"libc": "glibc", "needed": ("libc.so.6",)}],
                         ids=["dynamic", "static", "other-arch", "other-libc"])
def test_a_host_that_is_not_a_go_program_is_refused_and_nothing_compared_with_it(elf_changes):
    c_program = host(host_elf(**elf_changes), info=None)
    found = analyze(c_program, plugin(), CONTRACT, RebuildHint.for_host(c_program, "scheduler"))
    assert rules(found) == [(RuleId.NOT_A_GO_HOST, "host")]
    [finding] = found
    assert finding.severity == ERROR and finding.host_error == ""  # nothing a host prints
    assert finding.summary == (f"host {HOST_PATH} is not a Go program (it carries no Go build "
                               "information), so it cannot load Go plugins")
    assert finding.fix.startswith("invoke build-host")


def test_a_go_plugin_given_as_the_host_is_refused():
    swapped = host(plugin_elf(path=HOST_PATH), buildinfo(PLUGIN_PACKAGE, "plugin"))
    [finding] = analyze(swapped, plugin(), CONTRACT, HINT)
    assert (finding.rule, finding.host_value) == (RuleId.NOT_A_GO_HOST, "-buildmode=plugin")
    assert "is a Go plugin, not a program" in finding.summary


@pytest.mark.parametrize(
    ("elf_changes", "host_libc", "host_error", "crashes"),
    [
        ({}, "musl", NO_MODULE_DATA, True),  # a C shared library: dlopen takes it
        ({"elf_type": "ET_EXEC"}, "musl",
         f'plugin.Open("{PLUGIN_PATH}"): {PLUGIN_PATH}: cannot dynamically load executable',
         False),
        ({"interpreter": "/lib64/ld-linux-x86-64.so.2"}, "glibc",
         f'plugin.Open("{PLUGIN_PATH}"): {PLUGIN_PATH}: cannot dynamically load '
         "position-independent executable", False),
        ({"is_dynamic": False, "needed": ()}, "glibc",
         f'plugin.Open("{PLUGIN_PATH}"): {PLUGIN_PATH}: object file has no dynamic section',
         False),
        ({"is_dynamic": False, "needed": ()}, "musl",
         f'plugin.Open("{PLUGIN_PATH}"): Error loading shared library {PLUGIN_PATH}: '
         "Exec format error", False),
    ],
    ids=["c-library", "c-executable", "pie", "no-dynamic-section-glibc",
         "no-dynamic-section-musl"],
)
def test_a_plugin_that_is_not_go_is_refused_with_what_the_host_does(elf_changes, host_libc,
                                                                     host_error, crashes):
    not_go = plugin(plugin_elf(**elf_changes, libc=host_libc, exported_symbols=frozenset()),
                    info=None)
    go_host = host(host_elf(libc=host_libc))
    [finding] = analyze(go_host, not_go, CONTRACT, HINT)  # no entry-symbol, no not-a-plugin
    assert (finding.rule, finding.severity) == (RuleId.NOT_A_GO_PLUGIN, ERROR)
    assert (finding.host_error, finding.host_crashes) == (host_error, crashes)
    assert finding.fix == REBUILD


def test_patch_release_mismatch_is_a_refusal_not_a_crash():
    [finding] = findings_for(
        plugin_side=plugin(info=buildinfo(PLUGIN_PACKAGE, "plugin", go="go1.27.1"))
    )
    assert (finding.rule, finding.host_crashes, finding.severity) == (
        RuleId.GO_VERSION, False, ERROR)
    assert "plugin was built with a different version of package" in finding.host_error
    assert f'plugin.Open("{PLUGIN_PATH[:-3]}")' in finding.host_error  # Go drops ".so" here


def test_goexperiment_counts_once_not_as_a_go_version():
    experimental = buildinfo(
        PLUGIN_PACKAGE, "plugin", go="go1.27.3-X:nogreenteagc", GOEXPERIMENT="nogreenteagc"
    )
    [finding] = findings_for(plugin_side=plugin(info=experimental))
    assert (finding.rule, finding.subject) == (RuleId.BUILD_SETTING, "GOEXPERIMENT")
    assert finding.host_value == "(none)" and finding.plugin_value == "nogreenteagc"


@pytest.mark.parametrize(
    ("key", "value", "severity"),
    [
        ("-trimpath", "true", ERROR),
        ("-race", "true", ERROR),
        ("-msan", "true", ERROR),
        ("-asan", "true", ERROR),
        ("-gcflags", "all=-l", ERROR),
        ("-gcflags", "-N", WARNING),  # without a pattern it reaches the plugin's package only
        ("-tags", "netgo", WARNING),  # matters only when a tag selects other files
        ("-mod", "vendor", ERROR),
    ],
)
def test_fingerprint_settings_fire(key, value, severity):
    different = plugin(info=buildinfo(PLUGIN_PACKAGE, "plugin", **{key: value}))
    [finding] = findings_for(plugin_side=different)
    assert (finding.rule, finding.subject, finding.plugin_value, finding.severity) == (
        RuleId.BUILD_SETTING,
        key,
        value,
        severity,
    )
    assert finding.fix == REBUILD


@pytest.mark.parametrize(
    ("key", "host_value", "plugin_value"),
    [
        ("-ldflags", "-X main.version=1", "-s -w"),
        ("vcs.revision", "abc", "def"),
        ("DefaultGODEBUG", "panicnil=1", ""),
        ("CGO_CFLAGS", "-O2", "-O0"),
        ("-tags", "a,b", "b,a"),
        ("-mod", "readonly", "mod"),
    ],
)
def test_settings_outside_fingerprints_stay_quiet(key, host_value, plugin_value):
    host_side = host(info=buildinfo(HOST_MODULE, "exe", **{key: host_value}))
    plugin_side = plugin(info=buildinfo(PLUGIN_PACKAGE, "plugin", **{key: plugin_value}))
    assert findings_for(host_side, plugin_side) == []


# -- modules --------------------------------------------------------------------------------


def _module_findings(
    host_deps=(), plugin_deps=(), trimpath=False, host_main=HOST_MODULE, host_version="(devel)"
):
    flags = {"-trimpath": "true"} if trimpath else {}
    host_info = dataclasses.replace(
        buildinfo(host_main, "exe", deps=host_deps, **flags), main=Module(host_main, host_version)
    )
    plugin_info = buildinfo(PLUGIN_PACKAGE, "plugin", deps=plugin_deps, **flags)
    return findings_for(host(info=host_info), plugin(info=plugin_info))


def test_shared_module_at_another_version():
    [finding] = _module_findings(
        [dep("golang.org/x/sys", "v0.30.0", "h1:a")], [dep("golang.org/x/sys", "v0.31.0", "h1:b")]
    )
    assert (finding.rule, finding.subject) == (RuleId.MODULE_VERSION, "golang.org/x/sys")
    assert (finding.host_value, finding.plugin_value) == ("v0.30.0", "v0.31.0")
    # The host's release: GOTOOLCHAIN makes any go (1.21 or later) fetch and run it.
    assert finding.fix == ("GOTOOLCHAIN=go1.27.3 go mod edit -require=golang.org/x/sys@v0.30.0 "
                           "&& GOTOOLCHAIN=go1.27.3 go mod tidy")
    assert finding.host_error.endswith("different version of package golang.org/x/sys")


def test_same_version_other_sum_and_other_replace_target():
    host_dep = dep("example.com/lib", "v1.0.0", "h1:a")
    assert rules(_module_findings([host_dep], [dep("example.com/lib", "v1.0.0", "h1:b")])) == [
        (RuleId.MODULE_VERSION, "example.com/lib")
    ]
    fork = dep("example.com/lib", "v1.0.0", "", replace=dep("example.com/fork", "v1.0.1", "h1:c"))
    [finding] = _module_findings([host_dep], [fork])
    assert "-dropreplace=example.com/lib" in finding.fix


def test_vendored_build_without_sums_compares_versions_only():
    assert (
        _module_findings(
            [dep("example.com/lib", "v1.0.0", "")], [dep("example.com/lib", "v1.0.0", "h1:a")]
        )
        == []
    )


def test_modules_on_one_side_only_are_ignored():
    assert (
        _module_findings([dep("example.com/a", "v1.0.0")], [dep("example.com/b", "v2.0.0")]) == []
    )


def _host_module_dep(version="v0.0.0", replace_path: str | None = "../dragonfly") -> Module:
    replace = Module(replace_path, "(devel)") if replace_path else None
    return dep(HOST_MODULE, version, "", replace)


def test_trimpath_replace_of_host_module_gets_another_label():
    [finding] = _module_findings(plugin_deps=[_host_module_dep()], trimpath=True)
    assert (finding.subject, finding.host_value, finding.plugin_value) == (
        HOST_MODULE,
        "(devel) (host main module)",
        "v0.0.0 => ../dragonfly",
    )
    assert (
        finding.fix
        == f"GOTOOLCHAIN=go1.27.3 go mod edit -dropreplace={HOST_MODULE} && "
        f"GOTOOLCHAIN=go1.27.3 go work init . '<directory of {HOST_MODULE}>'"
    )


def test_trimpath_workspace_use_of_host_module_matches_even_with_a_stamped_host_version():
    workspace_dep = _host_module_dep("(devel)", replace_path=None)
    assert _module_findings(plugin_deps=[workspace_dep], trimpath=True, host_version="v2.1.0") == []


def test_without_trimpath_the_directory_counts_not_the_label():
    # Measured: the label is not in the fingerprint, the directory is.
    assert _module_findings(plugin_deps=[_host_module_dep()]) == []
    same_dir = [dep("example.com/lib", "v1.0.0", "", Module("../lib", "(devel)"))]
    other_label = [dep("example.com/lib", "v1.0.1", "", Module("../lib", "(devel)"))]
    other_dir = [dep("example.com/lib", "v1.0.0", "", Module("../lib-copy", "(devel)"))]
    assert _module_findings(same_dir, other_label) == []
    assert rules(_module_findings(same_dir, other_dir)) == [
        (RuleId.MODULE_VERSION, "example.com/lib")]
    assert rules(_module_findings(same_dir, other_label, trimpath=True)) == [
        (RuleId.MODULE_VERSION, "example.com/lib")
    ]


def test_host_main_module_against_a_published_version():
    [finding] = _module_findings(plugin_deps=[dep(HOST_MODULE, "v2.1.0", "h1:x")])
    assert finding.subject == HOST_MODULE and "go work init" in finding.fix


# -- symbols --------------------------------------------------------------------------------


def test_missing_entry_symbol():
    bare = plugin(plugin_elf(exported_symbols=frozenset({f"{PLUGIN_PACKAGE}.Other"})))
    [finding] = findings_for(plugin_side=bare)
    assert (finding.rule, finding.subject) == (RuleId.ENTRY_SYMBOL, "DragonflyPluginInit")
    assert (
        finding.host_error
        == f"plugin: symbol DragonflyPluginInit not found in plugin {PLUGIN_PACKAGE}"
    )
    assert finding.fix == REBUILD


def test_entry_symbol_of_another_package_does_not_count():
    elsewhere = plugin(
        plugin_elf(exported_symbols=frozenset({"example.com/sdk.DragonflyPluginInit"}))
    )
    assert rules(findings_for(plugin_side=elsewhere)) == [
        (RuleId.ENTRY_SYMBOL, "DragonflyPluginInit")]


def test_every_required_symbol_is_checked():
    bifrost = Contract("http-hook", ("GetName", "Init", "Cleanup"))
    partial = plugin(plugin_elf(exported_symbols=frozenset({f"{PLUGIN_PACKAGE}.GetName"})))
    assert rules(findings_for(plugin_side=partial, contract=bifrost)) == [
        (RuleId.ENTRY_SYMBOL, "Init"),
        (RuleId.ENTRY_SYMBOL, "Cleanup"),
    ]


def test_plugin_built_from_a_file_list_uses_its_generated_package_path():
    info = buildinfo("command-line-arguments", "plugin")
    files = plugin(
        plugin_elf(exported_symbols=frozenset({"plugin/unnamed-4d2a.DragonflyPluginInit"})), info
    )
    assert findings_for(plugin_side=files) == []


# -- order ----------------------------------------------------------------------------------


def test_root_cause_comes_first():
    deps = [dep(f"example.com/m{i}", "v1.0.0", "h1:a") for i in range(20)]
    other_deps = [dep(f"example.com/m{i}", "v1.1.0", "h1:b") for i in range(20)]
    host_info = buildinfo(HOST_MODULE, "exe", deps=deps)
    plugin_info = buildinfo(
        PLUGIN_PACKAGE, "plugin", go="go1.26.6", deps=other_deps, **{"-trimpath": "true"}
    )
    bare = plugin_elf(exported_symbols=frozenset())
    found = rules(findings_for(host(info=host_info), plugin(bare, plugin_info)))
    assert found[0] == (RuleId.GO_VERSION, "go")
    assert found[1] == (RuleId.BUILD_SETTING, "-trimpath")
    assert {rule for rule, _ in found[2:-1]} == {RuleId.MODULE_VERSION}
    assert found[-1] == (RuleId.ENTRY_SYMBOL, "DragonflyPluginInit")


def test_host_problems_come_before_plugin_problems():
    static = host(host_elf(**STATIC, libc="glibc"))
    old = plugin(info=buildinfo(PLUGIN_PACKAGE, "plugin", go="go1.26.6"))
    assert [rule for rule, _ in rules(findings_for(static, old))] == [
        RuleId.HOST_STATIC, RuleId.GO_VERSION]


# -- hints ----------------------------------------------------------------------------------


def test_hint_from_host_and_arch_outside_amd64():
    arm_host = host(
        host_elf(machine="EM_AARCH64", goarch="arm64"),
        buildinfo(HOST_MODULE, "exe", go="go1.26.8-X:foo"),
    )
    hint = RebuildHint.for_host(arm_host, "resource", "s3")
    assert (hint.plugin_type, hint.plugin_name, hint.go_version, hint.libc, hint.arch) == \
        ("resource", "s3", "1.26.8", "musl", "arm64")
    assert (
        hint.build_plugin_command()
        == "invoke build-plugin --type resource --name s3 --go 1.26.8 --libc musl --arch arm64"
    )
    assert hint.build_host_command() == "invoke build-host --go 1.26.8 --libc musl --arch arm64"


# -- report ---------------------------------------------------------------------------------


def _live(status: str, exit_code: int | None = 0, line: str | None = None) -> LiveResult:
    return LiveResult(
        ("host", "check-plugin", PLUGIN_PATH), status, exit_code, None, line, ("out",), 0.1
    )


def _results() -> list[PluginResult]:
    old = plugin(info=buildinfo(PLUGIN_PACKAGE, "plugin", go="go1.26.6"))
    tagged = plugin(info=buildinfo(PLUGIN_PACKAGE, "plugin", **{"-tags": "x"}))
    return [
        PluginResult(PLUGIN_PATH, HOST_PATH, (), _live("ok"), "go1.27.3-musl-amd64"),
        PluginResult(
            PLUGIN_PATH,
            HOST_PATH,
            tuple(findings_for(plugin_side=old)),
            _live("crashed", 2, NO_MODULE_DATA),
        ),
        PluginResult(PLUGIN_PATH, HOST_PATH, tuple(findings_for(plugin_side=tagged)), None),
    ]


def test_json_has_stable_fields_and_verdicts():
    report = json.loads(to_json(_results()))
    assert report["schema"] == "plugin-builder/verify-report/1"
    assert report["summary"] == {"total": 3, "pass": 1, "warn": 1, "fail": 1}
    failed = report["results"][1]
    assert set(failed) == {"plugin", "host", "combination", "verdict", "findings", "live",
                           "loads", "symbols", "fingerprints", "authority"}
    assert set(failed["authority"]) == {"packages", "contract"}
    assert set(failed["findings"][0]) == {
        "rule",
        "severity",
        "subject",
        "host_value",
        "plugin_value",
        "host_error",
        "host_crashes",
        "fix",
        "fix_action",
        "message",
    }
    assert set(failed["live"]) == {
        "status",
        "exit_code",
        "signal",
        "error_line",
        "duration_s",
        "argv",
        "tail",
        "output",
        "by",
    }
    assert failed["live"]["error_line"] == NO_MODULE_DATA
    assert report["results"][2]["live"] is None
    assert to_dict([])["summary"]["total"] == 0


def test_terminal_report_shows_root_cause_and_every_message():
    console = Console(record=True, width=200)
    print_report(_results(), console)
    text = console.export_text()
    assert "go-version: plugin built by go1.26.6, host by go1.27.3" in text
    assert "[error] go-version: plugin built by go1.26.6" in text
    assert "[live] crashed: fatal error: runtime: no plugin module data" in text
    assert "[warning] build-setting" in text
    assert render_table(_results()).row_count == 3


# -- package fingerprints decide; build info explains ----------------------------------------


def fingerprinted(side: Side, hashes: dict[str, bytes], order: tuple[str, ...] | None = None
                  ) -> Side:
    return dataclasses.replace(side, fingerprints=Fingerprints(side.path, MappingProxyType(
        hashes), order))


SHARED = {"internal/goarch": b"\x01" * 8, "net/http": b"\x02" * 8, "fmt": b"\x03" * 8}


def test_unreadable_fingerprints_are_said_as_such():
    found = analyze(host(), plugin(), CONTRACT, HINT)
    note = [f for f in found if f.rule == RuleId.PACKAGE_FINGERPRINT]
    assert len(note) == 1 and note[0].severity == WARNING
    assert "cannot be read" in note[0].summary


def test_matching_fingerprints_turn_a_setting_difference_into_a_warning():
    # -trimpath differs in build info, but no package both contain differs: it loads.
    trimmed = plugin(info=buildinfo(PLUGIN_PACKAGE, "plugin", **{"-trimpath": "true"}))
    found = analyze(fingerprinted(host(), SHARED), fingerprinted(trimmed, SHARED,
                    tuple(SHARED)), CONTRACT, HINT)
    setting = [f for f in found if f.rule == RuleId.BUILD_SETTING]
    assert setting and all(f.severity == WARNING for f in setting)
    assert not [f for f in found if f.severity == ERROR]


def test_differing_fingerprints_name_the_first_package_the_runtime_checks_and_the_cause():
    trimmed = plugin(info=buildinfo(PLUGIN_PACKAGE, "plugin", **{"-trimpath": "true"}))
    other = {package: b"\xff" * 8 for package in SHARED}
    found = analyze(fingerprinted(host(), SHARED),
                    fingerprinted(trimmed, other, ("internal/goarch", "fmt", "net/http")),
                    CONTRACT, HINT)
    # The cause first, carrying the refusal exactly as the runtime prints it.
    assert (found[0].rule, found[0].subject) == (RuleId.BUILD_SETTING, "-trimpath")
    assert found[0].host_error.endswith("different version of package internal/goarch")
    [first] = [f for f in found if f.rule == RuleId.PACKAGE_FINGERPRINT]
    assert (first.subject, first.severity) == ("internal/goarch", ERROR)
    assert first.host_error.endswith(
        "plugin was built with a different version of package internal/goarch")
    assert "-trimpath" in first.summary and "3 of the 3 packages" in first.summary


def test_a_module_at_another_version_is_named_as_the_cause():
    host_side = host(info=buildinfo(HOST_MODULE, "exe", deps=[dep("github.com/google/uuid",
                                                                  "v1.5.0", "h1:a")]))
    plugin_side = plugin(info=buildinfo(PLUGIN_PACKAGE, "plugin",
                                        deps=[dep("github.com/google/uuid", "v1.6.0", "h1:b")]))
    hashes = {"github.com/google/uuid": b"\x01" * 8, "fmt": b"\x03" * 8}
    found = analyze(fingerprinted(host_side, hashes),
                    fingerprinted(plugin_side, {**hashes, "github.com/google/uuid": b"\x02" * 8},
                                  tuple(hashes)), CONTRACT, HINT)
    [first] = [f for f in found if f.rule == RuleId.PACKAGE_FINGERPRINT]
    assert "module github.com/google/uuid: host v1.5.0, plugin v1.6.0" in first.summary


@pytest.mark.parametrize(("package", "prefix"), [
    ("example.com/evaluator", "example.com/evaluator"),
    ("example.com/plugins/probe.v2", "example.com/plugins/probe%2ev2"),
    ("gopkg.in/yaml.v3", "gopkg.in/yaml%2ev3"),
    ("plugin/unnamed-0123", "plugin/unnamed-0123"),
])
def test_symbol_names_escape_the_package_path_as_the_linker_does(package, prefix):
    assert symbol_prefix(package) == prefix


def test_a_plugin_module_with_a_dot_in_its_last_element_exports_its_entry():
    dotted = "example.com/plugins/probe.v2"
    plugin_side = plugin(plugin_elf(exported_symbols=frozenset(
        {"example.com/plugins/probe%2ev2.DragonflyPluginInit"})),
        buildinfo(dotted, "plugin"))
    assert findings_for(plugin_side=plugin_side) == []
