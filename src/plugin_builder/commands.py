"""The commands users type, independent of the front end that parses their flags.

tasks.py (invoke) and noxfile.py only translate flags into these calls. Errors the user
can act on end here as one message and an exit code, never a traceback.
"""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any

from plugin_builder import catalogue, cimatrix, results, selection
from plugin_builder import config as config_module
from plugin_builder import console as console_module
from plugin_builder.artifacts import ArtifactStore
from plugin_builder.config import Config, PluginType
from plugin_builder.console import Console
from plugin_builder.errors import PipelineError, PluginBuilderError, UsageError, VerifyError
from plugin_builder.pipeline import CombinationResult, Session
from plugin_builder.steps.verify import Pair, combination_pairs, record, verify_pairs
from plugin_builder.verify import Contract, PluginResult, print_report, to_json
from plugin_builder.verify.report import FAIL


@contextmanager
def guard() -> Iterator[None]:
    """Turn a PluginBuilderError into its message on stderr and its exit code."""
    try:
        yield
        console_module.close_all()
    except PluginBuilderError as error:
        console_module.close_all()
        print(f"error: {error}\n  see: {catalogue.see(type(error))}", file=sys.stderr)
        raise SystemExit(error.return_code) from None
    except KeyboardInterrupt:
        console_module.close_all()
        print("interrupted: nothing half-written was kept", file=sys.stderr)
        raise SystemExit(130) from None


def load(config_path: str) -> Config:
    return config_module.load(config_path)


def build_host(config_path: str, *, go: str | None = None, libc: str | None = None,
               arch: str | None = None,
               every: bool = False, backend: str | None = None,
               verbose: bool = False) -> list[CombinationResult]:
    config = load(config_path)
    session = Session(config, Console(verbose=verbose), backend)
    outcomes = []
    for combination in selection.combinations(config, go=go, libc=libc, arch=arch, every=every):
        result = CombinationResult(combination)
        session.build_host(combination, result)
        outcomes.append(result)
    return outcomes


def build_plugin(config_path: str, *, type_: str | None = None, name: str | None = None,
                 go: str | None = None, libc: str | None = None,
                 arch: str | None = None, every: bool = False,
                 backend: str | None = None, verbose: bool = False) -> list[CombinationResult]:
    config = load(config_path)
    targets = selection.plugins(config, type_=type_, name=name)
    combinations = selection.combinations(config, go=go, libc=libc, arch=arch, every=every)
    session = Session(config, Console(verbose=verbose), backend)
    outcomes = []
    for combination in combinations:
        result = CombinationResult(combination)
        session.build_plugins(combination, targets, result)
        outcomes.append(result)
    return outcomes


def pipeline(config_path: str, *, go: str | None = None, libc: str | None = None,
             arch: str | None = None,
             every: bool = False, backend: str | None = None,
             verbose: bool = False) -> list[CombinationResult]:
    """Build and verify each combination (one failing does not stop the others); write
    results/<combination>.{json,xml}; fail when any combination failed."""
    config = load(config_path)
    combinations = selection.combinations(config, go=go, libc=libc, arch=arch, every=every)
    session = Session(config, Console(verbose=verbose), backend)
    outcomes = []
    for combination in combinations:
        result = session.pipeline(combination)
        results.write(config.results, results.to_record(
            result, ArtifactStore(config.artifacts, combination)))
        outcomes.append(result)
    session.console.close()
    results.print_summary(config.results, only=[c.id for c in combinations])
    failed = [r for r in outcomes if not r.passed]
    if failed:
        print_report([p for r in failed for p in r.verify if p.verdict == FAIL])
        raise PipelineError(
            "pipeline failed for " + ", ".join(r.combination.id for r in failed) + ":\n"
            + "\n".join(f"  {r.combination.id}: {r.error}" for r in failed),
            fix="apply the fix each message names, then run the pipeline again")
    return outcomes


def report(config_path: str, *, only: list[str] | None = None,
           as_json: bool = False) -> list[results.Summary]:
    """The summary table of every combination's last pipeline run (results/*.json)."""
    config = load(config_path)
    if as_json:
        summaries = results.read_all(config.results, only)
        if summaries:
            print(json.dumps([{**asdict(s), "seconds": round(s.seconds, 3)}
                              for s in summaries], indent=2))
    else:
        summaries = results.print_summary(config.results, only=only)
    if not summaries:
        raise UsageError(f"no pipeline results in {config.results}",
                         fix="run invoke pipeline or nox first")
    return summaries


def ci_matrix(config_path: str) -> dict:
    """The GitHub Actions matrix: one job per pipeline session that nox lists."""
    config = load(config_path)
    matrix = cimatrix.github_matrix(cimatrix.nox_sessions(config.root))
    print(json.dumps(matrix, separators=(",", ":")))
    return matrix


def verify(config_path: str, *, go: str | None = None, libc: str | None = None,
           arch: str | None = None,
           every: bool = False, host: str | None = None, plugins: list[str] | None = None,
           type_: str | None = None, host_check: bool = False, as_json: bool = False,
           live: bool = True, verbose: bool = False) -> list[PluginResult]:
    """Verify a combination's artifacts, or any --host with --plugin binaries."""
    config = load(config_path)
    console = Console(verbose=verbose)
    if host or plugins:
        pairs = explicit_pairs(config, host, plugins or [], type_, host_check)
        verdicts = verify_pairs(config, pairs, console.line, live=live)
    else:
        verdicts = []
        for combination in selection.combinations(config, go=go, libc=libc, arch=arch, every=every):
            build_missing(config, combination, console)
            # An explicit `invoke verify` always checks again; only pipeline reuses proofs.
            pairs = combination_pairs(config, combination)
            found = verify_pairs(config, pairs, console.for_prefix(combination.id), live=live)
            if live:
                record(config, combination, pairs, found)
            verdicts += found
    console.close()
    if as_json:
        print(to_json(verdicts))
    else:
        print_report(verdicts)
    failures = [r for r in verdicts if r.verdict == FAIL]
    if failures:
        raise VerifyError(f"{len(failures)} of {len(verdicts)} plugins would not load",
                          fix="apply the fix each finding names")
    return verdicts


def build_missing(config: Config, combination, console: Console) -> None:
    """Build the host binaries and plugins of a combination that were never built, so
    `invoke verify` right after `invoke build-plugin` (or on a fresh clone) proves them."""
    from plugin_builder.steps.host import binary_path
    from plugin_builder.steps.plugin import plugin_path

    store = ArtifactStore(config.artifacts, combination)
    services = [s for s in config.host.services.values()
                if not store.path(binary_path(s)).is_file()]
    targets = [t for t in config.plugins if not store.path(plugin_path(config, t)).is_file()]
    if not services and not targets:
        return
    console.line("not built yet, building first: "
                 + ", ".join([s.name for s in services] + [t.id for t in targets]),
                 prefix=combination.id)
    session, result = Session(config, console), CombinationResult(combination)
    if services:
        session.build_host(combination, result)
    if targets:
        session.build_plugins(combination, targets, result)


def doctor(config_path: str, *, backend: str | None = None, as_json: bool = False) -> list:
    """Check this machine against the configured matrix; fail when something is missing."""
    from plugin_builder.backends import backend_name
    from plugin_builder.doctor import diagnose

    config = load(config_path)
    return diagnose(config, backend_name(config, backend), as_json=as_json)


def new_plugin(config_path: str, *, type_: str, name: str) -> Path:
    """Scaffold plugins/<type>/<name> from the type's template and register the target."""
    from plugin_builder.scaffold import new_plugin as scaffold

    folder = scaffold(config_path, type_, name)
    print(f"created {folder}")
    print(f"registered [[plugins]] {type_}/{name} in {Path(config_path).name}")
    print(f"next: invoke build-plugin --type {type_} --name {name} && invoke verify")
    return folder


def explicit_pairs(config: Config, host: str | None, plugins: list[str], type_: str | None,
                   host_check: bool) -> list[Pair]:
    """Pairs for binaries named on the command line, built by this tool or not."""
    if not host or not plugins:
        raise UsageError("--host and --plugin go together",
                         fix="invoke verify --host PATH --plugin PATH [--plugin PATH ...]")
    pairs = []
    for plugin in plugins:
        plugin_type = _plugin_type_of(config, Path(plugin), type_)
        symbols = plugin_type.symbols if plugin_type else ()
        check: tuple[str, ...] = ()
        if host_check and plugin_type:
            check = config.host.services[plugin_type.service].check
        for path in (host, plugin):
            if not Path(path).is_file():
                raise UsageError(f"{path}: no such file", fix="give the path of a built binary")
        pairs.append(Pair(Path(host).absolute(), Path(plugin).absolute(),
                          Contract(plugin_type.name if plugin_type else "plugin", symbols),
                          _name_from_file(plugin_type, Path(plugin)), check))
    return pairs


def _plugin_type_of(config: Config, plugin: Path, type_: str | None) -> PluginType | None:
    """--type, else the type whose file pattern the plugin's file name matches, else None."""
    if type_ is not None:
        return selection.plugin_type(config, type_)
    for plugin_type in config.plugin_types.values():
        if _name_from_file(plugin_type, plugin) is not None:
            return plugin_type
    return None


def _name_from_file(plugin_type: PluginType | None, plugin: Path) -> str | None:
    if plugin_type is None:
        return None
    head, _, tail = plugin_type.file.format(type=plugin_type.name, name="\0").partition("\0")
    name = plugin.name
    if name.startswith(head) and name.endswith(tail) and len(name) > len(head) + len(tail):
        return name[len(head):len(name) - len(tail)]
    return None


def list_targets(config_path: str, *, as_json: bool = False) -> None:
    config = load(config_path)
    listing: dict[str, Any] = {
        "default": config.matrix.default.id,
        "combinations": [c.id for c in config.matrix.combinations],
        "services": {name: s.binary for name, s in config.host.services.items()},
        "plugins": [
            {"type": p.type, "name": p.name, "source": str(p.source.relative_to(config.root))
             if p.source.is_relative_to(config.root) else str(p.source),
             "file": config.plugin_types[p.type].file_name(p.name)}
            for p in config.plugins
        ],
    }
    if as_json:
        print(json.dumps(listing, indent=2))
        return
    print("combinations (default marked *):")
    for identifier in listing["combinations"]:
        print(f"  {'*' if identifier == listing['default'] else ' '} {identifier}")
    print("plugin targets:")
    for plugin in listing["plugins"]:
        print(f"    {plugin['type']:<10} {plugin['name']:<16} {plugin['source']}"
              f" -> {plugin['file']}")


def clean(config_path: str, *, go: str | None = None, libc: str | None = None) -> list[Path]:
    """Remove one combination's artifacts (--go/--libc) or all of them."""
    config = load(config_path)
    if go or libc:
        folders = [config.artifact_dir(c)
                   for c in selection.combinations(config, go=go, libc=libc, every=True)]
    else:
        folders = [config.artifacts]
    for folder in folders:
        shutil.rmtree(folder, ignore_errors=True)
        print(f"removed {folder}")
    return folders


# -- docker: base images, builder images, service images, image verification ----------


def bootstrap_base(config_path: str, *, force: bool = False) -> list[str]:
    """Make the base images the default config names, without a registry."""
    from plugin_builder import dockerengine
    from plugin_builder.steps.base_images import bootstrap_base as make_bases

    config = load(config_path)
    console = Console()
    made = make_bases(config, dockerengine.connect(), console.for_prefix("bootstrap-base"),
                      force=force)
    return [image.tag for image in made]


def build_builder_image(config_path: str, *, go: str | None = None, libc: str | None = None,
                        every: bool = False, force: bool = False) -> list[str]:
    """Build (or find up to date) the builder image of each selected combination."""
    from plugin_builder import dockerengine
    from plugin_builder.steps.builder_image import ensure_builder_image

    config = load(config_path)
    console = Console()
    client = dockerengine.connect()
    tags = []
    for combination in selection.combinations(config, go=go, libc=libc, every=every):
        ensure_builder_image(config, client, combination, console.for_prefix(combination.id),
                             force=force)
        tags.append(config.docker.builder_tag(combination))
    return tags


def build_service_image(config_path: str, *, services: list[str] | None = None,
                        go: str | None = None, libc: str | None = None, every: bool = False,
                        backend: str | None = None, verbose: bool = False) -> list[str]:
    """Build host and plugins where not up to date, then each service's runtime image."""
    from plugin_builder import dockerengine
    from plugin_builder.steps.service_image import build_service_image as build_image

    config = load(config_path)
    chosen = _services(config, services)
    combinations = selection.combinations(config, go=go, libc=libc, every=every)
    session = Session(config, Console(verbose=verbose), backend)
    client = dockerengine.connect()
    tags = []
    for combination in combinations:
        for service in chosen:
            tags.append(build_image(config, session, client, combination, service))
    return tags


def _services(config: Config, names: list[str] | None) -> list[str]:
    """--service values (every service without one), each checked against the config."""
    from plugin_builder.config import did_you_mean
    from plugin_builder.errors import UsageError

    for name in names or ():
        if name not in config.host.services:
            hint = did_you_mean(name, config.host.services)
            raise UsageError(f"--service {name}: no such service in {config.path.name}",
                             fix=(hint + " " if hint else "") + "the services are: "
                                 + ", ".join(config.host.services))
    return list(names or config.host.services)


def verify_image(images: list[str], *, as_json: bool = False) -> list[dict]:
    """Run each service image, prove every plugin it ships loaded, remove the container."""
    from plugin_builder import dockerengine
    from plugin_builder.errors import VerifyError
    from plugin_builder.verify.image import verify_image as check_image

    if not images:
        from plugin_builder.errors import UsageError

        raise UsageError("no image to verify", fix="pass --image TAG (repeatable)")
    client = dockerengine.connect()
    console = Console()
    reports = [check_image(client, tag, console.for_prefix(tag.rsplit("/", 1)[-1]))
               for tag in images]
    if as_json:
        print(json.dumps([report.to_dict() for report in reports], indent=2))
    else:
        for report in reports:
            print(report.summary())
    failed = [report.image for report in reports if not report.ok]
    if failed:
        raise VerifyError(f"{len(failed)} image(s) failed verification: {', '.join(failed)}",
                          fix="read the container log above; rebuild with "
                              "`invoke build-service-image` after fixing the plugin")
    return [report.to_dict() for report in reports]
