"""`plugin-builder`: the installed command.

    plugin-builder --version
    plugin-builder init --host ../myhost --preset dragonfly [--go 1.26.6] [--libc glibc,musl]
    plugin-builder build-plugin --type scheduler         the same as `invoke build-plugin ...`
    plugin-builder docs                                   where the shipped docs are
    plugin-builder recipe HOST [--json]                   what a released host's plugins match

Every task of a project's ``invoke`` (the collection :data:`plugin_builder.tasks.ns`) is
a subcommand here too, run against the buildconfig.toml of the current folder (or
``$PLUGIN_BUILDER_CONFIG``, or ``--config``); ``init``, ``docs`` and ``recipe`` are this
command's own, since they are about the tool rather than a project.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path

from invoke import Collection, Program, task

from plugin_builder import __version__, coreflags, links
from plugin_builder import tasks as project_tasks
from plugin_builder.console import guard
from plugin_builder.errors import UsageError
from plugin_builder.init import land, planning, presets, render, update
from plugin_builder.init.options import Options, ci_provider

NAME = "plugin-builder"


@task(
    help={
        "host": "the host's Go module folder (default: this folder, if it has a go.mod)",
        "preset": f"{', '.join(presets.builtin_names())} or one in $PLUGIN_BUILDER_PRESETS "
                  "(default: the one whose marks the host and its plugins fit)",
        "go": "Go release(s) of the matrix, e.g. 1.26.6 or 1.26.6,1.27.3 (default: the "
              "release the host's go.mod names)",
        "libc": "libc(s) of the matrix: glibc, musl or glibc,musl (default: glibc); in a "
                "project with a buildconfig.toml, --go, --libc and --arch add to its matrix",
        "arch": "GOARCH(es) of the matrix (default: this machine's)",
        "folder": "where to write the project files (default: this folder)",
        "force": "replace buildconfig.toml, tasks.py and noxfile.py if they exist",
        "ci": "also write the project's CI workflow: github (.github/workflows/"
              "plugin-builder.yml; in a project that exists, only that file)",
    },
    iterable=["go", "libc", "arch"],
    auto_shortflags=False,  # -h is help
)
def init(c, host=None, preset=None, go=None, libc=None, arch=None, folder=None, force=False,
         ci=None):
    """Write buildconfig.toml, tasks.py and noxfile.py for a host module you have."""
    with guard():
        coreflags.refuse_dry(c, "init")
        where = Path(folder or os.getcwd())
        matrix = {"go": tuple(go or ()), "libc": tuple(libc or ()), "arch": tuple(arch or ())}
        ci = ci_provider(ci)
        existing = land.existing_config(where)
        if existing is not None and not force:
            if not any(matrix.values()) and not ci:
                land.refuse(existing)
            if any(matrix.values()):
                change = update.plan(where, **matrix)
                _report_update(update.write(change, update.render(change)), host or preset)
            if ci:
                path, written = land.write_workflow(where)
                print(f"wrote     {path}" if written else
                      f"kept      {path} (it exists; --force replaces it)")
            return
        host_path = Path(host) if host else _default_host(Path.cwd())
        chosen = preset or _ask_preset(host_path)
        plan = planning.plan(Options(folder=where, host=host_path, preset=chosen,
                                     force=force, ci=ci, **matrix))
        _report(land.write(plan, render.project(plan)))


def _default_host(folder: Path) -> Path:
    if (folder / "go.mod").is_file():
        return folder
    answer = _ask("Folder of the host's Go module (its go.mod)", None)
    if answer:
        return Path(answer)
    raise UsageError("no host module: this folder has no go.mod",
                     fix="pass --host PATH, the folder of the host's Go module")


def _ask_preset(host: Path) -> str:
    guessed = guess_preset(host)
    answer = _ask(f"Preset ({', '.join(presets.names())})", guessed)
    return answer or guessed


def _ask(question: str, default: str | None) -> str | None:
    """A question on a terminal; without one (CI, scripts), the default: never blocks."""
    if not sys.stdin.isatty():
        return default
    suffix = f" [{default}]" if default else ""
    try:
        answer = input(f"{question}{suffix}: ").strip()
    except EOFError:
        return default
    return answer or default


def guess_preset(host: Path) -> str:
    """The preset whose marks (declared in each preset file) the host and its plugins fit."""
    return planning.guess_preset(host)


def _report_update(outcome: update.Outcome, ignored: str | None) -> None:
    change = outcome.update
    for name, values in change.added.items():
        if values:
            print(f"matrix    {name} += {', '.join(values)}")
    for name in change.new_libc_tables:
        print(f"libc      [libc.{name}] added (init's compiler and images for it)")
    if ignored:
        print("note      --host and --preset are not used: the project exists (--force "
              "writes it anew)")
    if outcome.written:
        print(f"updated   {', '.join(outcome.written)} (comments and edits kept)")
    else:
        print(f"kept      {change.config.name}: its matrix has every value asked for")


def _report(outcome: land.Outcome) -> None:
    plan = outcome.plan
    facts = plan.facts
    print(f"host      {os.path.relpath(facts.folder, plan.folder)}: module {facts.gomod.module}")
    print(f"go        {', '.join(plan.go)} ({plan.go_reason})")
    if plan.version_reason:
        print(f"version   {plan.version} ({plan.version_reason})")
    for service in plan.services:
        print(f"service   {service.name:<24} {service.main} ({service.found}"
              f"{', has check-plugin' if service.check else ''})")
    for kind, loader in plan.types:
        print(f"type      {kind.name:<24} loaded by {loader}, files {kind.file}")
    for target in plan.targets:
        where = "in the host module" if target.in_tree else "own module"
        print(f"plugin    {target.type + '/' + target.name:<24} {target.source} ({where})")
    for note in plan.notes:
        print(f"note      {note}")
    if outcome.written:
        print(f"wrote     {', '.join(outcome.written)}")
    for name in outcome.kept:
        hint = (": for the tool's tasks it needs `from plugin_builder.tasks import ns`"
                if name == "tasks.py" else
                ": for the tool's sessions it needs `from plugin_builder import noxsessions; "
                "noxsessions.register()`" if name == "noxfile.py" else "")
        print(f"kept      {name} (it exists; --force replaces it){hint}")
    _next_steps(plan)


def _next_steps(plan: planning.Plan) -> None:
    rule = next((r for r, _ in plan.types if plan.targets and r.name == plan.targets[0].type),
                plan.types[0][0])
    print("next:")
    if not plan.targets and (rule.template or rule.packaged_template):
        print(f"  invoke new-plugin --type {rule.name} --name NAME   (or add [[plugins]])")
    elif not plan.targets:
        print(f"  add a [[plugins]] target of type {rule.name} to buildconfig.toml (type, "
              "name, source: the plugin's folder)")
    print(f"  invoke build-plugin --type {rule.name}")
    print("  invoke verify")
    print("  nox -j auto")


@task(
    help={
        "host": "the released host binary (with --image: the image's tag)",
        "json": "print the recipe as JSON (schema plugin-builder/recipe, version 1: "
                "docs/recipe.md), to publish beside the release",
        "image": "HOST is an image: read the binary --binary out of it",
        "binary": "the host binary's absolute path in the image",
    },
    positional=["host"],
    auto_shortflags=False,
)
def recipe(c, host, json=False, image=False, binary=None):
    """What a plugin of a released host must match, read from its binary (or image)."""
    with guard():
        coreflags.refuse_dry(c, "recipe")
        from plugin_builder import recipe as recipes

        if image != (binary is not None):
            raise UsageError("--image and --binary go together",
                             fix="plugin-builder recipe --image TAG --binary /usr/bin/gateway")
        if image:
            import tempfile

            from plugin_builder.released.source import from_image

            with tempfile.TemporaryDirectory() as folder:
                read = recipes.from_binary(from_image(host, binary, Path(folder)))
        else:
            read = recipes.read(Path(host))
        print(read.to_json() if json else read.text(), end="")


@task(help={"page": "print only this page's path: troubleshooting or configuration"})
def docs(c, page=None):
    """Print where the docs shipped with the tool are installed."""
    with guard():
        pages = {"troubleshooting": links.PAGE, "configuration": links.CONFIGURATION}
        if page is not None and page not in pages:
            raise UsageError(f"--page {page}: no such page",
                             fix=f"use one of: {', '.join(pages)}")
        for name, relative in pages.items():
            if page in (None, name):
                print(links.installed(relative))


def namespace() -> Collection:
    """The project tasks (exactly those a project's `invoke` runs), plus init and docs."""
    collection = Collection()
    for name, project_task in project_tasks.ns.tasks.items():
        collection.add_task(project_task, name)
    for name, child in project_tasks.ns.collections.items():
        collection.add_collection(child, name)
    collection.add_task(init)
    collection.add_task(docs)
    collection.add_task(recipe)
    collection.configure(project_tasks.ns.configuration())
    return collection


class _Program(Program):
    """invoke's Program, its core --config described as what it means here (see
    :mod:`plugin_builder.coreflags`)."""

    def core_args(self) -> list:
        args = super().core_args()
        for argument in args:
            if "config" in argument.names:
                argument.help = coreflags.CORE_CONFIG_HELP
        return args


def program() -> Program:
    return _Program(namespace=namespace(), version=__version__, name=NAME, binary=NAME)


def main(argv: Sequence[str] | None = None) -> None:
    """The console script; ``argv`` (without the program name) for tests."""
    if argv is None:
        program().run()
        return
    coreflags.ARGV.append([NAME, *argv])
    try:
        program().run([NAME, *argv])
    finally:
        coreflags.ARGV.pop()


if __name__ == "__main__":  # python -m plugin_builder.cli
    main()
