"""What README.md says about commands and exit codes is what the tool does.

It said bad input exits 2 and a failed build exits 1 (they are 3 for a bad config, 2 for
a bad flag, 8 for a failed build), and `--plugin PATH...` where each flag takes one
value. (tests/integration/test_readme.py runs its command blocks.)
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from plugin_builder import catalogue, cli, errors

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()
COMMANDS = README[README.index("## Commands"):README.index("## The matrix with nox")]


def error_codes() -> dict[int, str]:
    classes = [getattr(errors, name) for name in catalogue.error_classes()
               if name != catalogue.BASE and hasattr(errors, name)]
    return {cls.return_code: cls.__name__ for cls in classes}


def test_the_exit_code_table_is_every_error_class():
    table = {int(code): meaning for code, meaning in
             re.findall(r"^\| (\d+) \| (.+?) \|$", COMMANDS, re.M)}
    assert set(table) == {0, errors.INTERRUPTED, *error_codes()}
    assert "flag" in table[errors.UsageError.return_code]
    assert "buildconfig.toml" in table[errors.ConfigError.return_code]
    assert "build" in table[errors.BuildError.return_code]


def test_the_prose_names_the_real_codes():
    assert "exit code\n2" not in COMMANDS and "exits 1" not in README
    assert f"build exits {errors.BuildError.return_code}" in COMMANDS
    assert f"a second `init` stops, exit {errors.UsageError.return_code}" in \
        README.replace("\n", " ")


ROWS = re.findall(r"^\| `((?:invoke|plugin-builder) [^`]+)` \|", COMMANDS, re.M)


@pytest.mark.parametrize("row", ROWS)
def test_every_flag_of_the_table_is_the_tasks_and_takes_one_value(row):
    words = row.split()
    task = cli.namespace().tasks[words[1]]
    names = {name for arg in task.get_arguments() for name in arg.names}
    for flag in re.findall(r"--([a-z-]+)", row):
        assert flag.replace("-", "_") in names or flag in names, f"{row}: no --{flag}"
    assert "..." not in row, f"{row}: a flag takes one value; say it repeats instead"


def test_the_table_lists_every_task():
    listed = {row.split()[1] for row in ROWS}
    assert listed == set(cli.namespace().tasks) - {"docs"}  # docs: in the prose above


LAYOUT = README[README.index("## Layout"):README.index("## Beyond one machine")]
SOURCE = Path(__file__).resolve().parents[2] / "src" / "plugin_builder"


def _named_in_layer_table(module: Path) -> bool:
    """`module` in a row of the layer table: by name, within its subpackage's cell."""
    relative = module.relative_to(SOURCE)
    if len(relative.parts) == 1:
        return f"`{module.stem}`" in LAYOUT
    package = relative.parts[0]
    cells = re.findall(rf"`{package}/`(?: \(([^)]*)\))?", LAYOUT)
    return any(f"`{module.stem}`" in (cell or "") for cell in cells) or \
        f"`{package}/{module.stem}`" in LAYOUT


def test_the_layout_names_every_module_of_the_library_and_every_top_folder():
    modules = [p for p in SOURCE.rglob("*.py")
               if p.name not in ("__init__.py", "__main__.py")]
    unnamed = [str(p.relative_to(SOURCE)) for p in modules
               if not _named_in_layer_table(p) and p.parent.name not in ("init",)]
    assert not unnamed, f"README's layout table does not name: {unnamed}"
    tree = LAYOUT.split("```")[1]
    root = SOURCE.parents[1]
    for folder in ("host", "plugins", "images", "docs", "tests", "benchmarks"):
        assert (root / folder).is_dir() and f"{folder}/" in tree, folder
