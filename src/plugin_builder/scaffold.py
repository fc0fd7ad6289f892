"""`invoke new-plugin`: a plugin target that builds and verifies, in one command.

The Go files come from the plugin type's template folder (``plugin_types.<type>.template``
in buildconfig.toml: a folder of ``*.tmpl`` files rendered with ``${placeholders}``), so
a new type, or another host's conventions, needs a template and TOML, never Python.
Every check runs before anything is written; the folder lands by rename and the config
is rewritten with tomlkit (comments and formatting kept), then loaded again to prove it.
"""

from __future__ import annotations

import os
import re
import shutil
import string
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import tomlkit

from plugin_builder import config as config_module
from plugin_builder import selection
from plugin_builder.combination import NAME_RE
from plugin_builder.config import Config, PluginType
from plugin_builder.errors import ConfigError, UsageError
from plugin_builder.files import write_atomically
from plugin_builder.golang.gomod import read_gomod
from plugin_builder.untrusted import quoted

TEMPLATE_SUFFIX = ".tmpl"
DEFAULT_HOST_VERSION = "v0.0.0"  # the label Go gives a module that is only ever replaced


@dataclass(frozen=True)
class Scaffold:
    """What new-plugin will write: checked, not yet written."""

    plugin_type: PluginType
    name: str
    folder: Path  # absolute: plugins/<type>/<name>
    source: str  # as written into buildconfig.toml, relative to the project
    values: dict[str, str]  # the template placeholders


def new_plugin(config_path: str | Path, type_: str, name: str) -> Path:
    """Check everything, render the template, land the folder, register the target."""
    config = config_module.load(config_path)
    scaffold = plan(config, type_, name)
    _file_behind(config.path)  # refused before anything is written
    files = render(scaffold)
    land(config, scaffold, files)
    return scaffold.folder


def plan(config: Config, type_: str, name: str) -> Scaffold:
    plugin_type = selection.plugin_type_named(config, type_)
    check_name(plugin_type, name)
    target = f"{type_}/{name}"
    if any(p.id == target for p in config.plugins):
        raise UsageError(f"plugin target {target} already exists in {config.path.name}",
                         fix="pick another --name, or edit the existing target's source")
    if plugin_type.template is None:
        raise UsageError(f"plugin type {type_} has no template",
                         fix=f"set plugin_types.{type_}.template to a folder of *.tmpl files")
    source = f"plugins/{type_}/{name}"
    folder = config.root / source
    if folder.exists():
        raise UsageError(f"{quoted(folder)} already exists",
                         fix="remove it, or register it by hand as a [[plugins]] entry")
    return Scaffold(plugin_type, name, folder, source, placeholders(config, plugin_type, name))


def check_name(plugin_type: PluginType, name: str) -> None:
    if not NAME_RE.match(name):
        raise UsageError(f"--name {name!r} is not a valid plugin name",
                         fix="use only lowercase letters and digits ([a-z0-9]+)")
    rule = plugin_type.name_contains
    if rule and rule not in name:
        raise UsageError(f"--name {name}: a {plugin_type.name} plugin's name must contain "
                         f"'{rule}'", fix=f"for example --name {name}{rule}")


def placeholders(config: Config, plugin_type: PluginType, name: str) -> dict[str, str]:
    module, version, go = _host_module(config)
    prefix = module.rsplit("/", 1)[0] if "/" in module else module
    return {
        "name": name,
        "type": plugin_type.name,
        "module": f"{prefix}/plugins/{name}",
        "host_module": module,
        "host_version": version,
        "go": go or config.matrix.default.go.rsplit(".", 1)[0],
        "entry_symbol": plugin_type.entry_symbol or "",
        "file": plugin_type.file_name(name),
    }


def _host_module(config: Config) -> tuple[str, str, str | None]:
    """(module path, the version a plugin requires it at, its go line) of the host: its
    go.mod, or a released host's recorded main module at its released version."""
    if config.host.module is not None:
        host = read_gomod(config.host.module)
        return host.module, host_version(config, host.module), host.go
    from plugin_builder import recipe as recipes

    path = config.host.binary or config.host.recipe
    if path is None:
        raise UsageError("new-plugin needs the host's module path and version, which an image "
                         "holds in its binary (host.image)",
                         fix="write its recipe (plugin-builder recipe --image TAG --binary "
                             "PATH --json > host.recipe.json) and name it in host.recipe")
    recipe = recipes.read(path)
    return recipe.main.path, recipe.main.version, ".".join(recipe.go.split(".")[:2])


def host_version(config: Config, host_module: str) -> str:
    """The version label the existing plugins require the host at (the label is part of
    every package fingerprint, so a new plugin must use the same one)."""
    required = (read_gomod(p.source).required_version(host_module) for p in config.plugins
                if not p.in_tree)  # an in-tree plugin has no go.mod: it is the host's
    labels = Counter(label for label in required if label is not None)
    return labels.most_common(1)[0][0] if labels else default_host_label(host_module)


def default_host_label(module: str) -> str:
    """The label a plugin requires a host module at when none is known: v0.0.0, or the
    major version a /vN module path (d7y.io/dragonfly/v2) or gopkg.in's .vN must have."""
    major = re.search(r"(?:/|\.)v([0-9]+)$", module)
    if major and int(major[1]) >= 2:
        return f"v{major[1]}.0.0"
    return DEFAULT_HOST_VERSION


def render(scaffold: Scaffold) -> dict[str, str]:
    """Relative path -> text of every file the template makes."""
    template = scaffold.plugin_type.template
    assert template is not None  # plan() refused a type without one
    files = {}
    for path in sorted(template.rglob(f"*{TEMPLATE_SUFFIX}")):
        relative = str(path.relative_to(template)).removesuffix(TEMPLATE_SUFFIX)
        try:
            files[relative] = string.Template(path.read_text()).substitute(scaffold.values)
        except (KeyError, ValueError) as error:
            raise UsageError(f"template {path}: bad placeholder {error}",
                             fix="use only ${" + "}, ${".join(scaffold.values) + "}") from None
    if "go.mod" not in files:
        raise UsageError(f"template {template} has no go.mod.tmpl",
                         fix="a plugin is its own Go module: add go.mod.tmpl to the template")
    return files


def land(config: Config, scaffold: Scaffold, files: dict[str, str]) -> None:
    """Write the folder by rename, then the config; undo the folder if the config fails."""
    scaffold.folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{scaffold.name}-", dir=scaffold.folder.parent))
    try:
        for relative, text in files.items():
            (staging / relative).parent.mkdir(parents=True, exist_ok=True)
            (staging / relative).write_text(text)
        os.replace(staging, scaffold.folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    try:
        register(config.path, scaffold)
    except BaseException:
        shutil.rmtree(scaffold.folder, ignore_errors=True)
        raise


def register(config_path: Path, scaffold: Scaffold) -> None:
    """Append a [[plugins]] entry, keeping every comment; prove the result loads."""
    file = _file_behind(config_path)
    old = file.read_text(encoding="utf-8")
    document = tomlkit.parse(old)
    entry = tomlkit.table()
    entry.update({"type": scaffold.plugin_type.name, "name": scaffold.name,
                  "source": scaffold.source})
    if "plugins" not in document:
        document["plugins"] = tomlkit.aot()
    elif document["plugins"]:
        document["plugins"][-1].add(tomlkit.nl())  # a blank line between the entries
    document["plugins"].append(entry)
    write_atomically(file, tomlkit.dumps(document))
    try:
        config_module.load(config_path)  # through the link: paths are relative to it
    except ConfigError:
        write_atomically(file, old)
        raise


def _file_behind(config_path: Path) -> Path:
    """The file to rewrite: the config itself, or the file its link points at when that
    lies in the project (a rename over the link would replace it with a copy)."""
    if not config_path.is_symlink():
        return config_path
    target = config_path.resolve()
    if not target.is_relative_to(config_path.parent.resolve()) or not target.is_file():
        raise UsageError(f"{quoted(config_path)} is a link to {quoted(target)}, outside the "
                         "project: new-plugin does not write through it",
                         fix=f"add the [[plugins]] entry to {quoted(target)} by hand, or "
                             "replace the link by the file")
    return target
