"""Real host/plugin pairs: verify's verdict must be the real loader's.

Every pair is a real host and a real plugin, built by plain ``go build`` with exact Go
releases (tests/integration/pairs.py). For each pair:

1. ground truth: the real host loads the plugin (or the plugins, together, in order) on
   its own, in a child process with a time limit (another Go release can kill it), and
   ends as the case says; a host that exits 0 without its completion line did not load;
2. agreement: ``invoke verify --host --plugin [--plugin ...] --json`` fails the plugin
   the real host refused or died on, and passes (or warns) each plugin it loaded;
3. fingerprints: when the host said ``plugin was built with a different version of
   package P``, verify's ``fingerprints`` name P first (or, between two plugins, its
   plugin-conflict finding does); differing fingerprints never pass;
4. the host's own words: when verify loaded through the host's check command, every line
   the host printed about the failure is in verify's JSON;
5. authority: where a case says which authority decides (the stand-in loader for a
   contract a check command ignores), verify's report names it.

One case is stricter than the runtime by design, and says so: a plugin built by another
patch release that shares no changed package with its host loads, but Go requires one
toolchain for every part (runtime crashes are likely otherwise), and verify fails it.

The "what the host says" column below is what the real hosts printed when this corpus
was built (Go 1.23.9 to 1.27.3, glibc and musl); it is reality, not a wish.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import tomlkit

from tests.project import REPO

from . import pairs

OK, REFUSED, CRASHED, TIMED_OUT = "ok", "refused", "crashed", "timed_out"
EXITED = "exited"  # exit code 0 without the host's completion line: it never loaded
LOAD_TIMEOUT_S = 60
VERIFY_TIMEOUT_S = 600  # verify may build a stand-in loader, cold, first
PROBE = "probe"  # the plugin type whose host has a check command: verify uses it
DIFFERENT_VERSION = re.compile(r"plugin was built with a different version of package (\S+)")


CHECKED_TYPES = (PROBE, "tyk")  # types with a check command: verify runs it (--host-check)


@dataclass(frozen=True)
class Case:
    host: str  # a pairs.HOSTS entry
    plugin: str | tuple[str, ...]  # pairs.PLUGINS entries; several load together, in order
    outcome: str  # how the real host's load ends: ok, refused, crashed or exited
    says: str = ""  # what the real host prints about it (a part of its output)
    contract: str | None = PROBE  # the plugin type verify is told (--type); None: no --type
    # verify's verdict (on the refused plugin), where one is known beyond "fail" or "pass
    # or warn"
    verdict: str | None = None
    refused: str | None = None  # with several plugins: the one the host refuses
    # (authority, words): the report's authority for it names who decided
    decided_by: tuple[str, str] | None = None
    stricter: str = ""  # why verify fails what the runtime loads: Go's own rule

    @property
    def plugins(self) -> tuple[str, ...]:
        return (self.plugin,) if isinstance(self.plugin, str) else self.plugin

    @property
    def has_check_command(self) -> bool:
        return self.contract in CHECKED_TYPES

    @property
    def loads_as_checked(self) -> bool:
        """The real load is what verify's check command runs: one plugin, `check-plugin`
        (Tyk's check only looks a symbol up, its start-up does more)."""
        return len(self.plugins) == 1 and pairs.HOSTS[self.host].program == "hosts/check"

    @property
    def failing(self) -> str:
        """The plugin the real host refused or died on (the last, for one plugin)."""
        return self.refused or self.plugins[-1]


def differs(package: str) -> str:
    return f"plugin was built with a different version of package {package}"


NO_MODULE_DATA = "fatal error: runtime: no plugin module data"

CASES: dict[str, Case] = {
    # -- alike in everything: the baselines every mismatch below is one change from ---------
    "same-build-no-shared-module": Case("deps", "probe", OK, "ok"),
    "same-build-same-modules": Case("deps", "deps", OK, "ok"),
    "plugin-module-path-with-dots": Case("deps", "dotted-module-path", OK, "ok"),
    # -- Go releases --------------------------------------------------------------------
    "patch-release-1.25.4-plugin-in-1.25.5": Case(
        "http-1.25.5", "http-1.25.4", REFUSED, differs("crypto/x509")),
    "patch-release-1.26.6-plugin-in-1.26.8": Case(
        "http-1.26.8", "http-1.26.6", REFUSED, differs("net/http")),
    "patch-release-twin-1.26.8-both": Case("http-1.26.8", "http-1.26.8", OK, "ok"),
    "minor-release-1.26.6-plugin-in-1.27.3": Case(
        "go1.27.3", "http-1.26.6", CRASHED, NO_MODULE_DATA),
    "minor-release-1.23.9-plugin-in-1.25.5": Case(
        "http-1.25.5", "go1.23.9", REFUSED, differs("internal/goarch")),
    "old-release-1.23.9-both": Case("go1.23.9", "go1.23.9", OK, "ok"),
    "old-release-1.24.11-both": Case("go1.24.11", "go1.24.11", OK, "ok"),
    # -- shared modules -------------------------------------------------------------------
    "direct-dependency-uuid-v1.5.0-vs-v1.6.0": Case(
        "deps", "uuid-v1.5.0", REFUSED, differs("github.com/google/uuid")),
    "direct-dependency-twin-uuid-v1.6.0": Case("deps", "uuid-v1.6.0", OK, "ok"),
    "indirect-dependency-leaf-v1.1.0-under-mid": Case(
        "deps", "leaf-v1.1.0", REFUSED, differs("example.com/leaf")),
    "replace-by-directory-same-label": Case("deps", "leaf-replaced-same-label", OK, "ok"),
    "replace-by-directory-other-label": Case(
        "deps", "leaf-replaced-other-label", REFUSED, differs("example.com/leaf")),
    # -- a host whose replace pins a module lower than a dependency requires (Tyk's) -------
    "host-replace-same-entry": Case("pinned", "otel-same-entry", OK, "ok"),
    "host-replace-same-code-other-selected-version": Case(
        "pinned", "otel-other-selected-version", REFUSED, differs("example.com/otel")),
    "host-replace-missing-on-the-plugin": Case(
        "pinned", "otel-unreplaced", REFUSED, differs("example.com/otel")),
    # -- a plugin's own dependency pulls a shared module up ----------------------------------
    "plugin-dependency-keeps-leaf": Case("deps", "tracer-v1.0.0", OK, "ok"),
    "plugin-dependency-pulls-leaf-up": Case(
        "deps", "tracer-v1.1.0", REFUSED, differs("example.com/leaf")),
    # -- -trimpath and source paths ---------------------------------------------------------
    "trimpath-host-only": Case("deps", "untrimmed", REFUSED, differs("internal/goarch")),
    "trimpath-plugin-only": Case("untrimmed", "probe", REFUSED, differs("internal/goarch")),
    "untrimmed-both": Case("untrimmed", "untrimmed", OK, "ok"),
    "untrimmed-same-module-cache-and-source-paths": Case(
        "untrimmed", "untrimmed-same-paths", OK, "ok"),
    "untrimmed-other-module-cache-path": Case(
        "untrimmed", "untrimmed-other-modcache", REFUSED, differs("example.com/leaf")),
    "untrimmed-other-source-copy-path": Case(
        "untrimmed", "untrimmed-other-copy", REFUSED, differs("example.com/local")),
    # -- build flags ----------------------------------------------------------------------
    "shared-package-twin": Case("deps", "shared", OK, "ok"),
    "tag-changes-a-shared-package": Case(
        "deps", "tags-x", REFUSED, differs("example.com/shared/pkg")),
    "tag-selects-no-file": Case("deps", "tags-unused", OK, "ok"),
    "gcflags-N-on-one-package": Case("deps", "gcflags-pkg", OK, "ok"),
    "gcflags-all-l-on-one-side": Case("deps", "gcflags-all", REFUSED, differs("internal/abi")),
    "race-on-one-side": Case("deps", "race", REFUSED, differs("sync/atomic")),
    "goexperiment-arenas-on-one-side": Case(
        "deps", "goexperiment-arenas", REFUSED, differs("internal/goexperiment")),
    # -- stripped host: the fingerprints are in .dynsym, which -s -w keeps ---------------------
    "stripped-host-matching-plugin": Case("deps-stripped", "deps", OK, "ok"),
    "stripped-host-other-module-version": Case(
        "deps-stripped", "uuid-v1.5.0", REFUSED, differs("github.com/google/uuid")),
    # -- a host that explains a refusal on several lines -----------------------------------
    "multi-line-error-host": Case(
        "deps-summary", "uuid-v1.5.0", REFUSED, "summary: 1 plugin failed"),
    # -- libc and linking -------------------------------------------------------------------
    "glibc-host-musl-plugin": Case("deps", "musl", REFUSED, "libc.so: invalid ELF header"),
    "musl-host-musl-plugin": Case("musl", "musl", OK, "ok"),
    # Loads here, but another musl or glibc release may not: verify warns.
    "musl-host-glibc-plugin": Case("musl", "probe", OK, "ok", verdict="warn"),
    "static-host": Case("static", "probe", CRASHED, NO_MODULE_DATA),
    "host-without-cgo": Case("nocgo", "probe", REFUSED, "plugin: not implemented"),
    # -- typed contracts, hosts with no check command: verify uses its stand-in loader ------
    "bifrost-complete-with-optional-hook": Case(
        "gateway", "bifrost-complete", OK, "all plugins loaded", "bifrost"),
    "bifrost-optional-hook-missing": Case(
        "gateway", "bifrost-nohook", OK, "all plugins loaded", "bifrost"),
    "bifrost-cleanup-returns-nothing": Case(
        "gateway", "bifrost-cleanup-noerror", REFUSED,
        "failed to cast Cleanup to func() error: func()", "bifrost"),
    "bifrost-optional-hook-wrong-type": Case(
        "gateway", "bifrost-hook-wrongtype", REFUSED,
        "failed to cast HTTPTransportPreHook to func(map[string]string) "
        "(map[string]string, error): func(map[string]interface {}) "
        "(map[string]interface {}, error)", "bifrost"),
    "bifrost-required-symbol-missing": Case(
        "gateway", "bifrost-no-getname", REFUSED, "plugin: symbol GetName not found in plugin",
        "bifrost"),
    "krakend-registerer-and-version": Case(
        "krakend", "krakend-ok", OK, "all plugins registered", "krakend"),
    "krakend-variable-of-wrong-type": Case(
        "krakend", "krakend-version-int", REFUSED, "PluginVersion is a *int, not a *string",
        "krakend"),
    "krakend-method-set-does-not-implement": Case(
        "krakend", "krakend-wrong-method", REFUSED,
        "HandlerRegisterer (*main.registerer) does not implement Registerer", "krakend"),
    # -- contracts in the host's own types: the stand-in loader is built in its module graph --
    "host-typed-variable": Case("greeter", "greeter-ok", OK, "all plugins loaded", "greeter"),
    "host-typed-variable-exported-as-a-function": Case(
        "greeter", "greeter-func", REFUSED, "Plugin is func() string, not *greeter.Greeter",
        "greeter", decided_by=("contract", "stand-in loader")),
    "host-typed-function-hook": Case(
        "greeter", "greeter-hook-ok", OK, "all plugins loaded", "greeter"),
    "host-typed-function-hook-of-another-signature": Case(
        "greeter", "greeter-hook-wrong", REFUSED, "failed to cast Hook to expected signature",
        "greeter", decided_by=("contract", "stand-in loader")),
    # -- a host that calls the entry and checks what it returns (Dragonfly's loader) -----------
    "call-and-check-returns-what-the-host-wants": Case(
        "caller", "caller-ok", OK, "all plugins loaded", "caller",
        decided_by=("contract", "called PluginInit")),
    "call-and-check-metadata-names-another-plugin": Case(
        "caller", "caller-wrong-name", REFUSED, "plugin name not match", "caller"),
    "call-and-check-returns-no-host-interface": Case(
        "caller", "caller-not-evaluator", REFUSED, "invalid evaluator plugin", "caller"),
    "call-and-check-init-fails": Case(
        "caller", "caller-error", REFUSED, "plugin init failed", "caller"),
    # -- a check command that ignores types: both authorities run, each said -------------------
    "check-command-ignores-types-matching-handler": Case(
        "tyk", "tyk-ok", OK, "gateway started", "tyk"),
    "check-command-ignores-types-wrong-handler": Case(
        "tyk", "tyk-wrong", REFUSED, "could not cast function symbol to http.HandlerFunc",
        "tyk", decided_by=("contract", "stand-in loader")),
    # -- a plugin whose init ends the process: the host (and its check) exits 0 silently ---
    "init-exits-the-process": Case(
        "check", "exit-in-init", EXITED, "", decided_by=("host_check", "overruled")),
    # Without a check command, the stand-in loader's crash is a failure, not a warning.
    "init-panics-no-check-command": Case(
        "check", "panic-in-init", CRASHED, "panic: panic-in-init", None,
        decided_by=("contract", "the stand-in loader: crashed")),
    # -- plugins loaded together: the first one loaded defines a package the host lacks ---
    "plugins-share-a-package-the-host-lacks-v1.0.0-first": Case(
        "check", ("leaf-v1.0.0-alone", "leaf-v1.1.0-alone"), REFUSED, differs("example.com/leaf")),
    "plugins-share-a-package-the-host-lacks-v1.1.0-first": Case(
        "check", ("leaf-v1.1.0-alone", "leaf-v1.0.0-alone"), REFUSED, differs("example.com/leaf")),
    "plugins-agree-on-a-package-the-host-lacks": Case(
        "check", ("leaf-v1.0.0-alone", "same-path-b"), OK, "ok"),
    "two-plugins-with-one-plugin-path": Case(
        "check", ("same-path-a", "same-path-b"), REFUSED, "plugin already loaded"),
    # -- another patch release, no shared package changed: it loads; Go's rule refuses -----
    "patch-release-1.26.6-plugin-in-1.26.8-no-changed-package": Case(
        "check", "probe-1.26.6", OK, "ok", verdict="fail",
        stricter="Go requires host and plugins built by exactly the same toolchain"),
    # -- no plugin type (no --type, no file pattern matches): the loader checks plugin.Open --
    "no-type-matching-pair": Case("deps", "probe", OK, "ok", None),
    "no-type-static-host": Case("static", "probe", CRASHED, NO_MODULE_DATA, None),
    "no-type-musl-plugin-in-glibc-host": Case(
        "deps", "musl", REFUSED, "libc.so: invalid ELF header", None),
    "no-type-trimpath-host-only": Case("deps", "untrimmed", REFUSED,
                                       differs("internal/goarch"), None),
    "no-type-minor-release": Case("go1.27.3", "http-1.26.6", CRASHED, NO_MODULE_DATA, None),
}

# -- the projects verify runs in ----------------------------------------------------------

# The host with a check command of its own; verify runs it with --host-check.
PLAIN_PROJECT = """
[host]
module = "host"
version = "1.0.0"
trimpath = true

[host.services.host]
main = "./cmd/host"
check = ["{binary}", "check-plugin", "{plugin}"]

[plugin_types.probe]
service = "host"
file = "{name}.so"
entry_symbol = "Probe"
"""

# Hosts without a check command: verify judges with a stand-in loader that asserts the
# declared Go types, exactly the types the real hosts assert.
TYPED_PROJECT = """
[host]
module = "host"
version = "1.0.0"
trimpath = true

[host.services.gateway]
main = "./cmd/gateway"

[host.services.krakend]
main = "./cmd/krakend"

[plugin_types.bifrost]
service = "gateway"
file = "{name}.so"
symbols = { GetName = "func() string", Init = "func(any) error", Cleanup = "func() error" }
optional_symbols = { HTTPTransportPreHook = "func(map[string]string) (map[string]string, error)" }
imports = []

[plugin_types.krakend]
service = "krakend"
file = "{type}-{name}.so"
symbols = { PluginVersion = "*string", HandlerRegisterer = "interface{ RegisterHandlers(func(string, func(context.Context, map[string]any) (map[string]any, error))) }" }
imports = ["context"]
"""  # noqa: E501  (the contract's Go types read best whole)

# A host whose contract types are its own package's: the config's host module is the
# real host's, so the stand-in loader is built in its module graph.
GREETER_PROJECT = """
[host]
module = "{module}"
version = "1.0.0"

[host.services.greeter]
main = "."

[plugin_types.greeter]
service = "greeter"
file = "greeter-{{name}}.so"
symbols = {{ Plugin = "*greeter.Greeter" }}
optional_symbols = {{ Hook = "func(*greeter.Request) (*greeter.Response, error)" }}
imports = ["example.com/greeterhost/greeter"]
"""

# Dragonfly's shape: the host calls the entry with an option map and checks the results.
CALLER_PROJECT = """
[host]
module = "{module}"
version = "1.0.0"

[host.services.caller]
main = "."

[plugin_types.caller]
service = "caller"
file = "caller-{{name}}.so"
symbols = {{ PluginInit = "func(map[string]string) (any, map[string]string, error)" }}
imports = ["example.com/callerhost/evaluator"]

[plugin_types.caller.call]
symbol = "PluginInit"
arguments = [{{}}]
returns = [{{ implements = "evaluator.Evaluator" }}, {{ has = {{ type = "{{type}}", name = "{{name}}" }} }}, {{ is_nil = true }}]
"""  # noqa: E501

# Tyk's shape: a check command that only looks the symbol up, and a typed contract.
TYK_PROJECT = """
[host]
module = "host"
version = "1.0.0"
tags = ["goplugin"]

[host.services.tyk]
main = "./cmd/tyk"

[plugin_types.tyk]
service = "tyk"
file = "tyk-{name}.so"
symbols = { AddHeader = "func(http.ResponseWriter, *http.Request)" }
imports = ["net/http"]
check = ["{binary}", "plugin", "load", "-f", "{plugin}", "-s", "AddHeader"]
"""

# No type fits the plugins' file names: verify without --type checks plugin.Open alone.
UNTYPED_PROJECT = """
[host]
module = "host"
version = "1.0.0"

[host.services.host]
main = "./cmd/host"

[plugin_types.other]
service = "host"
file = "other-{name}.so"
"""


def write_project(folder: Path, sections: str, host_module: Path | None = None) -> Path:
    """A project folder for `invoke verify`: tasks.py, a host module, a config.

    The config starts from the repository's own, so [project], [matrix] and [libc] stay
    what users have; [host], [plugin_types] and [[plugins]] become this corpus's. The host
    module is a small one of its own, or (``host_module``) the real host's, outside.
    """
    config = tomlkit.parse((REPO / "buildconfig.toml").read_text())
    for key in ("host", "plugin_types", "plugins"):
        config.pop(key, None)
    if host_module is not None:
        config["project"]["allow_outside_paths"] = True
        sections = sections.format(module=host_module)
    folder.mkdir(parents=True)
    shutil.copy(REPO / "tasks.py", folder / "tasks.py")
    (folder / "buildconfig.toml").write_text(tomlkit.dumps(config) + sections)
    if host_module is not None:
        return folder
    host = folder / "host"
    host.mkdir()
    (host / "go.mod").write_text("module example.com/projecthost\n\ngo 1.23\n")
    for service in re.findall(r"^\[host\.services\.(\w+)\]", sections, re.MULTILINE):
        main = host / "cmd" / service / "main.go"
        main.parent.mkdir(parents=True)
        main.write_text("package main\n\nfunc main() {}\n")
    return folder


# -- fixtures -------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def builder(request, tmp_path_factory) -> pairs.PairBuilder:
    """The binaries of the selected pairs, built once per session (two releases at a time)."""
    builder = pairs.PairBuilder(tmp_path_factory.mktemp("pairs"))
    cases = selected_cases(request.session.items)
    builder.prebuild(hosts={c.host for c in cases},
                     plugins={name for c in cases for name in c.plugins})
    return builder


def selected_cases(items) -> list[Case]:
    """The cases this run will test: with -k, a few, so only their binaries are built."""
    names = [item.callspec.params["name"] for item in items
             if item.originalname == test_verify_agrees_with_the_real_host.__name__]
    return [CASES[name] for name in names]


@pytest.fixture(scope="session")
def projects(tmp_path_factory, builder) -> dict[str | None, Path]:
    """The project each plugin type is verified in: one per kind of host (one file pattern
    belongs to one type, and probe and bifrost both use {name}.so), and the real host's
    module where the contract names its packages."""
    root = tmp_path_factory.mktemp("projects")
    typed = write_project(root / "typed", TYPED_PROJECT)
    return {
        PROBE: write_project(root / "plain", PLAIN_PROJECT), "bifrost": typed, "krakend": typed,
        "greeter": write_project(root / "greeter", GREETER_PROJECT,
                                 builder.host_module("greeter")),
        "caller": write_project(root / "caller", CALLER_PROJECT, builder.host_module("caller")),
        "tyk": write_project(root / "tyk", TYK_PROJECT),
        None: write_project(root / "untyped", UNTYPED_PROJECT),
    }


# -- running the real host and verify ----------------------------------------------------

# How each host is started for real, and the line it prints when every plugin loaded.
COMPLETION = {"hosts/check": "ok", "hosts/gateway": "all plugins loaded",
              "hosts/krakend": "all plugins registered", "hosts/greeter": "all plugins loaded",
              "hosts/caller": "all plugins loaded", "hosts/tyk": "gateway started"}


@dataclass(frozen=True)
class RealLoad:
    outcome: str
    output: str  # stdout and stderr
    error_lines: tuple[str, ...]  # what the host said about a failure


def real_argv(case: Case, host: Path, plugins: list[Path]) -> list[str]:
    """The host starting up with the plugins, as it does for real (the check host's
    `check-plugin` is its own start-up check; Tyk's gateway serves one middleware)."""
    program = pairs.HOSTS[case.host].program
    if program == "hosts/check":
        return [str(host), "check-plugin", *map(str, plugins)]
    if program == "hosts/tyk":
        return [str(host), "serve", str(plugins[0]), "AddHeader"]
    return [str(host), *map(str, plugins)]


def load_for_real(case: Case, host: Path, plugins: list[Path]) -> RealLoad:
    """The real host loads the plugins, in a child process: a crash must not take us down."""
    try:
        run = subprocess.run(real_argv(case, host, plugins), capture_output=True, text=True,
                             timeout=LOAD_TIMEOUT_S, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as expired:
        return RealLoad(TIMED_OUT, str(expired.stdout or "") + str(expired.stderr or ""), ())
    output = run.stdout + run.stderr
    if run.returncode == 0:
        done = COMPLETION[pairs.HOSTS[case.host].program] in run.stdout.splitlines()
        return RealLoad(OK if done else EXITED, output, ())
    crashed = run.returncode < 0 or "fatal error:" in run.stderr or "panic:" in run.stderr
    return RealLoad(CRASHED if crashed else REFUSED, output, _error_lines(run.stderr))


def _error_lines(stderr: str) -> tuple[str, ...]:
    """The host's own lines: a crash's goroutine trace (addresses vary) is left out."""
    lines = []
    for line in stderr.splitlines():
        if line.startswith(("goroutine ", "runtime stack:")):
            break
        if line.strip():
            lines.append(line.strip())
    return tuple(lines)


def run_verify(project: Path, case: Case, host: Path, plugins: list[Path]
               ) -> list[dict[str, Any]]:
    argv = [sys.executable, "-m", "invoke", "verify", "--host", str(host), "--json"]
    for plugin in plugins:
        argv += ["--plugin", str(plugin)]
    if case.contract is not None:
        argv += ["--type", case.contract]
    if case.has_check_command:
        argv.append("--host-check")
    run = subprocess.run(argv, cwd=project, capture_output=True, text=True,
                         timeout=VERIFY_TIMEOUT_S, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    assert "Traceback" not in run.stderr, run.stderr
    try:
        report = json.loads(run.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"verify printed no JSON (exit {run.returncode}):\n{run.stdout}\n{run.stderr}")
    assert len(report["results"]) == len(plugins), report
    return report["results"]


def kept_text(result: dict[str, Any]) -> str:
    """Everything verify kept of what the host printed."""
    live = result.get("live") or {}
    errors = [f.get("host_error") or "" for f in result.get("findings", [])]
    return "\n".join([*live.get("tail", []), *errors])


# -- the checks: each returns what is wrong, so one run shows every failing check ---------


def agreement_problems(case: Case, real: RealLoad,
                       results: dict[str, dict[str, Any]]) -> list[str]:
    """2. verify fails exactly the plugin the real host refused or died on (and passes the
    ones it loaded before); a stricter case fails on go-version alone."""
    if real.outcome == OK and case.stricter:
        result = results[case.failing]
        rules = {f["rule"] for f in result["findings"] if f["severity"] == "error"}
        if result["verdict"] == "fail" and rules == {"go-version"}:
            return []
        return [f"agreement: a stricter case must fail on go-version alone: "
                f"{json.dumps(result, indent=2)}"]
    problems = []
    for name in case.plugins:
        loaded = real.outcome == OK or case.plugins.index(name) < case.plugins.index(
            case.failing)
        if name != case.failing and not loaded:
            continue  # the host never got to it
        wanted = ("pass", "warn") if loaded else ("fail",)
        result = results[name]
        if result["verdict"] not in wanted:
            problems.append(f"agreement: the real host {real.outcome if not loaded else OK} "
                            f"on {name}, verify says {result['verdict']}: "
                            f"{json.dumps(result, indent=2)}")
    return problems


def verdict_problems(case: Case, result: dict[str, Any]) -> list[str]:
    """Where the case knows verify's exact verdict (a warning, not a pass)."""
    if case.verdict in (None, result["verdict"]):
        return []
    return [f"verdict: {case.verdict} expected, verify says {result['verdict']}"]


def fingerprint_problems(real: RealLoad, result: dict[str, Any]) -> list[str]:
    """3. verify names the package the runtime names; differing fingerprints never pass."""
    fingerprints = result.get("fingerprints")
    if fingerprints is None:
        return ["fingerprints: verify's result has no 'fingerprints'"]
    problems = []
    if fingerprints["status"] == "differ" and result["verdict"] == "pass":
        problems.append(f"fingerprints: differ, yet verify passes: {fingerprints}")
    named = DIFFERENT_VERSION.search(real.output)
    between = [f["subject"] for f in result["findings"] if f["rule"] == "plugin-conflict"]
    if named and named.group(1) not in between and (
            fingerprints["status"], fingerprints["first"]) != ("differ", named.group(1)):
        problems.append(f"fingerprints: the host names {named.group(1)}, verify "
                        f"{fingerprints}, between plugins {between}")
    return problems


def host_words_problems(real: RealLoad, result: dict[str, Any], host: Path) -> list[str]:
    """4. Every line the host printed about the failure is kept, when verify loaded the
    plugin through the host's own check command (not a stand-in loader)."""
    live = result.get("live") or {}
    if not real.error_lines or (live.get("argv") or [None])[0] != str(host):
        return []
    kept = kept_text(result)
    missing = [line for line in real.error_lines if line not in kept]
    return [f"host's words: verify dropped {missing}; it kept:\n{kept}"] if missing else []


def authority_problems(case: Case, result: dict[str, Any]) -> list[str]:
    """5. The report says who decided each point, and names the one the case expects."""
    authority = result.get("authority") or {}
    if set(authority) != {"packages", "contract", "host_check"}:
        return [f"authority: {authority}"]
    if case.decided_by is None:
        return []
    key, words = case.decided_by
    if words not in authority[key]:
        return [f"authority: {key} should name {words!r}: {authority}"]
    return []


# -- the test -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", CASES)
def test_verify_agrees_with_the_real_host(name, builder, projects, record_property) -> None:
    case = CASES[name]
    record_property(pairs.AGREEMENT, None)  # not compared (yet): never counted as agreeing
    host = builder.host(case.host)
    plugins = [builder.plugin(plugin) for plugin in case.plugins]

    # 1. Ground truth: the real host on its own. Nothing else means anything without it.
    real = load_for_real(case, host, plugins)
    assert (real.outcome, case.says in real.output) == (case.outcome, True), real.output

    results = dict(zip(case.plugins, run_verify(projects[case.contract], case, host,
                                                plugins), strict=True))
    agreement = agreement_problems(case, real, results)
    record_property(pairs.AGREEMENT, {"agreed": not agreement, "stricter": case.stricter})
    failing = results[case.failing]
    problems = [*agreement, *verdict_problems(case, failing),
                *fingerprint_problems(real, failing),
                *(host_words_problems(real, failing, host) if case.loads_as_checked else []),
                *authority_problems(case, failing)]
    assert not problems, "\n".join(problems)
