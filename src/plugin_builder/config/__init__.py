"""buildconfig.toml, parsed once into frozen, typed objects.

Every later step takes these objects, never raw dicts. Every problem with the file is a
:class:`~plugin_builder.errors.ConfigError` that names the file, the key, the value and
the fix; unknown keys get a "did you mean" hint, so a typo never silently falls back to
a default.

Strings are data: every string of the file is one line of printable text of bounded
length, every pattern matches the whole value, and a value that reaches a go command
line can never be read as a flag. Paths are confined: every path the file names
resolves (after symlinks) inside the project folder unless the file says otherwise.

Each key is declared once, in :mod:`.model`; :mod:`.parse` walks the file by it,
:mod:`.checks` holds the named checks, :mod:`.schema` the reference it gives.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

from plugin_builder.config.checks import (
    BACKENDS,
    KNOWN_ARCHES,
    TARGET_NAME_RE,
    default_toolchain_cache,
)
from plugin_builder.config.model import (
    Cache,
    Config,
    CrossToolchain,
    Docker,
    Exclude,
    Host,
    Libc,
    Matrix,
    PluginTarget,
    PluginType,
    Project,
    Service,
    Symbol,
    check_argv,
)
from plugin_builder.config.parse import (
    CONFIG_NAME,
    MAX_FILE_BYTES,
    Context,
    build,
    did_you_mean,
    plain_data,
    read_text,
)
from plugin_builder.config.schema import SCHEMA, KeyDoc, json_schema, key_docs
from plugin_builder.errors import ConfigError


def load(path: str | os.PathLike[str] = CONFIG_NAME) -> Config:
    """Read and validate a buildconfig.toml; raise ConfigError on the first problem."""
    path = Path(path).absolute()
    text = read_text(path)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(path.name, None, f"TOML syntax error: {exc}",
                          fix="correct the syntax at that line") from None
    except RecursionError:
        raise ConfigError(path.name, None, "arrays or tables are nested too deeply",
                          fix="flatten the file: no key needs more than a few levels") from None
    ctx = Context(path, path.parent, path.parent.resolve())
    plain_data(ctx, data, "")
    config: Config = build(ctx, Config, data, "", "", {"path": path, "root": path.parent})
    return config


__all__ = ["BACKENDS", "CONFIG_NAME", "Cache", "Config", "ConfigError", "CrossToolchain", "Docker",
           "Exclude", "Host", "KNOWN_ARCHES", "KeyDoc", "Libc", "MAX_FILE_BYTES", "Matrix",
           "PluginTarget", "PluginType", "Project", "SCHEMA", "Service", "Symbol",
           "TARGET_NAME_RE", "check_argv", "default_toolchain_cache", "did_you_mean",
           "json_schema", "key_docs", "load", "tomllib"]
