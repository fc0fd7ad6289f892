"""The config model: the real file parses, and each broken config gives one clear error."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from plugin_builder import commands, config, console
from plugin_builder.combination import Combination
from plugin_builder.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]


def test_the_projects_own_config_parses_into_frozen_objects() -> None:
    loaded = config.load(REPO / "buildconfig.toml")
    assert loaded.matrix.default == Combination("1.26.6", "glibc", "amd64")
    assert [c.id for c in loaded.matrix.combinations] == [
        "go1.26.6-glibc-amd64", "go1.26.6-glibc-arm64", "go1.26.6-musl-amd64",
        "go1.26.6-musl-arm64", "go1.27.3-glibc-amd64", "go1.27.3-musl-amd64",
    ]
    assert [p.id for p in loaded.plugins] == ["resource/dfs", "scheduler/evaluator",
                                              "manager/searcher"]
    assert loaded.plugin_types["scheduler"].file_name("evaluator") == \
        "d7y-scheduler-plugin-evaluator.so"
    assert loaded.host.services["scheduler"].check_argv(Path("/b/s"), Path("/p.so")) == \
        ["/b/s", "check-plugin", "/p.so"]
    with pytest.raises(AttributeError):
        loaded.matrix.default.go = "1.0.0"  # type: ignore[misc]
    with pytest.raises(TypeError):
        loaded.libcs["glibc"] = None  # type: ignore[index]


def test_excludes_drop_combinations(project) -> None:
    project.data["matrix"]["exclude"].append({"go": "1.27.3", "libc": "musl"})
    loaded = config.load(project.write())
    assert "go1.27.3-musl-amd64" not in [c.id for c in loaded.matrix.combinations]
    assert len(loaded.matrix.combinations) == 5


def _set(path: str, value: Any) -> Callable[[dict], None]:
    def change(data: dict) -> None:
        *parents, last = path.split(".")
        for part in parents:
            data = data[int(part)] if part.isdigit() else data[part]
        if isinstance(data, list):
            data[int(last)] = value
        else:
            data[last] = value
    return change


def _delete(path: str) -> Callable[[dict], None]:
    def change(data: dict) -> None:
        *parents, last = path.split(".")
        for part in parents:
            data = data[int(part)] if part.isdigit() else data[part]
        del data[last]
    return change


def _add_plugin(**plugin: str) -> Callable[[dict], None]:
    return lambda data: data["plugins"].append(plugin)


# (case id, change to the valid config, text the one error message must contain)
BAD_CONFIGS = [
    ("unknown-top-level-key", _set("plugin", []), "buildconfig.toml: plugin: unknown key"),
    ("unknown-key-did-you-mean", _set("host.trimpth", True), "did you mean 'trimpath'?"),
    ("unknown-service-key", _set("host.services.scheduler.mian", "x"), "did you mean 'main'?"),
    ("unknown-plugin-key", _set("plugins.0.sources", "x"), "did you mean 'source'?"),
    ("wrong-type-bool", _set("host.trimpath", "yes"), "host.trimpath: expected true or false"),
    ("wrong-type-list-item", _set("host.tags", ["netgo", 3]), "host.tags[1]: expected a string"),
    ("wrong-type-table", _set("matrix", "everything"), "matrix: expected a table"),
    ("wrong-type-plugins", _set("plugins", {"a": 1}), "plugins: expected an array of tables"),
    ("missing-matrix", _delete("matrix"), "matrix: missing required key"),
    ("missing-host-module", _delete("host.module"), "host: names no host"),
    ("missing-plugin-source", _delete("plugins.1.source"), "plugins[1].source: missing required"),
    ("missing-service-main", _delete("host.services.manager.main"),
     "host.services.manager.main: missing required key"),
    ("plugin-folder-missing", _set("plugins.0.source", "plugins/resource/nothere"),
     "plugins[0].source: folder"),
    ("duplicate-target", _add_plugin(type="resource", name="dfs", source="plugins/resource/dfs"),
     "plugins[3]: duplicate target resource/dfs"),
    ("name-uppercase", _set("plugins.0.name", "DFS"), "plugins[0].name: 'DFS' is not a valid name"),
    ("name-leading-dash", _set("plugins.0.name", "-dfs"), "'-dfs' is not a valid name"),
    ("name-double-dash", _set("plugins.0.name", "my--dfs"), "(e.g. 'hello-world'"),
    ("go-trailing-newline", _set("matrix.go", ["1.27.3\n"]), "matrix.go[0]: the value"),
    ("main-is-a-flag", _set("host.services.scheduler.main", "-toolexec=/tmp/evil.sh"),
     "host.services.scheduler.main: '-toolexec=/tmp/evil.sh' starts with '-'"),
    ("artifacts-is-the-project", _set("project.artifacts", "."),
     "project.artifacts: '.' is the project folder itself"),
    ("scheduler-name-rule", _set("plugins.1.name", "foo"),
     "a scheduler plugin's name must contain 'evaluator'"),
    ("manager-name-rule", _set("plugins.2.name", "finder"),
     "a manager plugin's name must contain 'searcher'"),
    ("unknown-plugin-type", _set("plugins.0.type", "resorce"), "did you mean 'resource'?"),
    ("unknown-libc", _set("matrix.libc", ["glibc", "uclibc"]), "matrix.libc[1]: unknown libc"),
    ("go-not-a-version", _set("matrix.go", ["1.26"]), "matrix.go[0]: '1.26' is not a Go release"),
    ("go-garbage", _set("matrix.go", ["latest"]), "'latest' is not a Go release"),
    ("go-listed-twice", _set("matrix.go", ["1.26.6", "1.26.6"]), "'1.26.6' is listed twice"),
    ("path-leaves-project", _set("plugins.0.source", "../elsewhere"),
     "plugins[0].source: '../elsewhere' leaves the project folder"),
    ("absolute-path-outside", _set("host.module", "/usr/lib"), "host.module: '/usr/lib' leaves"),
    ("artifacts-outside", _set("project.artifacts", "/tmp/artifacts"), "project.artifacts"),
    ("unknown-arch", _set("matrix.arch", ["riscv"]), "matrix.arch[0]: unknown arch 'riscv'"),
    ("default-not-an-id", _set("matrix.default", "1.26.6/glibc"),
     "matrix.default: '1.26.6/glibc' is not a combination identifier"),
    ("default-not-in-matrix", _set("matrix.default", "go1.25.5-glibc-amd64"),
     "matrix.default: 'go1.25.5-glibc-amd64' is not in the matrix"),
    ("default-excluded", _set("matrix.exclude", [{"go": "1.26.6", "libc": "glibc"}]),
     "'go1.26.6-glibc-amd64' is not in the matrix"),
    ("exclude-all", _set("matrix.exclude", [{"arch": "amd64"}, {"arch": "arm64"}]),
     "excludes every combination"),
    ("exclude-unknown-libc", _set("matrix.exclude", [{"libc": "msul"}]),
     "matrix.exclude[0].libc: unknown libc 'msul'"),
    ("empty-go-list", _set("matrix.go", []), "matrix.go: is empty"),
    ("plugin-type-unknown-service", _set("plugin_types.resource.service", "dfget"),
     "plugin_types.resource.service: unknown service 'dfget'"),
    ("file-pattern-without-name", _set("plugin_types.resource.file", "plugin.so"),
     "must contain {name}"),
    ("file-pattern-unknown-placeholder", _set("plugin_types.resource.file", "{kind}-{name}.so"),
     "unknown placeholder {kind}"),
    ("stamp-unknown-placeholder",
     _set("host.stamp", {"main.Version": "{release}"}), "unknown placeholder {release}"),
    ("entry-symbol-not-identifier", _set("plugin_types.scheduler.entry_symbol", "Init-Plugin"),
     "'Init-Plugin' is not a Go identifier"),
    ("unknown-backend", _set("project.backend", "podman"), "unknown backend 'podman'"),
    ("host-without-go-mod", _set("host.module", "plugins"), "has no go.mod"),
    ("libc-without-cc", _delete("libc.musl.cc"), "libc.musl.cc: missing required key"),
]


@pytest.mark.parametrize(("change", "expected"), [c[1:] for c in BAD_CONFIGS],
                         ids=[c[0] for c in BAD_CONFIGS])
def test_bad_config_is_one_clear_message_and_the_config_exit_code(project, capsys, change,
                                                                  expected):
    change(project.data)
    project.write()
    with pytest.raises(SystemExit) as exited, console.guard():
        commands.listing(str(project.config_path))
    assert exited.value.code == ConfigError.return_code
    err = capsys.readouterr()
    assert err.out == ""  # nothing was listed, nothing was built
    assert err.err.startswith("error: buildconfig.toml")
    assert expected in err.err
    assert "fix:" in err.err
    assert "Traceback" not in err.err


def test_the_corpus_is_large_enough() -> None:
    assert len(BAD_CONFIGS) >= 25


def test_toml_syntax_error_names_the_line(project) -> None:
    project.write("[matrix]\ngo = [\"1.26.6\"\nlibc = 3\n")
    with pytest.raises(ConfigError) as error:
        config.load(project.config_path)
    assert "TOML syntax error" in str(error.value)
    assert "line 3" in str(error.value)


def test_missing_config_file_names_the_path(tmp_path) -> None:
    with pytest.raises(ConfigError) as error:
        config.load(tmp_path / "buildconfig.toml")
    assert "no such file" in str(error.value)
    assert "--config" in str(error.value)


def test_outside_paths_are_allowed_when_the_config_says_so(project, tmp_path_factory) -> None:
    outside = tmp_path_factory.mktemp("outside")
    (outside / "go.mod").write_text("module example.com/x\n")
    project.data["project"]["allow_outside_paths"] = True
    project.data["plugins"][0]["source"] = str(outside)
    assert config.load(project.write()).plugins[0].source == outside.resolve()


def test_invoke_front_end_exits_with_the_config_code_without_traceback(project) -> None:
    project.data["plugins"][1]["name"] = "foo"
    project.write()
    run = subprocess.run(
        [sys.executable, "-m", "invoke", "--search-root", str(REPO), "list",
         "--config", str(project.config_path)],
        capture_output=True, text=True, cwd=project.root,
    )
    assert run.returncode == ConfigError.return_code
    assert "plugins[1].name: 'foo' breaks the scheduler naming rule" in run.stderr
    assert "Traceback" not in run.stderr


def test_the_projects_own_config_keeps_the_old_model_and_gains_the_new() -> None:
    loaded = config.load(REPO / "buildconfig.toml")
    scheduler = loaded.plugin_types["scheduler"]
    assert scheduler.symbols == ("DragonflyPluginInit",)
    assert [s.name for s in scheduler.contract_symbols] == ["DragonflyPluginInit"]
    assert scheduler.name_problem("evaluator") is None
    assert "must contain 'evaluator'" in (scheduler.name_problem("foo") or "")
    assert loaded.check_command("scheduler") == loaded.host.services["scheduler"].check
    assert all(not p.in_tree for p in loaded.plugins)
    assert loaded.host.workspace is None or loaded.host.workspace.is_file()


def test_combination_parse_matches_the_whole_identifier() -> None:
    assert Combination.parse("go1.26.6-musl-amd64") == Combination("1.26.6", "musl", "amd64")
    assert Combination.parse("go1.26.6-musl-amd64\n") is None


def test_a_large_matrix_with_many_excludes_is_exact() -> None:
    # 1000 x 5 x 2 = 10,000 combinations less 999 excludes of every shape (issue 23: this
    # cost combinations x excludes per look, and was looked at again and again).
    go = [f"1.{i}.0" for i in range(1000)]
    libcs, arches = ["l0", "l1", "l2", "l3", "l4"], ["amd64", "arm64"]
    excludes = [config.Exclude(go=go[i]) if i % 3 == 0
                else config.Exclude(go=go[i], libc=libcs[i % 5]) if i % 3 == 1
                else config.Exclude(go=go[i], libc=libcs[i % 5], arch=arches[i % 2])
                for i in range(1, 1000)]

    def kept(i: int, libc: str, arch: str) -> bool:
        if i == 0:
            return True
        if i % 3 == 0:
            return False
        if i % 3 == 1:
            return libc != libcs[i % 5]
        return (libc, arch) != (libcs[i % 5], arches[i % 2])

    matrix = config.Matrix(go=tuple(go), libc=tuple(libcs), arch=tuple(arches),
                           exclude=tuple(excludes), default=Combination(go[0], "l0", "amd64"))
    expected = tuple(Combination(go[i], libc, arch) for i in range(1000) for libc in libcs
                     for arch in arches if kept(i, libc, arch))
    assert matrix.combinations == expected
    assert len(expected) == 10 + 333 * 8 + 333 * 9
    assert matrix.combinations is matrix.combinations  # computed once
    for combination in expected[::97]:
        assert not any(exclude.matches(combination) for exclude in excludes)
