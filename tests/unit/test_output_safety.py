"""What the tool prints: names made safe to print, a reader that went away, failures
naming the file the user knows, and new-plugin's config written through its link."""

from __future__ import annotations

import errno
import io
import os
from contextlib import redirect_stderr
from pathlib import Path

import pytest

from plugin_builder import files, scaffold
from plugin_builder.console import Console, guard
from plugin_builder.errors import BinaryError, FilesystemError, UsageError
from plugin_builder.files import write_atomically
from plugin_builder.log import PrintReporter
from plugin_builder.untrusted import printable, quoted

HOSTILE = "plugins/x\x1b[2J\x1b]0;owned\x07\u202egnp.so"


# -- printable, quoted --------------------------------------------------------------------


def test_control_and_format_characters_are_escaped() -> None:
    shown = printable(HOSTILE)
    assert shown == "plugins/x\\x1b[2J\\x1b]0;owned\\x07\\u202egnp.so"
    assert shown.isprintable()


def test_line_breaks_and_tabs_stay() -> None:
    assert printable("a\n\tb c") == "a\n\tb c"


def test_names_not_utf8_are_escaped_not_raised() -> None:
    name = os.fsdecode(b"plugin-\xff.so")
    assert printable(name) == "plugin-\\udcff.so"
    print(printable(name), file=io.StringIO())  # encodable


@pytest.mark.parametrize(("name", "shown"), [
    ("plain/path.so", "plain/path.so"),
    ("with space.so", "'with space.so'"),
    ("it's.so", "'it'\"'\"'s.so'"),
    ("x;rm -rf ~", "'x;rm -rf ~'"),
    ("a\x1bb", "'a\\x1bb'"),
    ("two\nlines", "'two\\nlines'"),
])
def test_a_name_in_a_fix_line_is_quoted_as_a_shell_needs(name, shown) -> None:
    assert quoted(name) == shown


# -- the console and the error guard ------------------------------------------------------


def test_console_lines_never_carry_raw_escapes() -> None:
    stream = io.StringIO()
    Console(stream, live=False).line(f"built {HOSTILE}", prefix="go1.26.6-glibc-amd64")
    assert "\x1b" not in stream.getvalue() and "\\x1b[2J" in stream.getvalue()


def test_print_reporter_lines_never_carry_raw_escapes(capsys) -> None:
    PrintReporter().for_prefix("x")(f"built {HOSTILE}")
    assert "\x1b" not in capsys.readouterr().out


def test_an_error_naming_a_hostile_file_is_printed_escaped() -> None:
    stderr = io.StringIO()
    with redirect_stderr(stderr), pytest.raises(SystemExit) as exited, guard():
        raise BinaryError(f"{HOSTILE}: no such file", fix=f"rm {quoted(HOSTILE)}")
    assert exited.value.code == BinaryError.return_code
    assert "\x1b" not in stderr.getvalue() and "\u202e" not in stderr.getvalue()
    assert "fix: rm 'plugins/x\\x1b[2J" in stderr.getvalue()


def test_a_reader_that_went_away_ends_the_command_quietly(monkeypatch) -> None:
    """`invoke list | head`: the pipe closes; not "a file: Broken pipe" (exit 15)."""
    stderr = io.StringIO()
    monkeypatch.setattr(os, "dup2", lambda *args: None)  # keep pytest's own stdout
    with redirect_stderr(stderr), pytest.raises(SystemExit) as exited, guard():
        raise BrokenPipeError(errno.EPIPE, "Broken pipe")
    assert exited.value.code == 1
    assert stderr.getvalue() == ""


def test_other_file_errors_name_the_file() -> None:
    stderr = io.StringIO()
    with redirect_stderr(stderr), pytest.raises(SystemExit) as exited, guard():
        raise PermissionError(errno.EACCES, "Permission denied", "/some where/manifest.json")
    assert exited.value.code == FilesystemError.return_code
    assert "'/some where/manifest.json': Permission denied" in stderr.getvalue()


# -- failures name the file the user knows ------------------------------------------------


@pytest.mark.parametrize("failing", ["read-only", "fsync", "replace"])
def test_a_failed_write_names_its_target_not_a_temporary(tmp_path: Path, monkeypatch,
                                                         failing) -> None:
    target = tmp_path / "results" / "go1.26.6-glibc-amd64.json"

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    def read_only(*args, dir, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system", f"{dir}/.x.123.pb-tmp.abc")

    if failing == "fsync":
        monkeypatch.setattr(files.os, "fsync", full)
    elif failing == "replace":
        monkeypatch.setattr(files.os, "replace", full)
    else:
        monkeypatch.setattr(files.tempfile, "mkstemp", read_only)
    with pytest.raises(OSError) as raised:
        write_atomically(target, "{}\n")
    assert raised.value.errno == (errno.EROFS if failing == "read-only" else errno.ENOSPC)
    assert raised.value.filename == str(target)
    assert not [p for p in target.parent.iterdir()]  # nothing half-written kept


# -- new-plugin and a linked buildconfig.toml ---------------------------------------------


def linked_config(project, target: Path) -> Path:
    """buildconfig.toml as a link to ``target`` (holding the config's text)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(project.config_path.read_text())
    project.config_path.unlink()
    project.config_path.symlink_to(target)
    return target


def test_new_plugin_writes_through_a_link_inside_the_project(project) -> None:
    real = linked_config(project, project.root / "config" / "buildconfig.toml")
    scaffold.new_plugin(project.config_path, "resource", "gcs")
    assert project.config_path.is_symlink()
    assert 'name = "gcs"' in real.read_text()


def test_new_plugin_refuses_a_link_outside_the_project(project, tmp_path_factory) -> None:
    real = linked_config(project, tmp_path_factory.mktemp("elsewhere") / "buildconfig.toml")
    before = real.read_text()
    with pytest.raises(UsageError) as raised:
        scaffold.new_plugin(project.config_path, "resource", "gcs")
    assert str(real) in raised.value.message
    assert project.config_path.is_symlink() and real.read_text() == before
    assert not (project.root / "plugins" / "resource" / "gcs").exists()
