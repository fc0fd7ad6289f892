"""The commands users type, independent of the front end that parses their flags.

Each command orchestrates steps for the combinations it was given and returns data;
it prints nothing a person reads (the front ends in :mod:`plugin_builder.tasks` and the
noxfile do, through :mod:`plugin_builder.console`). Errors the user can act on are
raised as :mod:`plugin_builder.errors` classes; the front end turns them into one
message and an exit code.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from plugin_builder import cimatrix, results
from plugin_builder import config as config_module
from plugin_builder.artifacts import MARKER, ArtifactStore
from plugin_builder.backends import Backend, backend_for
from plugin_builder.combination import Combination
from plugin_builder.config import Config, PluginTarget
from plugin_builder.console import Console
from plugin_builder.errors import PipelineError, UsageError, VerifyError
from plugin_builder.files import sha256_file
from plugin_builder.selection import Choice, plugins_selected, services_named
from plugin_builder.status import Verdict
from plugin_builder.steps import host as host_step
from plugin_builder.steps import plugin as plugin_step
from plugin_builder.steps import verify as verify_step
from plugin_builder.steps.gobuild import Outcome
from plugin_builder.verify import PluginResult
from plugin_builder.verify.pairs import explicit_pairs

if TYPE_CHECKING:
    from plugin_builder.pipeline import CombinationResult


def load(config_path: str | Path) -> Config:
    return config_module.load(config_path)


@dataclass
class Context:
    """What every command that builds works with: the config, its backend, the console."""

    config: Config
    backend: Backend
    console: Console

    @classmethod
    def open(cls, config_path: str | Path, backend: str | None = None,
             verbose: bool = False) -> Context:
        config = load(config_path)
        return cls(config, backend_for(config, backend), Console(verbose=verbose))

    def combinations(self, choice: Choice | Combination) -> list[Combination]:
        return Choice.of(choice).resolve(self.config)


# -- building ---------------------------------------------------------------------------


def build_host(context: Context, choice: Choice | Combination) -> list[CombinationResult]:
    return [_build(context, combination, plugins=()) for combination in
            context.combinations(choice)]


def build_plugin(context: Context, choice: Choice | Combination, *, type_: str | None = None,
                 name: str | None = None) -> list[CombinationResult]:
    targets = plugins_selected(context.config, type_=type_, name=name)
    return [_build(context, combination, plugins=targets, host=False)
            for combination in context.combinations(choice)]


def _build(context: Context, combination: Combination, *, plugins: Sequence[PluginTarget],
           host: bool = True) -> CombinationResult:
    """The build steps of the pipeline alone, in its order, for one combination."""
    from plugin_builder.pipeline import Run  # see pipeline()

    config, backend = context.config, context.backend
    log = context.console.for_prefix(combination.id)
    run, store = Run(combination), ArtifactStore(config.artifacts, combination)
    environment = run.step(backend.prepare_step, lambda: backend.prepare(combination, log))
    if host:
        run.step("host", lambda: host_step.build_host(config, environment, store, log))
    if plugins:
        run.step("plugins", lambda: plugin_step.build_plugins(config, environment, store,
                                                              plugins, log))
    return run.result


def pipeline(context: Context, choice: Choice | Combination) -> list[CombinationResult]:
    """Build and verify each combination (one failing does not stop the others); write
    results/<combination>.{json,xml}."""
    # The pipeline brings every step (images, the docker engine client) with it: it is
    # imported by the commands that run steps, not by verify, report or clean.
    from plugin_builder.pipeline import run_pipeline

    outcomes = []
    for combination in context.combinations(choice):
        result = run_pipeline(context.config, combination, context.backend,
                              context.console.for_prefix(combination.id))
        results.write(context.config.results, results.to_record(result))
        outcomes.append(result)
    return outcomes


def require_passed(outcomes: Sequence[CombinationResult]) -> None:
    failed = [r for r in outcomes if not r.passed]
    if failed:
        raise PipelineError(
            "pipeline failed for " + ", ".join(r.combination.id for r in failed) + ":\n"
            + "\n".join(f"  {r.combination.id}: {r.error}" for r in failed),
            fix="apply the fix each message names, then run the pipeline again")


# -- verify -----------------------------------------------------------------------------


def verify(context: Context, choice: Choice | Combination, *, live: bool = True,
           ) -> list[PluginResult]:
    """Verify a combination's artifacts; build first what was never built."""
    verdicts = []
    for combination in context.combinations(choice):
        log = context.console.for_prefix(combination.id)
        built = built_or_build(context, combination)
        store = ArtifactStore(context.config.artifacts, combination)
        # Only a live check may need a stand-in loader built: static-only needs no toolchain.
        environment = context.backend.prepare(combination, log) if live else None
        # An explicit `invoke verify` always checks again; only the pipeline reuses proofs.
        verdicts += verify_step.verify_combination(
            context.config, environment, store, built.hosts, built.plugins, log,
            reuse_proofs=False, live=live)
    return verdicts


@dataclass(frozen=True)
class Built:
    """A combination's artifacts as they are: each service's host and each plugin."""

    hosts: dict[str, Outcome]
    plugins: dict[PluginTarget, Outcome]


def built_or_build(context: Context, combination: Combination) -> Built:
    """Host and plugin outcomes of the combination, building first the missing ones.

    Artifacts that exist are taken as they are (verify checks what is there, stale or
    not); only one never built is built, so `invoke verify` right after
    `invoke build-plugin`, or on a fresh clone, proves everything.
    """
    config = context.config
    store = ArtifactStore(config.artifacts, combination)
    log = context.console.for_prefix(combination.id)
    services = [s for s in config.host.services.values()
                if not store.path(host_step.binary_path(s)).is_file()]
    targets = [t for t in config.plugins
               if not store.path(plugin_step.plugin_path(config, t)).is_file()]
    if services or targets:
        log("not built yet, building first: "
            + ", ".join([s.name for s in services] + [t.id for t in targets]))
        environment = context.backend.prepare(combination, log)
        host_step.build_host(config, environment, store, log, [s.name for s in services])
        plugin_step.build_plugins(config, environment, store, targets, log)
    recorded = store.manifest()["artifacts"]  # read once: it holds every artifact's entry
    return Built(
        hosts={s.name: _existing(store, recorded, host_step.binary_path(s))
               for s in config.host.services.values()},
        plugins={t: _existing(store, recorded, plugin_step.plugin_path(config, t))
                 for t in config.plugins})


def _existing(store: ArtifactStore, recorded: dict[str, Any], relative: str) -> Outcome:
    """An artifact as it is now: its recorded entry when it still holds that content."""
    path = store.path(relative)
    entry = recorded.get(relative)
    entry = entry if isinstance(entry, dict) else {}
    if not (entry and store.intact(relative, entry)):
        # Stale or foreign: nothing recorded about it holds, only what is there now.
        entry = {"sha256": sha256_file(path), "size": path.stat().st_size}
    return Outcome(relative, path, False, 0.0, entry)


def verify_binaries(context: Context, host: str | None, plugins: Sequence[str], *,
                    type_: str | None = None, host_check: bool = False,
                    live: bool = True) -> list[PluginResult]:
    """Verify any --host with --plugin binaries, built by this tool or not."""
    pairs = explicit_pairs(context.config, host, plugins, type_, host_check)
    return verify_step.verify_explicit(context.config, context.backend, pairs,
                                       context.console.for_prefix("verify"), live=live)


def require_loaded(verdicts: Sequence[PluginResult]) -> None:
    failures = [r for r in verdicts if r.verdict == Verdict.FAIL]
    if failures:
        raise VerifyError(f"{len(failures)} of {len(verdicts)} plugins would not load",
                          fix="apply the fix each finding names")


# -- the rest ---------------------------------------------------------------------------


def report(config_path: str | Path, *, only: list[str] | None = None) -> list[results.Summary]:
    """The summaries of every combination's last pipeline run (results/*.json)."""
    config = load(config_path)
    summaries = results.read_all(config.results, only)
    if not summaries:
        raise UsageError(f"no pipeline results in {config.results}",
                         fix="run invoke pipeline or nox first")
    return summaries


def ci_matrix(config_path: str | Path) -> dict:
    """The GitHub Actions matrix: one job per pipeline session that nox lists."""
    config = load(config_path)
    return cimatrix.github_matrix(cimatrix.nox_sessions(config.root))


def doctor(config_path: str | Path, *, backend: str | None = None) -> list:
    """Check this machine against the configured matrix."""
    from plugin_builder.backends import backend_name
    from plugin_builder.doctor import run_checks

    config = load(config_path)
    return run_checks(config, backend_name(config, backend))


def new_plugin(config_path: str | Path, *, type_: str, name: str) -> Path:
    """Scaffold plugins/<type>/<name> from the type's template and register the target."""
    from plugin_builder.scaffold import new_plugin as scaffold

    return scaffold(config_path, type_, name)


def listing(config_path: str | Path) -> dict[str, Any]:
    config = load(config_path)
    return {
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


def clean(config_path: str | Path, choice: Choice | Combination | None = None) -> list[Path]:
    """Remove one combination's artifacts, or all of them; only folders the tool made."""
    config = load(config_path)
    folders = ([config.artifact_dir(c) for c in Choice.of(choice).resolve(config)]
               if choice is not None else [config.artifacts])
    removed = []
    for folder in folders:
        if not folder.exists():
            continue
        if not (folder / MARKER).is_file():
            raise UsageError(f"{folder} was not made by plugin-builder (it has no {MARKER} "
                             f"file); not removing it",
                             fix="remove it yourself if it is yours to remove, or correct "
                                 "project.artifacts in buildconfig.toml")
        shutil.rmtree(folder)
        removed.append(folder)
    return removed


# -- docker: base images, builder images, service images, image verification ----------


def bootstrap_base(config_path: str | Path, *, force: bool = False) -> list[str]:
    """Make the base images the default config names, without a registry."""
    from plugin_builder import dockerengine
    from plugin_builder.backends.base_images import bootstrap_base as make_bases

    config = load(config_path)
    made = make_bases(config, dockerengine.connect(),
                      Console().for_prefix("bootstrap-base"), force=force)
    return [image.tag for image in made]


def build_builder_image(context: Context, choice: Choice | Combination, *,
                        force: bool = False) -> list[str]:
    """Build (or find up to date) the builder image of each selected combination."""
    from plugin_builder import dockerengine
    from plugin_builder.backends.builder_image import ensure_builder_image

    client = dockerengine.connect()
    tags = []
    for combination in context.combinations(choice):
        ensure_builder_image(context.config, client, combination,
                             context.console.for_prefix(combination.id), force=force)
        tags.append(context.config.docker.builder_tag(combination))
    return tags


def build_service_image(context: Context, choice: Choice | Combination, *,
                        services: list[str] | None = None) -> list[str]:
    """Build host and plugins where not up to date, then each service's runtime image."""
    from plugin_builder import dockerengine
    from plugin_builder.steps import service_image as image_step

    config = context.config
    chosen = services_named(config, services)
    client = dockerengine.connect()
    tags = []
    for combination in context.combinations(choice):
        log = context.console.for_prefix(combination.id)
        store = ArtifactStore(config.artifacts, combination)
        environment = context.backend.prepare(combination, log)
        hosts = host_step.build_host(config, environment, store, log, chosen)
        for service in chosen:
            targets = image_step.targets_of(config, service)
            plugins = plugin_step.build_plugins(config, environment, store, targets, log)
            tags.append(image_step.build_service_image(
                config, client, combination, config.host.services[service], hosts[service],
                plugins, log))
    return tags


def verify_images(images: list[str]) -> list[Any]:
    """Run each service image, prove every plugin it ships loaded, remove the container."""
    from plugin_builder import dockerengine
    from plugin_builder.verify.image import verify_image

    if not images:
        raise UsageError("no image to verify", fix="pass --image TAG (repeatable)")
    client = dockerengine.connect()
    console = Console()
    return [verify_image(client, tag, console.for_prefix(tag.rsplit("/", 1)[-1]))
            for tag in images]


def require_images_ok(reports: Sequence[Any]) -> None:
    failed = [report.image for report in reports if not report.ok]
    if failed:
        raise VerifyError(f"{len(failed)} image(s) failed verification: {', '.join(failed)}",
                          fix="read the container log above; rebuild with "
                              "`invoke build-service-image` after fixing the plugin")
