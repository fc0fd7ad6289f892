"""The error catalogue: every message the tool can print, read from its own source.

docs/troubleshooting.md maps each message to its cause and fix; every error the tool
prints points at its section (``see: docs/troubleshooting.md#<code>``). This module
finds, with :mod:`ast`, every ``PluginBuilderError`` the source raises and the message
template it carries, and every verify rule id, so a test can prove the page lists them
all and a new message cannot ship undocumented.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from plugin_builder.links import PAGE, code, rule_anchor, see  # noqa: F401  (the page's API)

PACKAGE = Path(__file__).resolve().parent
BASE = "PluginBuilderError"
# Where the message is among a constructor's positional arguments.
_MESSAGE_ARG = {"ConfigError": 2, "self.error": 1, "ctx.error": 1}


@dataclass(frozen=True)
class Message:
    error_class: str
    template: str  # the message with each interpolated expression as {expression}
    where: str  # file:line, for the test's failure message


def error_classes(package: Path = PACKAGE) -> set[str]:
    """Names of every class deriving (transitively) from PluginBuilderError."""
    bases: dict[str, set[str]] = {}
    for tree, _ in _trees(package):
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                bases[node.name] = {_name(b) for b in node.bases}
    found = {BASE}
    while True:
        more = {name for name, parents in bases.items() if parents & found} - found
        if not more:
            return found
        found |= more


def messages(package: Path = PACKAGE) -> list[Message]:
    """Every raise of a PluginBuilderError subclass, with its message template."""
    classes = error_classes(package)
    found = []
    for tree, path in _trees(package):
        for node in ast.walk(tree):
            call = node.exc if isinstance(node, ast.Raise) else None
            if not isinstance(call, ast.Call):
                continue
            callee = _name(call.func, dotted=True)
            error_class = "ConfigError" if callee in ("self.error", "ctx.error") \
                else callee.rsplit(".", 1)[-1]
            if error_class not in classes:
                continue
            where = f"{path.relative_to(package.parent)}:{call.lineno}"
            found.append(Message(error_class, _template(callee, error_class, call), where))
    return found


def _template(callee: str, error_class: str, call: ast.Call) -> str:
    index = _MESSAGE_ARG.get(callee, _MESSAGE_ARG.get(error_class, 0))
    text = render(call.args[index]) if len(call.args) > index else ""
    text = f"{text} failed: {{output}}" if error_class == "BuildError" else text
    return text.splitlines()[0] if text else text  # the headline; details follow it


def render(node: ast.expr) -> str:
    """A string expression as a template: literal text, {expression} for the rest."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(_placeholder(part.value) if isinstance(part, ast.FormattedValue)
                       else render(part) for part in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return render(node.left) + render(node.right)
    return _placeholder(node)


def _placeholder(node: ast.expr) -> str:
    """{name} for a plain name or attribute, {...} for anything computed."""
    simple = isinstance(node, (ast.Name, ast.Attribute))
    return "{" + (ast.unparse(node) if simple else "...") + "}"


def rule_ids() -> tuple[str, ...]:
    """Every rule id a verify finding can carry: static rules, then live ones."""
    from plugin_builder.verify.rules import RULE_IDS

    return tuple(str(rule) for rule in RULE_IDS)


def _trees(package: Path) -> Iterator[tuple[ast.Module, Path]]:
    for path in sorted(package.rglob("*.py")):
        yield ast.parse(path.read_text(encoding="utf-8"), str(path)), path


def _name(node: ast.expr, dotted: bool = False) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_name(node.value, True)}.{node.attr}" if dotted else node.attr
    return ""
