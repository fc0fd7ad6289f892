"""The commands users type, independent of the front end that parses their flags.

Each command that builds runs a prefix of the pipeline (:mod:`plugin_builder.pipeline`)
for the combinations it was given, with a :class:`Request` saying what it needs, and
returns data; it prints nothing itself: its messages go to the reporter the front end
hands it (:mod:`plugin_builder.tasks` and :mod:`plugin_builder.noxsessions` pass their
console). Errors the user can act on are raised as :mod:`plugin_builder.errors`
classes; the front end turns them into one message and an exit code.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from plugin_builder import artifact_index, cimatrix, outputs, results
from plugin_builder import config as config_module
from plugin_builder.backends import Backend, backend_for
from plugin_builder.combination import Combination
from plugin_builder.config import Config
from plugin_builder.errors import ConfigError, PipelineError, UsageError, VerifyError
from plugin_builder.log import Log, PrintReporter, Reporter
from plugin_builder.selection import Choice, plugins_selected, services_named
from plugin_builder.steps import verify as verify_step
from plugin_builder.steps.job import CombinationResult, Job, Request
from plugin_builder.verify import PluginResult
from plugin_builder.verify.pairs import explicit_pairs


def load(config_path: str | Path) -> Config:
    return config_module.load(config_path)


@dataclass
class Context:
    """What every command that builds works with: the config, its backend, and where
    each combination's messages go (the front end's console)."""

    config: Config
    backend: Backend
    reporter: Reporter

    @classmethod
    def open(cls, config_path: str | Path, backend: str | None = None,
             reporter: Reporter | None = None) -> Context:
        config = load(config_path)
        return cls(config, backend_for(config, backend), reporter or PrintReporter())

    def combinations(self, choice: Choice | Combination) -> list[Combination]:
        return Choice.of(choice).resolve(self.config)

    def run(self, choice: Choice | Combination, request: Request,
            through: str) -> list[CombinationResult]:
        """The pipeline's steps through ``through`` for each chosen combination; one
        combination that fails does not stop the others."""
        from plugin_builder import pipeline  # brings every step: not for report or clean

        combinations = self.combinations(choice)
        self.reporter.begin([c.id for c in combinations])
        outcomes = []
        for combination in combinations:
            job = Job.open(self.config, combination, self.backend, request,
                           self.reporter.for_prefix(combination.id))
            if request.build and not request.dry_run:
                job.store.sweep()  # what killed runs of ours left behind
            result = pipeline.run(job, through=through)
            self.reporter.end(combination.id, result.passed)
            outcomes.append(result)
        if not request.dry_run and (request.build or any(o.built for r in outcomes
                                                         for o in r.outcomes)):
            artifact_index.publish(self.config, combinations)
        return outcomes


# -- building ---------------------------------------------------------------------------


def build_host(context: Context, choice: Choice | Combination, *,
               services: Sequence[str] | None = None,
               dry_run: bool = False) -> list[CombinationResult]:
    request = Request(tuple(services_named(context.config, services)), (), dry_run=dry_run)
    return require_built(context.run(choice, request, through="host"))


def build_plugin(context: Context, choice: Choice | Combination, *, type_: str | None = None,
                 name: str | None = None, dry_run: bool = False) -> list[CombinationResult]:
    targets = plugins_selected(context.config, type_=type_, name=name)
    request = Request((), tuple(targets), dry_run=dry_run)
    return require_built(context.run(choice, request, through="plugins"))


def require_built(outcomes: list[CombinationResult]) -> list[CombinationResult]:
    """A build command ends with the first failure's own error (its exit code), after
    every combination was tried."""
    failure = next((r.failure for r in outcomes if r.failure is not None), None)
    if failure is not None:
        raise failure
    return outcomes


def pipeline(context: Context, choice: Choice | Combination, *,
             dry_run: bool = False) -> list[CombinationResult]:
    """Build and verify each combination (one failing does not stop the others); write
    results/<combination>.{json,xml} (a dry run: only say what it would do)."""
    request = Request.everything(context.config, images=context.backend.makes_images,
                                 reuse_proofs=True, dry_run=dry_run)
    outcomes = context.run(choice, request, through="service-images")
    for result in outcomes:
        if result.error:
            context.reporter.for_prefix(result.combination.id)(f"failed: {result.error}")
        if not dry_run:
            results.write(context.config.results, results.to_record(result))
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
           type_: str | None = None, name: str | None = None,
           dry_run: bool = False) -> list[PluginResult]:
    """Verify the chosen plugin targets of each combination against their services.

    A live verify first brings every artifact up to date (so it judges what the sources
    build now) and keeps going past a target that cannot be built (its verdict says so);
    a static one builds only what was never built and names what is stale.
    """
    targets = plugins_selected(context.config, type_=type_, name=name)
    services = tuple(dict.fromkeys(context.config.plugin_types[t.type].service
                                   for t in targets))
    request = Request(services, tuple(targets), build=live, live=live, keep_going=True,
                      dry_run=dry_run)
    outcomes = context.run(choice, request, through="verify")
    # A VerifyError comes with its verdicts, which the caller reports, and so does the
    # config error that kept the stand-in loader from being built (the caller raises it
    # after the report); any other failure (of the verify step too: a binary that cannot
    # be read) left some plugin unjudged.
    failure = next((r.failure for r in outcomes
                    if r.failure is not None and not _came_with_verdicts(r.failure, r.verify)),
                   None)
    if failure is not None:
        raise failure
    return [verdict for result in outcomes for verdict in result.verify]


def _came_with_verdicts(failure: Exception, verdicts: Sequence[PluginResult]) -> bool:
    return isinstance(failure, VerifyError) or any(v.config_error is failure for v in verdicts)


def verify_binaries(context: Context, host: str | None, plugins: Sequence[str], *,
                    type_: str | None = None, host_check: bool = False,
                    live: bool = True) -> list[PluginResult]:
    """Verify any --host with --plugin binaries, built by this tool or not."""
    pairs = explicit_pairs(context.config, host, plugins, type_, host_check)
    return verify_step.verify_explicit(context.config, context.backend, pairs,
                                       context.reporter.for_prefix("verify"), live=live)


def require_loaded(verdicts: Sequence[PluginResult]) -> None:
    verify_step.raise_unless_verified(verdicts)


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
    return cimatrix.github_matrix(cimatrix.nox_sessions(config.root), config)


def doctor(config_path: str | Path, *, backend: str | None = None) -> list:
    """Check this machine against the configured matrix."""
    from plugin_builder.backends import backend_name
    from plugin_builder.doctor import run_checks

    config = load(config_path)
    return run_checks(config, backend_name(config, backend))


def new_plugin(config_path: str | Path, *, type_: str, name: str,
               dry_run: bool = False) -> tuple[Path, list[str]]:
    """Scaffold plugins/<type>/<name> from the type's template and register the target;
    the folder and the files it holds (a dry run: would hold, and nothing is written)."""
    from plugin_builder import scaffold

    if not dry_run:
        folder = scaffold.new_plugin(config_path, type_, name)
        return folder, sorted(str(p.relative_to(folder)) for p in folder.rglob("*")
                              if p.is_file())
    planned = scaffold.plan(load(config_path), type_, name)
    return planned.folder, sorted(scaffold.render(planned))


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


@dataclass(frozen=True)
class Checked:
    """The config as every command loads it: what it holds, or why it cannot be loaded."""

    path: Path
    listing: dict[str, Any] | None
    error: ConfigError | None

    def to_dict(self) -> dict[str, Any]:
        if self.error is None:
            return {"config": str(self.path), "valid": True, **(self.listing or {})}
        error = self.error
        return {"config": str(self.path), "valid": False,
                "error": {"message": error.message, "file": error.file, "key": error.key,
                          "fix": error.fix, "exit_code": error.return_code}}


def check(config_path: str | Path) -> Checked:
    """Load the config as every command does (`invoke check`); its error is returned."""
    path = Path(config_path).absolute()
    try:
        return Checked(path, listing(path), None)
    except ConfigError as error:
        return Checked(path, None, error)


@dataclass(frozen=True)
class Cleaned:
    removed: list[Path]  # the folders removed (a dry run: that would be)
    kept: list[Path]  # what the artifacts folder holds that the tool did not make


def clean(config_path: str | Path, choice: Choice | Combination | None = None, *,
          dry_run: bool = False) -> Cleaned:
    """Remove one combination's artifacts, or all of them: only what a marker of the
    tool vouches for (see :mod:`plugin_builder.outputs`); a dry run removes nothing."""
    config = load(config_path)
    if choice is not None:
        removed = []
        for folder in (config.artifact_dir(c) for c in Choice.of(choice).resolve(config)):
            if os.path.lexists(folder):
                outputs.remove(folder, whole=True, dry_run=dry_run)
                removed.append(folder)
        cleaned = Cleaned(removed, [])
    elif not os.path.lexists(config.artifacts):
        cleaned = Cleaned([], [])
    else:
        kept = outputs.remove(config.artifacts, whole=False, dry_run=dry_run)
        cleaned = Cleaned([] if kept else [config.artifacts], kept)
    if cleaned.removed and not dry_run and config.artifacts.is_dir():
        artifact_index.write_index(config)  # it names the combinations that are left
    return cleaned


# -- docker: base images, builder images, service images, image verification ----------


def bootstrap_base(config_path: str | Path, *, force: bool = False,
                   reporter: Reporter | None = None) -> list[str]:
    """Make the base images the default config names, without a registry."""
    from plugin_builder import dockerengine
    from plugin_builder.backends.base_images import bootstrap_base as make_bases

    config = load(config_path)
    made = make_bases(config, dockerengine.connect(),
                      (reporter or PrintReporter()).for_prefix("bootstrap-base"), force=force)
    return [image.tag for image in made]


def build_builder_image(context: Context, choice: Choice | Combination, *,
                        force: bool = False, dry_run: bool = False) -> list[str]:
    """Build (or find up to date) the builder image of each selected combination; a dry
    run says which it would be, and returns the tags that are up to date."""
    from plugin_builder import dockerengine
    from plugin_builder.backends.builder_image import ensure_builder_image, planned_builder_image

    client = dockerengine.connect()
    tags = []
    for combination in context.combinations(choice):
        log = context.reporter.for_prefix(combination.id)
        if dry_run:
            if planned_builder_image(context.config, client, combination, log, force=force):
                tags.append(context.config.docker.builder_tag(combination))
            continue
        ensure_builder_image(context.config, client, combination, log, force=force)
        tags.append(context.config.docker.builder_tag(combination))
    return tags


def build_service_image(context: Context, choice: Choice | Combination, *,
                        services: list[str] | None = None, dry_run: bool = False) -> list[str]:
    """Each service's runtime image, after its host and plugins are up to date and
    verified: the whole pipeline, for these services."""
    chosen = services_named(context.config, services)
    targets = tuple(t for t in context.config.plugins
                    if context.config.plugin_types[t.type].service in chosen)
    request = Request(tuple(chosen), targets, images=True, reuse_proofs=True,
                      dry_run=dry_run)
    outcomes = require_built(context.run(choice, request, through="service-images"))
    return [tag for result in outcomes for tag in result.images]


def verify_images(images: list[str], reporter: Reporter | None = None,
                  released: Callable[[], tuple[Context, Choice]] | None = None) -> list[Any]:
    """Run each service image, prove every plugin it ships loaded, remove the container;
    an image the config names as its released host (``released``: the context and
    combination, opened only then) gets the plugins built for it, loaded in it."""
    from plugin_builder import dockerengine
    from plugin_builder.verify.image import verify_image

    if not images:
        raise UsageError("no image to verify", fix="pass --image TAG (repeatable)")
    client = dockerengine.connect()
    reporter = reporter or PrintReporter()
    reports = []
    for tag in images:
        log = reporter.for_prefix(tag.rsplit("/", 1)[-1])
        if released is not None and not _service_image(client, tag):
            context, choice = released()
            if context.config.host.image == tag:
                reports.append(_verify_host_image(context, choice, client, tag, log))
                continue
        reports.append(verify_image(client, tag, log))
    return reports


def _service_image(client: Any, tag: str) -> bool:
    from plugin_builder import dockerengine

    image = dockerengine.image_or_none(client, tag)
    return image is None or dockerengine.PLUGINS_LABEL in (image.labels or {})


def _verify_host_image(context: Context, choice: Choice, client: Any, tag: str,
                       log: Log) -> Any:
    """The released host's image: verify first (plugins built for the binary copied out
    of it, loaded into that binary here), then each plugin loaded in a container of it."""
    from plugin_builder.verify.image import (
        PLUGIN_DIR_IN_IMAGE,
        HostImagePlugin,
        PluginCheck,
        verify_in_host_image,
    )

    verdicts = verify(context, choice)
    require_loaded(verdicts)
    config = context.config
    assert config.host.image_binary is not None  # config: image goes with image_binary
    plugins = []
    for verdict in verdicts:
        local = Path(verdict.plugin_path)
        target = _target_of(config, local.name)
        command = config.check_command(target.type)
        if not command:
            raise ConfigError(config.path.name, f"plugin_types.{target.type}.check",
                              f"plugin {target.id} has no check command: nothing in the "
                              f"image {tag} can be asked to load it",
                              fix='name the host\'s own check: check = ["{binary}", '
                                  '"check-plugin", "{plugin}"]')
        check = PluginCheck(target.type, target.name, f"{PLUGIN_DIR_IN_IMAGE}/{local.name}")
        plugins.append(HostImagePlugin(check, local, tuple(command)))
    return verify_in_host_image(client, tag, config.host.image_binary, plugins, log)


def _target_of(config: Config, file_name: str) -> Any:
    """The plugin target whose artifact is named ``file_name``."""
    return next(t for t in config.plugins
                if config.plugin_types[t.type].file_name(t.name) == file_name)


def require_images_ok(reports: Sequence[Any]) -> None:
    from plugin_builder.verify.image import require_ok

    require_ok(reports)
