"""The library's packages import each other in one direction only.

Layering (lower never imports higher): config -> combination/selection ->
toolchains/backends -> steps -> pipeline -> commands -> front ends. A cycle between two
modules or packages makes "where does this live" unanswerable, so none is allowed; the
check reads every import, including those inside functions.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "plugin_builder"
SUBPACKAGES = {"backends", "binary", "golang", "init", "steps", "verify"}


def unit_of(module: str) -> str:
    """A subpackage counts as one unit; every other module is its own."""
    parts = module.split(".")
    return parts[1] if len(parts) > 2 and parts[1] in SUBPACKAGES else ".".join(parts[1:2])


def imports() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        module = "plugin_builder." + ".".join(path.relative_to(PACKAGE).with_suffix("").parts)
        module = module.removesuffix(".__init__")
        source = unit_of(module)
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            for name in names:
                if name.startswith("plugin_builder.") and _is_module(name):
                    target = unit_of(name)
                    if target and target != source:
                        graph.setdefault(source, set()).add(target)
    return graph


def _is_module(name: str) -> bool:
    relative = Path(*name.split(".")[1:])
    return (PACKAGE / relative).with_suffix(".py").is_file() or (PACKAGE / relative).is_dir()


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every elementary cycle found by a depth-first walk (enough to name one)."""
    found = []

    def walk(node: str, path: list[str]) -> None:
        for following in sorted(graph.get(node, ())):
            if following in path:
                found.append(path[path.index(following):] + [following])
            elif len(path) < 12:
                walk(following, path + [following])

    for start in sorted(graph):
        walk(start, [start])
    return found


def test_no_import_cycles():
    found = cycles(imports())
    assert not found, "import cycles: " + "; ".join(" -> ".join(c) for c in found[:5])


def test_steps_do_not_import_the_layers_above_them():
    graph = imports()
    for low in ("steps", "backends", "verify", "config", "artifacts"):
        assert not graph.get(low, set()) & {"pipeline", "commands", "tasks", "noxsessions",
                                            "console"}, low
