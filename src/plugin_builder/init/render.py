"""What `plugin-builder init` writes, rendered from a plan: pure, nothing is written here.

:func:`project` returns every file's text and the template folders to copy;
:func:`config` is buildconfig.toml: valid, with each key init sets and, in the preset's
"explained" style, every key of the config model explained where it stands, the keys
init has no value for with their example commented out ("short": only what init sets, in generic
words). The explanations come from the config model (``plugin_builder.config.key_docs``,
which also makes docs/configuration.md's table), read by :func:`key_docs` alone, so the
generated file and the reference cannot disagree.
"""

from __future__ import annotations

import json
import os
import re
import textwrap
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from plugin_builder import __version__
from plugin_builder import config as config_model
from plugin_builder.config import CONFIG_NAME, SCHEMA, KeyDoc
from plugin_builder.config.schema import SCHEMA_FILE
from plugin_builder.init import workflow
from plugin_builder.init.options import LIBCS
from plugin_builder.init.planning import Plan, Service
from plugin_builder.init.presets import TypeRule

# The top-level tables config() writes (any other of the config model's is shown
# commented out, so every key is explained even before init learns to fill it in).
RENDERED = ("project", "matrix", "libc", "host", "plugin_types", "plugins", "docker")

TASKS_PY = '''"""invoke tasks of this project: plugin-builder's own task collection, over the
buildconfig.toml in this folder ($PLUGIN_BUILDER_CONFIG names another).

    invoke --list
    invoke build-plugin --type TYPE        invoke verify        invoke pipeline --all
"""

from plugin_builder.tasks import ns  # noqa: F401  (invoke finds the collection by name)
'''

NOXFILE_PY = '''"""nox sessions of this project: plugin-builder's pipeline sessions, one per
combination of the buildconfig.toml in this folder ($PLUGIN_BUILDER_CONFIG names another).

    nox -j auto                      every combination in parallel, then a summary
    nox -l --json                    the sessions, for a CI matrix
"""

import nox

from plugin_builder import noxsessions

# Read by nox from this file's source before it imports it: the first release with -j.
nox.needs_version = ">=2026.08.10"
noxsessions.register()
'''

GITIGNORE = "# what plugin-builder runs produce\n/artifacts/\n/results/\n.nox/\n"


@dataclass(frozen=True)
class Rendered:
    files: dict[str, str]  # relative path -> text
    templates: dict[str, Path]  # folder in the project -> the preset's template folder


def project(plan: Plan) -> Rendered:
    """Every file init writes into the project folder, and the templates it copies."""
    files = {CONFIG_NAME: config(plan), "tasks.py": TASKS_PY, "noxfile.py": NOXFILE_PY,
             ".gitignore": GITIGNORE}
    if plan.preset.plugins_json:
        files[plan.preset.plugins_json] = plugins_json(plan)
    if plan.options.ci == "github":
        files[workflow.PATH] = workflow.render()
    templates = {}
    for rule, _ in plan.types:
        folder = plan.preset.template_folder(rule)
        if folder is not None:
            templates[f"templates/{rule.template}"] = folder
    return Rendered(files, templates)


def plugins_json(plan: Plan) -> str:
    """The plugins section of the host's JSON config: each target where images put it."""
    rules = {rule.name: rule for rule, _ in plan.types}
    plugins = [{"enabled": True, "name": t.name,
                "path": f"{plan.preset.plugin_dir}/{rules[t.type].file.format(type=t.type, name=t.name)}",  # noqa: E501
                "config": {}} for t in plan.targets]
    return json.dumps({"plugins": plugins}, indent=2) + "\n"


# -- buildconfig.toml -----------------------------------------------------------------------


def config(plan: Plan) -> str:
    doc = Document(short=plan.preset.style == "short")
    _header(doc, plan)
    _project(doc, plan)
    _matrix(doc, plan)
    _libcs(doc)
    _docker(doc)
    _host(doc, plan)
    _types(doc, plan)
    _targets(doc, plan)
    if not doc.short:
        for name in SCHEMA[""]:  # a table the config model has and init does not fill in
            if name not in RENDERED:
                doc.section(f"# [{name}]", f"[{name}]: none of its keys is set.")
                doc.rest(name, name)
    return doc.text()


def schema_directive(folder: Path) -> str:
    """The line editors (taplo, Even Better TOML) read the config's JSON Schema from: the
    schema installed with the tool, by a path relative to the config when the tool is
    installed inside the project (a .venv), else by its file:// URI."""
    schema = SCHEMA_FILE.resolve()
    folder = folder.resolve()
    if schema.is_relative_to(folder):
        return f"#:schema ./{schema.relative_to(folder).as_posix()}"
    return f"#:schema {schema.as_uri()}"


def _header(doc: Document, plan: Plan) -> None:
    preset, module = plan.preset, plan.facts.gomod.module
    doc.lines.append(schema_directive(plan.folder))
    about = ("Every key is explained where it stands: the keys init fills in are set, the "
             "others show an example commented out. The full reference is "
             "docs/configuration.md of plugin-builder "
             "(`plugin-builder docs` prints where it is installed).") if not doc.short else (
             "Only the keys init fills in are here; every other key, with its default and an "
             "example, is in docs/configuration.md of plugin-builder (`plugin-builder docs` "
             "prints where it is installed).")
    doc.comment(f"buildconfig.toml of this project, written by `plugin-builder init "
                f"--preset {preset.name}` ({__version__}) for the host module {module}.\n"
                f"{preset.summary}.\n{about}\nRelative paths are relative to this file.")


def _project(doc: Document, plan: Plan) -> None:
    if doc.short and not plan.allow_outside:
        return
    doc.section("[project]")
    doc.default("project.artifacts", "artifacts", "artifacts")
    doc.default("project.results", "results", "results")
    doc.default("project.backend", "backend", "local")
    if plan.allow_outside:
        doc.set("project.allow_outside_paths", "allow_outside_paths", True,
                "the host (or a plugin) lives outside this folder")
    doc.rest("project", "project")


def _matrix(doc: Document, plan: Plan) -> None:
    doc.section("[matrix]", "The build matrix: every Go release x libc x arch, less the "
                            "excludes. A plugin loads only into a host built by the same "
                            "release and libc, so each combination is built and verified.")
    doc.set("matrix.go", "go", list(plan.go), f"from {plan.go_reason}")
    doc.set("matrix.libc", "libc", list(plan.libcs),
            None if "musl" in plan.libcs else "add \"musl\" for Alpine-style images")
    doc.set("matrix.arch", "arch", list(plan.arches))
    doc.explain("matrix.exclude[].go")
    doc.default("matrix.exclude", "exclude", [], 'e.g. [{ go = "1.27.3", libc = "musl" }]')
    doc.rest("matrix.exclude[]", "matrix.exclude[]")
    default = f"go{plan.go[0]}-{plan.libcs[0]}-{plan.arches[0]}"
    doc.set("matrix.default", "default", default)


def _libcs(doc: Document) -> None:
    for name, (cc, package, builder, runtime) in LIBCS.items():
        about = ("The C compiler of each libc, and the base images of builder and service "
                 "images: these are the ones `invoke bootstrap-base` makes without a "
                 "registry; with one, name pulled images instead (golang:1.26-bookworm, "
                 "alpine:3.23, debian:bookworm-slim).") if name == "glibc" else None
        doc.section(f"[libc.{name}]", about)
        doc.set("libc.<name>.cc", "cc", cc)
        doc.set("libc.<name>.cc_package", "cc_package", package)
        doc.set("libc.<name>.builder_base", "builder_base", builder)
        doc.set("libc.<name>.runtime_base", "runtime_base", runtime)
        doc.rest("libc.<name>", "libc.<name>")


def _docker(doc: Document) -> None:
    if doc.short:
        return
    doc.section("[docker]", "Image names, and what `invoke bootstrap-base` debootstraps.")
    doc.set("docker.builder_repository", "builder_repository", "plugin-builder/builder")
    doc.set("docker.service_repository", "service_repository", "plugin-builder/{service}")
    doc.set("docker.bootstrap_suite", "bootstrap_suite", "bookworm")
    doc.set("docker.bootstrap_mirror", "bootstrap_mirror", "http://deb.debian.org/debian")
    doc.rest("docker", "docker")


def _host(doc: Document, plan: Plan) -> None:
    facts = plan.facts
    doc.section("[host]", f"The host: {facts.gomod.module}. Plugins are built with exactly "
                          "its settings (-trimpath, tags, gcflags, CGO_ENABLED=1), never their "
                          "own, in a generated go.work: its files are never edited.")
    doc.set("host.module", "module", _relative(facts.folder, plan.folder))
    doc.set("host.version", "version", plan.version, plan.version_reason)
    doc.default("host.trimpath", "trimpath", True)
    if plan.tags:
        doc.set("host.tags", "tags", list(plan.tags), "without them no service loads plugins")
    else:
        doc.default("host.tags", "tags", [])
    doc.default("host.ldflags", "ldflags", [])
    doc.set("host.plugin_dir", "plugin_dir", plan.preset.plugin_dir)
    if facts.workspace is not None:
        where = _relative(facts.workspace, plan.folder)
        doc.explain("host.workspace")
        doc.comment(f"found {where}, which uses the host module: set workspace to build "
                    "through it, as `go build` in that folder does")
        doc.lines.append(f"# workspace = {value(where)}")
    doc.rest("host", "host", skip=("stamp", "services"))
    _stamps(doc, plan)
    for service in plan.services:
        _service(doc, service)


def _stamps(doc: Document, plan: Plan) -> None:
    if doc.short and not plan.facts.stamps:
        return
    doc.section("[host.stamp]", "-ldflags -X variable = value of every service.")
    doc.explain("host.stamp.<go variable>")
    if plan.facts.stamps:
        for variable, template in plan.facts.stamps:
            doc.lines.append(f"{key(variable)} = {value(template)}")
    else:
        doc.comment('"example.com/host/version.Version" = "{version}"')


def _service(doc: Document, service: Service) -> None:
    doc.section(f"[host.services.{service.name}]", f"{service.main} ({service.found})")
    doc.set("host.services.<name>.main", "main", service.main)
    if service.binary:
        doc.set("host.services.<name>.binary", "binary", service.binary)
    if service.check:
        doc.set("host.services.<name>.check", "check", list(service.check),
                "the host's own plugin check")
    if service.healthcheck:
        doc.set("host.services.<name>.healthcheck", "healthcheck", list(service.healthcheck))
    if not service.check and "host.services.<name>.check" not in doc.explained:
        doc.unset("host.services.<name>.check")
        doc.comment("(no check command found: verify loads each plugin with a stand-in "
                    "loader built like the host, asserting each symbol's declared type)")
    doc.rest("host.services.<name>", "host.services.<name>")


def _types(doc: Document, plan: Plan) -> None:
    for rule, service in plan.types:
        doc.section(f"[plugin_types.{rule.name}]", rule.about)
        doc.set("plugin_types.<type>.service", "service", service)
        doc.set("plugin_types.<type>.file", "file", rule.file)
        if rule.entry_symbol:
            doc.set("plugin_types.<type>.entry_symbol", "entry_symbol", rule.entry_symbol)
        if rule.symbols:
            doc.set("plugin_types.<type>.symbols", "symbols", rule.symbols)
        elif rule.example_symbols:
            doc.explain("plugin_types.<type>.symbols")
            doc.comment("what the template's plugin exports: name those your host looks up")
            doc.lines.append(f"# symbols = {value(rule.example_symbols)}")
        if rule.presence:
            doc.set("plugin_types.<type>.required_symbols", "required_symbols",
                    list(rule.presence))
        if rule.hooks:
            doc.set("plugin_types.<type>.optional_symbols", "optional_symbols", rule.hooks)
        _unasserted(doc, rule)
        if rule.imports:
            doc.set("plugin_types.<type>.imports", "imports", list(rule.imports),
                    "the host's own packages too: verify builds its loader in the host's "
                    "module graph")
        if rule.check:
            doc.set("plugin_types.<type>.check", "check", list(rule.check))
        if rule.names:
            doc.set("plugin_types.<type>.names", "names", list(rule.names))
        if rule.name_pattern:
            doc.set("plugin_types.<type>.name_pattern", "name_pattern", rule.name_pattern)
        if rule.name_contains:
            doc.set("plugin_types.<type>.name_contains", "name_contains", rule.name_contains)
        template = (f"templates/{rule.template}" if rule.template
                    else rule.packaged_template)
        if template:
            where = "in this folder" if rule.template else "packaged with the tool"
            doc.set("plugin_types.<type>.template", "template", template,
                    f"what `invoke new-plugin` renders ({where})")
        doc.rest("plugin_types.<type>", "plugin_types.<type>",
                 skip=("call",) if rule.call else ())
        if rule.call:
            _call(doc, rule)


def _unasserted(doc: Document, rule: TypeRule) -> None:
    if not rule.unasserted:
        return
    doc.comment(f"The host's build list has no {', '.join(rule.missing_imports)}, which the "
                f"{rule.name} contract's types name, so they are not declared (verify's "
                "loader compiles every declared type in the host's module graph); "
                "required symbols are still looked up. With the real host's module:")
    for symbol, go_type in rule.unasserted.items():
        doc.lines.append(f"#   {symbol} = {value(go_type)}")


def _call(doc: Document, rule: TypeRule) -> None:
    """The function the host calls and what it checks of the results, as a table."""
    doc.section(f"[plugin_types.{rule.name}.call]", "What the host does with the entry "
                "symbol: it calls it with these arguments and checks what it returns; "
                "verify's stand-in loader does the same.")
    for name, item in rule.call.items():
        if name == "returns":
            for row in ("implements", "is_nil", "has"):
                doc.explain(f"plugin_types.<type>.call.returns[].{row}")
        doc.set(f"plugin_types.<type>.call.{name}", name, item)
    doc.rest("plugin_types.<type>.call", "plugin_types.<type>.call")


def _targets(doc: Document, plan: Plan) -> None:
    doc.blank()
    doc.comment(_plugin_modules(plan))
    if not plan.targets:
        doc.blank()
        doc.comment("The plugin targets: none was found. Add one per plugin folder, or let "
                    "`invoke new-plugin --type TYPE --name NAME` scaffold and register one:")
        doc.lines.append("# [[plugins]]")
        if doc.short:
            kind = plan.types[0][0].name
            doc.lines += [f"# type = {value(kind)}", '# name = "hello"',
                          f"# source = {value(f'plugins/{kind}/hello')}"]
        doc.rest("plugins[]", "plugins[]")
        return
    for index, target in enumerate(plan.targets):
        where = "in the host module (built as its package)" if target.in_tree \
            else "its own Go module"
        doc.section("[[plugins]]", "The plugin targets, found in the host's tree and beside "
                                   "it." if index == 0 else None)
        doc.set("plugins[].type", "type", target.type)
        doc.set("plugins[].name", "name", target.name)
        doc.set("plugins[].source", "source", target.source, where)
        doc.rest("plugins[]", "plugins[]")


def _plugin_modules(plan: Plan) -> str:
    """What a plugin's go.mod must say, for this host."""
    module = plan.facts.gomod.module
    return ("A plugin is a `package main` folder: in the host module (built as one of its "
            "packages), or a Go module of its own, whose go.mod requires the host module to "
            "import its packages:\n"
            f"    require {module} {plan.host_label}\n"
            "That version is never downloaded: plugin-builder builds each plugin in a "
            "go.work where the host's folder stands for it, and every module both use comes "
            "at the host's version (a plugin requiring a newer one is refused).")


def _relative(path: Path, folder: Path) -> str:
    relative = os.path.relpath(path.absolute(), folder)
    return "." if relative == "." else relative


# -- the document: TOML lines and the key documentation -------------------------------------


WIDTH = 92
_BARE_KEY = re.compile(r"\A[A-Za-z0-9_-]+\Z")


@cache
def key_docs() -> dict[str, KeyDoc]:
    """The config model's documented keys: row ("host.services.<name>.main") -> its doc."""
    return {doc.row: doc for doc in config_model.key_docs()}


def value(item: object) -> str:
    """A Python value as TOML: strings, booleans, arrays and inline tables of them."""
    if isinstance(item, bool):
        return "true" if item else "false"
    if isinstance(item, str):
        return json.dumps(item, ensure_ascii=False)
    if isinstance(item, (list, tuple)):
        return "[" + ", ".join(value(i) for i in item) + "]"
    if isinstance(item, Mapping):
        if not item:
            return "{}"
        return "{ " + ", ".join(f"{key(k)} = {value(v)}" for k, v in item.items()) + " }"
    raise TypeError(f"no TOML for {item!r}")


def key(name: str) -> str:
    return name if _BARE_KEY.fullmatch(name) else json.dumps(name, ensure_ascii=False)


class Document:
    """The file, section by section; knows which keys it has explained already.

    ``short``: no key is explained, and keys at their default (:meth:`default`, and the
    rest of each table, :meth:`rest`) are left out rather than shown."""

    def __init__(self, *, short: bool = False) -> None:
        self.lines: list[str] = []
        self.explained: set[str] = set()
        self.short = short

    def text(self) -> str:
        while self.lines and not self.lines[-1]:
            self.lines.pop()
        return "\n".join(self.lines) + "\n"

    def comment(self, text: str, indent: str = "") -> None:
        for paragraph in text.split("\n"):
            wrapped = textwrap.wrap(paragraph, WIDTH - len(indent) - 2,
                                    break_on_hyphens=False, break_long_words=False) or [""]
            self.lines.extend(f"{indent}# {line}".rstrip() for line in wrapped)

    def blank(self) -> None:
        if self.lines and self.lines[-1]:
            self.lines.append("")

    def section(self, header: str, about: str | None = None) -> None:
        self.blank()
        if about:
            self.comment(about)
        self.lines.append(header)

    def explain(self, row: str) -> None:
        """The doc of a key, once per file."""
        if row in self.explained:
            return
        self.explained.add(row)
        doc = key_docs().get(row)
        if doc is not None and not self.short:
            default = "required" if doc.default == "required" \
                else f"default {_unquote(doc.default)}"
            self.comment(f"{row} ({doc.kind}, {default}): {_unquote(doc.meaning)}")

    def set(self, row: str, name: str, item: object, note: str | None = None) -> None:
        self.explain(row)
        line = f"{key(name)} = {value(item)}"
        self.lines.append(f"{line}  # {note}" if note else line)

    def default(self, row: str, name: str, item: object, note: str | None = None) -> None:
        """A key whose value is the model's default: spelled out, unless ``short``."""
        if not self.short:
            self.set(row, name, item, note)

    def unset(self, row: str) -> None:
        """A key left at its default: its doc, and its example commented out."""
        if row in self.explained:
            return
        self.explain(row)
        doc = key_docs().get(row)
        if doc is not None and doc.example and not self.short:
            self.lines.append(f"# {doc.example}")

    def rest(self, section: str, prefix: str, skip: tuple[str, ...] = ()) -> None:
        """Every key of a SCHEMA section not shown yet, as a commented example (keys in
        ``skip`` are tables the caller writes as sections of their own)."""
        if self.short:
            return
        for name in SCHEMA.get(section, ()):
            if name in skip:
                continue
            row = f"{prefix}.{name}" if prefix else name
            if any(r == row or r.startswith((f"{row}.", f"{row}[].")) for r in self.explained):
                continue
            rows = [r for r in key_docs() if r == row or r.startswith((f"{row}.", f"{row}[]."))]
            for found in rows or [row]:
                self.unset(found)


def _unquote(text: str) -> str:
    return text.replace("`", "")


def documented_rows() -> Iterable[str]:
    return key_docs().keys()
