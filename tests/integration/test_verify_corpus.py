"""verify's corpus: one real mismatched host/plugin pair per failure class.

For every pair, two things must hold: the static analysis names the right rule, and the
real host's check-plugin refuses the plugin (or dies). So verify never claims a failure
the real host would not hit. Pairs come from the tool's own builds, varied by exactly
one setting with the same planned go build commands.
"""

from __future__ import annotations

import functools
import json
import shlex
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from plugin_builder import config as config_module
from plugin_builder.artifacts import ArtifactStore
from plugin_builder.backends.local import LocalBackend
from plugin_builder.combination import Combination
from plugin_builder.errors import PipelineError, VerifyError
from plugin_builder.log import PrintLog
from plugin_builder.steps import host as host_step
from plugin_builder.steps import plugin as plugin_step
from plugin_builder.steps.gobuild import GoBuild
from plugin_builder.verify import RuleId
from tests.project import REPO, Project

from ..unit import fixcommands
from . import gohelpers

FIXTURES = REPO / "tests" / "fixtures" / "plugins"
BROKEN = ("nosymevaluator", "badsigevaluator", "wrongmetaevaluator")
# Requires uuid v1.6.0 against the host's v1.5.0: the tool refuses to build it (Go would
# select v1.6.0 for it), so the mismatched pair is built as a plain workspace builds it.
NEWER_MODULE = "modverevaluator"
DEFAULT = "go1.26.6-glibc-amd64"
EVALUATOR = "d7y-scheduler-plugin-evaluator.so"


@dataclass(frozen=True)
class Case:
    host: Path
    plugin: Path
    rule: str  # the finding verify must report
    subject: str | None  # and what it concerns, where one setting or module is named
    live: tuple[str, ...]  # the live check outcomes the real host may show
    host_says: str  # text the real host printed


class Corpus:
    """The broken builds, made once: a project copy with the fixtures as targets."""

    def __init__(self, project: Project, matrix: Project) -> None:
        self.project = project
        self.matrix = matrix
        self.out = project.root / "variants"
        self.out.mkdir()
        for name in BROKEN:
            shutil.copytree(FIXTURES / name, project.root / "plugins" / "scheduler" / name)
        with (project.root / "buildconfig.toml").open("a") as config:
            for name in BROKEN:
                config.write(f'\n[[plugins]]\ntype = "scheduler"\nname = "{name}"\n'
                             f'source = "plugins/scheduler/{name}"\n')
        project.invoke("build-host")
        project.invoke("build-plugin", "--type", "scheduler")
        self.config = config_module.load(project.root / "buildconfig.toml")
        combination = Combination("1.26.6", "glibc", "amd64")
        self.environment = LocalBackend(self.config).prepare(combination, PrintLog())
        self.store = ArtifactStore(self.config.artifacts, combination)

    def artifact(self, relative: str) -> Path:
        return self.project.artifacts(DEFAULT) / relative

    def unpinned_plugin(self, name: str) -> Path:
        """A plugin built in a workspace of its own and the host's, without the tool's check
        before compiling: minimum version selection picks the plugin's newer module."""
        source = self.project.root / "plugins" / "scheduler" / name
        shutil.copytree(FIXTURES / name, source)
        host = self.project.root / "host"
        gowork = self.out / name / "go.work"
        gowork.parent.mkdir()
        gowork.write_text(f'go 1.26.6\n\nuse (\n\t"{host}"\n\t"{source}"\n)\n\n'
                          f'replace plugin-builder.dev/host v0.0.0 => "{host}"\n')
        build = self.plugin_build()
        output = self.out / name / f"d7y-scheduler-plugin-{name}.so"
        run = subprocess.run(build.command(output), cwd=source,
                             env={**build.env, "GOWORK": str(gowork)},
                             capture_output=True, text=True)
        assert run.returncode == 0, run.stdout + run.stderr
        return output

    def host_build(self) -> GoBuild:
        return next(b for b in host_step.plan(self.config, self.environment)
                    if b.relative == "bin/scheduler")

    def plugin_build(self) -> GoBuild:
        target = next(t for t in self.config.plugins if t.name == "evaluator")
        return plugin_step.plan(self.config, self.environment, self.store, [target])[0]

    def variant(self, build: GoBuild, name: str,
                argv: Callable[[list[str]], list[str]] = lambda a: a,
                **env: str) -> Path:
        """The same planned go build with exactly one thing changed."""
        # The reference host checks file names, so each variant keeps the real one.
        output = self.out / name / Path(build.relative).name
        output.parent.mkdir()
        command = argv(build.command(output))
        run = subprocess.run(command, cwd=build.cwd, env={**build.env, **env},
                             capture_output=True, text=True)
        assert run.returncode == 0, run.stdout + run.stderr
        return output


def _without(flag: str) -> Callable[[list[str]], list[str]]:
    return lambda argv: [a for a in argv if a != flag]


def _before_output(*flags: str) -> Callable[[list[str]], list[str]]:
    def insert(argv: list[str]) -> list[str]:
        at = argv.index("-o")
        return argv[:at] + list(flags) + argv[at:]
    return insert


def _static_ldflags(argv: list[str]) -> list[str]:
    at = argv.index("-ldflags") + 1
    return argv[:at] + [argv[at] + " -extldflags=-static"] + argv[at + 1:]


@pytest.fixture(scope="module")
def corpus(built: Project, tmp_path_factory) -> Corpus:
    return Corpus(Project(tmp_path_factory.mktemp("corpus")), built)


@functools.cache
def _cases(corpus: Corpus) -> dict[str, Case]:
    """Every case, its variant binaries built once per corpus."""
    m, c = corpus.matrix, corpus
    scheduler, evaluator = c.artifact("bin/scheduler"), c.artifact(f"plugins/{EVALUATOR}")
    broken = {name: c.artifact(f"plugins/d7y-scheduler-plugin-{name}.so") for name in BROKEN}
    refused, crashed = ("refused",), ("crashed",)
    return {
        "another-go-release": Case(
            m.artifacts("go1.27.3-glibc-amd64") / "bin" / "scheduler",
            m.artifacts(DEFAULT) / "plugins" / EVALUATOR,
            RuleId.GO_VERSION, None, crashed, "fatal error: runtime: no plugin module data"),
        "glibc-host-musl-plugin": Case(
            m.artifacts(DEFAULT) / "bin" / "scheduler",
            m.artifacts("go1.26.6-musl-amd64") / "plugins" / EVALUATOR,
            RuleId.LIBC, None, refused, "invalid ELF header"),
        "static-host": Case(
            c.variant(c.host_build(), "static", _static_ldflags), evaluator,
            RuleId.HOST_STATIC, None, crashed + refused, "plugin"),
        "host-without-cgo": Case(
            c.variant(c.host_build(), "nocgo", CGO_ENABLED="0"), evaluator,
            RuleId.HOST_CGO_DISABLED, None, refused, "plugin: not implemented"),
        "trimpath-on-one-side": Case(
            scheduler, c.variant(c.plugin_build(), "untrimmed", _without("-trimpath")),
            RuleId.BUILD_SETTING, "-trimpath", refused,
            "plugin was built with a different version"),
        "tag-on-one-side": Case(
            scheduler, c.variant(c.plugin_build(), "netgo", _before_output("-tags=netgo")),
            RuleId.BUILD_SETTING, "-tags", refused, "plugin was built with a different version"),
        "shared-module-at-another-version": Case(
            scheduler, c.unpinned_plugin(NEWER_MODULE), RuleId.MODULE_VERSION,
            "github.com/google/uuid",
            refused, "plugin was built with a different version of package"),
        "another-goarch": Case(
            scheduler, c.variant(c.plugin_build(), "arm64", GOARCH="arm64",
                                 CC="aarch64-linux-gnu-gcc"),
            RuleId.ARCH, None, refused, "plugin.Open"),
        "entry-symbol-missing": Case(
            scheduler, broken["nosymevaluator"], RuleId.ENTRY_SYMBOL, "DragonflyPluginInit",
            refused, "symbol DragonflyPluginInit not found"),
        "metadata-with-wrong-type": Case(
            scheduler, broken["wrongmetaevaluator"], RuleId.CONTRACT, "metadata", refused,
            'metadata "type" is "manager"'),
        "entry-with-wrong-signature": Case(
            scheduler, broken["badsigevaluator"], RuleId.CONTRACT, "signature", refused,
            "symbol DragonflyPluginInit has type"),
    }


CASES = ("another-go-release", "glibc-host-musl-plugin", "static-host", "host-without-cgo",
         "trimpath-on-one-side", "tag-on-one-side", "shared-module-at-another-version",
         "another-goarch", "entry-symbol-missing", "metadata-with-wrong-type",
         "entry-with-wrong-signature")


def verify_json(project: Project, host: Path, *plugins: Path, extra: tuple[str, ...] = ()):
    args = ["verify", "--host", str(host), "--json", *extra]
    for plugin in plugins:
        args += ["--plugin", str(plugin)]
    run = project.invoke(*args, expect=None)
    return run, json.loads(run.stdout)


@pytest.mark.parametrize("name", CASES)
def test_each_failure_class_is_named_and_the_real_host_refuses(corpus: Corpus, name) -> None:
    case = _cases(corpus)[name]

    # Ground truth first: the real host, on its own.
    real = subprocess.run([str(case.host), "check-plugin", str(case.plugin)],
                          capture_output=True, text=True, timeout=60)
    assert real.returncode != 0, f"{name}: the real host loaded it:\n{real.stdout}"
    assert case.host_says in real.stdout + real.stderr

    # Then verify, through the host's own check command for the live half.
    run, report = verify_json(corpus.project, case.host, case.plugin,
                              extra=("--type", "scheduler", "--host-check"))
    assert run.returncode == VerifyError.return_code, run.stderr
    assert "Traceback" not in run.stderr
    [result] = report["results"]
    assert result["verdict"] == "fail"
    rules = [(f["rule"], f["subject"]) for f in result["findings"]]
    assert any(rule == case.rule and (case.subject in (None, subject))
               for rule, subject in rules), rules
    first = result["findings"][0]
    assert first["rule"] == case.rule, "the root cause comes first"
    assert "fix:" in first["message"]
    assert "invoke build-" in first["message"] or "mod edit -require" in first["message"]
    assert result["live"]["status"] in case.live
    for finding in result["findings"]:  # fixes the user can paste: each parses, names
        fixcommands.check(finding["fix"], corpus.config)  # only what the config has
    if first["fix"].startswith("invoke "):
        corpus.project.invoke(*shlex.split(first["fix"])[1:], "--help")


def test_a_musl_host_with_a_glibc_plugin_is_a_warning_not_a_failure(built: Project) -> None:
    """Measured: this pair loads (see test_pipeline); verify must not claim it fails."""
    run, report = verify_json(
        built, built.artifacts("go1.26.6-musl-amd64") / "bin" / "scheduler",
        built.artifacts(DEFAULT) / "plugins" / EVALUATOR, extra=("--host-check",))
    assert run.returncode == 0, run.stderr
    [result] = report["results"]
    assert result["verdict"] == "warn"
    assert [f["rule"] for f in result["findings"]] == [RuleId.LIBC]
    assert result["live"]["status"] == "ok"


def test_the_fix_for_another_release_names_the_hosts_release(corpus: Corpus) -> None:
    case = _cases(corpus)["another-go-release"]
    _, report = verify_json(corpus.project, case.host, case.plugin, extra=("--host-check",))
    message = report["results"][0]["findings"][0]["message"]
    assert "plugin built by go1.26.6, host by go1.27.3" in message
    assert 'dies with "fatal error: runtime: no plugin module data"' in message
    assert "invoke build-plugin --type scheduler --name evaluator --go 1.27.3 --libc glibc" \
        in message


def test_every_matching_pair_of_the_default_matrix_passes(built: Project) -> None:
    run = built.invoke("verify", "--all", "--json")
    report = json.loads(run.stdout)
    assert report["summary"] == {"total": 18, "pass": 18, "warn": 0, "fail": 0}
    for combination in ("go1.26.6-glibc-amd64", "go1.27.3-musl-amd64",
                        "go1.26.6-musl-arm64"):
        assert built.manifest(combination)["verify"]["summary"]["pass"] == 3


def test_pipeline_fails_on_a_broken_plugin_and_records_it(corpus: Corpus) -> None:
    run = corpus.project.invoke("pipeline", expect=None)
    assert run.returncode == PipelineError.return_code
    assert "pipeline failed for go1.26.6-glibc-amd64" in run.stderr
    assert "d7y-scheduler-plugin-nosymevaluator.so" in run.stderr
    verdicts = {Path(r["plugin"]).name: r["verdict"]
                for r in corpus.project.manifest(DEFAULT)["verify"]["results"]}
    assert verdicts[EVALUATOR] == "pass"
    assert verdicts["d7y-scheduler-plugin-nosymevaluator.so"] == "fail"


def test_binaries_built_outside_the_tool_verify_with_a_stand_in_loader(tmp_path) -> None:
    """A foreign host (no check-plugin) and plugins built by plain go build."""
    go = gohelpers.system_go()
    host_dir = gohelpers.write_host(tmp_path / "host", with_net_http=False)
    host = gohelpers.go_build(go, host_dir, tmp_path / "foreign-host",
                              flags=["-trimpath"])
    plugin_dir = gohelpers.write_module(tmp_path / "plugin", "example.com/fp",
                                        {"main.go": gohelpers.PLUGIN_MAIN})
    good = gohelpers.go_build(go, plugin_dir, tmp_path / "good.so",
                              flags=["-trimpath", "-buildmode=plugin"])
    # A module of its own: loaded together, one plugin path twice is refused before a
    # release is compared (plugin-path).
    other_dir = gohelpers.write_module(tmp_path / "other", "example.com/fp-other",
                                       {"main.go": gohelpers.PLUGIN_MAIN})
    other = gohelpers.go_build(gohelpers.go_bin("1.27.3"), other_dir, tmp_path / "other.so",
                               flags=["-trimpath", "-buildmode=plugin"])
    project = Project(tmp_path / "project")

    run, report = verify_json(project, host, good, other, extra=("--type", "scheduler"))

    assert run.returncode == VerifyError.return_code
    good_result, other_result = report["results"]
    # Built from another module than the config's host: the stand-in loader has the
    # standard library only, asserts the entry's type, and says it did not make the call
    # (its results name the host's sdk package).
    assert good_result["verdict"] == "warn", good_result
    assert [f["rule"] for f in good_result["findings"]] == [RuleId.CONTRACT_UNCHECKED]
    assert "the call of DragonflyPluginInit" in good_result["findings"][0]["message"]
    assert good_result["symbols"]["DragonflyPluginInit"].startswith("asserted: func(")
    assert good_result["live"]["argv"][0] != str(host), "a stand-in loader, not the host"
    assert other_result["verdict"] == "fail"
    assert other_result["findings"][0]["rule"] == RuleId.GO_VERSION
    # Alone, the other release dies with "no plugin module data"; loaded after a plugin of
    # the host's release, the runtime takes that one's module data for the new plugin's and
    # refuses it as "plugin already loaded" (measured). Either way the static go-version
    # error is the verdict.
    assert other_result["live"]["status"] in ("crashed", "refused")


def test_static_verify_of_the_whole_matrix_is_fast(built: Project) -> None:
    """Not a timing test (the benchmark measures): only that --static-only runs no host."""
    run = built.invoke("verify", "--all", "--static-only", "--json")
    report = json.loads(run.stdout)
    assert report["summary"]["pass"] == 18
    assert all(r["live"] is None for r in report["results"])
