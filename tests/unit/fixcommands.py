"""What a fix line promises, checked: every command in it parses as the tool (invoke's
own parser) or the go command would parse it, and names only targets and combinations
the config has. verify's fixes are pasted into shells; one that names a target that does
not exist sends the user nowhere."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from invoke import Collection
from invoke.parser import Parser, ParserContext

from plugin_builder import cli
from plugin_builder import tasks as project_tasks
from plugin_builder.config import Config
from plugin_builder.selection import Choice

# The go subcommands a fix may run.
GO_COMMANDS = {"build", "mod", "work", "get"}
_ASSIGNMENT = re.compile(r"[A-Z_][A-Z0-9_]*=")


def commands_of(fix: str) -> list[str]:
    """The shell commands of a fix: its trailing "(in the ... folder: ...)" note and a
    "(cd FOLDER && ...)" wrapper taken off, split at "&&"."""
    text = re.sub(r"  \(in the [^()]*\)$", "", fix.strip())
    wrapped = re.fullmatch(r"\(cd (\S+) && (.*)\)", text)
    if wrapped:
        assert Path(shlex.split(wrapped[1])[0]).is_dir(), f"no such folder in: {fix}"
        text = wrapped[2]
    return [part.strip() for part in text.split(" && ")]


def parse(collection: Collection, argv: list[str]) -> dict[str, object]:
    """argv after the program name, parsed by invoke's parser as the program would: the
    task's flags, by name (a ParseError for anything it would refuse)."""
    parser = Parser(contexts=collection.to_contexts(), initial=ParserContext())
    _core, task = parser.parse_argv(argv)
    assert task.name in collection.task_names, argv
    return {name: arg.value for name, arg in task.args.items()}


def check(fix: str, config: Config) -> list[list[str]]:
    """Every command of ``fix`` parses and names real things; the commands, as argv."""
    found = []
    for command in commands_of(fix):
        words = shlex.split(command)
        while words and _ASSIGNMENT.match(words[0]):
            words.pop(0)  # VAR=value before the command
        assert words, f"an empty command in: {fix}"
        if words[0] == "invoke":
            _check_invoke(parse(project_tasks.ns, words[1:]), words, config)
        elif words[0] == "plugin-builder":
            assert words[1] == "go" and "--" in words, words
            flags = parse(cli.namespace(), words[1:words.index("--")])
            assert Path(str(flags["config"])) == config.path, words
            Choice(flags["go"], flags["libc"], flags["arch"]).resolve(config)  # type: ignore[arg-type]
            _check_go(words[words.index("--") + 1:], fix)
        else:
            assert words[0] == "go", f"not a command the fix can mean: {command!r} in {fix}"
            _check_go(words[1:], fix)
        found.append(words)
    return found


def _check_invoke(flags: dict[str, object], words: list[str], config: Config) -> None:
    Choice(flags.get("go"), flags.get("libc"), flags.get("arch")).resolve(config)  # type: ignore[arg-type]
    if words[1] == "build-plugin":
        targets = {(t.type, t.name) for t in config.plugins}
        kind, name = flags["type"], flags["name"]
        assert kind in config.plugin_types, f"no type {kind}: {words}"
        assert name is None or (kind, name) in targets, f"no target {kind}/{name}: {words}"
    else:
        assert words[1] == "build-host", words


def _check_go(args: list[str], fix: str) -> None:
    assert args and args[0] in GO_COMMANDS, f"not a go command the fix can mean: {fix}"
    if args[0] == "build":
        assert "-o" in args and args[-1], fix
