"""invoke's own flags that mean something else here: ``--dry`` and ``--config``/``-f``.

Both come before the task name (``invoke --dry clean``, ``plugin-builder --config
buildconfig.toml list``) and are invoke's, not ours:

- ``--dry`` is "Echo commands instead of running" for tasks that call ``c.run``. Ours
  never do, so left alone it would change nothing and ``--dry clean`` would delete the
  artifacts. Every task that writes honours it as its own ``--dry-run`` or refuses it.
- ``--config PATH`` loads PATH as one of invoke's config files, and invoke reads no TOML:
  ``--config buildconfig.toml`` ended in a traceback. A TOML loader is given to invoke's
  Config (when our tasks are imported, before invoke reads the file) that records the
  path as the build config, so it means what each task's own ``--config`` means. A
  ``.yaml``, ``.json`` or ``.py`` file is still invoke's own.
"""

from __future__ import annotations

import shlex
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from plugin_builder.errors import UsageError
from plugin_builder.project import default_config

# Where invoke's config holds the build config named by its core --config.
CONFIG_KEY = "plugin_builder"
CORE_CONFIG_HELP = ("the build config (a buildconfig.toml), as each task's --config; a "
                    ".yaml, .json or .py file is one of invoke's own config files")


def accept_build_config() -> None:
    """Let invoke's core --config name a buildconfig.toml (see the module docstring)."""
    from invoke import Config

    if getattr(Config, "_load_toml", None) is None:
        Config._load_toml = _load_toml  # type: ignore[attr-defined]


def _load_toml(self: Any, path: str) -> dict[str, Any]:
    # Only the path is recorded: the build config is loaded (and its errors reported)
    # by the task, like a --config given to the task itself.
    return {CONFIG_KEY: {"config": str(Path(path).expanduser().absolute())}}


# The argv a front end ran with, when not sys.argv (plugin_builder.cli.main in tests).
ARGV: list[Sequence[str]] = []


def remainder(context: Any) -> list[str]:
    """The words after ``--``, exactly as given: invoke keeps them as one string joined
    by spaces, which would split a word holding a space (``-ldflags='-s -w'``)."""
    argv = list(ARGV[-1]) if ARGV else sys.argv
    if "--" in argv:
        words = argv[argv.index("--") + 1:]
        if " ".join(words) == context.remainder:
            return words
    return shlex.split(context.remainder)


def build_config(context: Any, flag: str | None) -> Path:
    """The task's --config, else invoke's core --config, else the default."""
    if flag:
        return Path(flag)
    recorded = (context.config.get(CONFIG_KEY) or {}).get("config")
    return Path(recorded) if recorded else default_config()


def dry_run(context: Any, flag: bool) -> bool:
    """The task's --dry-run, or invoke's core --dry (which means the same here)."""
    return bool(flag) or bool(context.config.run.dry)


def refuse_dry(context: Any, task: str) -> None:
    """A task that cannot show what it would do without doing it refuses invoke's --dry."""
    if context.config.run.dry:
        raise UsageError(f"--dry: {task} has no dry run, and nothing was done",
                         fix=f"run {task} without --dry")
