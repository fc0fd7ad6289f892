"""The named checks of plugin types and plugin targets, and those of the whole file:
names that satisfy their type's rules, contracts whose types name only imported
packages, file names that collide, outputs apart from every source.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import replace
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from plugin_builder.config.checks import (
    TARGET_NAME_FIX,
    TARGET_NAME_RE,
    one_of,
    project_path,
    resolve,
    template,
)
from plugin_builder.config.parse import MAX_NAME, Context, did_you_mean, show
from plugin_builder.config.pattern import PatternError, compile_pattern

if TYPE_CHECKING:
    from plugin_builder.config.model import Config, PluginTarget, PluginType

# A file name has 255 bytes; a plugin lands through a temporary name ~30 bytes longer.
MAX_FILE_NAME = 200
IDENTIFIER_RE = re.compile(r"\A[A-Za-z_][A-Za-z0-9_]*\Z")
EXPORTED_RE = re.compile(r"\A[A-Z][A-Za-z0-9_]*\Z")  # what plugin.Lookup can find
FILE_FIELDS = ("type", "name")
# Packaged plugin templates: a plugin_types.<type>.template not found in the project is
# looked up here (src/plugin_builder/templates/<type>).
PACKAGE_DIR = Path(__file__).resolve().parent.parent
PACKAGED_TEMPLATES = PACKAGE_DIR / "templates"
# The import path a Go type's package qualifier most likely comes from, for the fix.
_KNOWN_IMPORTS = {"http": "net/http", "url": "net/url", "context": "context", "io": "io",
                  "fs": "io/fs", "json": "encoding/json", "time": "time", "slog": "log/slog",
                  "sql": "database/sql", "net": "net", "os": "os"}


# -- plugin types ------------------------------------------------------------------------

def file_pattern(ctx: Context, key: str, file: str) -> str:
    """A plain file name ending in .so for every name, short enough to be built under."""
    template(FILE_FIELDS)(ctx, key, file)
    if "{name}" not in file or not file.endswith(".so"):
        raise ctx.error(key, f"'{file}' must contain {{name}} and end in .so",
                        fix="for example \"d7y-{type}-plugin-{name}.so\"")
    type_name = ctx.open["plugin_types.<type>"]["name"]
    sample = file.format(type=type_name, name="x")
    if "/" in sample or "\\" in sample or sample.startswith(("-", ".")):
        raise ctx.error(key, f"'{file}' gives '{sample}', which is not a plain file name",
                        fix="no '/' and no leading '-' or '.': plugins land in "
                            "<artifacts>/<combination>/plugins/, e.g. \"{name}.so\"")
    longest = len(file.format(type=type_name, name="x" * MAX_NAME).encode())
    if longest > MAX_FILE_NAME:
        raise ctx.error(key, f"{show(file)} gives file names of up to {longest} bytes (with "
                             f"a {MAX_NAME}-character name); a plugin file name has at most "
                             f"{MAX_FILE_NAME}",
                        fix="shorten the pattern: room is left for the longest name and the "
                            "temporary name a plugin is built under")
    return file


def identifiers(ctx: Context, key: str, symbols: Any) -> Any:
    for symbol in (symbols,) if isinstance(symbols, str) else symbols:
        if len(symbol) > MAX_NAME or not IDENTIFIER_RE.fullmatch(symbol):
            raise ctx.error(key, f"'{symbol}' is not a Go identifier",
                            fix="name an exported Go function or variable")
    return symbols


def symbol_types(ctx: Context, key: str, table: Mapping[str, str]) -> Mapping[str, str]:
    """Exported symbol -> the Go type the host asserts it to, written on one line."""
    example = "e.g. \"func(map[string]string) (any, map[string]string, error)\" or \"*string\""
    for symbol, go_type in table.items():
        if len(symbol) > MAX_NAME or not EXPORTED_RE.fullmatch(symbol):
            raise ctx.error(f"{key}.{symbol}", f"{show(symbol)} is not an exported Go "
                                               "identifier",
                            fix="plugin.Lookup finds only exported names: start it with an "
                                "upper-case letter, e.g. \"Init\"")
        problem = go_type_problem(go_type)
        if problem:
            raise ctx.error(f"{key}.{symbol}", f"{show(go_type)} is not a Go type: {problem}",
                            fix=f"write the type the host asserts the symbol to, {example}")
    return MappingProxyType({symbol: go_type.strip() for symbol, go_type in table.items()})


def not_also_required(ctx: Context, key: str, table: Mapping[str, str]) -> Mapping[str, str]:
    kind = ctx.open["plugin_types.<type>"]
    needed = {*kind["symbol_types"], *kind["required_symbols"], kind.get("entry_symbol")}
    for symbol in table:
        if symbol in needed:
            raise ctx.error(f"{key}.{symbol}", f"{symbol} is also a required symbol of this "
                                               "type",
                            fix="list it either as required or as optional, not both")
    return table


def imports_used(ctx: Context, key: str, kind: PluginType) -> PluginType:
    """Every package a symbol type names is imported, and every import is used: the
    contract's types are compiled into Go code, and Go refuses an unused import."""
    key = f"{key}.imports"
    offered = {name: path for path in kind.imports for name in package_names(path)}
    used: set[str] = set()
    for what, go_type in kind.declared_types:
        for qualifier in qualifiers(go_type):
            if qualifier not in offered:
                guess = _KNOWN_IMPORTS.get(qualifier, f"<import path of {qualifier}>")
                raise ctx.error(key, f"the type of {what} names package '{qualifier}', "
                                     "which is not imported",
                                fix=f"add it: imports = [\"{guess}\"]")
            used.add(offered[qualifier])
    for index, path in enumerate(kind.imports):
        if path not in used:
            raise ctx.error(f"{key}[{index}]", f"'{path}' is imported, but no symbol type "
                                               "names it",
                            fix="remove it, or use it in a type of symbols / optional_symbols "
                                "/ call.returns")
    return kind


def name_contains(ctx: Context, key: str, value: str) -> str:
    if not re.fullmatch(r"[a-z0-9_-]+", value):
        raise ctx.error(key, f"{show(value)} can never be part of a name",
                        fix="use lowercase letters, digits, '-' or '_', e.g. \"evaluator\"")
    return value


def name_pattern(ctx: Context, key: str, value: str) -> str:
    try:
        compile_pattern(value)
    except (re.error, OverflowError, RecursionError) as exc:
        raise ctx.error(key, f"{show(value)} is not a regular expression: {exc}",
                        fix="correct it (Python re syntax; it must match the whole name), "
                            "e.g. \"[a-z]+-hook\"") from None
    except PatternError as exc:
        raise ctx.error(key, f"{show(value)} cannot be matched in bounded time: {exc}",
                        fix="write it without backreferences, lookarounds, \\b, atomic groups "
                            "and possessive quantifiers: a name pattern is matched by an "
                            "automaton, in time linear in the name") from None
    return value


def names_follow_rules(ctx: Context, key: str, kind: PluginType) -> PluginType:
    """Each of `names` satisfies the type's other rules."""
    others = replace(kind, names=())
    for index, name in enumerate(kind.names):
        problem = others.name_problem(name)
        if problem:
            raise ctx.error(f"{key}.names[{index}]", problem,
                            fix=f"list only names that are {others.name_rule}")
    return kind


def plugin_template(ctx: Context, key: str, value: str) -> Path:
    """The folder `invoke new-plugin` renders: in the project, else a packaged one."""
    in_project = resolve(ctx, key, value) if value else None
    if in_project is not None and in_project.is_dir():
        return project_path(ctx, key, value)
    packaged = resolve(ctx, key, value, PACKAGE_DIR) if value else None
    if packaged is not None and packaged.is_dir() and packaged.is_relative_to(PACKAGED_TEMPLATES):
        return packaged
    raise ctx.error(key, f"no template folder '{value}' in the project or among the packaged "
                         "templates",
                    fix="create the folder, or use a packaged one such as \"templates/resource\"")


def same_file_patterns(ctx: Context, key: str, types: Mapping[str, Any]) -> Mapping[str, Any]:
    # Without {type}, two types with one pattern put same-named plugins on one file.
    seen: dict[str, str] = {}
    for plugin_type in types.values():
        file, name = plugin_type.file, plugin_type.name
        other = seen.setdefault(file, name) if "{type}" not in file else name
        if other != name:
            raise ctx.error(f"{key}.{name}.file", f"'{plugin_type.file}' is also the pattern of "
                                                  f"type {other}: plugins of both with one name "
                                                  "would land on one file",
                            fix="put {type} in one of them, e.g. \"{type}-{name}.so\"")
    return types


# -- the host ----------------------------------------------------------------------------

HOST_SOURCES = ("module", "binary", "image", "recipe")


def one_host_source(ctx: Context, key: str, host: Any) -> Any:
    """Exactly one of module, binary, image (with image_binary) and recipe."""
    given = [name for name in HOST_SOURCES if getattr(host, name) is not None]
    if not given:
        raise ctx.error(key, "names no host: one of host.module (its source), host.binary, "
                             "host.image or host.recipe (a released host) is required",
                        fix='add module = "host" (the host\'s Go module folder), or binary = '
                            '"PATH" for a released binary')
    if len(given) > 1:
        raise ctx.error(f"{key}.{given[1]}", f"the host is given twice: host.{given[0]} and "
                                             f"host.{given[1]}",
                        fix=f"keep one of host.{given[0]} and host.{given[1]}")
    if (host.image is None) != (host.image_binary is None):
        missing = "image_binary" if host.image_binary is None else "image"
        raise ctx.error(f"{key}.{missing}", "host.image and host.image_binary go together "
                                            f"(host.{missing} is missing)",
                        fix='name both: image = "TAG" and image_binary = "/path/in/image"')
    return host


def services_of_the_source(ctx: Context, key: str, host: Any) -> Any:
    """A host built from its source names each service's main package; a released host's
    binary is every service's, so none names one."""
    for name, service in host.services.items():
        where = f"{key}.services.{name}.main"
        if host.released and service.main is not None:
            raise ctx.error(where, f"names a main package, but the host is released "
                                   f"(host.{host.source[0]}): its binary is the service's",
                            fix="remove main")
        if not host.released and service.main is None:
            raise ctx.error(where, "missing required key",
                            fix='add main = "./cmd/NAME" (the service\'s main package)')
    return host


# -- plugins -----------------------------------------------------------------------------

def plugin_name(ctx: Context, key: str, name: str) -> str:
    kind = ctx.open[""]["plugin_types"][ctx.open["plugins[]"]["type"]]
    problem = kind.name_problem(name)
    if problem is None:
        return name
    if len(name) > MAX_NAME or not TARGET_NAME_RE.fullmatch(name):
        fix = TARGET_NAME_FIX
    elif kind.names and name not in kind.names:
        hint = did_you_mean(name, kind.names)
        fix = f"{hint + ' ' if hint else ''}use one of: {', '.join(kind.names)}"
    elif kind.name_contains and kind.name_contains not in name:
        fix = f"rename it, e.g. '{name}{kind.name_contains}'"
    else:
        fix = f"rename it: a {kind.name} plugin's name is {kind.name_rule}"
    raise ctx.error(key, problem, fix=fix)


def source_layout(ctx: Context, key: str, target: PluginTarget) -> PluginTarget:
    """In tree (a folder of the host module without go.mod) or its own Go module."""
    key, source, module = f"{key}.source", target.source, ctx.open[""]["host"].module
    if not source.is_dir():
        raise ctx.error(key, f"folder {source} does not exist",
                        fix="create the plugin folder or correct the path")
    if module is None:
        if not (source / "go.mod").is_file():
            raise ctx.error(key, f"{source} has no go.mod: a released host's plugins are "
                                 "modules of their own (the host's source is not at hand)",
                            fix="run 'go mod init' there and require the host's module at "
                                "its released version")
        return target
    if source == module:
        raise ctx.error(key, f"{source} is the host module itself",
                        fix="point it at the plugin's own folder")
    if (source / "go.mod").is_file():
        return target
    if not source.is_relative_to(module):
        raise ctx.error(key, f"{source} has no go.mod and is not inside the host module",
                        fix="a plugin is its own Go module: run 'go mod init' there; or "
                            f"move it into the host module {module} as an in-tree plugin")
    nested = next((p for p in source.parents if p != module and p.is_relative_to(module)
                   and (p / "go.mod").is_file()), None)
    if nested is not None:
        raise ctx.error(key, f"{source} belongs to the Go module in {nested}, not to the "
                             "host module",
                        fix=f"give the plugin its own go.mod, or point source at {nested}")
    return replace(target, in_tree=True)


def targets_once(ctx: Context, key: str, targets: tuple[Any, ...]) -> tuple[Any, ...]:
    ids = [target.id for target in targets]
    for index, target in enumerate(targets):
        if target.id in ids[:index]:
            raise ctx.error(f"{key}[{index}]", f"duplicate target {target.id}",
                            fix="remove one of the two [[plugins]] entries")
    return targets


# -- the whole file ----------------------------------------------------------------------


def released_host_fits(ctx: Context, key: str, config: Config) -> Config:
    """A released binary (or recipe) plugins can be built for, of a combination of the
    matrix; an image's binary is read when a build copies it out."""
    from plugin_builder import recipe as recipes
    from plugin_builder.errors import BinaryError

    host = config.host
    path = host.binary if host.binary is not None else host.recipe
    if path is None:
        return config
    where = "host.binary" if host.binary is not None else "host.recipe"
    try:
        recipe = recipes.read(path)
    except BinaryError as error:
        raise ctx.error(where, error.message, fix=error.fix) from None
    if recipe.refusals:
        raise ctx.error(where, f"plugins cannot be built for the released host {path}: "
                               + "; ".join(recipe.refusals),
                        fix=f"see `plugin-builder recipe {path}`; build the host from its "
                            "source (host.module), or use a release that can load plugins "
                            "built elsewhere")
    if recipe.combination not in config.matrix.combination_set:
        raise ctx.error(where, f"the released host is {recipe.combination.id}, which "
                               "[matrix] does not build",
                        fix=f"add it: go = [\"{recipe.go}\"], libc = [\"{recipe.libc}\"], "
                            f"arch = [\"{recipe.arch}\"], default = "
                            f"\"{recipe.combination.id}\"")
    return config


def matrix_libcs_declared(ctx: Context, key: str, config: Config) -> Config:
    for index, name in enumerate(config.matrix.libc):
        one_of(config.libcs, "libc", "[libc.NAME] table")(ctx, f"matrix.libc[{index}]", name)
    return config


def file_collisions(ctx: Context, key: str, config: Config) -> Config:
    """No two configured plugins land on one file name."""
    landed: dict[str, str] = {}
    for target in config.plugins:
        file = config.plugin_types[target.type].file_name(target.name)
        other = landed.setdefault(file, target.id)
        if other != target.id:
            raise ctx.error(f"plugin_types.{target.type}.file",
                            f"plugins {other} and {target.id} both land on '{file}'",
                            fix="rename one of them, or put {type} in the file patterns")
    return config


def output_folders(ctx: Context, key: str, config: Config) -> Config:
    """artifacts and results: folders of their own, apart from every source."""
    folders = {}
    for name in ("artifacts", "results"):
        where, value = f"project.{name}", getattr(config.project, name)
        folders[name] = project_path(ctx, where, value) if value else ctx.real_root
        _apart_from_sources(ctx, where, value, folders[name], config)
        if folders[name].exists() and not folders[name].is_dir():
            raise ctx.error(where, f"{show(value)} is a file, not a folder",
                            fix="remove the file, or name another folder")
    if folders["artifacts"] == folders["results"]:
        raise ctx.error("project.results", "is the same folder as project.artifacts",
                        fix="give each its own folder: artifacts = \"artifacts\", "
                            "results = \"results\"")
    return replace(config, artifacts=folders["artifacts"], results=folders["results"])


def _apart_from_sources(ctx: Context, key: str, value: str, folder: Path,
                        config: Config) -> None:
    fix = "use a folder of its own, e.g. \"artifacts\" or \"build/artifacts\""
    if folder == ctx.real_root:
        raise ctx.error(key, f"{show(value)} is the project folder itself", fix=fix)
    for what, source in _sources(ctx, config):
        if source.is_relative_to(folder):
            raise ctx.error(key, f"{show(value)} holds {what} ({source}): writing and "
                                 "cleaning it would touch your sources", fix=fix)
        # A folder inside the host module is fine (a real host keeps its config at the
        # module root): build inputs are the files Go reads, never a folder's listing.
        if what not in ("the config file", "the host module") and folder.is_relative_to(source):
            raise ctx.error(key, f"{show(value)} lies inside {what} ({source}): built "
                                 "files would change its sources and their digest",
                            fix=fix + ", outside " + what)


def _sources(ctx: Context, config: Config) -> Iterable[tuple[str, Path]]:
    yield "the config file", ctx.path.resolve()
    for name, what in (("module", "the host module"), ("binary", "the host binary"),
                       ("recipe", "the host's recipe")):
        if getattr(config.host, name) is not None:
            yield what, getattr(config.host, name)
    if config.host.workspace is not None:
        yield "the host's go.work", config.host.workspace
    for target in config.plugins:
        yield f"the source of plugin {target.id}", target.source
    for kind in config.plugin_types.values():
        if kind.template is not None and kind.template.is_relative_to(ctx.real_root):
            yield f"the template of type {kind.name}", kind.template


# -- Go types ----------------------------------------------------------------------------

_BRACKETS = {")": "(", "]": "[", "}": "{"}
_QUALIFIER_RE = re.compile(r"(?<![A-Za-z0-9_.])([A-Za-z_][A-Za-z0-9_]*)\.[A-Za-z_]")


def go_type_problem(value: str) -> str | None:
    """Why value cannot be a Go type written on one line, or None."""
    if not value.strip():
        return "it is empty"
    if any(mark in value for mark in ("\"", "'", "`", "//", "/*")):
        return "quotes and comments have no place in a symbol's type"
    stack: list[str] = []
    for char in value:
        if char in "([{":
            stack.append(char)
        elif char in _BRACKETS:
            if not stack or stack.pop() != _BRACKETS[char]:
                return f"'{char}' closes nothing"
        elif char == ";" and not stack:
            return "';' ends the type"
    return f"'{stack[-1]}' is not closed" if stack else None


def qualifiers(go_type: str) -> set[str]:
    """The package names a Go type qualifies names with (``http`` of ``*http.Request``)."""
    return set(_QUALIFIER_RE.findall(go_type))


def package_names(import_path: str) -> set[str]:
    """The names a package of this import path is likely to have: its last element, less a
    major-version element (/v2), a gopkg.in suffix (.v3) or a go- prefix."""
    elements = import_path.split("/")
    last = elements[-1]
    names = {last, re.sub(r"\.v[0-9]+$", "", last), last.removeprefix("go-").replace("-", "_"),
             last.replace("-", "")}
    if re.fullmatch(r"v[0-9]+", last) and len(elements) > 1:
        names.add(elements[-2].removeprefix("go-").replace("-", ""))
    return names
