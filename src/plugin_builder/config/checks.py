"""The named checks of buildconfig.toml's keys: what a value must be, and the fix.

Each check is ``(ctx, key, value) -> value`` (it may also convert: a path string into
an absolute Path); the model names them in its key declarations, and the walker runs them
in order. Checks that span keys read what was parsed before them from ``ctx.open``;
those that span the whole file run on the built object (a class's ``CHECKS``).
"""

from __future__ import annotations

import os
import re
import string
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from plugin_builder.combination import GO_VERSION_RE, NAME_RE, Combination
from plugin_builder.config.flags import linker_word
from plugin_builder.config.parse import MAX_NAME, Check, Context, did_you_mean, show
from plugin_builder.golang.gomod import parse_gowork

KNOWN_ARCHES = ("amd64", "arm64")
BACKENDS = ("local", "docker")
MAX_COMBINATIONS = 10_000  # go x libc x arch: more is a mistake, and hours of builds
# Every validation pattern is anchored with \A...\Z and used with fullmatch; digits are
# ASCII [0-9], never \d (which takes any Unicode digit).

# Target, type and service names become file and Docker image names: lowercase words
# joined by one '-' or '_' ("hello-world", "my_plugin"), no leading dash, no separators.
TARGET_NAME_RE = re.compile(r"\A[a-z0-9]+(?:[-_][a-z0-9]+)*\Z")
TARGET_NAME_FIX = ("use lowercase letters and digits, in words joined by one '-' or '_' "
                   "(e.g. 'hello-world', 'my_plugin')")
TAG_RE = re.compile(r"\A[A-Za-z0-9_.]+\Z")
BINARY_RE = re.compile(r"\A[A-Za-z0-9_][A-Za-z0-9_.+-]*\Z")
# One element of a Go import path or package folder: never '-' or '.' first, so never a
# flag, never '..'.
_ELEMENT = r"[A-Za-z0-9_~+][A-Za-z0-9_.~+-]*"
IMPORT_PATH_RE = re.compile(rf"\A{_ELEMENT}(?:/{_ELEMENT})*\Z")
# "." or "./cmd/x" (a folder of the host module) or "example.com/m/cmd/x" (an import path)
MAIN_PACKAGE_RE = re.compile(rf"\A(?:\.|(?:\./)?{_ELEMENT}(?:/{_ELEMENT})*)\Z")
# An -X variable: an import path, a dot, a Go identifier ("example.com/m/version.Version").
STAMP_VARIABLE_RE = re.compile(r"\A[A-Za-z0-9_~+][A-Za-z0-9_.~+/-]*\.[A-Za-z_][A-Za-z0-9_]*\Z")
IMAGE_RE = re.compile(r"\A[A-Za-z0-9][A-Za-z0-9._/:@+-]*\Z")
DEBIAN_PACKAGE_RE = re.compile(r"\A[a-z0-9][a-z0-9+.-]+\Z")
# A package of another architecture (dpkg multiarch): "musl-dev:arm64".
QUALIFIED_PACKAGE_RE = re.compile(r"\A[a-z0-9][a-z0-9+.-]+(?::[a-z0-9]+)?\Z")
IN_IMAGE_PATH_RE = re.compile(r"\A(?:/[A-Za-z0-9_.+-]+)+/?\Z")
# A Docker repository: an optional registry host[:port]/, then lowercase path components.
_COMPONENT = r"[a-z0-9]+(?:[._-][a-z0-9]+)*"
REPOSITORY_RE = re.compile(rf"\A(?:[A-Za-z0-9.-]+(?::[0-9]+)?/)?{_COMPONENT}(?:/{_COMPONENT})*\Z")
# `go install`'s argument: a package path at an exact version ("example.com/m/cmd/x@v1.2.3").
GO_INSTALL_RE = re.compile(rf"\A{_ELEMENT}(?:/{_ELEMENT})*@v[0-9]+\.[0-9]+\.[0-9]+"
                           r"(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?\Z")
# The placeholders each kind of template may use.
STAMP_FIELDS = ("version", "combination", "go", "libc", "arch", "service", "commit", "time")
PLUGIN_STAMP_FIELDS = ("commit", "time", "version", "combination", "go", "libc", "arch",
                       "type", "name")
CHECK_FIELDS = ("binary", "plugin")
HEALTHCHECK_FIELDS = ("binary", "port")
# What a stamp renders to at config time: real values where the config has them, and the
# shape of the values the build step fills in (a commit hash, an RFC 3339 time).
_SAMPLE_VALUES = {"commit": "0" * 40, "time": "2026-01-01T00:00:00Z", "go": "1.26.6",
                  "libc": "glibc", "arch": "amd64", "combination": "go1.26.6-glibc-amd64",
                  "service": "service"}


def default_toolchain_cache() -> Path:
    """$PLUGIN_BUILDER_CACHE/toolchains, else the user's cache folder."""
    if os.environ.get("PLUGIN_BUILDER_CACHE"):
        return Path(os.environ["PLUGIN_BUILDER_CACHE"]).expanduser().resolve() / "toolchains"
    base = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
    return Path(base) / "plugin-builder" / "toolchains"


# -- shapes every kind of key shares ---------------------------------------------------

def each(check: Check) -> Check:
    """The check applied to every item of an array (key[0], key[1] ...)."""
    def items(ctx: Context, key: str, values: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(check(ctx, f"{key}[{index}]", value) for index, value in enumerate(values))
    return items


def distinct(ctx: Context, key: str, items: tuple[str, ...]) -> tuple[str, ...]:
    if len(set(items)) < len(items):
        item = next(item for index, item in enumerate(items) if item in items[:index])
        raise ctx.error(key, f"'{item}' is listed twice", fix="list each value once")
    return items


def not_empty(ctx: Context, key: str, items: tuple[str, ...]) -> tuple[str, ...]:
    if not items:
        raise ctx.error(key, "is empty", fix="list at least one value")
    return items


def one_of(choices: Iterable[str] | Callable[[Context], Iterable[str]], what: str,
           where: str) -> Check:
    """The value names one of the choices (a tuple, or what ``choices(ctx)`` gives)."""
    def known(ctx: Context, key: str, value: str) -> str:
        names = list(choices(ctx) if callable(choices) else choices)
        if value not in names:
            hint = did_you_mean(value, names)
            raise ctx.error(key, f"unknown {what} '{value}'",
                            fix=f"{hint + ' ' if hint else ''}use a {where}: {', '.join(names)}")
        return value
    return known


def declared(what: str, fix: str) -> Check:
    """A table of tables you name holds at least one ("no libc is declared")."""
    def some(ctx: Context, key: str, tables: Mapping[str, Any]) -> Mapping[str, Any]:
        if not tables:
            raise ctx.error(key, f"no {what} is declared", fix=fix)
        return tables
    return some


def template(fields: tuple[str, ...]) -> Check:
    """A str.format template that uses only these plain placeholders."""
    allowed = ", ".join("{" + f + "}" for f in fields) or "no placeholder"

    def placeholders(ctx: Context, key: str, value: str) -> str:
        try:
            parts = list(string.Formatter().parse(value))
        except ValueError as exc:
            raise ctx.error(key, f"{show(value)} is not a valid template: {exc}",
                            fix="close every '{' with '}' (write a literal brace as '{{' or "
                                f"'}}}}'); placeholders here: {allowed}") from None
        for _, placeholder, spec, conversion in parts:
            if placeholder is None:
                continue
            if placeholder not in fields:
                raise ctx.error(key, f"unknown placeholder {{{placeholder}}} in '{value}'",
                                fix=f"use only {allowed}")
            if spec or conversion:
                raise ctx.error(key, f"placeholder {{{placeholder}}} in '{value}' has a "
                                     "conversion or format spec",
                                fix=f"write it plainly as {{{placeholder}}}")
        return value
    return placeholders


def short(ctx: Context, key: str, value: str) -> str:
    if len(value) > MAX_NAME:
        raise ctx.error(key, f"{show(value)} is {len(value)} characters long",
                        fix=f"use a name of at most {MAX_NAME} characters")
    return value


def target_name(ctx: Context, key: str, value: str) -> str:
    """A target, type or service name: lowercase words joined by '-' or '_'."""
    if not TARGET_NAME_RE.fullmatch(short(ctx, key, value)):
        raise ctx.error(key, f"'{value}' is not a valid name", fix=TARGET_NAME_FIX)
    return value


def libc_name(ctx: Context, key: str, value: str) -> str:
    """A libc name: part of the combination id, so letters and digits only."""
    if not NAME_RE.fullmatch(short(ctx, key, value)):
        raise ctx.error(key, f"'{value}' is not a valid name",
                        fix="use only lowercase letters and digits ([a-z0-9]+): it is part "
                            "of combination ids such as go1.26.6-musl-amd64")
    return value


def image(ctx: Context, key: str, value: str) -> str:
    if value and not IMAGE_RE.fullmatch(value):
        raise ctx.error(key, f"{show(value)} is not an image reference",
                        fix="name an image, e.g. \"debian:bookworm-slim\"")
    return value


def debian_package(ctx: Context, key: str, value: str) -> str:
    if not DEBIAN_PACKAGE_RE.fullmatch(value):
        raise ctx.error(key, f"{show(value)} is not a Debian package name",
                        fix="name the package that installs the compiler, e.g. \"musl-tools\"")
    return value


def cross_package(ctx: Context, key: str, value: str) -> str:
    if not QUALIFIED_PACKAGE_RE.fullmatch(value):
        raise ctx.error(key, f"{show(value)} is not a Debian package name",
                        fix="name a package, with :<arch> for one of another architecture, "
                            "e.g. \"gcc-aarch64-linux-gnu\" or \"musl-dev:arm64\"")
    return value


def cache_prog(ctx: Context, key: str, value: str) -> str:
    """A GOCACHEPROG command: words as Go splits them, the first a program, not a flag."""
    from plugin_builder.golang import quoted

    try:
        words = quoted.split(value)
    except ValueError as error:
        raise ctx.error(key, f"{show(value)} cannot be split as Go splits it ({error})",
                        fix="close the quote, or write the word without it") from None
    if value and (not words or words[0].startswith("-")):
        raise ctx.error(key, f"{show(value)} names no program first",
                        fix='start with the program, e.g. "go-cacher '
                            '--cache-server=http://cache:31364"')
    return value


def go_install(ctx: Context, key: str, value: str) -> str:
    if not GO_INSTALL_RE.fullmatch(value):
        raise ctx.error(key, f"{show(value)} is not a Go package at an exact version",
                        fix="write <package path>@<version>, e.g. \"github.com/bradfitz/"
                            "go-tool-cache/cmd/go-cacher@v0.0.0-20260722201841-0bb331e19f64\"")
    return value


def build_tag(ctx: Context, key: str, tag: str) -> str:
    if not TAG_RE.fullmatch(tag):
        raise ctx.error(key, f"{show(tag)} is not a build tag",
                        fix="a tag is letters, digits, '_' and '.', e.g. \"netgo\"")
    return tag


def import_path(ctx: Context, key: str, path: str) -> str:
    if not IMPORT_PATH_RE.fullmatch(path):
        raise ctx.error(key, f"{show(path)} is not an import path",
                        fix="for example \"context\" or \"net/http\"")
    return path


# -- paths -------------------------------------------------------------------------------

def backend(ctx: Context, key: str, backend: str) -> str:
    if backend not in BACKENDS:
        raise ctx.error(key, f"unknown backend '{backend}'",
                        fix=f"use one of: {', '.join(BACKENDS)}")
    return backend


def outside_paths_allowed(ctx: Context, key: str, value: bool) -> bool:
    """Read before every path: whether paths may leave the project folder."""
    ctx.allow_outside = value
    return value


def resolve(ctx: Context, key: str, value: str, base: Path | None = None) -> Path:
    """value as an absolute path, symlinks resolved; relative to the project folder."""
    try:
        return ((base or ctx.root) / os.path.expanduser(value)).resolve()
    except (OSError, RuntimeError) as exc:  # a symlink loop
        raise ctx.error(key, f"{show(value)} cannot be resolved: {exc}",
                        fix="remove the symlink loop or name another path") from None


def project_path(ctx: Context, key: str, value: str) -> Path:
    """A path from the config, resolved against the project folder, kept inside it."""
    if not value:
        raise ctx.error(key, "is empty", fix="name a path relative to the project folder")
    path = resolve(ctx, key, value)
    if not ctx.allow_outside and not path.is_relative_to(ctx.real_root):
        raise ctx.error(key, f"'{value}' leaves the project folder {ctx.root} "
                             f"(it resolves to {path})",
                        fix="use a path inside the project, or set "
                            "[project] allow_outside_paths = true")
    return path


def toolchain_cache(ctx: Context, key: str, value: str) -> Path:
    # A machine-wide cache shared by every project, so an absolute (or ~) path may
    # live outside this one; a relative path is the project's own and stays inside.
    if not value:
        return default_toolchain_cache()
    if os.path.isabs(os.path.expanduser(value)):
        return resolve(ctx, key, value)
    return project_path(ctx, key, value)


def has_go_mod(ctx: Context, key: str, module: Path) -> Path:
    if not (module / "go.mod").is_file():
        raise ctx.error(key, f"{module} has no go.mod",
                        fix="point host.module at the host's Go module folder")
    return module


def regular_file(ctx: Context, key: str, path: Path) -> Path:
    if not path.is_file():
        what = "a folder" if path.is_dir() else "not there"
        raise ctx.error(key, f"{path} is {what}, not a file",
                        fix="name the released host's file (a binary, or its recipe from "
                            "`plugin-builder recipe --json`)")
    return path


RELEASED_KEYS = ("binary", "image", "recipe")


def source_host_only(ctx: Context, key: str, value: Any) -> Any:
    """A key of a host built from its source: a released host's settings are its binary's."""
    if not value and not isinstance(value, bool):
        return value  # left empty (a string default runs through its checks too)
    host = ctx.open["host"]
    released = next((name for name in RELEASED_KEYS if host.get(name) is not None), None)
    if released is not None:
        raise ctx.error(key, f"is a setting of a host built from its source, but the host is "
                             f"released (host.{released}): its settings are taken from the "
                             "binary",
                        fix=f"remove {key}")
    return value


def uses_the_host(ctx: Context, key: str, path: Path) -> Path:
    """A go.work file that uses the host module."""
    fix = "name the host's go.work file, e.g. workspace = \"go.work\""
    if path.is_dir():
        raise ctx.error(key, f"{path} is a folder, not a go.work file", fix=fix)
    if not path.is_file():
        raise ctx.error(key, f"no go.work file at {path}", fix=fix)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ctx.error(key, f"cannot read {path}: {exc}",
                        fix="name a readable UTF-8 go.work file") from None
    module = ctx.open["host"]["module"]
    if module not in [resolve(ctx, key, use, path.parent) for use in parse_gowork(text).uses]:
        relative = os.path.relpath(module, path.parent)
        raise ctx.error(key, f"{path} does not use the host module {module}",
                        fix=f"add 'use {relative}' to {path.name}, or drop host.workspace")
    return path


def in_image_folder(ctx: Context, key: str, value: str) -> str:
    if not IN_IMAGE_PATH_RE.fullmatch(value) or "/../" in f"{value}/":
        raise ctx.error(key, f"{show(value)} is not an absolute folder path in the image",
                        fix="for example \"/usr/local/dragonfly/plugins\"")
    return value


def emulator_prefix(ctx: Context, key: str, prefix: str) -> str:
    if prefix and (prefix != "/" and not IN_IMAGE_PATH_RE.fullmatch(prefix)
                   or "/../" in f"{prefix}/"):
        raise ctx.error(key, f"{show(prefix)} is not an absolute folder path",
                        fix="name the folder that holds the target's lib/ld-*.so.1, "
                            "e.g. \"/usr/aarch64-linux-gnu\"")
    return prefix


# -- matrix ------------------------------------------------------------------------------

def go_version(ctx: Context, key: str, value: str) -> str:
    if not GO_VERSION_RE.fullmatch(value):
        raise ctx.error(key, f"'{value}' is not a Go release version",
                        fix="give a full release such as \"1.26.6\"")
    return value


def combination_id(ctx: Context, key: str, value: str) -> Combination:
    combination = Combination.parse(value)
    if combination is None:
        raise ctx.error(key, f"'{value}' is not a combination identifier",
                        fix="write go<version>-<libc>-<arch>, e.g. \"go1.26.6-glibc-amd64\"")
    return combination


def excludes_once(ctx: Context, key: str, excludes: tuple[Any, ...]) -> tuple[Any, ...]:
    first: dict[Any, int] = {}
    for index, exclude in enumerate(excludes):
        if first.setdefault(exclude, index) != index:
            raise ctx.error(f"{key}[{index}]", f"repeats matrix.exclude[{first[exclude]}]",
                            fix="list each exclude once")
    return excludes


def exclude_names_something(ctx: Context, key: str, exclude: Any) -> Any:
    if (exclude.go, exclude.libc, exclude.arch) == (None, None, None):
        raise ctx.error(key, "an empty exclude would drop every combination",
                        fix="name go, libc or arch")
    return exclude


def in_matrix(name: str) -> Check:
    """An exclude's value is one of the matrix's."""
    return one_of(lambda ctx: ctx.open["matrix"][name], name, f"value in matrix.{name}")


def bounded_matrix(ctx: Context, key: str, matrix: Any) -> Any:
    sizes = (len(matrix.go), len(matrix.libc), len(matrix.arch))
    if sizes[0] * sizes[1] * sizes[2] > MAX_COMBINATIONS:
        raise ctx.error(key, f"go x libc x arch is {' x '.join(map(str, sizes))} = "
                             f"{sizes[0] * sizes[1] * sizes[2]} combinations; a matrix has at "
                             f"most {MAX_COMBINATIONS}",
                        fix="list fewer Go releases, libcs or arches")
    return matrix


def combinations_left(ctx: Context, key: str, matrix: Any) -> Any:
    if not matrix.combinations:
        raise ctx.error("matrix.exclude", "excludes every combination",
                        fix="remove an exclude so at least one combination is left")
    default = matrix.default
    if default not in matrix.combination_set:
        ids = [c.id for c in matrix.combinations[:12]]
        more = len(matrix.combinations) - len(ids)
        raise ctx.error("matrix.default", f"'{default.id}' is not in the matrix",
                        fix=f"use one of: {', '.join(ids)}" + (f" ({more} more)" if more else ""))
    return matrix


# -- programs, packages, images ----------------------------------------------------------

def compiler(ctx: Context, key: str, cc: str) -> str:
    if not cc.strip() or cc.startswith("-"):
        raise ctx.error(key, f"{show(cc)} is not a C compiler command",
                        fix="name the compiler, e.g. cc = \"gcc\" or \"musl-gcc\"")
    return cc


def main_package(ctx: Context, key: str, value: str) -> str:
    if value.startswith("-"):
        raise ctx.error(key, f"{show(value)} starts with '-', so go would read it as a flag, "
                             "not a package",
                        fix="name the main package: \"./cmd/NAME\" (relative to the host "
                            "module) or its import path")
    if not MAIN_PACKAGE_RE.fullmatch(value):
        raise ctx.error(key, f"{show(value)} is not a package path inside the host module",
                        fix="use \"./cmd/NAME\" or an import path such as "
                            "\"example.com/host/cmd/NAME\" (no '..', no absolute path)")
    return value


def binary_name(ctx: Context, key: str, value: str) -> str:
    if len(value) > MAX_NAME or not BINARY_RE.fullmatch(value):
        raise ctx.error(key, f"{show(value)} is not a plain file name",
                        fix="name the file in bin/: letters, digits, '_', '.', '+', '-', "
                            "no '/', not starting with '-' or '.'")
    return value


def argv(fields: tuple[str, ...]) -> Check:
    """An argv template: a program, then arguments, each with these placeholders."""
    def command(ctx: Context, key: str, parts: tuple[str, ...]) -> tuple[str, ...]:
        each(template(fields))(ctx, key, parts)
        if parts and (not parts[0].strip() or parts[0].startswith("-")):
            raise ctx.error(f"{key}[0]", f"{show(parts[0])} is not a program",
                            fix=f"start with the program, e.g. {key.rsplit('.', 1)[-1]} = "
                                "[\"{binary}\", \"check-plugin\", \"{plugin}\"]")
        return parts
    return command


def check_command(ctx: Context, key: str, parts: tuple[str, ...]) -> tuple[str, ...]:
    """A plugin check: names {plugin}; a relative program path ("./tools/check") is the
    project's, made absolute so the check runs the same from any folder."""
    if not argv(CHECK_FIELDS)(ctx, key, parts):
        return ()
    if not any("{plugin}" in part for part in parts):
        raise ctx.error(key, "does not name {plugin}, so it checks no plugin",
                        fix="pass the plugin, e.g. "
                            "check = [\"{binary}\", \"check-plugin\", \"{plugin}\"]")
    program = parts[0]
    placeholders = [p for _, p, _, _ in string.Formatter().parse(program) if p is not None]
    if "/" not in program or os.path.isabs(program) or placeholders:
        return parts
    literal = program.replace("{{", "{").replace("}}", "}")
    project_path(ctx, f"{key}[0]", literal)  # confined after symlinks, but run by its own
    path = str(ctx.root / literal)  # name: a multi-call binary reads its argv[0]
    return (path.replace("{", "{{").replace("}", "}}"),) + parts[1:]


def repository(per_service: bool) -> Check:
    def name(ctx: Context, key: str, value: str) -> str:
        template(("service",) if per_service else ())(ctx, key, value)
        if per_service and "{service}" not in value:
            raise ctx.error(key, f"'{value}' does not contain {{service}}",
                            fix="every service needs its own repository, e.g. "
                                "\"plugin-builder/{service}\"")
        if not REPOSITORY_RE.fullmatch(value.replace("{service}", "x")):
            raise ctx.error(key, f"'{value}' is not a Docker repository name",
                            fix="use lowercase letters, digits, '.', '_', '-' and '/', "
                                "without a tag")
        return value
    return name


def mirror_url(ctx: Context, key: str, mirror: str) -> str:
    if not mirror.startswith(("http://", "https://", "file:/")) or " " in mirror:
        raise ctx.error(key, f"'{mirror}' is not a URL",
                        fix="give a Debian mirror, e.g. \"http://deb.debian.org/debian\"")
    return mirror


def debian_suite(ctx: Context, key: str, suite: str) -> str:
    if not NAME_RE.fullmatch(suite):
        raise ctx.error(key, "is not a Debian suite name", fix="for example \"bookworm\"")
    return suite


# -- stamps and flags --------------------------------------------------------------------

def stamp(fields: tuple[str, ...], samples: Callable[[Context], Mapping[str, str]]) -> Check:
    """-X variable -> template; each renders to one word the go command can pass on."""
    def variables(ctx: Context, key: str, table: Mapping[str, str]) -> Mapping[str, str]:
        values = {**_SAMPLE_VALUES, **samples(ctx)}
        for variable, value in table.items():
            item = f"{key}.{variable}"
            if not STAMP_VARIABLE_RE.fullmatch(variable):
                raise ctx.error(item, f"{show(variable)} is not a Go variable to stamp",
                                fix="name it <import path>.<variable>, e.g. "
                                    "\"example.com/host/version.Version\" or \"main.version\"")
            template(fields)(ctx, item, value)
            linker_word(ctx, item, f"-X={variable}={value.format(**values)}")
        return table
    return variables


host_stamp = stamp(STAMP_FIELDS, lambda ctx: {"version": ctx.open["host"]["version"]})
plugin_stamp = stamp(PLUGIN_STAMP_FIELDS, lambda ctx: {
    "version": ctx.open[""]["host"].version, **ctx.open["plugins[]"]})


def binaries_apart(ctx: Context, key: str, services: Mapping[str, Any]) -> Mapping[str, Any]:
    owners: dict[str, str] = {}
    for name, service in services.items():
        owner = owners.setdefault(service.binary, name)
        if owner != name:
            raise ctx.error(f"{key}.{name}.binary", f"'{service.binary}' is also the binary of "
                                                    f"service {owner}: one would overwrite the "
                                                    "other in bin/",
                            fix=f"give one of them another binary, e.g. binary = \"{name}\"")
    return services
