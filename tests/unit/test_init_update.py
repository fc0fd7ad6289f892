"""`plugin-builder init --libc musl` (--go, --arch) in a project that has its config: the
matrix grows in place, the user's comments and edits stay, no --force needed."""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

import pytest

from plugin_builder import cli, init
from plugin_builder import config as config_module
from plugin_builder.errors import UsageError
from plugin_builder.init import update

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures"


@pytest.fixture
def project(tmp_path) -> Path:
    shutil.copytree(FIXTURES / "dragonfly", tmp_path / "myhost")
    (tmp_path / "project").mkdir()
    init.write(init.plan(init.Options(folder=tmp_path / "project", host=tmp_path / "myhost",
                                      preset="dragonfly", arch=("amd64",))))
    config = tmp_path / "project" / "buildconfig.toml"
    # The user's own edits: a comment, a changed value.
    text = config.read_text().replace("[matrix]\n", "[matrix]\n# we ship glibc first\n")
    config.write_text(text.replace('backend = "local"', 'backend = "local"  # mine'))
    return tmp_path / "project"


def run(capsys, *argv: str) -> tuple[int, str, str]:
    try:
        cli.main(list(argv))
        code = 0
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else 1
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_libc_is_added_in_place_keeping_comments_and_edits(project, capsys,
                                                           monkeypatch) -> None:
    monkeypatch.chdir(project)
    monkeypatch.setattr(sys.stdin, "isatty", lambda: False, raising=False)
    before = (project / "buildconfig.toml").read_text()
    code, out, err = run(capsys, "init", "--libc", "musl")
    assert code == 0, err
    after = (project / "buildconfig.toml").read_text()
    assert "# we ship glibc first" in after and 'backend = "local"  # mine' in after
    assert re.search(r'^libc = \["glibc", "musl"\]', after, re.M)
    # Only the matrix line changed.
    changed = [(a, b) for a, b in zip(before.splitlines(), after.splitlines(), strict=True)
               if a != b]
    assert len(changed) == 1 and changed[0][0].startswith("libc = ")
    assert config_module.load(project / "buildconfig.toml").matrix.libc == ("glibc", "musl")
    assert "matrix    libc += musl" in out and "updated   buildconfig.toml" in out


def test_go_and_arch_are_added_and_a_missing_libc_table_is_written(project) -> None:
    config = project / "buildconfig.toml"
    text = config.read_text()
    start = text.index("[libc.musl]")
    config.write_text(text[:start] + text[text.index("\n\n", start):])  # no musl table
    text = config.read_text()
    config.write_text(re.sub(r'^arch = \["amd64"\]\n', "", text, flags=re.M))  # the default
    change = update.plan(project, go=("1.27.3",), libc=("glibc,musl",), arch=("arm64",))
    assert change.added == {"go": ("1.27.3",), "libc": ("musl",), "arch": ("arm64",)}
    assert change.new_libc_tables == ("musl",)
    update.write(change, update.render(change))
    loaded = config_module.load(config)
    assert loaded.matrix.go == ("1.26.6", "1.27.3")
    assert loaded.matrix.arch == ("amd64", "arm64")  # the implied amd64 kept
    assert loaded.libcs["musl"].cc == "musl-gcc"


def test_nothing_to_add_writes_nothing(project, capsys, monkeypatch) -> None:
    monkeypatch.chdir(project)
    before = (project / "buildconfig.toml").stat().st_mtime_ns
    code, out, _ = run(capsys, "init", "--libc", "glibc", "--go", "1.26.6")
    assert code == 0 and "its matrix has every value asked for" in out
    assert (project / "buildconfig.toml").stat().st_mtime_ns == before


@pytest.mark.parametrize("flags, message", [
    ({"libc": ("uclibc",)}, "--libc uclibc: no such libc"),
    ({"go": ("1.27",)}, "--go 1.27: not a Go release"),
    ({"arch": ("386",)}, "--arch 386: not a supported GOARCH"),
])
def test_a_bad_value_is_one_message_and_changes_nothing(project, flags, message) -> None:
    before = (project / "buildconfig.toml").read_text()
    with pytest.raises(UsageError, match=re.escape(message)):
        update.plan(project, **flags)
    assert (project / "buildconfig.toml").read_text() == before


def test_a_libc_of_the_users_own_table_may_be_added(project) -> None:
    config = project / "buildconfig.toml"
    config.write_text(config.read_text() + '\n[libc.uclibc]\ncc = "uclibc-gcc"\n')
    change = update.plan(project, libc=("uclibc",))
    assert change.added["libc"] == ("uclibc",) and change.new_libc_tables == ()


def test_without_matrix_flags_an_existing_config_still_stops_init(project, capsys,
                                                                  monkeypatch) -> None:
    monkeypatch.chdir(project)
    monkeypatch.setattr(sys.stdin, "isatty", lambda: False, raising=False)
    code, _, err = run(capsys, "init", "--preset", "blank")
    assert code == 2 and "init never replaces it" in err


def test_force_still_replaces_the_file(project, capsys, monkeypatch) -> None:
    monkeypatch.chdir(project)
    code, _, err = run(capsys, "init", "--host", "../myhost", "--preset", "dragonfly",
                       "--libc", "musl", "--force")
    assert code == 0, err
    text = (project / "buildconfig.toml").read_text()
    assert "# we ship glibc first" not in text and 'libc = ["musl"]' in text
