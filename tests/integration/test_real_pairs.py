"""Real host/plugin pairs: verify's verdict must be the real loader's.

Every pair is a real host and a real plugin, built by plain ``go build`` with exact Go
releases (tests/integration/pairs.py). For each pair:

1. ground truth: the real host loads the plugin on its own, in a child process with a
   time limit (another Go release can kill it), and ends as the case says;
2. agreement: ``invoke verify --host --plugin --json`` fails the pair exactly when the
   real host refused it or died, and passes (or warns) when it loaded;
3. fingerprints: when the host said ``plugin was built with a different version of
   package P``, verify's ``fingerprints`` name P first; differing fingerprints never pass;
4. the host's own words: when verify loaded through the host's check command, every line
   the host printed about the failure is in verify's JSON.

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

from . import pairs
from .projects import REPO

OK, REFUSED, CRASHED, TIMED_OUT = "ok", "refused", "crashed", "timed_out"
LOAD_TIMEOUT_S = 60
VERIFY_TIMEOUT_S = 600  # verify may build a stand-in loader, cold, first
PROBE = "probe"  # the plugin type whose host has a check command: verify uses it
DIFFERENT_VERSION = re.compile(r"plugin was built with a different version of package (\S+)")


@dataclass(frozen=True)
class Case:
    host: str  # a pairs.HOSTS entry
    plugin: str  # a pairs.PLUGINS entry
    outcome: str  # how the real host's load ends: ok, refused or crashed
    says: str = ""  # what the real host prints about it (a part of its output)
    contract: str = PROBE  # the plugin type verify is told (--type)
    # verify's verdict, where one is known beyond "fail" or "pass or warn"
    verdict: str | None = None

    @property
    def has_check_command(self) -> bool:
        return self.contract == PROBE


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


def write_project(folder: Path, sections: str) -> Path:
    """A project folder for `invoke verify`: tasks.py, a small host module, a config.

    The config starts from the repository's own, so [project], [matrix] and [libc] stay
    what users have; [host], [plugin_types] and [[plugins]] become this corpus's.
    """
    config = tomlkit.parse((REPO / "buildconfig.toml").read_text())
    for key in ("host", "plugin_types", "plugins"):
        config.pop(key, None)
    folder.mkdir(parents=True)
    shutil.copy(REPO / "tasks.py", folder / "tasks.py")
    (folder / "buildconfig.toml").write_text(tomlkit.dumps(config) + sections)
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
    builder.prebuild(hosts={c.host for c in cases}, plugins={c.plugin for c in cases})
    return builder


def selected_cases(items) -> list[Case]:
    """The cases this run will test: with -k, a few, so only their binaries are built."""
    names = [item.callspec.params["name"] for item in items
             if item.originalname == test_verify_agrees_with_the_real_host.__name__]
    return [CASES[name] for name in names]


@pytest.fixture(scope="session")
def projects(tmp_path_factory) -> dict[str, Path]:
    """The project each plugin type is verified in. Two, as there are two kinds of host
    (one file pattern belongs to one type, and probe and bifrost both use {name}.so)."""
    root = tmp_path_factory.mktemp("projects")
    plain = write_project(root / "plain", PLAIN_PROJECT)
    typed = write_project(root / "typed", TYPED_PROJECT)
    return {PROBE: plain, "bifrost": typed, "krakend": typed}


class AgreementTally:
    """Counts the pairs whose verify verdict matched the real load, for the summary.

    A pair that never got as far as comparing (a build or verify that broke) counts as
    not agreeing: the figure never looks better than the run was.
    """

    def __init__(self) -> None:
        self.agreed: dict[str, bool | None] = {}  # None: not compared

    def started(self, name: str) -> None:
        self.agreed[name] = None

    def record(self, name: str, agreed: bool) -> None:
        self.agreed[name] = agreed

    def pytest_terminal_summary(self, terminalreporter) -> None:
        if not self.agreed:
            return
        count = sum(agreed is True for agreed in self.agreed.values())
        terminalreporter.write_sep("=", f"real pairs: {count}/{len(self.agreed)} pairs agree")
        for name, agreed in self.agreed.items():
            if agreed is not True:
                how = "not compared" if agreed is None else "disagrees"
                terminalreporter.write_line(f"{how}: {name}")


@pytest.fixture(scope="session")
def tally(request) -> AgreementTally:
    # Registered as a plugin, so the figure is printed after every run, whatever -r says.
    tally = AgreementTally()
    request.config.pluginmanager.register(tally, "real-pairs-agreement")
    return tally


# -- running the real host and verify ----------------------------------------------------


@dataclass(frozen=True)
class RealLoad:
    outcome: str
    output: str  # stdout and stderr
    error_lines: tuple[str, ...]  # what the host said about a failure


def load_for_real(case: Case, host: Path, plugin: Path) -> RealLoad:
    """The real host loads the plugin, in a child process: a crash must not take us down."""
    argv = [str(host), "check-plugin", str(plugin)] if case.has_check_command \
        else [str(host), str(plugin)]
    try:
        run = subprocess.run(argv, capture_output=True, text=True, timeout=LOAD_TIMEOUT_S,
                             stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as expired:
        return RealLoad(TIMED_OUT, str(expired.stdout or "") + str(expired.stderr or ""), ())
    output = run.stdout + run.stderr
    if run.returncode == 0:
        return RealLoad(OK, output, ())
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


def run_verify(project: Path, case: Case, host: Path, plugin: Path) -> dict[str, Any]:
    argv = [sys.executable, "-m", "invoke", "verify", "--host", str(host),
            "--plugin", str(plugin), "--json", "--type", case.contract]
    if case.has_check_command:
        argv.append("--host-check")
    run = subprocess.run(argv, cwd=project, capture_output=True, text=True,
                         timeout=VERIFY_TIMEOUT_S, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    assert "Traceback" not in run.stderr, run.stderr
    try:
        report = json.loads(run.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"verify printed no JSON (exit {run.returncode}):\n{run.stdout}\n{run.stderr}")
    [result] = report["results"]
    return result


def kept_text(result: dict[str, Any]) -> str:
    """Everything verify kept of what the host printed."""
    live = result.get("live") or {}
    errors = [f.get("host_error") or "" for f in result.get("findings", [])]
    return "\n".join([*live.get("tail", []), *errors])


# -- the checks: each returns what is wrong, so one run shows every failing check ---------


def agreement_problems(real: RealLoad, result: dict[str, Any]) -> list[str]:
    """2. verify fails exactly the pairs the real host refused or died on."""
    wanted = ("pass", "warn") if real.outcome == OK else ("fail",)
    if result["verdict"] in wanted:
        return []
    return [f"agreement: the real host {real.outcome}, verify says {result['verdict']}: "
            f"{json.dumps(result, indent=2)}"]


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
    if named and (fingerprints["status"], fingerprints["first"]) != ("differ", named.group(1)):
        problems.append(f"fingerprints: the host names {named.group(1)}, verify {fingerprints}")
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


# -- the test -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", CASES)
def test_verify_agrees_with_the_real_host(name, builder, projects, tally) -> None:
    case = CASES[name]
    tally.started(name)
    host, plugin = builder.host(case.host), builder.plugin(case.plugin)

    # 1. Ground truth: the real host on its own. Nothing else means anything without it.
    real = load_for_real(case, host, plugin)
    assert (real.outcome, case.says in real.output) == (case.outcome, True), real.output

    result = run_verify(projects[case.contract], case, host, plugin)
    agreement = agreement_problems(real, result)
    tally.record(name, not agreement)
    problems = [*agreement, *verdict_problems(case, result),
                *fingerprint_problems(real, result),
                *host_words_problems(real, result, host)]
    assert not problems, "\n".join(problems)
