"""The bad-input corpus: every malformed buildconfig.toml is one ConfigError, never a
traceback, naming the file, the exact key, the value and the fix.

Each case is a change to a valid base config (its own, so edits to the repository's
buildconfig.toml cannot move these tests), or a whole file from bad_configs/. A handful
of good edge cases at the end must load.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import tomlkit

from plugin_builder import config
from plugin_builder.combination import Combination
from plugin_builder.config import Symbol
from plugin_builder.errors import ConfigError

DATA = Path(__file__).resolve().parent / "bad_configs"
REPO = Path(__file__).resolve().parents[2]
CHECK = ["{binary}", "check-plugin", "{plugin}"]
HEALTH = ["{binary}", "healthcheck", "http://127.0.0.1:{port}/healthz"]
ENTRY_TYPE = "func(map[string]string) (any, map[string]string, error)"
HANDLER_CONTRACT = ("interface{ RegisterHandlers(func(string, func(context.Context, "
                    "map[string]interface{}, http.Handler) (http.Handler, error))) }")


def base() -> dict[str, Any]:
    """A valid config in the shape of the reference host's."""
    def service(name: str) -> dict[str, Any]:
        return {"main": f"./cmd/{name}", "check": list(CHECK), "healthcheck": list(HEALTH)}

    def plugin_type(service: str, **rules: str) -> dict[str, Any]:
        return {"service": service, "file": "d7y-{type}-plugin-{name}.so",
                "entry_symbol": "DragonflyPluginInit", **rules}

    return {
        "project": {"artifacts": "artifacts", "results": "results", "backend": "local"},
        "matrix": {"go": ["1.26.6", "1.27.3"], "libc": ["glibc", "musl"], "arch": ["amd64"],
                   "exclude": [], "default": "go1.26.6-glibc-amd64"},
        "libc": {"glibc": {"cc": "gcc", "cc_package": "gcc",
                           "builder_base": "plugin-builder/bootstrap:bookworm",
                           "runtime_base": "plugin-builder/runtime:bookworm-glibc"},
                 "musl": {"cc": "musl-gcc", "cc_package": "musl-tools"}},
        "docker": {"builder_repository": "plugin-builder/builder",
                   "service_repository": "plugin-builder/{service}",
                   "bootstrap_suite": "bookworm",
                   "bootstrap_mirror": "http://deb.debian.org/debian"},
        "host": {"module": "host", "version": "0.1.0", "trimpath": True, "tags": [],
                 "ldflags": [], "gcflags": "", "plugin_dir": "/usr/local/dragonfly/plugins",
                 "stamp": {"example.com/host/version.Version": "{version}"},
                 "services": {name: service(name)
                              for name in ("dfdaemon", "scheduler", "manager")}},
        "plugin_types": {
            "resource": plugin_type("dfdaemon", template="templates/resource"),
            "scheduler": plugin_type("scheduler", name_contains="evaluator"),
            "manager": plugin_type("manager", name_contains="searcher"),
        },
        "plugins": [{"type": "resource", "name": "dfs", "source": "plugins/resource/dfs"},
                    {"type": "scheduler", "name": "evaluator",
                     "source": "plugins/scheduler/evaluator"},
                    {"type": "manager", "name": "searcher",
                     "source": "plugins/manager/searcher"}],
    }


class Project:
    """A throwaway project folder: a host module, three plugin modules, a check tool."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.config_path = root / config.CONFIG_NAME
        self.data = base()
        self.module("host", "example.com/host")
        for plugin in self.data["plugins"]:
            self.module(plugin["source"], f"example.com/{plugin['name']}")
        self.file("tools/check", "#!/bin/sh\n")

    def module(self, folder: str, path: str) -> Path:
        return self.file(f"{folder}/go.mod", f"module {path}\n\ngo 1.26\n").parent

    def file(self, relative: str, text: str = "") -> Path:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return path

    def write(self, content: str | bytes | None = None) -> Path:
        if content is None:
            content = tomlkit.dumps(self.data)
        if isinstance(content, bytes):
            self.config_path.write_bytes(content)
        else:
            self.config_path.write_text(content, encoding="utf-8")
        return self.config_path

    def load(self) -> config.Config:
        return config.load(self.write())


@pytest.fixture
def project(tmp_path: Path) -> Project:
    root = tmp_path / "project"
    root.mkdir()
    return Project(root)


# -- changes to the base config ------------------------------------------------------

Change = Callable[[dict[str, Any]], None]
Setup = Callable[[Project], None]


def _walk(data: Any, parts: list[str]) -> Any:
    for part in parts:
        data = data[int(part)] if isinstance(data, list) else data.setdefault(part, {})
    return data


def put(path: str, value: Any) -> Change:
    """Set a value; the path's parts are split on '/' (keys may hold dots)."""
    def change(data: dict[str, Any]) -> None:
        *parents, last = path.split("/")
        holder = _walk(data, parents)
        if isinstance(holder, list):
            holder[int(last)] = value
        else:
            holder[last] = value
    return change


def drop(path: str) -> Change:
    def change(data: dict[str, Any]) -> None:
        *parents, last = path.split("/")
        del _walk(data, parents)[last]
    return change


def both(*changes: Change) -> Change:
    def change(data: dict[str, Any]) -> None:
        for one in changes:
            one(data)
    return change


def add_plugin(**plugin: str) -> Change:
    return lambda data: data["plugins"].append(plugin)


def symlink(link: str, target: str) -> Setup:
    def setup(project: Project) -> None:
        path = project.root / link
        path.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(target if target.startswith("/") else project.root / target, path)
    return setup


def folder(relative: str) -> Setup:
    def setup(project: Project) -> None:
        (project.root / relative).mkdir(parents=True, exist_ok=True)
    return setup


def setups(*steps: Setup) -> Setup:
    def setup(project: Project) -> None:
        for step in steps:
            step(project)
    return setup


def text_file(relative: str, text: str) -> Setup:
    def setup(project: Project) -> None:
        project.file(relative, text)
    return setup


@dataclass(frozen=True)
class Case:
    id: str
    change: Change
    key: str | None  # the exact key the error names
    words: tuple[str, ...] = ()  # more text the message must hold
    setup: Setup | None = None


def case(id: str, change: Change, key: str | None, *words: str,
         setup: Setup | None = None) -> Case:
    return Case(id, change, key, words, setup)


S = "host/services/scheduler"
R = "plugin_types/resource"
SCHED = "plugin_types/scheduler"
NUL = "\x00"

STRINGS = [
    case("go-trailing-newline", put("matrix/go", ["1.27.3\n"]), "matrix.go[0]", "line feed",
         "'1.27.3\\n'"),
    case("default-trailing-newline", put("matrix/default", "go1.26.6-glibc-amd64\n"),
         "matrix.default", "line feed"),
    case("nul-in-version", put("host/version", f"0.1{NUL}"), "host.version", "NUL"),
    case("tab-flag-in-version", put("host/version", "0.1.0\t-extldflags=-static"),
         "host.version", "a tab"),
    case("nul-in-stamp-key", put(f"host/stamp/main.V{NUL}", "x"),
         "host.stamp.'main.V\\x00'", "NUL"),
    case("carriage-return-in-name", put("plugins/0/name", "dfs\r"), "plugins[0].name",
         "carriage return"),
    case("del-in-main", put(f"{S}/main", "./cmd/x\x7f"), "host.services.scheduler.main", "DEL"),
    case("line-separator-in-version", put("host/version", "0.1\u2028"), "host.version",
         "U+2028"),
    case("bidi-override-in-binary", put(f"{S}/binary", "sched\u202eexe"),
         "host.services.scheduler.binary", "U+202E"),
    case("escape-in-check", put(f"{S}/check", ["{binary}", "\x1b[31m", "{plugin}"]),
         "host.services.scheduler.check[1]", "U+001B"),
    case("nul-in-tag", put("host/tags", [f"netgo{NUL}"]), "host.tags[0]", "NUL"),
    case("300-char-plugin-name", put("plugins/0/name", "a" * 300), "plugins[0].name",
         "300 characters"),
    case("300-char-service-name", put(f"host/services/{'s' * 300}", {"main": "./cmd/s"}),
         f"host.services.{'s' * 300}", "300 characters"),
    case("300-char-type-name",
         put(f"plugin_types/{'t' * 300}", {"service": "dfdaemon", "file": "{name}.so"}),
         f"plugin_types.{'t' * 300}", "300 characters"),
    case("300-char-libc-name", put(f"libc/{'g' * 300}", {"cc": "gcc"}), f"libc.{'g' * 300}",
         "300 characters"),
    case("1mb-version", put("host/version", "x" * 2**20), "host.version", "too long",
         "1048576 characters"),
    case("1mb-key", put(f"host/stamp/{'k' * 2**20}", "x"),
         f"host.stamp.{'k' * 60!r}... (1048576 characters)", "too long"),
    case("5000-char-plugin-dir", put("host/plugin_dir", "/" + "p" * 5000), "host.plugin_dir",
         "too long"),
    case("2000-tags", put("host/tags", [f"t{i}" for i in range(2000)]), "host.tags",
         "2000 items"),
    case("nul-in-symbol-type", put(f"{R}/symbols", {"Init": f"func(){NUL}"}),
         "plugin_types.resource.symbols.Init", "NUL"),
]

FLAGS_AND_PACKAGES = [
    case("main-is-a-flag", put(f"{S}/main", "-toolexec=/tmp/evil.sh"),
         "host.services.scheduler.main", "'-toolexec=/tmp/evil.sh'", "flag"),
    case("main-leaves-module", put(f"{S}/main", "../other/cmd"),
         "host.services.scheduler.main", "not a package path"),
    case("main-absolute", put(f"{S}/main", "/usr/src/cmd"), "host.services.scheduler.main"),
    case("main-dotdot-inside", put(f"{S}/main", "./cmd/../../x"),
         "host.services.scheduler.main"),
    case("main-empty", put(f"{S}/main", ""), "host.services.scheduler.main"),
    case("tag-is-a-flag", put("host/tags", ["-race"]), "host.tags[0]", "'-race'"),
    case("tag-with-comma", put("host/tags", ["netgo,osusergo"]), "host.tags[0]"),
    case("tag-with-space", put("host/tags", ["netgo osusergo"]), "host.tags[0]"),
    case("tag-listed-twice", put("host/tags", ["netgo", "netgo"]), "host.tags", "twice"),
    case("binary-is-a-flag", put(f"{S}/binary", "-rf"), "host.services.scheduler.binary"),
    case("binary-escapes", put(f"{S}/binary", "../../../../x"),
         "host.services.scheduler.binary", "'../../../../x'"),
    case("binary-hidden", put(f"{S}/binary", ".scheduler"), "host.services.scheduler.binary"),
    case("binary-empty", put(f"{S}/binary", ""), "host.services.scheduler.binary"),
    case("binary-with-slash", put(f"{S}/binary", "bin/scheduler"),
         "host.services.scheduler.binary"),
    case("healthcheck-program-is-a-flag", put(f"{S}/healthcheck", ["-x", "{port}"]),
         "host.services.scheduler.healthcheck[0]", "not a program"),
    case("check-program-empty", put(f"{S}/check", ["", "{plugin}"]),
         "host.services.scheduler.check[0]"),
    case("check-without-plugin", put(f"{S}/check", ["{binary}", "check-plugin"]),
         "host.services.scheduler.check", "{plugin}"),
    case("cc-is-a-flag", put("libc/glibc/cc", "-wrapper=/tmp/x"), "libc.glibc.cc"),
    case("cc-package-not-a-package", put("libc/musl/cc_package", "musl tools"),
         "libc.musl.cc_package"),
    case("builder-base-is-a-flag", put("libc/glibc/builder_base", "--privileged"),
         "libc.glibc.builder_base"),
    case("stamp-variable-is-a-flag", put("host/stamp/-X", "x"), "host.stamp.-X"),
    case("stamp-variable-with-equals", put("host/stamp/main.V=x", "x"),
         "host.stamp.main.V=x"),
    case("stamp-variable-without-package", put("host/stamp/Version", "x"),
         "host.stamp.Version"),
    case("plugin-dir-relative", put("host/plugin_dir", "plugins"), "host.plugin_dir"),
    case("plugin-dir-dotdot", put("host/plugin_dir", "/usr/../etc"), "host.plugin_dir"),
    case("import-is-a-flag", put(f"{R}/imports", ["-x"]), "plugin_types.resource.imports[0]"),
    case("mirror-with-space", put("docker/bootstrap_mirror", "http://a b"),
         "docker.bootstrap_mirror"),
    case("suite-is-a-flag", put("docker/bootstrap_suite", "-bookworm"),
         "docker.bootstrap_suite"),
    case("cache-prog-unclosed-quote", put("cache/prog", "go-cacher '--cache-dir=/a b"),
         "cache.prog", "cannot be split as Go splits it"),
    case("cache-prog-is-a-flag", put("cache/prog", "--cache-server=http://cache:31364"),
         "cache.prog", "names no program first"),
    case("cache-install-latest", put("cache/install", "example.com/cacher@latest"),
         "cache.install", "not a Go package at an exact version"),
    case("cache-install-is-a-flag", put("cache/install", "-x@v1.0.0"), "cache.install"),
]

CONFINEMENT = [
    case("artifacts-is-project", put("project/artifacts", "."), "project.artifacts",
         "the project folder itself"),
    case("artifacts-empty", put("project/artifacts", ""), "project.artifacts",
         "the project folder itself"),
    case("results-is-project", put("project/results", "./"), "project.results",
         "the project folder itself"),
    case("artifacts-is-host", put("project/artifacts", "host"), "project.artifacts",
         "the host module"),
    case("artifacts-in-plugin", put("project/artifacts", "plugins/resource/dfs/out"),
         "project.artifacts", "lies inside the source of plugin resource/dfs"),
    case("artifacts-holds-plugins", put("project/artifacts", "plugins"), "project.artifacts",
         "plugin resource/dfs"),
    case("results-in-plugin", put("project/results", "plugins/manager/searcher/results"),
         "project.results", "lies inside the source of plugin manager/searcher"),
    case("artifacts-holds-template",
         both(put("project/artifacts", "tpl"), put(f"{R}/template", "tpl/resource")),
         "project.artifacts", "template of type resource",
         setup=text_file("tpl/resource/go.mod.tmpl", "module ${module}\n")),
    case("results-equals-artifacts", put("project/results", "artifacts"), "project.results",
         "same folder"),
    case("results-equals-artifacts-spelled-apart", put("project/results", "./artifacts/"),
         "project.results", "same folder"),
    case("artifacts-outside", put("project/artifacts", "/tmp/artifacts"), "project.artifacts",
         "leaves the project folder"),
    case("artifacts-symlink-outside", put("project/artifacts", "out"), "project.artifacts",
         "leaves the project folder", setup=symlink("out", "/tmp")),
    case("template-etc", put(f"{R}/template", "/etc"), "plugin_types.resource.template",
         "leaves the project folder"),
    case("template-dotdot", put(f"{R}/template", "../../../../../../../../../etc"),
         "plugin_types.resource.template", "leaves the project folder"),
    case("template-packaged-escape", put(f"{R}/template", "templates/../../../../../../etc/x"),
         "plugin_types.resource.template"),
    case("host-module-parent", put("host/module", ".."), "host.module", "leaves"),
    case("plugin-source-symlink-outside", put("plugins/0/source", "plugins/link"),
         "plugins[0].source", "leaves", setup=symlink("plugins/link", "/usr/lib")),
    case("symlink-loop", put("plugins/0/source", "loop/x"), "plugins[0].source",
         "cannot be resolved", setup=symlink("loop", "loop")),
    case("workspace-outside", put("host/workspace", "../go.work"), "host.workspace", "leaves"),
    case("workspace-missing", put("host/workspace", "go.work"), "host.workspace",
         "no go.work file at"),
    case("workspace-is-folder", put("host/workspace", "host"), "host.workspace", "is a folder"),
    case("workspace-without-host", put("host/workspace", "go.work"), "host.workspace",
         "does not use the host module", "use host",
         setup=text_file("go.work", "go 1.26\n\nuse ./plugins/resource/dfs\n")),
    case("toolchain-cache-relative-outside", put("project/toolchain_cache", "../cache"),
         "project.toolchain_cache", "leaves"),
    case("check-program-outside", put(f"{S}/check", ["../tools/check", "{plugin}"]),
         "host.services.scheduler.check[0]", "leaves"),
    case("check-program-symlink-outside", put(f"{S}/check", ["./tools/evil", "{plugin}"]),
         "host.services.scheduler.check[0]", "leaves", setup=symlink("tools/evil", "/bin/sh")),
    case("file-escapes", put(f"{R}/file", "../../../../x-{name}.so"),
         "plugin_types.resource.file", "not a plain file name"),
    case("file-in-subfolder", put(f"{R}/file", "sub/{name}.so"), "plugin_types.resource.file"),
    case("file-is-a-flag", put(f"{R}/file", "-{name}.so"), "plugin_types.resource.file"),
    case("file-hidden", put(f"{R}/file", ".{name}.so"), "plugin_types.resource.file"),
    case("file-without-name", put(f"{R}/file", "plugin.so"), "plugin_types.resource.file",
         "must contain {name}"),
    case("file-not-so", put(f"{R}/file", "{name}.dll"), "plugin_types.resource.file"),
]

COLLISIONS = [
    case("two-services-one-binary", put("host/services/manager/binary", "scheduler"),
         "host.services.manager.binary", "also the binary of service scheduler"),
    case("two-services-one-explicit-binary",
         both(put(f"{S}/binary", "svc"), put("host/services/manager/binary", "svc")),
         "host.services.manager.binary"),
    case("two-types-one-pattern",
         both(put(f"{R}/file", "{name}.so"), put(f"{SCHED}/file", "{name}.so")),
         "plugin_types.scheduler.file", "also the pattern of type resource"),
    case("two-plugins-one-file",
         both(put(f"{R}/file", "{name}-x.so"), put("plugins/0/name", "evaluator"),
              put(f"{SCHED}/file", "{name}.so"), put("plugins/1/name", "evaluator-x")),
         "plugin_types.scheduler.file", "resource/evaluator", "evaluator-x.so"),
    case("two-plugins-one-file-through-dashes",
         both(put(f"{R}/file", "{type}-{name}.so"), put(f"{SCHED}/file", "{name}.so"),
              put("plugins/1/name", "resource-dfs-evaluator"),
              put("plugins/0/name", "dfs-evaluator")),
         "plugin_types.scheduler.file"),
    case("duplicate-target", add_plugin(type="resource", name="dfs",
                                        source="plugins/resource/dfs"),
         "plugins[3]", "duplicate target resource/dfs"),
    case("type-service-missing", put(f"{R}/service", "dfget"), "plugin_types.resource.service",
         "unknown service 'dfget'"),
]

TEMPLATES = [
    case("file-unclosed-brace", put(f"{R}/file", "{name.so"), "plugin_types.resource.file",
         "not a valid template"),
    case("file-single-close-brace", put(f"{R}/file", "{name}}.so"),
         "plugin_types.resource.file", "not a valid template"),
    case("file-conversion", put(f"{R}/file", "{name!r}.so"), "plugin_types.resource.file",
         "conversion"),
    case("file-positional", put(f"{R}/file", "{0}{name}.so"), "plugin_types.resource.file",
         "unknown placeholder {0}"),
    case("file-attribute", put(f"{R}/file", "{name.upper}.so"), "plugin_types.resource.file",
         "unknown placeholder"),
    case("file-empty-placeholder", put(f"{R}/file", "{}{name}.so"),
         "plugin_types.resource.file", "unknown placeholder {}"),
    case("stamp-unclosed-brace", put("host/stamp/main.Version", "{version"),
         "host.stamp.main.Version", "not a valid template"),
    case("stamp-format-spec", put("host/stamp/main.Commit", "{commit:>10}"),
         "host.stamp.main.Commit", "format spec"),
    case("stamp-unknown-placeholder", put("host/stamp/main.Version", "{release}"),
         "host.stamp.main.Version", "unknown placeholder {release}"),
    case("plugin-stamp-service", put("plugins/0/stamp", {"main.S": "{service}"}),
         "plugins[0].stamp.main.S", "unknown placeholder {service}"),
    case("plugin-stamp-unclosed", put("plugins/0/stamp", {"main.C": "{commit"}),
         "plugins[0].stamp.main.C", "not a valid template"),
    case("check-unclosed-brace", put(f"{S}/check", ["{binary", "{plugin}"]),
         "host.services.scheduler.check[0]", "not a valid template"),
    case("check-unknown-placeholder", put(f"{S}/check", ["{binary}", "{port}", "{plugin}"]),
         "host.services.scheduler.check[1]", "unknown placeholder {port}"),
    case("healthcheck-unclosed", put(f"{S}/healthcheck", ["{binary}", "{port"]),
         "host.services.scheduler.healthcheck[1]", "not a valid template"),
    case("type-check-unclosed", put(f"{R}/check", ["{binary}", "{plugin"]),
         "plugin_types.resource.check[1]", "not a valid template"),
    case("service-repository-unclosed", put("docker/service_repository", "pb/{service"),
         "docker.service_repository", "not a valid template"),
    case("stamp-both-quotes-and-space",
         put("host/version", "it's \"beta\" 1"),
         "host.stamp.example.com/host/version.Version", "both kinds of quote"),
]

LINKER = [
    case("ldflags-X", put("host/ldflags", ["-X", "main.v=1"]), "host.ldflags[0]",
         "sets a variable", "host.stamp"),
    case("ldflags-X-equals", put("host/ldflags", ["-X=main.v=1"]), "host.ldflags[0]"),
    case("ldflags-double-dash-X", put("host/ldflags", ["--X=main.v=1"]), "host.ldflags[0]"),
    case("ldflags-static", put("host/ldflags", ["-extldflags=-static"]), "host.ldflags[0]",
         "dynamically linked"),
    case("ldflags-static-pie", put("host/ldflags", ["-s", "-extldflags=-static-pie"]),
         "host.ldflags[1]", "statically"),
    case("ldflags-static-next-word", put("host/ldflags", ["-extldflags", "-static"]),
         "host.ldflags[0]", "statically"),
    case("ldflags-linkmode-internal", put("host/ldflags", ["-linkmode=internal"]),
         "host.ldflags[0]", "C linker"),
    case("ldflags-linkmode-internal-next", put("host/ldflags", ["-linkmode", "internal"]),
         "host.ldflags[0]", "C linker"),
    case("ldflags-d", put("host/ldflags", ["-d"]), "host.ldflags[0]", "statically"),
    case("ldflags-two-words", put("host/ldflags", ["-s -w"]), "host.ldflags[0]",
         "not one linker flag"),
    case("ldflags-not-a-flag", put("host/ldflags", ["s"]), "host.ldflags[0]"),
    case("ldflags-quoted", put("host/ldflags", ["-extldflags='-L/x'"]), "host.ldflags[0]"),
    case("gcflags-unterminated-quote", put("host/gcflags", "all=-N '-l"), "host.gcflags",
         "unterminated quote"),
]

NAMES = [
    case("name-leading-dash", put("plugins/0/name", "-dfs"), "plugins[0].name",
         "'-dfs' is not a valid name"),
    case("name-double-dash", put("plugins/0/name", "my--dfs"), "plugins[0].name"),
    case("name-trailing-underscore", put("plugins/0/name", "dfs_"), "plugins[0].name"),
    case("name-with-slash", put("plugins/0/name", "a/b"), "plugins[0].name"),
    case("name-uppercase", put("plugins/0/name", "DFS"), "plugins[0].name",
         "'DFS' is not a valid name"),
    case("name-with-dot", put("plugins/0/name", "dfs.v2"), "plugins[0].name"),
    case("type-name-uppercase", put("plugin_types/My-Type", {"service": "dfdaemon",
                                                             "file": "{name}-m.so"}),
         "plugin_types.My-Type", "not a valid name"),
    case("service-name-with-tilde", put("host/services/svc~x", {"main": "./cmd/x"}),
         "host.services.svc~x"),
    case("libc-name-with-dash", put("libc/g-libc", {"cc": "gcc"}), "libc.g-libc",
         "[a-z0-9]+"),
    case("scheduler-name-rule", put("plugins/1/name", "foo"), "plugins[1].name",
         "must contain 'evaluator'", "fooevaluator"),
    case("names-rule", put(f"{R}/names", ["dfsx", "alpha"]), "plugins[0].name",
         "must be one of: dfsx, alpha", "did you mean 'dfsx'"),
    case("name-pattern-rule", put(f"{R}/name_pattern", "[a-z]+-x"), "plugins[0].name",
         "must match '[a-z]+-x'"),
    case("name-pattern-is-whole-match", put(f"{R}/name_pattern", "df"), "plugins[0].name",
         "must match 'df'"),
    case("name-pattern-invalid", put(f"{R}/name_pattern", "(dfs"),
         "plugin_types.resource.name_pattern", "not a regular expression"),
    case("names-empty", put(f"{R}/names", []), "plugin_types.resource.names", "is empty"),
    case("names-invalid", put(f"{R}/names", ["Bad"]), "plugin_types.resource.names[0]",
         "not a valid name"),
    case("names-break-contains", put(f"{SCHED}/names", ["evaluator", "ranker"]),
         "plugin_types.scheduler.names[1]", "must contain 'evaluator'"),
    case("names-twice", put(f"{R}/names", ["dfs", "dfs"]), "plugin_types.resource.names",
         "twice"),
    case("name-contains-impossible", put(f"{SCHED}/name_contains", "Evaluator"),
         "plugin_types.scheduler.name_contains", "never be part of a name"),
]

CONTRACTS = [
    case("symbol-unexported", put(f"{R}/symbols", {"init": "func()"}),
         "plugin_types.resource.symbols.init", "not an exported Go identifier"),
    case("symbol-not-identifier", put(f"{R}/symbols", {"Init-Plugin": "func()"}),
         "plugin_types.resource.symbols.Init-Plugin"),
    case("symbol-type-empty", put(f"{R}/symbols", {"Init": " "}),
         "plugin_types.resource.symbols.Init", "empty"),
    case("symbol-type-unclosed", put(f"{R}/symbols", {"Init": "func("}),
         "plugin_types.resource.symbols.Init", "'(' is not closed"),
    case("symbol-type-closes-nothing", put(f"{R}/symbols", {"Init": "func())"}),
         "plugin_types.resource.symbols.Init", "closes nothing"),
    case("symbol-type-crossed", put(f"{R}/symbols", {"Init": "func(map[string)string]"}),
         "plugin_types.resource.symbols.Init"),
    case("symbol-type-statement", put(f"{R}/symbols", {"Init": "func(); os.Exit(1)"}),
         "plugin_types.resource.symbols.Init", "';'"),
    case("symbol-type-comment", put(f"{R}/symbols", {"Init": "func() // x"}),
         "plugin_types.resource.symbols.Init", "comments"),
    case("symbol-type-not-string", put(f"{R}/symbols", {"Init": 1}),
         "plugin_types.resource.symbols.Init", "expected a string"),
    case("symbol-type-needs-import", put(f"{R}/symbols", {"Plugin": "*http.Handler"}),
         "plugin_types.resource.imports", "'http'", "net/http"),
    case("import-unused", both(put(f"{R}/imports", ["net/http"]),
                               put(f"{R}/symbols", {"Init": "func()"})),
         "plugin_types.resource.imports[0]", "no symbol type names it"),
    case("import-twice", put(f"{R}/imports", ["context", "context"]),
         "plugin_types.resource.imports", "twice"),
    case("optional-is-required",
         put(f"{R}/optional_symbols", {"DragonflyPluginInit": ENTRY_TYPE}),
         "plugin_types.resource.optional_symbols.DragonflyPluginInit", "required"),
    case("optional-is-typed-required",
         both(put(f"{R}/symbols", {"Init": "func()"}),
              put(f"{R}/optional_symbols", {"Init": "func()"})),
         "plugin_types.resource.optional_symbols.Init"),
    case("entry-symbol-not-identifier", put(f"{SCHED}/entry_symbol", "Init-Plugin"),
         "plugin_types.scheduler.entry_symbol", "'Init-Plugin' is not a Go identifier"),
    case("type-check-without-plugin", put(f"{R}/check", ["{binary}", "test-plugin"]),
         "plugin_types.resource.check", "{plugin}"),
    case("type-check-unknown-placeholder",
         put(f"{R}/check", ["{binary}", "{port}", "{plugin}"]),
         "plugin_types.resource.check[1]", "unknown placeholder {port}"),
]

# [plugin_types.<type>.call]: a declared function, its arguments, what its results are.
TYPED = put(f"{R}/symbols", {"DragonflyPluginInit": ENTRY_TYPE})
GOOD_RETURNS = [{"implements": "any"}, {"has": {"type": "{type}"}}, {"is_nil": True}]


def call(**table: Any) -> Change:
    return both(TYPED, put(f"{R}/call", {"symbol": "DragonflyPluginInit", "arguments": [{}],
                                          "returns": GOOD_RETURNS, **table}))


CALLS = [
    case("call-symbol-undeclared", both(TYPED, put(f"{R}/call", {"symbol": "Init"})),
         "plugin_types.resource.call.symbol", "Init is not a symbol", "declare it"),
    case("call-symbol-missing", both(TYPED, put(f"{R}/call", {"arguments": [{}]})),
         "plugin_types.resource.call.symbol", "missing required key"),
    case("call-symbol-a-variable",
         both(put(f"{R}/symbols", {"Version": "*string"}),
              put(f"{R}/call", {"symbol": "Version"})),
         "plugin_types.resource.call.symbol", "not a function type"),
    case("call-symbol-variadic",
         both(put(f"{R}/symbols", {"Init": "func(args ...string) error"}),
              put(f"{R}/call", {"symbol": "Init", "arguments": [[]]})),
         "plugin_types.resource.call.symbol", "variadic"),
    case("call-too-few-arguments", call(arguments=[]), "plugin_types.resource.call.arguments",
         "takes 1 parameter(s) (map[string]string), and 0 argument(s) are given"),
    case("call-argument-of-another-kind", call(arguments=["x"]),
         "plugin_types.resource.call.arguments[0]", "argument 1 of DragonflyPluginInit",
         "'x' is not a table of strings"),
    case("call-argument-map-of-integers", call(arguments=[{"a": 1}]),
         "plugin_types.resource.call.arguments[0]", "1 is not a string"),
    case("call-argument-not-an-array", call(arguments={"a": "b"}),
         "plugin_types.resource.call.arguments", "expected an array"),
    case("call-argument-integer-overflows",
         both(put(f"{R}/symbols", {"Init": "func(int8) error"}),
              put(f"{R}/call", {"symbol": "Init", "arguments": [300],
                                 "returns": [{"is_nil": True}]})),
         "plugin_types.resource.call.arguments[0]", "300 does not fit a int8"),
    case("call-argument-unsupported-type",
         both(put(f"{R}/symbols", {"Init": "func(chan int) error"}),
              put(f"{R}/call", {"symbol": "Init", "arguments": [1],
                                 "returns": [{"is_nil": True}]})),
         "plugin_types.resource.call.arguments[0]", "no argument can be written"),
    case("call-argument-with-a-newline", call(arguments=[{"a": "b\nc"}]),
         "plugin_types.resource.call.arguments[0].a", "line feed"),
    case("call-too-few-returns", call(returns=[{}]), "plugin_types.resource.call.returns",
         "returns 3 value(s)", "and 1 are described"),
    case("call-has-on-a-non-map", call(returns=[{"has": {"a": "b"}}, {}, {}]),
         "plugin_types.resource.call.returns[0].has", "checks entries of a map[string]string"),
    case("call-has-unknown-placeholder", call(returns=[{}, {"has": {"a": "{kind}"}}, {}]),
         "plugin_types.resource.call.returns[1].has.a", "unknown placeholder {kind}"),
    case("call-nil-with-a-type", call(returns=[{"is_nil": True, "implements": "any"}, {}, {}]),
         "plugin_types.resource.call.returns[0]", "must be nil"),
    case("call-implements-not-a-type", call(returns=[{"implements": "x; y"}, {}, {}]),
         "plugin_types.resource.call.returns[0].implements", "';'"),
    case("call-implements-needs-import",
         call(returns=[{"implements": "evaluator.Evaluator"}, {}, {}]),
         "plugin_types.resource.imports", "'evaluator'", "not imported"),
    case("call-returns-unknown-key", call(returns=[{"implement": "any"}, {}, {}]),
         "plugin_types.resource.call.returns[0].implement", "did you mean 'implements'"),
    case("call-is-nil-not-bool", call(returns=[{"is_nil": "yes"}, {}, {}]),
         "plugin_types.resource.call.returns[0].is_nil", "expected true or false"),
]

SOURCES = [
    case("source-without-go-mod-outside-host", put("plugins/0/source", "plugins/loose"),
         "plugins[0].source", "no go.mod", "go mod init", "in-tree",
         setup=folder("plugins/loose")),
    case("source-is-host", put("plugins/0/source", "host"), "plugins[0].source",
         "the host module itself"),
    case("source-in-nested-module", put("plugins/0/source", "host/sub/p"), "plugins[0].source",
         "belongs to the Go module in",
         setup=setups(text_file("host/sub/go.mod", "module example.com/nested\n"),
                      folder("host/sub/p"))),
    case("source-missing", put("plugins/0/source", "plugins/resource/nothere"),
         "plugins[0].source", "does not exist"),
    case("source-leaves", put("plugins/0/source", "../elsewhere"), "plugins[0].source",
         "'../elsewhere' leaves the project folder"),
    case("host-without-go-mod", put("host/module", "plugins"), "host.module", "has no go.mod"),
]

MATRIX = [
    case("libc-listed-twice", put("matrix/libc", ["glibc", "glibc"]), "matrix.libc", "twice"),
    case("arch-listed-twice", put("matrix/arch", ["amd64", "amd64"]), "matrix.arch", "twice"),
    case("go-listed-twice", put("matrix/go", ["1.26.6", "1.26.6"]), "matrix.go",
         "'1.26.6' is listed twice"),
    case("go-empty", put("matrix/go", []), "matrix.go", "is empty"),
    case("libc-empty", put("matrix/libc", []), "matrix.libc", "is empty"),
    case("arch-empty", put("matrix/arch", []), "matrix.arch", "is empty"),
    case("go-not-a-release", put("matrix/go", ["1.26"]), "matrix.go[0]"),
    case("go-leading-zero", put("matrix/go", ["01.26.6"]), "matrix.go[0]"),
    case("go-trailing-space", put("matrix/go", ["1.26.6 "]), "matrix.go[0]"),
    case("go-prefixed", put("matrix/go", ["go1.26.6"]), "matrix.go[0]"),
    case("default-trailing-space", put("matrix/default", "go1.26.6-glibc-amd64 "),
         "matrix.default", "not a combination identifier"),
    case("default-not-in-matrix", put("matrix/default", "go1.25.5-glibc-amd64"),
         "matrix.default", "not in the matrix"),
    case("default-excluded", put("matrix/exclude", [{"go": "1.26.6", "libc": "glibc"}]),
         "matrix.default", "not in the matrix"),
    case("exclude-everything", put("matrix/exclude", [{"arch": "amd64"}]), "matrix.exclude",
         "excludes every combination"),
    case("exclude-everything-piecewise",
         put("matrix/exclude", [{"go": "1.26.6"}, {"go": "1.27.3"}]), "matrix.exclude",
         "excludes every combination"),
    case("exclude-empty", put("matrix/exclude", [{}]), "matrix.exclude[0]"),
    case("exclude-repeated", put("matrix/exclude", [{"libc": "musl"}, {"libc": "musl"}]),
         "matrix.exclude[1]", "repeats matrix.exclude[0]"),
    case("exclude-unknown-libc", put("matrix/exclude", [{"libc": "msul"}]),
         "matrix.exclude[0].libc", "did you mean 'musl'"),
    case("unknown-libc", put("matrix/libc", ["glibc", "uclibc"]), "matrix.libc[1]"),
    case("unknown-arch", put("matrix/arch", ["riscv"]), "matrix.arch[0]"),
    case("no-plugin-types", put("plugin_types", {}), "plugin_types", "no plugin type"),
    case("no-services", put("host/services", {}), "host.services", "no service"),
    case("no-libc", put("libc", {}), "libc", "no libc"),
    case("unknown-backend", put("project/backend", "podman"), "project.backend"),
]

UNKNOWN_KEYS = [
    case("unknown-top-level", put("plugin", []), "plugin", "did you mean 'plugins'"),
    case("unknown-project-key", put("project/artifact", "a"), "project.artifact",
         "did you mean 'artifacts'"),
    case("unknown-matrix-key", put("matrix/gos", ["1.26.6"]), "matrix.gos"),
    case("unknown-exclude-key", put("matrix/exclude", [{"arc": "amd64"}]),
         "matrix.exclude[0].arc", "did you mean 'arch'"),
    case("unknown-libc-key", put("libc/glibc/compiler", "gcc"), "libc.glibc.compiler"),
    case("unknown-host-key", put("host/modul", "host"), "host.modul",
         "did you mean 'module'"),
    case("unknown-service-key", put(f"{S}/mian", "x"), "host.services.scheduler.mian",
         "did you mean 'main'"),
    case("unknown-type-key", put(f"{R}/optional_symbol", {}),
         "plugin_types.resource.optional_symbol", "did you mean 'optional_symbols'"),
    case("unknown-plugin-key", put("plugins/0/stamps", {}), "plugins[0].stamps",
         "did you mean 'stamp'"),
    case("unknown-docker-key", put("docker/builder_repo", "x"), "docker.builder_repo",
         "did you mean 'builder_repository'"),
    case("missing-service-main", drop(f"{S}/main"), "host.services.scheduler.main",
         "missing required key"),
    case("missing-plugin-source", drop("plugins/1/source"), "plugins[1].source",
         "missing required key"),
    case("missing-matrix", drop("matrix"), "matrix", "missing required key"),
    case("missing-type-file", drop(f"{R}/file"), "plugin_types.resource.file"),
]

# Every key of the schema, given a value of the wrong TOML type.
WRONG_TYPES = [
    case(f"wrong-type-{key}-{type(value).__name__}", put(path, value), key, "expected")
    for path, value, key in [
        ("project", "x", "project"),
        ("matrix", "everything", "matrix"),
        ("libc", 1, "libc"),
        ("host", [], "host"),
        ("plugin_types", 1, "plugin_types"),
        ("plugins", {"a": 1}, "plugins"),
        ("docker", "x", "docker"),
        ("project/artifacts", 3, "project.artifacts"),
        ("project/results", True, "project.results"),
        ("project/allow_outside_paths", "yes", "project.allow_outside_paths"),
        ("project/toolchain_cache", [], "project.toolchain_cache"),
        ("project/backend", 1, "project.backend"),
        ("matrix/go", "1.26.6", "matrix.go"),
        ("matrix/go", [1.26], "matrix.go[0]"),
        ("matrix/libc", "glibc", "matrix.libc"),
        ("matrix/arch", "amd64", "matrix.arch"),
        ("matrix/exclude", {"go": "1.26.6"}, "matrix.exclude"),
        ("matrix/exclude", ["musl"], "matrix.exclude[0]"),
        ("matrix/exclude", [{"go": 1}], "matrix.exclude[0].go"),
        ("matrix/exclude", [{"libc": ["musl"]}], "matrix.exclude[0].libc"),
        ("matrix/exclude", [{"arch": True}], "matrix.exclude[0].arch"),
        ("matrix/default", 1, "matrix.default"),
        ("libc/glibc", "gcc", "libc.glibc"),
        ("libc/glibc/cc", True, "libc.glibc.cc"),
        ("libc/glibc/cc_package", 1, "libc.glibc.cc_package"),
        ("libc/glibc/builder_base", [], "libc.glibc.builder_base"),
        ("libc/glibc/runtime_base", {}, "libc.glibc.runtime_base"),
        ("host/module", 1, "host.module"),
        ("host/version", 1.0, "host.version"),
        ("host/trimpath", "true", "host.trimpath"),
        ("host/tags", "netgo", "host.tags"),
        ("host/tags", ["netgo", 3], "host.tags[1]"),
        ("host/plugin_dir", 1, "host.plugin_dir"),
        ("host/stamp", "x", "host.stamp"),
        ("host/stamp/main.Version", 1, "host.stamp.main.Version"),
        ("host/services", [], "host.services"),
        ("host/ldflags", "-s", "host.ldflags"),
        ("host/ldflags", [True], "host.ldflags[0]"),
        ("host/gcflags", ["-N"], "host.gcflags"),
        ("host/workspace", True, "host.workspace"),
        (S, "x", "host.services.scheduler"),
        (f"{S}/main", 1, "host.services.scheduler.main"),
        (f"{S}/binary", 1, "host.services.scheduler.binary"),
        (f"{S}/check", "x", "host.services.scheduler.check"),
        (f"{S}/check", [1], "host.services.scheduler.check[0]"),
        (f"{S}/healthcheck", "x", "host.services.scheduler.healthcheck"),
        (R, [], "plugin_types.resource"),
        (f"{R}/service", 1, "plugin_types.resource.service"),
        (f"{R}/file", 1, "plugin_types.resource.file"),
        (f"{R}/entry_symbol", 1, "plugin_types.resource.entry_symbol"),
        (f"{R}/required_symbols", "Init", "plugin_types.resource.required_symbols"),
        (f"{R}/name_contains", 1, "plugin_types.resource.name_contains"),
        (f"{R}/template", 1, "plugin_types.resource.template"),
        (f"{R}/name_pattern", 1, "plugin_types.resource.name_pattern"),
        (f"{R}/names", "dfs", "plugin_types.resource.names"),
        (f"{R}/symbols", ["Init"], "plugin_types.resource.symbols"),
        (f"{R}/optional_symbols", "Init", "plugin_types.resource.optional_symbols"),
        (f"{R}/imports", "context", "plugin_types.resource.imports"),
        (f"{R}/check", "x", "plugin_types.resource.check"),
        ("plugins/0", "x", "plugins[0]"),
        ("plugins/0/type", 1, "plugins[0].type"),
        ("plugins/0/name", 1, "plugins[0].name"),
        ("plugins/0/source", 1, "plugins[0].source"),
        ("plugins/0/stamp", "x", "plugins[0].stamp"),
        ("plugins/0/stamp", {"main.C": 1}, "plugins[0].stamp.main.C"),
        ("docker/builder_repository", 1, "docker.builder_repository"),
        ("docker/service_repository", 1, "docker.service_repository"),
        ("docker/bootstrap_suite", 1, "docker.bootstrap_suite"),
        ("docker/bootstrap_mirror", 1, "docker.bootstrap_mirror"),
    ]
]

# Issue 23: config strings that can only be data. Each case passed (or hung) before.
ELEVEN_LIBCS = {f"l{i}": {"cc": "gcc"} for i in range(11)}
UNTRUSTED = [
    case("go-unicode-digit", put("matrix/go", ["1.2\u0666.6"]), "matrix.go[0]",
         "not a Go release"),
    case("name-pattern-nested-quantifiers",
         both(put(f"{R}/name_pattern", "(a+)+b"), put("plugins/0/name", "a" * 99)),
         "plugins[0].name", "must match '(a+)+b'"),
    case("names-against-overlapping-alternation",
         both(put(f"{R}/name_pattern", "(a|aa)+c"), put(f"{R}/names", ["a" * 99])),
         "plugin_types.resource.names[0]", "must match '(a|aa)+c'"),
    case("name-pattern-backreference", put(f"{R}/name_pattern", "(a+)\\1"),
         "plugin_types.resource.name_pattern", "cannot be matched in bounded time",
         "a backreference"),
    case("name-pattern-lookahead", put(f"{R}/name_pattern", "(?!x)[a-z]+"),
         "plugin_types.resource.name_pattern", "a lookahead"),
    case("name-pattern-repeats-too-much", put(f"{R}/name_pattern", "((d{99}){99}){9}"),
         "plugin_types.resource.name_pattern", "5000 states"),
    case("file-pattern-230-bytes", put(f"{R}/file", "{name}" + "x" * 221 + ".so"),
         "plugin_types.resource.file", "file names of up to 324 bytes"),
    case("file-pattern-long-type", put(f"{R}/file", "{type}-{type}-{name}-" + "x" * 80 + ".so"),
         "plugin_types.resource.file", "at most 200"),
    case("ldflags-extld-runs-a-program", put("host/ldflags", ["-extld=/elsewhere/prog"]),
         "host.ldflags[0]", "not an allowed linker flag", "-linkmode=external"),
    case("ldflags-tmpdir", put("host/ldflags", ["-s", "-tmpdir=/tmp/elsewhere"]),
         "host.ldflags[1]", "not an allowed linker flag"),
    case("ldflags-cpuprofile", put("host/ldflags", ["-cpuprofile=/tmp/p"]), "host.ldflags[0]",
         "not an allowed linker flag"),
    case("ldflags-extldflags-other-linker",
         put("host/ldflags", ["-extldflags=-fuse-ld=/elsewhere/ld"]), "host.ldflags[0]",
         "not an allowed linker flag"),
    case("gcflags-cpuprofile", put("host/gcflags", "-cpuprofile=/tmp/p"), "host.gcflags",
         "'-cpuprofile=/tmp/p' is not an allowed compiler flag", "-N, -l"),
    case("gcflags-json-file", put("host/gcflags", "all=-N -json=0,file:///tmp/x"),
         "host.gcflags", "'-json=0,file:///tmp/x' is not an allowed compiler flag"),
    case("gcflags-debug-flag", put("host/gcflags", "all=-d=ssa/check/on"), "host.gcflags",
         "not an allowed compiler flag"),
    case("gcflags-second-pattern", put("host/gcflags", "-N all=-l"), "host.gcflags",
         "'all=-l' is not an allowed compiler flag"),
    case("matrix-over-10000-combinations",
         both(put("libc", ELEVEN_LIBCS), put("matrix/libc", list(ELEVEN_LIBCS)),
              put("matrix/go", ["1.26.6", *(f"1.{i}.0" for i in range(999))])),
         "matrix", "1000 x 11 x 1 = 11000 combinations", "at most 10000"),
]

CASES = (STRINGS + FLAGS_AND_PACKAGES + CONFINEMENT + COLLISIONS + TEMPLATES + LINKER + NAMES
         + CONTRACTS + CALLS + SOURCES + MATRIX + UNKNOWN_KEYS + WRONG_TYPES + UNTRUSTED)


def assert_one_clear_error(error: ConfigError, key: str | None, words: tuple[str, ...]) -> None:
    assert error.file == config.CONFIG_NAME
    assert error.key == key, str(error)
    assert error.fix, f"no fix in: {error}"
    text = str(error)
    assert "\n  fix: " in text
    for word in words:
        assert word in text, f"{word!r} not in: {text}"
    # The message itself shows values escaped: no raw control character reaches a terminal.
    assert all(c.isprintable() for c in error.message.replace("\n", " ")), repr(error.message)
    assert len(error.message) < 2000


@pytest.mark.parametrize("bad", CASES, ids=[c.id for c in CASES])
def test_bad_config_is_one_config_error_naming_key_and_fix(project: Project, bad: Case) -> None:
    if bad.setup:
        bad.setup(project)
    bad.change(project.data)
    with pytest.raises(ConfigError) as caught:
        project.load()
    assert_one_clear_error(caught.value, bad.key, bad.words)


def test_case_ids_are_unique() -> None:
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids))


# -- whole files: bad_configs/*.toml ------------------------------------------------
# Each file's first lines say what the error names: "# key: <key>" ("-" for none) and
# "# words: <text>" (optional). The files are read as bytes: some are not UTF-8.

def _header(path: Path) -> tuple[str | None, tuple[str, ...]]:
    lines = path.read_bytes().decode("latin-1").splitlines()
    fields = dict(line[2:].split(": ", 1) for line in lines[:2] if line.startswith("# "))
    key = fields["key"]
    return (None if key == "-" else key), tuple(filter(None, [fields.get("words")]))


FILES = sorted(DATA.glob("*.toml"))


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_bad_config_file_is_one_config_error(project: Project, path: Path) -> None:
    key, words = _header(path)
    project.write(path.read_bytes())
    with pytest.raises(ConfigError) as caught:
        config.load(project.config_path)
    assert_one_clear_error(caught.value, key, words)


def test_the_corpus_is_large_enough() -> None:
    assert len(CASES) + len(FILES) >= 100
    assert len(FILES) >= 8


# -- how the file is read ------------------------------------------------------------

def test_a_folder_as_config_path_is_a_config_error(project: Project) -> None:
    with pytest.raises(ConfigError) as caught:
        config.load(project.root)
    assert "is a folder" in str(caught.value)
    assert f"--config {project.root / config.CONFIG_NAME}" in str(caught.value)


def test_an_unreadable_config_is_a_config_error(project: Project, monkeypatch) -> None:
    written = project.write()
    real_open = os.open

    def denied(path: str | os.PathLike[str], flags: int, *args: Any) -> int:
        # Root reads files of mode 0, so the refusal is made where the file is opened.
        if Path(path) == written:
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, flags, *args)

    monkeypatch.setattr(os, "open", denied)
    with pytest.raises(ConfigError) as caught:
        config.load(project.config_path)
    assert "permission denied" in str(caught.value)


def test_a_huge_file_is_refused_before_it_is_parsed(project: Project) -> None:
    project.write(b"#" * (config.MAX_FILE_BYTES + 1))
    with pytest.raises(ConfigError) as caught:
        config.load(project.config_path)
    assert "bytes" in str(caught.value)


def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path: Path) -> None:
    fifo = tmp_path / config.CONFIG_NAME
    os.mkfifo(fifo)
    with pytest.raises(ConfigError) as caught:
        config.load(fifo)
    assert "is not a regular file (it is a FIFO)" in str(caught.value)


def test_a_device_is_refused_without_reading_it() -> None:
    with pytest.raises(ConfigError) as caught:
        config.load("/dev/zero")
    assert "is not a regular file (it is a character device)" in str(caught.value)


def test_the_front_end_refuses_a_fifo_config(tmp_path: Path) -> None:
    fifo = tmp_path / config.CONFIG_NAME
    os.mkfifo(fifo)
    run = subprocess.run([sys.executable, "-m", "invoke", "--search-root", str(REPO), "list"],
                         capture_output=True, text=True, cwd=tmp_path, timeout=120,
                         env={**os.environ, "PLUGIN_BUILDER_CONFIG": str(fifo)})
    assert run.returncode == ConfigError.return_code, run.stderr
    assert "FIFO" in run.stderr


def test_a_missing_file_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        config.load(tmp_path / "nothere" / config.CONFIG_NAME)
    assert "no such file" in str(caught.value)


# -- good edge cases: these must load ------------------------------------------------

def test_dashed_and_underscored_names_load(project: Project) -> None:
    data = project.data
    data["host"]["services"]["bifrost-http"] = {"main": "./cmd/bifrost-http", "check": CHECK}
    data["plugin_types"]["my_type"] = {"service": "bifrost-http", "file": "{type}-{name}.so"}
    data["plugins"].append({"type": "my_type", "name": "hello-world",
                            "source": "plugins/hello-world"})
    data["plugins"].append({"type": "my_type", "name": "my_plugin",
                            "source": "plugins/my_plugin"})
    project.module("plugins/hello-world", "example.com/hello")
    project.module("plugins/my_plugin", "example.com/mine")
    loaded = project.load()
    assert [p.id for p in loaded.plugins][-2:] == ["my_type/hello-world", "my_type/my_plugin"]
    assert loaded.host.services["bifrost-http"].binary == "bifrost-http"
    assert loaded.plugin_types["my_type"].file_name("hello-world") == "my_type-hello-world.so"


def test_free_text_version_and_quotes_in_stamps_load(project: Project) -> None:
    project.data["host"]["version"] = "0.1.0 beta"
    project.data["host"]["stamp"]["main.Motto"] = "it's {version}, built {time} at {commit}"
    project.data["host"]["stamp"]["main.Quoted"] = 'say "{version}"'
    project.data["plugins"][0]["stamp"] = {"main.buildCommit": "{commit}",
                                           "main.buildTime": "{time}",
                                           "main.id": "{type}/{name}@{combination}"}
    loaded = project.load()
    assert loaded.host.version == "0.1.0 beta"
    assert loaded.host.stamp["main.Motto"] == "it's {version}, built {time} at {commit}"
    assert dict(loaded.plugins[0].stamp) == project.data["plugins"][0]["stamp"]
    assert dict(loaded.plugins[1].stamp) == {}


def test_name_pattern_and_names_rules(project: Project) -> None:
    types = project.data["plugin_types"]
    types["resource"]["name_pattern"] = "d[a-z]+"
    types["scheduler"]["names"] = ["evaluator"]
    loaded = project.load()
    resource, scheduler = loaded.plugin_types["resource"], loaded.plugin_types["scheduler"]
    assert resource.name_problem("dfs") is None
    assert "must match" in (resource.name_problem("xdfs") or "")
    assert "must match" in (resource.name_problem("dfs2") or "")  # whole name, not a prefix
    assert "one of: evaluator" in (scheduler.name_problem("other-evaluator") or "")
    assert "not a valid name" in (scheduler.name_problem("Evaluator") or "")
    assert "characters" in (scheduler.name_problem("e" * 101) or "")
    assert scheduler.names == ("evaluator",)
    assert "containing 'evaluator'" in scheduler.name_rule


def test_a_call_contract_loads(project: Project) -> None:
    call(arguments=[{"region": "eu\u00e9"}])(project.data)
    kind = project.load().plugin_types["resource"]
    assert kind.call.symbol == "DragonflyPluginInit"
    assert kind.call.arguments == ({"region": "eu\u00e9"},)
    assert [r.is_nil for r in kind.call.returns] == [None, None, True]
    assert dict(kind.call.returns[1].has) == {"type": "{type}"}
    assert project.load().plugin_types["scheduler"].call is None  # none: no call


def test_typed_contracts_load(project: Project) -> None:
    resource = project.data["plugin_types"]["resource"]
    resource["symbols"] = {"DragonflyPluginInit": ENTRY_TYPE, "Plugin": HANDLER_CONTRACT}
    resource["optional_symbols"] = {"Version": "*string"}
    resource["required_symbols"] = ["Cleanup"]
    resource["imports"] = ["context", "net/http"]
    kind = project.load().plugin_types["resource"]
    assert kind.symbols == ("DragonflyPluginInit", "Cleanup", "Plugin")
    assert kind.contract_symbols == (
        Symbol("DragonflyPluginInit", ENTRY_TYPE, True),
        Symbol("Cleanup", None, True),
        Symbol("Plugin", HANDLER_CONTRACT, True),
        Symbol("Version", "*string", False),
    )
    assert kind.imports == ("context", "net/http")


def test_versioned_and_dashed_import_paths_name_their_packages(project: Project) -> None:
    resource = project.data["plugin_types"]["resource"]
    resource["symbols"] = {"A": "func(*yaml.Node, hclog.Logger, *echo.Echo, corev1.Pod)",
                           "B": "*v1.Pod"}
    resource["imports"] = ["gopkg.in/yaml.v3", "github.com/hashicorp/go-hclog",
                           "github.com/labstack/echo/v4", "k8s.io/api/core/v1"]
    with pytest.raises(ConfigError) as caught:  # corev1 is an alias Go needs declared
        project.load()
    assert "'corev1'" in str(caught.value)
    resource["symbols"]["A"] = "func(*yaml.Node, hclog.Logger, *echo.Echo)"
    assert project.load().plugin_types["resource"].imports[0] == "gopkg.in/yaml.v3"


def test_in_tree_plugin_loads(project: Project) -> None:
    project.file("host/plugins/inner/plugin.go", "package main\n")
    project.data["plugins"].append({"type": "resource", "name": "inner",
                                    "source": "host/plugins/inner"})
    loaded = project.load()
    inner = loaded.plugins[-1]
    assert inner.in_tree is True
    assert inner.source == (project.root / "host/plugins/inner").resolve()
    assert not any(p.in_tree for p in loaded.plugins[:-1])


def test_per_type_check_and_relative_check_program(project: Project) -> None:
    project.data["plugin_types"]["resource"]["check"] = ["./tools/check", "-s", "{plugin}"]
    project.data["host"]["services"]["manager"]["check"] = ["{binary}", "--fmt={{x}}",
                                                           "{plugin}"]
    loaded = project.load()
    tool = str(project.root / "tools/check")
    assert loaded.check_command("resource") == (tool, "-s", "{plugin}")
    assert loaded.check_command(loaded.plugin_types["scheduler"]) == tuple(CHECK)
    assert loaded.check_argv("resource", Path("/b/d"), Path("/p.so")) == [tool, "-s", "/p.so"]
    assert loaded.check_argv("manager", Path("/b/m"), Path("/p.so")) == \
        ["/b/m", "--fmt={x}", "/p.so"]
    assert loaded.host.services["scheduler"].check_argv(Path("/b/s"), Path("/p.so")) == \
        ["/b/s", "check-plugin", "/p.so"]


def test_a_symlinked_check_program_keeps_its_name(project: Project) -> None:
    os.symlink(project.root / "tools/check", project.root / "tools/check-resource")
    project.data["plugin_types"]["resource"]["check"] = ["./tools/check-resource", "{plugin}"]
    assert project.load().check_command("resource")[0] == \
        str(project.root / "tools/check-resource")


def test_relative_check_program_in_a_folder_with_braces(tmp_path: Path) -> None:
    root = tmp_path / "we{ird}"
    root.mkdir()
    project = Project(root)
    project.data["host"]["services"]["scheduler"]["check"] = ["./tools/check", "{plugin}"]
    loaded = project.load()
    assert loaded.check_argv("scheduler", Path("/b"), Path("/p.so")) == \
        [str(root / "tools/check"), "/p.so"]


def test_workspace_ldflags_and_gcflags_load(project: Project) -> None:
    project.file("go.work",
                 "go 1.26\n\nuse (\n\t./host // the host\n\t./plugins/resource/dfs\n)\n")
    project.data["host"].update(workspace="go.work", ldflags=["-s", "-w", "-linkmode=external"],
                                gcflags="all=-N -l")
    host = project.load().host
    assert host.workspace == (project.root / "go.work").resolve()
    assert host.ldflags == ("-s", "-w", "-linkmode=external")
    assert host.gcflags == "all=-N -l"


def test_workspace_with_single_line_use_loads(project: Project) -> None:
    project.file("ws/host.work", "go 1.26\nuse ../host\n")
    project.data["host"]["workspace"] = "ws/host.work"
    assert project.load().host.workspace == (project.root / "ws/host.work").resolve()


def test_defaults_of_the_new_keys(project: Project) -> None:
    loaded = project.load()
    assert loaded.host.workspace is None
    assert loaded.host.ldflags == ()
    assert loaded.host.gcflags == ""
    kind = loaded.plugin_types["manager"]
    assert (kind.names, kind.name_pattern, kind.check, kind.imports) == ((), None, (), ())
    assert kind.contract_symbols == (Symbol("DragonflyPluginInit", None, True),)


def test_byte_order_mark_and_crlf_load(project: Project) -> None:
    text = tomlkit.dumps(project.data).replace("\n", "\r\n")
    project.write(b"\xef\xbb\xbf" + text.encode())
    assert config.load(project.config_path).matrix.default.id == "go1.26.6-glibc-amd64"


def test_outside_paths_when_allowed(project: Project, tmp_path: Path) -> None:
    project.data["project"].update(allow_outside_paths=True,
                                   artifacts=str(tmp_path / "elsewhere"))
    assert project.load().artifacts == tmp_path / "elsewhere"


def test_artifacts_and_results_may_share_a_parent(project: Project) -> None:
    project.data["project"].update(artifacts="build/artifacts", results="build/results")
    loaded = project.load()
    assert loaded.artifacts.parent == loaded.results.parent


def test_combination_ids_match_whole() -> None:
    assert Combination.parse("go1.26.6-glibc-amd64") == Combination("1.26.6", "glibc", "amd64")
    for text in ("go1.26.6-glibc-amd64\n", " go1.26.6-glibc-amd64", "go1.26.6-glibc-amd64-x",
                 "go1.26-glibc-amd64", "go1.26.6\n-glibc-amd64"):
        assert Combination.parse(text) is None, text
