"""Where a project is: the folder of its buildconfig.toml.

Every front end (invoke, nox, the `plugin-builder` command) finds the config the same
way, so a project's own thin tasks.py and noxfile.py run the very same tool.
"""

from __future__ import annotations

import os
from pathlib import Path

CONFIG_NAME = "buildconfig.toml"
CONFIG_ENV = "PLUGIN_BUILDER_CONFIG"


def default_config(folder: str | os.PathLike[str] | None = None) -> Path:
    """$PLUGIN_BUILDER_CONFIG, else buildconfig.toml in ``folder`` (the current one)."""
    configured = os.environ.get(CONFIG_ENV)
    if configured:
        return Path(configured).expanduser().absolute()
    return Path(folder or os.getcwd()).absolute() / CONFIG_NAME
