"""gomod: go.mod files parsed in Python, as golang.org/x/mod/modfile reads them."""

from __future__ import annotations

from pathlib import Path

import pytest

from plugin_builder.errors import BuildError
from plugin_builder.golang.gomod import GoMod, Replace, parse_gomod, parse_gowork, read_gomod

FULL = """\
// The host of the scheduler plugins.
module plugin-builder.dev/host // trailing comment

go 1.26.0

toolchain go1.26.6

require github.com/google/uuid v1.5.0

require (
\tgithub.com/spf13/cobra v1.8.0
\tgolang.org/x/sys v0.20.0 // indirect
\t// a comment line inside the block
\tgopkg.in/yaml.v3 v3.0.1 // indirect

\t"example.com/quoted path" v1.2.3
)

replace github.com/google/uuid v1.5.0 => github.com/google/uuid v1.6.0

replace (
\tgolang.org/x/sys => ../sys
\texample.com/abs => /opt/src/abs
\texample.com/pinned v1.0.0 => ./vendor/pinned
\texample.com/moved => example.com/elsewhere v2.0.0
)

exclude golang.org/x/sys v0.19.0
retract v0.0.1
"""


def test_a_full_go_mod() -> None:
    parsed = parse_gomod(FULL)
    assert parsed.module == "plugin-builder.dev/host"
    assert parsed.go == "1.26.0"
    assert parsed.toolchain == "go1.26.6"
    assert parsed.requires == (
        ("github.com/google/uuid", "v1.5.0"),
        ("github.com/spf13/cobra", "v1.8.0"),
        ("golang.org/x/sys", "v0.20.0"),
        ("gopkg.in/yaml.v3", "v3.0.1"),
        ("example.com/quoted path", "v1.2.3"),
    )
    assert parsed.replaces == (
        Replace("github.com/google/uuid", "v1.5.0", "github.com/google/uuid", "v1.6.0"),
        Replace("golang.org/x/sys", None, "../sys", None),
        Replace("example.com/abs", None, "/opt/src/abs", None),
        Replace("example.com/pinned", "v1.0.0", "./vendor/pinned", None),
        Replace("example.com/moved", None, "example.com/elsewhere", "v2.0.0"),
    )
    assert [r.is_directory for r in parsed.replaces] == [False, True, True, True, False]
    assert parsed.required_version("golang.org/x/sys") == "v0.20.0"
    assert parsed.required_version("example.com/quoted path") == "v1.2.3"
    assert parsed.required_version("example.com/absent") is None


def test_the_minimal_go_mod() -> None:
    assert parse_gomod("module example.com/x\n") == GoMod("example.com/x", None, None)


def test_a_quoted_module_path_and_raw_strings() -> None:
    parsed = parse_gomod('module "example.com/x"\n'
                         'require `example.com/raw` v1.0.0\n'
                         'replace "example.com/raw" => "../raw dir"\n')
    assert parsed.module == "example.com/x"
    assert parsed.requires == (("example.com/raw", "v1.0.0"),)
    assert parsed.replaces == (Replace("example.com/raw", None, "../raw dir", None),)


def test_a_comment_after_a_quoted_string_is_a_comment() -> None:
    parsed = parse_gomod('module example.com/x\n'
                         'require "example.com/a" v1.0.0 // indirect\n'
                         'require "example.com/b//not-a-comment" v1.0.0\n')
    assert parsed.requires == (("example.com/a", "v1.0.0"),
                               ("example.com/b//not-a-comment", "v1.0.0"))


def test_block_ends_with_a_comment_and_blank_lines() -> None:
    parsed = parse_gomod("module example.com/x\n\nrequire (\n\n\texample.com/a v1.0.0\n"
                         ") // end of requires\n\nrequire example.com/b v2.0.0\n")
    assert parsed.requires == (("example.com/a", "v1.0.0"), ("example.com/b", "v2.0.0"))


def test_a_block_opened_without_a_space() -> None:
    """`require(` is a block for the go command too: `(` is a token of its own in the
    go.mod grammar (`go mod edit -json` lists the requirement); hand-written go.mod files
    have it, and a missed requirement of the host drops the go.work replace line."""
    parsed = parse_gomod("module example.com/x\n\nrequire(\n\tplugin-builder.dev/host v0.0.0\n)\n"
                         "replace(\n\texample.com/a => ../a\n)\n")
    assert parsed.requires == (("plugin-builder.dev/host", "v0.0.0"),)
    assert parsed.replaces == (Replace("example.com/a", None, "../a", None),)


def test_windows_line_endings() -> None:
    parsed = parse_gomod("module example.com/x\r\n\r\ngo 1.26\r\n"
                         "require (\r\n\texample.com/a v1.0.0 // indirect\r\n)\r\n")
    assert (parsed.module, parsed.go) == ("example.com/x", "1.26")
    assert parsed.requires == (("example.com/a", "v1.0.0"),)


@pytest.mark.parametrize("text", [
    "",
    "// only a comment\n",
    "go 1.26\n\nrequire example.com/a v1.0.0\n",
    "module\n",
])
def test_a_missing_module_line_is_a_build_error(text: str) -> None:
    with pytest.raises(BuildError) as raised:
        parse_gomod(text, source="/p/plugins/x/go.mod")
    assert "/p/plugins/x/go.mod" in raised.value.message
    assert "no module line" in raised.value.message
    assert raised.value.fix and "module" in raised.value.fix
    assert raised.value.return_code == 8


@pytest.mark.parametrize("line", [
    "replace example.com/a v1.0.0 ../a",
    "replace example.com/a =>",
    "replace => ../a",
])
def test_a_broken_replace_is_a_build_error(line: str) -> None:
    with pytest.raises(BuildError):
        parse_gomod(f"module example.com/x\n{line}\n")


def test_read_gomod_of_a_folder(tmp_path: Path) -> None:
    (tmp_path / "go.mod").write_text("module example.com/x\n\ngo 1.26\n")
    assert read_gomod(tmp_path).module == "example.com/x"


def test_read_gomod_of_a_folder_without_one(tmp_path: Path) -> None:
    with pytest.raises(BuildError) as raised:
        read_gomod(tmp_path)
    assert str(tmp_path / "go.mod") in raised.value.message
    assert "go.mod" in (raised.value.fix or "")


def test_the_real_host_and_plugin_go_mods() -> None:
    repo = Path(__file__).resolve().parents[2]
    host = read_gomod(repo / "host")
    assert host.module == "plugin-builder.dev/host"
    assert host.required_version("github.com/google/uuid") == "v1.5.0"
    plugin = read_gomod(repo / "plugins" / "scheduler" / "evaluator")
    assert plugin.required_version(host.module) == "v0.0.0"


def test_godebug_directives_one_line_and_in_a_block() -> None:
    parsed = parse_gomod("module example.com/p\n\ngo 1.23\n\ngodebug panicnil=1\n\n"
                         "godebug (\n\tasynctimerchan=1 // the old timers\n\tdefault=go1.21\n)\n")
    assert parsed.godebug == ("panicnil=1", "asynctimerchan=1", "default=go1.21")
    assert parse_gomod("module example.com/p\n").godebug == ()


def test_a_go_work_with_replacements_and_godebug() -> None:
    parsed = parse_gowork("go 1.23\n\nuse (\n\t./gateway\n\t./shared\n)\n\n"
                          "replace example.com/otel => example.com/otel v1.1.0\n"
                          "replace example.com/shared v0.0.0 => ./shared\n"
                          "godebug x509sha1=1\n")
    assert parsed.uses == ("./gateway", "./shared")
    assert parsed.replaces == (
        Replace("example.com/otel", None, "example.com/otel", "v1.1.0"),
        Replace("example.com/shared", "v0.0.0", "./shared", None))
    assert parsed.godebug == ("x509sha1=1",)
