"""godebug: the settings a plugin names, and reading a Go release's verdict on them.

The probe's go command runs in tests/integration/test_module_graphs.py; here, what is
read and written around it, with Go 1.26.6's and 1.23.9's words.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from plugin_builder.golang.godebug import Setting, probe_gowork, probe_refusal, settings
from plugin_builder.golang.gomod import parse_gomod, parse_gowork
from plugin_builder.golang.semver import go_newer


def test_settings_of_the_main_package_and_its_go_mod(tmp_path: Path) -> None:
    (tmp_path / "main.go").write_text(
        "// Command p.\n//go:debug panicnil=1\n//go:debug   asynctimerchan=1\n\n"
        "//go:build linux\n\npackage main\n\n//go:debug afterpackage=1\nfunc main() {}\n")
    (tmp_path / "other.go").write_text("//go:debug x509sha1=1\npackage main\n")
    (tmp_path / "main_test.go").write_text("//go:debug testonly=1\npackage main\n")
    gomod = parse_gomod("module example.com/p\n\ngodebug default=go1.21\n")
    found = settings(tmp_path, gomod)
    assert found == [
        Setting("default=go1.21", f"{tmp_path / 'go.mod'}"),
        Setting("panicnil=1", f"{tmp_path / 'main.go'}:2"),
        Setting("asynctimerchan=1", f"{tmp_path / 'main.go'}:3"),
        Setting("x509sha1=1", f"{tmp_path / 'other.go'}:1"),
    ]
    assert found[1].key == "panicnil"


def test_an_in_tree_plugin_has_no_go_mod_of_its_own(tmp_path: Path) -> None:
    (tmp_path / "main.go").write_text("package main\n\nfunc main() {}\n")
    assert settings(tmp_path, None) == []


def test_the_probe_go_work_puts_the_settings_from_line_4() -> None:
    text = probe_gowork("1.26.6", ["panicnil=1", "nosuchkey=1"])
    assert text.splitlines()[3:5] == ["\tpanicnil=1", "\tnosuchkey=1"]
    parsed = parse_gowork(text)
    assert (parsed.go, parsed.godebug) == ("1.26.6", ("panicnil=1", "nosuchkey=1"))


@pytest.mark.parametrize("output, refused", [
    ('go: error loading go.work:\n/s/godebug-1/go.work:5: unknown godebug "nosuchkey"\n',
     ("nosuchkey=1", 'unknown godebug "nosuchkey"')),
    ("go: error loading go.work:\ngo.work:4: use of removed godebug \"x509sha1\", see "
     "https://go.dev/doc/godebug#go-124\n",
     ("x509sha1=1", 'use of removed godebug "x509sha1", see https://go.dev/doc/godebug#go-124')),
    ("go: error loading go.work:\ngo.work:6: default=go1.29 too new (toolchain is go1.23.9)\n",
     ("default=go1.29", "default=go1.29 too new (toolchain is go1.23.9)")),
    ("go: something else entirely\n", None),
    ("go: error loading go.work:\ngo.work:2: unknown directive\n", None),  # not a setting
])
def test_the_refused_setting_is_found_by_its_line(output, refused) -> None:
    assert probe_refusal(output, ["x509sha1=1", "nosuchkey=1", "default=go1.29"]) == refused


@pytest.mark.parametrize("a, b, newer", [
    ("1.27", "1.26.6", True),
    ("1.27", "1.27.0", False),  # a go line asks for at most what its .0 release has
    ("1.26.7", "1.26.6", True),
    ("1.23", "1.26.6", False),
    ("go1.27rc1", "1.26.6", True),
    ("1.27rc1", "1.27.0", False),
    ("1.30", "1.26.6", True),
    ("not a version", "1.26.6", False),
])
def test_go_lines_against_releases(a: str, b: str, newer: bool) -> None:
    assert go_newer(a, b) is newer
