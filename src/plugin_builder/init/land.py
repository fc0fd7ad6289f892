"""Writing what `plugin-builder init` rendered: nothing replaced unasked, nothing half-written.

Every file lands through :func:`plugin_builder.files.write_atomically`; a template folder
is staged beside its place and renamed into it. The config is loaded where it will land
before anything is written. An existing ``buildconfig.toml`` stops init (running it twice
changes nothing) unless ``--force``; any other existing file (a tasks.py of your own) is
kept and reported, and the rest is written.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

from plugin_builder import config as config_module
from plugin_builder.config import CONFIG_NAME
from plugin_builder.errors import ConfigError, UsageError
from plugin_builder.files import write_atomically
from plugin_builder.init import render, workflow
from plugin_builder.init.planning import Plan


@dataclass(frozen=True)
class Outcome:
    plan: Plan
    written: tuple[str, ...]
    kept: tuple[str, ...]  # existed, not replaced (no --force)


def existing_config(folder: Path) -> Path | None:
    config = folder.absolute() / CONFIG_NAME
    return config if config.exists() else None


def refuse(config: Path) -> NoReturn:
    raise UsageError(f"{config} exists: init never replaces it",
                     fix="edit it, add to its matrix with --go, --libc or --arch, add the CI "
                         "workflow with --ci github, or run init again with --force to "
                         "replace it (and tasks.py, noxfile.py)")


def write(plan: Plan, rendered: render.Rendered | None = None) -> Outcome:
    """Write what was rendered from the plan (rendered here when not given)."""
    rendered = rendered or render.project(plan)
    folder, force = plan.folder, plan.options.force
    config = existing_config(folder)
    if config is not None and not force:
        refuse(config)
    folder.mkdir(parents=True, exist_ok=True)
    written, kept = _templates(folder, rendered, force)
    for relative, text in rendered.files.items():
        target = folder / relative
        if target.exists() and not force:
            kept.append(relative)
            continue
        write_atomically(target, text)
        written.append(relative)
    return Outcome(plan, tuple(written), tuple(kept))


def write_workflow(folder: Path, *, force: bool = False) -> tuple[str, bool]:
    """The CI workflow alone, into a project that exists: (its path, written); an existing
    one is kept unless ``force``."""
    target = folder.absolute() / workflow.PATH
    if target.exists() and not force:
        return workflow.PATH, False
    write_atomically(target, workflow.render())
    return workflow.PATH, True


def validate(folder: Path, text: str) -> None:
    """Load a config exactly where it will land (relative paths resolve the same)."""
    handle, name = tempfile.mkstemp(prefix=".buildconfig-", suffix=".toml", dir=folder)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        config_module.load(name)
    except ConfigError as error:
        raise UsageError(f"the config init made for this host does not load: {error.message}",
                         fix=error.fix or "check the host's layout (--host), or start from "
                                          "--preset blank and edit buildconfig.toml") from None
    finally:
        Path(name).unlink(missing_ok=True)


def _templates(folder: Path, rendered: render.Rendered,
               force: bool) -> tuple[list[str], list[str]]:
    """Copy the template folders, then prove the config loads (it names them); folders
    made here are removed again if it does not."""
    written: list[str] = []
    kept: list[str] = []
    created: list[Path] = []
    try:
        for relative, source in rendered.templates.items():
            target = folder / relative
            if target.exists() and not force:
                kept.append(relative + "/")
                continue
            created += [p for p in reversed(target.parents) if not p.exists()]
            created += [] if target.exists() else [target]
            _copy_template(source, target)
            written.append(relative + "/")
        validate(folder, rendered.files[CONFIG_NAME])
    except BaseException:
        for path in reversed(created):
            shutil.rmtree(path, ignore_errors=True)
        raise
    return written, kept


def _copy_template(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        for path in sorted(source.glob("*.tmpl")):
            shutil.copyfile(path, staging / path.name)
        if target.exists():
            shutil.rmtree(target)
        os.replace(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
