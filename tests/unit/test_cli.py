"""`plugin-builder`: the installed command, the same tasks as a project's `invoke`."""

from __future__ import annotations

import builtins
import shutil
import sys
from pathlib import Path

import pytest

from plugin_builder import __version__, cli, links
from plugin_builder import tasks as project_tasks
from plugin_builder.config import load

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures"


def run(capsys, *argv: str) -> tuple[int, str, str]:
    try:
        cli.main(list(argv))
        code = 0
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_version(capsys) -> None:
    assert run(capsys, "--version")[:2] == (0, f"plugin-builder {__version__}\n")


def test_every_project_task_is_a_subcommand_the_very_same_task() -> None:
    namespace = cli.namespace()
    for name, task in project_tasks.ns.tasks.items():
        assert namespace.tasks[name] is task, name
    assert set(namespace.tasks) == set(project_tasks.ns.tasks) | {"init", "docs", "recipe"}


def test_the_listing_names_the_program_and_its_subcommands(capsys) -> None:
    code, out, _ = run(capsys, "--list")
    assert code == 0
    for name in ("init", "docs", "build-plugin", "verify", "pipeline", "ci-matrix"):
        assert f"  {name} " in out, name


def test_init_help_shows_every_flag(capsys) -> None:
    code, out, _ = run(capsys, "init", "--help")
    assert code == 0 and "plugin-builder" in out
    for flag in ("--host", "--preset", "--go", "--libc", "--arch", "--folder", "--force"):
        assert flag in out, flag


def test_init_with_flags_asks_nothing(capsys, tmp_path, monkeypatch) -> None:
    shutil.copytree(FIXTURES / "dragonfly", tmp_path / "myhost")
    project = tmp_path / "project"
    project.mkdir()
    monkeypatch.chdir(project)
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True, raising=False)
    monkeypatch.setattr(builtins, "input", lambda *_: pytest.fail("init asked a question"))
    code, out, err = run(capsys, "init", "--host", "../myhost", "--preset", "dragonfly",
                         "--go", "1.26.6", "--libc", "glibc", "--libc", "musl")
    assert code == 0, err
    assert (project / "buildconfig.toml").is_file()
    assert "wrote" in out and "invoke build-plugin --type resource" in out
    assert 'libc = ["glibc", "musl"]' in (project / "buildconfig.toml").read_text()


def test_init_without_a_terminal_guesses_the_preset(capsys, tmp_path, monkeypatch) -> None:
    shutil.copytree(FIXTURES / "bifrost" / "host", tmp_path / "host")
    monkeypatch.chdir(tmp_path / "host")  # the host module is this folder
    monkeypatch.setattr(sys.stdin, "isatty", lambda: False, raising=False)
    code, out, err = run(capsys, "init", "--folder", str(tmp_path / "project"),
                         "--go", "1.26.6")
    assert code == 0, err
    assert "[plugin_types.hook]" in (tmp_path / "project" / "buildconfig.toml").read_text()


def test_init_without_a_host_is_one_message(capsys, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys.stdin, "isatty", lambda: False, raising=False)
    code, _, err = run(capsys, "init", "--preset", "blank")
    assert code == 2
    assert "error: no host module: this folder has no go.mod" in err
    assert "fix: pass --host PATH" in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("host, preset", [
    (FIXTURES / "dragonfly", "dragonfly"),
    (FIXTURES / "bifrost" / "host", "bifrost"),
    (REPO / "host", "reference"),
])
def test_the_preset_is_guessed_from_the_host(host, preset) -> None:
    assert cli.guess_preset(host) == preset


def test_docs_prints_the_shipped_pages(capsys) -> None:
    code, out, _ = run(capsys, "docs")
    pages = [Path(line) for line in out.split()]
    assert code == 0 and [p.name for p in pages] == ["troubleshooting.md", "configuration.md"]
    assert all(p.is_file() for p in pages)
    assert run(capsys, "docs", "--page", "nosuch")[0] == 2


def test_see_names_the_section_and_the_installed_page() -> None:
    see = links.see("ConfigError")
    assert see.startswith("docs/troubleshooting.md#config-error (")
    page = Path(see.split("(", 1)[1].rstrip(")"))
    assert page.is_file() and '<a id="config-error"></a>' in page.read_text()
    assert page == links.installed() and page.parent.name == "docs"
    assert page.parent.parent == Path(links.__file__).resolve().parent


def test_the_repository_paths_of_the_docs_are_the_packages() -> None:
    """README links (docs/...) and the package (what the wheel ships) are one copy."""
    for name in ("troubleshooting.md", "configuration.md"):
        assert (REPO / "docs" / name).samefile(links.PACKAGE_DIR / "docs" / name)


def test_init_in_the_host_module_keeps_the_project_at_its_root(capsys, tmp_path,
                                                             monkeypatch) -> None:
    """A host repository may keep its config at the module root (artifacts/ beside go.mod)."""
    shutil.copytree(FIXTURES / "bifrost" / "host", tmp_path / "host")
    monkeypatch.chdir(tmp_path / "host")
    code, _, err = run(capsys, "init", "--preset", "bifrost", "--go", "1.26.6")
    assert code == 0, err
    config = load(tmp_path / "host" / "buildconfig.toml")
    assert config.host.module == (tmp_path / "host").resolve()
    assert 'module = "."' in (tmp_path / "host" / "buildconfig.toml").read_text()


def test_on_a_terminal_init_asks_for_what_is_missing(capsys, tmp_path, monkeypatch) -> None:
    shutil.copytree(FIXTURES / "dragonfly", tmp_path / "myhost")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True, raising=False)
    questions = []
    answers = iter(["myhost", ""])  # the host; the preset: take the guess

    def answer(question: str) -> str:
        questions.append(question)
        return next(answers)

    monkeypatch.setattr(builtins, "input", answer)
    code, _, err = run(capsys, "init", "--folder", "project")
    assert code == 0, err
    assert questions == ["Folder of the host's Go module (its go.mod): ",
                         "Preset (reference, dragonfly, bifrost, krakend, tyk, blank) "
                         "[dragonfly]: "]
    assert "[plugin_types.scheduler]" in (tmp_path / "project" / "buildconfig.toml").read_text()
