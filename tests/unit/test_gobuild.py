"""The go builds the steps plan: argv, environment and generated go.work, without Go.

A stub BuildEnvironment stands for a backend; planning needs no toolchain. The last tests
run go_build with a stub that "builds" by writing the output file, for the landing and
up-to-date decisions around the command.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from plugin_builder import config
from plugin_builder.artifacts import ArtifactStore
from plugin_builder.backends import RunResult
from plugin_builder.combination import Combination
from plugin_builder.errors import BuildError, ModuleGraphError
from plugin_builder.files import TEMP_MARK
from plugin_builder.golang.gomod import _directives, parse_gomod
from plugin_builder.steps import host as host_step
from plugin_builder.steps import plugin as plugin_step
from plugin_builder.steps.gobuild import OUTPUT, go_build, shared_flags
from tests.project import Project

COMBINATION = Combination("1.26.6", "glibc", "amd64")
HOST_MODULE = "plugin-builder.dev/host"
GOFLAGS = "-buildvcs=false -mod=readonly"


@dataclass
class StubEnvironment:
    """A BuildEnvironment: where the go and cc are, and a run() that records its calls."""

    combination: Combination = COMBINATION
    go: str = "/toolchains/go1.26.6/bin/go"
    cc: str = "/usr/bin/gcc"
    identity: dict[str, str] = field(
        default_factory=lambda: {"go": "go1.26.6", "cc": "gcc (Debian 12.2.0-14) 12.2.0"})
    env: dict[str, str] = field(default_factory=lambda: {"PATH": "/usr/bin:/bin",
                                                         "HOME": "/home/builder"})
    output: bytes = b"not really an ELF file, but bytes to land"
    returncode: int = 0
    calls: list[tuple[list[str], Path, dict[str, str]]] = field(default_factory=list)
    link_cache: None = None

    def base_env(self) -> dict[str, str]:
        return dict(self.env)

    def run(self, argv: Sequence[str], *, cwd: Path, env: Mapping[str, str],
            on_stderr: Callable[[str], None] | None = None,
            outputs: Sequence[Path] = ()) -> RunResult:
        self.calls.append((list(argv), cwd, dict(env)))
        if argv[1:3] == ["list", "-m"]:  # `go list -m -json all`: the module graph in cwd
            return RunResult(0, "\n".join(json.dumps(m) for m in listed_modules(cwd)))
        if argv[1] == "list":  # `go list -deps -json`: the package in cwd, as Go reports it
            return RunResult(0, json.dumps(listed_package(cwd)))
        if self.returncode == 0:
            Path(argv[argv.index("-o") + 1]).write_bytes(self.output)
            return RunResult(0, "")
        return RunResult(self.returncode, "", "main.go:3:1: syntax error: unexpected }")

    @property
    def builds(self) -> list[list[str]]:
        return [argv for argv, _, _ in self.calls if argv[1] == "build"]


def listed_modules(folder: Path) -> list[dict]:
    main = parse_gomod((folder / "go.mod").read_text())
    return [{"Path": main.module, "Main": True, "Dir": str(folder),
             "GoMod": str(folder / "go.mod")},
            *({"Path": path, "Version": version} for path, version in main.requires)]


def listed_package(folder: Path) -> dict:
    return {"Dir": str(folder), "ImportPath": "example.com/main",
            "GoFiles": sorted(p.name for p in folder.glob("*.go")
                              if not p.name.endswith("_test.go")),
            "Module": {"Path": "example.com/main", "Main": True,
                       "GoMod": str(folder / "go.mod")}}


def go_split(value: str) -> list[str]:
    """How the go command splits an -ldflags value (cmd/go's per-package flag, then
    cmd/internal/quoted.Split): an optional leading "pattern=", then words on spaces, a
    word that starts with a quote running to the next same quote, without escapes."""
    if not value.startswith("-"):
        pattern, _, value = value.partition("=")
        assert pattern and pattern[0] not in "'\"", f"go refuses the -ldflags value {value!r}"
    words = []
    while value := value.lstrip(" \t\n\r"):
        if value[0] in "'\"":
            end = value.index(value[0], 1)  # ValueError: go says "unterminated quote"
            words.append(value[1:end])
            value = value[end + 1:]
        else:
            word = value.split(None, 1)[0]
            words.append(word)
            value = value[len(word):]
    return words


def flags_of(argv: Sequence[str]) -> list[str]:
    """argv without the "--" that may end the flags."""
    return [a for a in argv if a != "--"]


def load(project, **host) -> config.Config:
    project.data["host"].update(host)
    scheduler = project.root / "plugins/scheduler/evaluator/go.mod"
    scheduler.write_text("module example.com/evaluator\n\ngo 1.26\n\n"
                         f"require {HOST_MODULE} v0.0.0\n")
    return config.load(project.write())


@pytest.fixture
def loaded(project) -> config.Config:
    return load(project)


def target(cfg: config.Config, type_: str):
    return next(t for t in cfg.plugins if t.type == type_)


# -- the host -------------------------------------------------------------------------------


def test_host_plan_builds_every_service_stamped(loaded) -> None:
    environment = StubEnvironment()
    builds = host_step.plan(loaded, environment)
    assert [b.entry["service"] for b in builds] == ["dfdaemon", "scheduler", "manager"]
    scheduler = builds[1]
    assert scheduler.relative == "bin/scheduler"
    assert scheduler.cwd == loaded.host.module
    argv = list(scheduler.argv)
    ldflags = argv[argv.index("-ldflags") + 1]
    assert flags_of(argv) == [environment.go, "build", "-trimpath", "-ldflags", ldflags,
                              "-o", OUTPUT, "./cmd/scheduler"]
    assert go_split(ldflags) == [
        f"-X={HOST_MODULE}/internal/version.Version=0.1.0",
        f"-X={HOST_MODULE}/internal/version.Combination=go1.26.6-glibc-amd64"]
    command = scheduler.command(Path("/x/.scheduler.tmp"))
    assert command[command.index("-o") + 1] == "/x/.scheduler.tmp"
    assert OUTPUT not in command
    assert scheduler.entry == {"kind": "host", "service": "scheduler", "version": "0.1.0"}


def test_host_env_is_local_toolchain_cgo_and_no_workspace(loaded) -> None:
    environment = StubEnvironment()
    env = host_step.plan(loaded, environment)[0].env
    assert env == {"PATH": "/usr/bin:/bin", "HOME": "/home/builder", "GOTOOLCHAIN": "local",
                   "GOENV": "off", "CGO_ENABLED": "1", "CC": "/usr/bin/gcc", "GOOS": "linux",
                   "GOARCH": "amd64", "GOFLAGS": GOFLAGS, "GOWORK": "off"}


def test_the_environment_overrides_what_the_base_env_says(loaded) -> None:
    environment = StubEnvironment(env={"PATH": "/bin", "GOTOOLCHAIN": "auto", "GOWORK": "/w",
                                       "CGO_ENABLED": "0", "GOFLAGS": "-mod=mod",
                                       "GOENV": "/home/builder/.config/go/env"})
    env = host_step.plan(loaded, environment)[0].env
    assert (env["GOTOOLCHAIN"], env["CGO_ENABLED"], env["GOWORK"], env["GOFLAGS"],
            env["GOENV"]) == ("local", "1", "off", GOFLAGS, "off")


@pytest.mark.parametrize("value", ["built by CI", "it's built", 'say "hi" now'])
def test_a_stamp_value_with_a_space_reaches_go_as_one_word(project, value) -> None:
    project.data["host"]["stamp"] = {"main.note": value, "main.version": "{version}"}
    loaded = load(project)
    argv = list(host_step.plan(loaded, StubEnvironment())[0].argv)
    assert go_split(argv[argv.index("-ldflags") + 1]) == \
        [f"-X=main.note={value}", "-X=main.version=0.1.0"]


# -- plugins ------------------------------------------------------------------------------------


def gowork_directives(text: str) -> dict[str, list[list[str]]]:
    """The go.work's directives, read with the go.mod grammar (quoted paths unquoted)."""
    found: dict[str, list[list[str]]] = {}
    for verb, args in _directives(text):
        found.setdefault(verb, []).append(args)
    return found


def test_plugin_plan_builds_in_the_generated_workspace(loaded) -> None:
    environment = StubEnvironment()
    store = ArtifactStore(loaded.artifacts, COMBINATION)
    scheduler = target(loaded, "scheduler")
    [build] = plugin_step.plan(loaded, environment, store, [scheduler])
    gowork = Path(build.env["GOWORK"])
    # One folder per target and content: two configs of one project never share it.
    assert gowork.name == "go.work" and gowork.parent.parent == store.scratch
    assert gowork.parent.name.startswith("scheduler-evaluator-")
    assert build.relative == "plugins/d7y-scheduler-plugin-evaluator.so"
    assert build.cwd == scheduler.source
    assert flags_of(build.argv) == [environment.go, "build", "-buildmode=plugin", "-trimpath",
                                    "-o", OUTPUT, "."]
    assert build.env == {"PATH": "/usr/bin:/bin", "HOME": "/home/builder",
                         "GOTOOLCHAIN": "local", "GOENV": "off", "CGO_ENABLED": "1",
                         "CC": "/usr/bin/gcc", "GOOS": "linux", "GOARCH": "amd64",
                         "GOFLAGS": GOFLAGS,
                         "GOWORK": str(gowork)}
    assert {k: build.entry[k] for k in ("kind", "type", "name")} == \
        {"kind": "plugin", "type": "scheduler", "name": "evaluator"}
    text = gowork.read_text()
    assert text.startswith("go 1.26.6\n")  # the combination's exact release
    directives = gowork_directives(text)
    assert directives["use"] == [[str(loaded.host.module)], [str(scheduler.source)]]
    # the host version the plugin requires is the host folder (golang/go#66516)
    assert [HOST_MODULE, "v0.0.0", "=>", str(loaded.host.module)] in directives["replace"]
    for args in directives["replace"]:  # nothing else replaces the host or the plugin
        assert args[0] != HOST_MODULE or args[1] == "v0.0.0"
        assert str(scheduler.source) not in args
    assert build.digest_parts["go.work"] == text


def test_a_plugin_that_does_not_require_the_host_gets_no_host_replace(loaded) -> None:
    store = ArtifactStore(loaded.artifacts, COMBINATION)
    resource = target(loaded, "resource")  # its go.mod requires nothing
    [build] = plugin_step.plan(loaded, StubEnvironment(), store, [resource])
    directives = gowork_directives(Path(build.env["GOWORK"]).read_text())
    assert directives["use"] == [[str(loaded.host.module)], [str(resource.source)]]
    assert not [args for args in directives.get("replace", []) if args[0] == HOST_MODULE]


def test_each_target_has_its_own_workspace(loaded) -> None:
    store = ArtifactStore(loaded.artifacts, COMBINATION)
    builds = plugin_step.plan(loaded, StubEnvironment(), store, list(loaded.plugins))
    works = [b.env["GOWORK"] for b in builds]
    assert len(set(works)) == 3
    assert all(Path(w).is_relative_to(store.scratch) for w in works)
    assert not list(loaded.host.module.glob("go.work*"))  # user folders are never written
    assert not [p for t in loaded.plugins for p in t.source.glob("go.work*")]


def test_the_go_work_names_a_folder_with_a_space_as_one_path(tmp_path: Path) -> None:
    """Projects live in folders like "~/My Projects/x": every path in the generated go.work
    must parse as one argument (the go.mod grammar quotes it), or `go build` refuses the
    workspace ("usage: use local/dir")."""
    root = tmp_path / "My Projects"
    root.mkdir()
    loaded = load(Project.skeleton(root))
    store = ArtifactStore(loaded.artifacts, COMBINATION)
    scheduler = target(loaded, "scheduler")
    [build] = plugin_step.plan(loaded, StubEnvironment(), store, [scheduler])
    directives = gowork_directives(Path(build.env["GOWORK"]).read_text())
    assert directives["use"] == [[str(loaded.host.module)], [str(scheduler.source)]]
    assert [HOST_MODULE, "v0.0.0", "=>", str(loaded.host.module)] in directives["replace"]


def test_the_go_work_pins_nothing_and_the_host_modules_feed_the_digest(loaded) -> None:
    """Go selects the plugin's build list from the host's own requirements: the go.work
    names no version of the host's build list, so the host's module files are an input."""
    store = ArtifactStore(loaded.artifacts, COMBINATION)
    scheduler = target(loaded, "scheduler")
    [build] = plugin_step.plan(loaded, StubEnvironment(), store, [scheduler])
    directives = gowork_directives(Path(build.env["GOWORK"]).read_text())
    assert directives["replace"] == [[HOST_MODULE, "v0.0.0", "=>", str(loaded.host.module)]]
    host_gomod = loaded.host.module / "go.mod"
    host_gomod.write_text(host_gomod.read_text().replace("v1.5.0", "v1.6.0"))
    [again] = plugin_step.plan(loaded, StubEnvironment(), store, [scheduler])
    assert again.digest_parts["go.work"] == build.digest_parts["go.work"]
    assert again.digest_parts["host modules"] != build.digest_parts["host modules"]


def workspace_host(project) -> config.Config:
    """The unit project's host built through a go.work that also uses ./shared, which
    the host requires at an unpublished v0.0.0, and replaces two modules."""
    root = project.root
    (root / "shared").mkdir()
    (root / "shared" / "go.mod").write_text("module example.com/shared\n\ngo 1.26\n")
    host_gomod = root / "host" / "go.mod"
    host_gomod.write_text(host_gomod.read_text() + "require example.com/shared v0.0.0\n")
    (root / "go.work").write_text(
        "go 1.26\n\nuse (\n\t./host\n\t./shared\n)\n\n"
        "replace example.com/otel => example.com/otel v1.1.0\n"
        "replace example.com/forked v1.0.0 => ./forks/forked\n")
    (root / "go.work.sum").write_text("example.com/otel v1.1.0 h1:GX3z=\n")
    project.data["host"]["workspace"] = "go.work"
    return load(project)


def test_a_workspace_hosts_go_work_carries_its_modules_and_replacements(project) -> None:
    loaded = workspace_host(project)
    store = ArtifactStore(loaded.artifacts, COMBINATION)
    scheduler = target(loaded, "scheduler")
    [build] = plugin_step.plan(loaded, StubEnvironment(), store, [scheduler])
    gowork = Path(build.env["GOWORK"])
    directives = gowork_directives(gowork.read_text())
    shared = project.root / "shared"
    assert directives["use"] == [[str(loaded.host.module)], [str(shared)],
                                 [str(scheduler.source)]]
    assert directives["replace"] == [
        ["example.com/otel", "=>", "example.com/otel", "v1.1.0"],
        ["example.com/forked", "v1.0.0", "=>", str(project.root / "forks" / "forked")],
        # golang/go#66516: a version at which one used module requires another
        ["example.com/shared", "v0.0.0", "=>", str(shared)],
        [HOST_MODULE, "v0.0.0", "=>", str(loaded.host.module)],
    ]
    # The host's checksums start the workspace's go.work.sum; the user's stays theirs.
    assert gowork.with_name("go.work.sum").read_text() == "example.com/otel v1.1.0 h1:GX3z=\n"
    assert (project.root / "go.work.sum").read_text() == "example.com/otel v1.1.0 h1:GX3z=\n"


# -- refused before compiling ------------------------------------------------------------------

TRANSITIVE_UUID = {"ImportPath": "github.com/google/uuid",
                   "Module": {"Path": "github.com/google/uuid", "Version": "v1.6.0"}}


@dataclass
class GraphStub(StubEnvironment):
    """A backend whose `go list -deps` links what ``linked`` says and whose `go mod
    graph` prints ``graph``; everything else as StubEnvironment."""

    linked: list[dict] = field(default_factory=list)
    graph: str = ""

    def run(self, argv: Sequence[str], *, cwd: Path, env: Mapping[str, str]) -> RunResult:
        if argv[1:4] == ["list", "-e", "-deps"] and self.linked:
            self.calls.append((list(argv), cwd, dict(env)))
            return RunResult(0, "\n".join(json.dumps(p) for p in self.linked))
        if argv[1:3] == ["mod", "graph"]:
            self.calls.append((list(argv), cwd, dict(env)))
            return RunResult(0, self.graph)
        return super().run(argv, cwd=cwd, env=env)


def test_a_version_a_dependency_pulls_up_is_refused_before_compiling(loaded) -> None:
    environment = GraphStub(
        linked=[TRANSITIVE_UUID],
        graph="example.com/evaluator example.com/lib@v1.0.0\n"
              "example.com/evaluator go@1.26\n"
              "example.com/lib@v1.0.0 github.com/google/uuid@v1.6.0\n")
    store = ArtifactStore(loaded.artifacts, COMBINATION)
    scheduler = target(loaded, "scheduler")
    [build] = plugin_step.plan(loaded, environment, store, [scheduler])
    with pytest.raises(ModuleGraphError) as raised:
        go_build(environment, store, build, Log())
    assert environment.builds == []  # nothing was compiled
    message, fix = raised.value.message, raised.value.fix or ""
    assert message.splitlines() == [
        f"plugin {scheduler.id} would not share the host's copy of github.com/google/uuid: "
        "nothing was compiled",
        "  github.com/google/uuid: the host has v1.5.0, the plugin v1.6.0; required through "
        "example.com/evaluator -> example.com/lib@v1.0.0 -> github.com/google/uuid@v1.6.0"]
    gowork = build.env["GOWORK"]
    go = f"plugin-builder go --config {loaded.path} {COMBINATION.flags} --"
    assert fix == (
        f"(cd {scheduler.source} && export GOWORK={gowork} && "
        f"{go} get github.com/google/uuid@v1.5.0); or upgrade the host instead, "
        f"(cd {loaded.host.module} && export GOWORK=off && "
        f"{go} get github.com/google/uuid@v1.6.0), and rebuild it and every "
        "plugin")
    assert store.entry(build.relative) is None


def test_the_check_runs_only_when_the_plugin_is_built(loaded) -> None:
    store = ArtifactStore(loaded.artifacts, COMBINATION)
    store.make_folder()  # as a job does before it plans anything
    scheduler = target(loaded, "scheduler")
    agreeing = StubEnvironment()
    [build] = plugin_step.plan(loaded, agreeing, store, [scheduler])
    assert go_build(agreeing, store, build, Log()).built
    # Up to date: no go command runs, so nothing is listed, compared or refused.
    disagreeing = GraphStub(linked=[TRANSITIVE_UUID])
    [again] = plugin_step.plan(loaded, disagreeing, store, [scheduler])
    assert not go_build(disagreeing, store, again, Log()).built
    assert disagreeing.calls == []


def test_a_go_line_newer_than_the_combinations_go_is_refused_first(loaded) -> None:
    scheduler = target(loaded, "scheduler")
    gomod = scheduler.source / "go.mod"
    gomod.write_text(gomod.read_text().replace("go 1.26\n", "go 1.27\ntoolchain go1.27.3\n"))
    environment = StubEnvironment()
    store = ArtifactStore(loaded.artifacts, COMBINATION)
    [build] = plugin_step.plan(loaded, environment, store, [scheduler])
    with pytest.raises(ModuleGraphError) as raised:
        go_build(environment, store, build, Log())
    assert raised.value.message == (
        f"{gomod} says go 1.27, newer than Go 1.26.6 of go1.26.6-glibc-amd64: "
        f"plugin {scheduler.id} was not compiled")
    assert f"(cd {scheduler.source} && export GOWORK=off && plugin-builder go --config " \
           f"{loaded.path} {COMBINATION.flags} -- mod edit -go=1.26.6)" in (raised.value.fix or "")
    assert environment.calls == []  # no go command ran


# -- what host and plugins share -----------------------------------------------------------


@pytest.mark.parametrize("trimpath, tags, expected", [
    (True, [], ["-trimpath"]),
    (False, [], []),
    (True, ["netgo", "osusergo"], ["-trimpath", "-tags=netgo,osusergo"]),
    (False, ["dragonfly_plugins"], ["-tags=dragonfly_plugins"]),
])
def test_fingerprint_flags_are_identical_for_host_and_plugins(project, trimpath, tags,
                                                              expected) -> None:
    loaded = load(project, trimpath=trimpath, tags=tags)
    environment = StubEnvironment()
    store = ArtifactStore(loaded.artifacts, COMBINATION)
    assert shared_flags(loaded.host) == expected
    for build in host_step.plan(loaded, environment):
        assert list(build.argv[2:2 + len(expected)]) == expected
        assert build.argv[2 + len(expected)] == "-ldflags"
        assert not set(flags_of(build.argv)[5 + len(expected):]) & {"-trimpath", *expected}
    for build in plugin_step.plan(loaded, environment, store, list(loaded.plugins)):
        assert build.argv[2] == "-buildmode=plugin"
        assert list(build.argv[3:3 + len(expected)]) == expected
        assert build.argv[3 + len(expected)] == "-o"
    host_env = host_step.plan(loaded, environment)[0].env
    plugin_env = plugin_step.plan(loaded, environment, store, list(loaded.plugins))[0].env
    for name in ("GOTOOLCHAIN", "CGO_ENABLED", "CC", "GOOS", "GOARCH", "GOFLAGS"):
        assert host_env[name] == plugin_env[name]


# -- go_build around a stub backend --------------------------------------------------------


class Log:
    verbose = False

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.statuses: list[tuple[str, str]] = []

    def __call__(self, message: str) -> None:
        self.lines.append(message)

    def status(self, activity: str, progress: str = "") -> None:
        self.statuses.append((activity, progress))


def test_go_build_lands_then_is_up_to_date(loaded) -> None:
    environment = StubEnvironment()
    store = ArtifactStore(loaded.artifacts, COMBINATION)
    build = host_step.plan(loaded, environment)[1]
    log = Log()
    first = go_build(environment, store, build, log)
    assert first.built and first.path.read_bytes() == environment.output
    [(argv, cwd, env)] = [c for c in environment.calls if c[0][1] == "build"]
    output = Path(argv[argv.index("-o") + 1])
    assert TEMP_MARK in output.name and output.parent == store.path("bin")
    assert cwd == loaded.host.module and env == dict(build.env)
    entry = store.entry("bin/scheduler")
    assert entry["sha256"] == first.sha256
    assert entry["toolchain"] == environment.identity
    assert entry["flags"] == list(build.argv[2:])  # with {output}, not the staging name
    second = go_build(environment, store, build, log)
    assert not second.built and len(environment.builds) == 1
    assert log.lines[-1] == "up to date: bin/scheduler"


def test_what_does_not_feed_the_output_does_not_rebuild(loaded) -> None:
    store = ArtifactStore(loaded.artifacts, COMBINATION)
    first = StubEnvironment()
    go_build(first, store, host_step.plan(loaded, first)[1], Log())
    elsewhere = StubEnvironment(go="/other/place/go/bin/go",
                                env={"PATH": "/opt/bin", "HOME": "/root"})
    assert not go_build(elsewhere, store, host_step.plan(loaded, elsewhere)[1], Log()).built


@pytest.mark.parametrize("change", ["identity", "sources", "tags"])
def test_what_feeds_the_output_rebuilds(project, change) -> None:
    loaded = load(project)
    store = ArtifactStore(loaded.artifacts, COMBINATION)
    environment = StubEnvironment()
    go_build(environment, store, host_step.plan(loaded, environment)[1], Log())
    if change == "identity":
        environment = StubEnvironment(identity={"go": "go1.26.6", "cc": "gcc 13"})
    elif change == "sources":
        (loaded.host.module / "main.go").write_text("package main\n")  # a new source file
    else:
        loaded = load(project, tags=["netgo"])
    assert go_build(environment, store, host_step.plan(loaded, environment)[1], Log()).built


def test_a_failed_build_lands_nothing_and_leaves_nothing(loaded) -> None:
    environment = StubEnvironment(returncode=1)
    store = ArtifactStore(loaded.artifacts, COMBINATION)
    with pytest.raises(BuildError) as raised:
        go_build(environment, store, host_step.plan(loaded, environment)[1], Log())
    assert "syntax error" in raised.value.message
    assert "bin/scheduler" in raised.value.message
    assert store.entry("bin/scheduler") is None
    assert list(store.path("bin").iterdir()) == []


def copied(project, destination: Path) -> config.Config:
    """`cp -a` of the whole project (artifacts and manifest included), loaded there."""
    import shutil

    shutil.copytree(project.root, destination, symlinks=True)
    return config.load(destination / "buildconfig.toml")


def test_a_copied_project_builds_from_its_own_sources(project, tmp_path) -> None:
    """The copy's host edited while the original folder, unchanged, still exists: the
    copy rebuilds (its manifest must not point at the original's files)."""
    loaded = load(project)
    (loaded.host.module / "main.go").write_text("package main\n\nfunc main() {}\n")
    environment = StubEnvironment()
    go_build(environment, ArtifactStore(loaded.artifacts, COMBINATION),
             host_step.plan(loaded, environment)[1], Log())
    copy = copied(project, tmp_path / "copy")
    (copy.host.module / "main.go").write_text("package main\n\nfunc main() { println() }\n")
    store = ArtifactStore(copy.artifacts, COMBINATION)
    assert go_build(environment, store, host_step.plan(copy, environment)[1], Log()).built


def test_a_copied_project_left_as_it_is_stays_up_to_date(project, tmp_path) -> None:
    loaded = load(project)
    (loaded.host.module / "main.go").write_text("package main\n\nfunc main() {}\n")
    environment = StubEnvironment()
    go_build(environment, ArtifactStore(loaded.artifacts, COMBINATION),
             host_step.plan(loaded, environment)[1], Log())
    copy = copied(project, tmp_path / "copy")
    store = ArtifactStore(copy.artifacts, COMBINATION)
    log = Log()
    assert not go_build(environment, store, host_step.plan(copy, environment)[1], log).built
    assert log.lines == ["up to date: bin/scheduler"]


def test_without_trimpath_the_folder_is_an_input(project, tmp_path) -> None:
    """Paths are compiled in without -trimpath: a copy elsewhere builds other binaries."""
    loaded = load(project, trimpath=False)
    environment = StubEnvironment()
    go_build(environment, ArtifactStore(loaded.artifacts, COMBINATION),
             host_step.plan(loaded, environment)[1], Log())
    copy = copied(project, tmp_path / "copy")
    store = ArtifactStore(copy.artifacts, COMBINATION)
    assert go_build(environment, store, host_step.plan(copy, environment)[1], Log()).built


def test_a_copied_project_is_hashed_once_then_trusted(project, tmp_path, monkeypatch) -> None:
    """cp -a gives every file a new inode: sources and artifacts are hashed on the first
    run in the copy, their new keys kept, and the run after hashes nothing."""
    from plugin_builder import files
    from plugin_builder.files import past_the_clock_tick

    loaded = load(project)
    (loaded.host.module / "main.go").write_text("package main\n\nfunc main() {}\n")
    environment = StubEnvironment()
    go_build(environment, ArtifactStore(loaded.artifacts, COMBINATION),
             host_step.plan(loaded, environment)[1], Log())
    copy = copied(project, tmp_path / "copy")
    past_the_clock_tick(time.time_ns())
    first = ArtifactStore(copy.artifacts, COMBINATION)
    assert not go_build(environment, first, host_step.plan(copy, environment)[1], Log()).built
    monkeypatch.setattr(files, "sha256_file", lambda path: pytest.fail(f"hashed {path}"))
    again = ArtifactStore(copy.artifacts, COMBINATION)
    assert not go_build(environment, again, host_step.plan(copy, environment)[1], Log()).built
