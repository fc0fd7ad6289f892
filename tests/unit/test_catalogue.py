"""docs/troubleshooting.md lists every message the tool can print, and every pointer
the tool prints lands on a section of it."""

from __future__ import annotations

import io
import re
from contextlib import redirect_stderr
from pathlib import Path

import pytest

from plugin_builder import catalogue, console
from plugin_builder.errors import ConfigError, PluginBuilderError, UsageError

PAGE = Path(__file__).resolve().parents[2] / catalogue.PAGE
TEXT = PAGE.read_text()
ANCHORS = set(re.findall(r'<a id="([a-z0-9-]+)"></a>', TEXT))
# What a host shows when a plugin does not load (DESIGN.md section 5).
LOADER_ERRORS = (
    "plugin was built with a different version of package",
    "fatal error: runtime: no plugin module data",
    "Dynamic loading not supported",
    "invalid ELF header",
    "libc.musl-x86_64.so.1: cannot open shared object file",
    "plugin: not implemented",
    "ELF class",
    "plugin already loaded",
    "plugin: symbol S not found in plugin",
)


def section(anchor: str) -> str:
    """From the anchor to the next level-2 section."""
    start = TEXT.index(f'<a id="{anchor}"></a>')
    following = re.compile(r'^<a id="[a-z0-9-]+"></a>\n## ', re.M).search(TEXT, start + 1)
    return TEXT[start:following.start() if following else None]


MESSAGES = catalogue.messages()


def test_the_scan_finds_the_messages():
    assert len(MESSAGES) > 80
    assert {m.error_class for m in MESSAGES} >= {"ConfigError", "UsageError", "ToolchainError",
                                                 "BuildError", "VerifyError", "DoctorError"}


@pytest.mark.parametrize("message", MESSAGES, ids=lambda m: f"{m.where}")
def test_every_message_is_catalogued_under_its_class(message):
    anchor = catalogue.code(message.error_class)
    assert anchor in ANCHORS, f"{catalogue.PAGE} has no section #{anchor}"
    assert f"`{message.template}`" in section(anchor), (
        f"{message.where} raises {message.error_class}({message.template!r}), which "
        f"{catalogue.PAGE}#{anchor} does not list: add it with its cause and fix")


@pytest.mark.parametrize("rule", catalogue.rule_ids())
def test_every_verify_rule_has_an_entry(rule):
    assert catalogue.rule_anchor(rule) in ANCHORS


README = (Path(__file__).resolve().parents[2] / "README.md").read_text()
VERIFY_TABLE = README[README.index("## What verify catches"):README.index("## Layout")]


@pytest.mark.parametrize("rule", catalogue.rule_ids())
def test_every_verify_rule_is_in_the_readme_table(rule):
    assert re.search(rf"^\| [^|]*`{re.escape(rule)}`", VERIFY_TABLE, re.M), (
        f"README's 'What verify catches' table has no row for {rule}")


@pytest.mark.parametrize("error", LOADER_ERRORS)
def test_every_loader_error_is_explained(error):
    assert error in section("loader-errors")


def test_the_catalogue_lists_no_message_the_tool_cannot_print():
    listed = set(re.findall(r"^- (`.+?`(?:, `.+?`)*):", TEXT, re.M))
    templates = {f"`{m.template}`" for m in MESSAGES}
    loader = section("loader-errors")
    for entry in listed:
        for template in re.findall(r"`[^`]+`", entry):
            assert template in templates or template in loader, f"{template} is not raised"


@pytest.mark.parametrize("error", [ConfigError("buildconfig.toml", "matrix.go", "x"),
                                   UsageError("y", fix="z"), PluginBuilderError("w")])
def test_guard_points_at_the_section_of_the_error(error):
    stderr = io.StringIO()
    with redirect_stderr(stderr), pytest.raises(SystemExit) as exit_info, console.guard():
        raise error
    assert exit_info.value.code == error.return_code
    anchor = re.search(r"see: docs/troubleshooting\.md#([a-z-]+)", stderr.getvalue())[1]
    assert anchor in ANCHORS
