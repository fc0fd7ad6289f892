"""Step: prove that every plugin of a combination loads into the service that loads it.

Each service's plugins are judged together, in the order it loads them (config order),
by three authorities, each deciding only what it knows and each named in the report:
the static analysis (fingerprints, build info, and the rules between the plugins) predicts
the cause and the fix without running anything; a stand-in loader, built like the host
in the host's module graph, loads them all into one process and asserts each declared
type, call and result, passing a plugin only on its completion signal; the host's own
check command, where there is one, loads each plugin for real too. The pairs come from
the outcomes of the host and plugin steps, never from re-reading the manifest; the
manifest only keeps the proofs of earlier runs, so an unchanged service is not loaded
again by the pipeline.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Protocol, TypeVar

from plugin_builder import emulation
from plugin_builder.artifacts import ArtifactStore
from plugin_builder.backends import Backend, BuildEnvironment
from plugin_builder.binary import fingerprints
from plugin_builder.binary.elffacts import ElfFacts, read_elf
from plugin_builder.binary.fingerprints import Fingerprints
from plugin_builder.binary.side import Side
from plugin_builder.combination import Combination
from plugin_builder.config import Config, PluginTarget
from plugin_builder.errors import (
    BinaryError,
    ConfigError,
    PluginBuilderError,
    ToolchainError,
    UsageError,
    VerifyError,
)
from plugin_builder.log import Log
from plugin_builder.recipe import Recipe
from plugin_builder.released.source import recipe_of
from plugin_builder.status import Verdict
from plugin_builder.steps import loader
from plugin_builder.steps.gobuild import Outcome
from plugin_builder.steps.job import Job
from plugin_builder.verify import (
    WARNING,
    Contract,
    Finding,
    LiveResult,
    PluginResult,
    RebuildHint,
    RuleId,
    run_check,
    to_dict,
)
from plugin_builder.verify.live import OK
from plugin_builder.verify.pairs import (
    Evidence,
    Pair,
    cache_key,
    contract_of,
    glibc_floor_of,
    judge,
    project_view,
)
from plugin_builder.verify.standin import Entry, load_together
from plugin_builder.verify.together import Loaded, together

LIVE_TIMEOUT_S = 60.0
T = TypeVar("T")


class Loaders(Protocol):
    """How a service's plugins get loaded by a stand-in loader built like its host, and
    where an emulator finds the libraries of a binary of another arch."""

    def loader(self, host: Side, contracts: Sequence[Contract]) -> loader.Loader | None:
        """The stand-in loader for these contracts, built like ``host``; None when none
        can be (no Go build information, or a libc we cannot build for). Raises the
        PluginBuilderError that kept it from being built."""
        ...

    def emulator_prefix(self, elf: ElfFacts) -> str:
        """The configured qemu library prefix for a binary of another arch ("": the
        known places)."""
        ...


def run(job: Job) -> list[Outcome]:
    """Verify each service's plugins against its binary; record the verdicts."""
    if job.request.dry_run:
        plan(job)
        return []
    pairs = combination_pairs(job.config, job.combination, job.hosts, job.plugins)
    proven = passed_keys(job.store) if job.request.reuse_proofs else frozenset()
    loaders = _CombinationLoaders(job, [pair.contract for pair in pairs])
    verdicts: dict[int, PluginResult] = {}
    for group in services(pairs):
        if all(pair.cache_key in proven for pair in group):
            judged = [_already_passed(pair, job.log) for pair in group]
        else:
            judged = verify_together(group, job.log, live=job.request.live, loaders=loaders)
        verdicts.update(zip(map(id, group), judged, strict=True))
    results = [verdicts[id(pair)] for pair in pairs]
    if job.request.live and any(pair.cache_key not in proven for pair in pairs):
        record(job.store, pairs, results)  # only a new proof changes the record
    # combination_pairs keeps the order of job.plugins: one pair per target.
    results = [_with_staleness(result, target, job)
               for result, target in zip(results, job.plugins, strict=True)]
    results += [unbuilt(job, target, error) for target, error in job.unbuilt.items()]
    job.verdicts.extend(results)
    raise_unless_verified(results)
    return []


def plan(job: Job) -> None:
    """A dry run: which pairs would be verified, and how; nothing is loaded or read."""
    proven = passed_keys(job.store) if job.request.reuse_proofs else frozenset()
    before: dict[str, list[str]] = {}  # service -> the plugins it loads first
    for target in job.request.plugins:
        plugin_type = job.config.plugin_types[target.type]
        plugin, host = job.plugins.get(target), job.hosts.get(plugin_type.service)
        if plugin is None or host is None:
            continue  # its build would fail first, as the plan above says
        check = job.config.check_command(plugin_type)
        pair = f"{plugin.relative} against {host.relative}"
        unchanged = plugin.planned is None and host.planned is None
        loaded = before.setdefault(plugin_type.service, [])
        key = cache_key(host.sha256, plugin.sha256, contract_of(plugin_type), check,
                        tuple(loaded), glibc_floor_of(job.config, job.combination.libc)
                        ) if unchanged else None
        loaded.append(plugin.sha256 if unchanged else "")
        if key in proven:
            job.log(f"proven before: {pair} (both binaries unchanged since it loaded)")
            continue
        how = ("static analysis only" if not job.request.live else
               "static analysis, then a live load by the service's check command" if check
               else "static analysis, then a live load by a stand-in loader")
        stale = f"; taken as it is, though {plugin.stale}" if plugin.stale else ""
        job.log(f"would verify {pair}: {how}{stale}")


def services(pairs: Sequence[Pair]) -> list[list[Pair]]:
    """The pairs of each host binary (a service), each in load order (the pairs' order)."""
    groups: dict[Path, list[Pair]] = {}
    for pair in pairs:
        groups.setdefault(pair.host, []).append(pair)
    return list(groups.values())


class _CombinationLoaders:
    """One stand-in loader for every service of the combination, built on first need in
    the job's own environment, in the config's host module graph, with its settings:
    the services share the host module, so one loader holds every type's contract."""

    def __init__(self, job: Job, contracts: Sequence[Contract]) -> None:
        self.job = job
        self.contracts = list(dict.fromkeys(contracts))
        self.built: loader.Loader | PluginBuilderError | None = None

    def loader(self, host: Side, contracts: Sequence[Contract]) -> loader.Loader | None:
        if host.buildinfo is None:
            return None
        if self.built is None:
            try:
                config = self.job.config
                recipe = recipe_of(config, self.job.store) if config.host.released else None
                self.built = loader.build_loader(
                    self.job.prepared(), self.job.store,
                    loader.HostGraph.of_config(config, recipe), self.contracts,
                    self.job.config.path.name, self.job.log)
            except PluginBuilderError as problem:
                self.built = problem  # every service meets the same problem, said once
        if isinstance(self.built, PluginBuilderError):
            raise self.built
        return self.built

    def emulator_prefix(self, elf: ElfFacts) -> str:
        return _emulator_prefix(self.job.config, self.job.combination.libc, elf.goarch)


def raise_unless_verified(results: Sequence[PluginResult]) -> None:
    """A VerifyError naming each failed plugin; the config problem itself when that is
    what kept a stand-in loader from being built (its key and the fix, its exit code)."""
    failed = [result for result in results if result.verdict == Verdict.FAIL]
    config_error = next((r.config_error for r in failed if r.config_error is not None), None)
    if config_error is not None:
        raise config_error
    if failed:
        raise VerifyError(f"{len(failed)} of {len(results)} plugin(s) would not load: "
                          + "; ".join(_first_cause(result) for result in failed),
                          fix="apply the fix each finding names")


def verify_explicit(config: Config, backend: Backend, pairs: Sequence[Pair], log: Log, *,
                    live: bool = True) -> list[PluginResult]:
    """Verify binaries named on the command line, loaded together in the order given; a
    loader is built per host combination."""
    loaders = _ExplicitLoaders(config, backend, log)
    return [result for group in services(pairs)
            for result in verify_together(group, log, live=live, loaders=loaders)]


class _ExplicitLoaders:
    """Stand-in loaders for binaries of any combination: each host's combination is
    prepared once, when a pair of it first needs a loader."""

    def __init__(self, config: Config, backend: Backend, log: Log) -> None:
        self.config, self.backend, self.log = config, backend, log
        self.environments: dict[Combination, tuple[BuildEnvironment, ArtifactStore]] = {}

    def loader(self, host: Side, contracts: Sequence[Contract]) -> loader.Loader | None:
        combination = _combination_of(self.config, host)
        if combination is None or host.buildinfo is None:
            return None
        if combination not in self.environments:
            store = ArtifactStore(self.config.artifacts, combination)
            store.make_folder()  # before the backend mounts or writes anything there
            self.environments[combination] = (self.backend.prepare(combination, self.log),
                                              store)
        environment, store = self.environments[combination]
        graph = loader.HostGraph.of_binary(self.config, host.buildinfo, self._recipe(store))
        return loader.build_loader(environment, store, graph, contracts,
                                   self.config.path.name, self.log)

    def _recipe(self, store: ArtifactStore) -> Recipe | None:
        """The config's released host, when the binaries are of its combination (a
        binary of another is judged with a loader of the standard library only)."""
        if not self.config.host.released:
            return None
        try:
            return recipe_of(self.config, store)
        except ConfigError:
            return None

    def emulator_prefix(self, elf: ElfFacts) -> str:
        return _emulator_prefix(self.config, elf.libc, elf.goarch)


def verify_together(pairs: Sequence[Pair], log: Log, *, live: bool,
                    loaders: Loaders) -> list[PluginResult]:
    """The verdicts on the plugins one host loads, judged together in load order."""
    host = Side.read(pairs[0].host, pairs[0].host_fingerprints, lookups=False)
    plugins = []
    for pair in pairs:
        log.status("verifying plugins", pair.plugin.name)
        plugins.append(Side.read(pair.plugin, pair.plugin_fingerprints))
    hints = [RebuildHint.for_host(host, p.contract.plugin_type, p.plugin_name) for p in pairs]
    between = together(host, [Loaded(side, hint) for side, hint in zip(plugins, hints,
                                                                        strict=True)])
    stand_in = _stand_in(host, pairs, log, loaders) if live else [Evidence()] * len(pairs)
    results = []
    for pair, plugin, found, evidence in zip(pairs, plugins, between, stand_in, strict=True):
        check = _host_check(pair, log, loaders) if live and pair.check else None
        evidence = dataclasses.replace(evidence, together=found, host_check=check,
                                       live_wanted=live)
        result = judge(pair, host, plugin, evidence)
        log(f"verify {pair.plugin.name}: {result.verdict}")
        results.append(result)
    return results


def _host_check(pair: Pair, log: Log, loaders: Loaders) -> LiveResult | None:
    """The host's own check command on this plugin, when it can run here."""
    argv = runnable(pair.check_argv(), pair.plugin.name, log, loaders.emulator_prefix)
    return _timed(pair.plugin.name, "host check", log,
                  lambda: run_check(argv, LIVE_TIMEOUT_S)) if argv else None


def _stand_in(host: Side, pairs: Sequence[Pair], log: Log,
              loaders: Loaders) -> list[Evidence]:
    """Each plugin's evidence from one stand-in loader that loads them all, in order."""
    contracts = list(dict.fromkeys(pair.contract for pair in pairs))
    try:
        built = loaders.loader(host, contracts)
    except PluginBuilderError as problem:
        log(f"verify: no stand-in loader: {problem.message}")
        return [Evidence(loader_problem=problem, why_unchecked="no stand-in loader was built")
                for _ in pairs]
    if built is None:
        why = ("no stand-in loader can be built like the host (it has no Go build "
               "information, or no libc this tool builds for)")
        log(f"verify: {why}; the static analysis decides")
        return [Evidence(why_unchecked=why) for _ in pairs]
    argv = runnable([str(built.path)], "the stand-in loader", log, loaders.emulator_prefix)
    if argv is None:
        return [Evidence(why_unchecked="no emulator runs the host's arch here") for _ in pairs]
    entries = [Entry(built.index_of(p.contract.plugin_type), p.plugin_name or "",
                     str(p.plugin)) for p in pairs]
    outcomes = _timed(f"{len(pairs)} plugin(s)", "stand-in loader", log,
                      lambda: load_together(argv, entries, _run_with_token))
    return [Evidence(stand_in=outcome, unchecked=built.unchecked_of(p.contract.plugin_type),
                     why_unchecked=built.why_standard_only)
            for p, outcome in zip(pairs, outcomes, strict=True)]


def _run_with_token(argv: list[str], token: str) -> LiveResult:
    return run_check(argv, LIVE_TIMEOUT_S, stdin=f"{token}\n".encode())


def _timed(what: str, who: str, log: Log, work: Callable[[], T]) -> T:
    started = time.monotonic()
    outcome = work()
    log(f"{who} of {what}: {time.monotonic() - started:.2f}s")
    return outcome


def runnable(argv: list[str], plugin: str, log: Log,
             prefix_for: Callable[[ElfFacts], str] | None = None) -> list[str] | None:
    """argv as it runs here: a program of another arch through its emulator (qemu, with
    the loader and libc of its libc and arch); None when no emulator can run it, and the
    static verdict stands alone (in CI, where the emulator is installed, an error)."""
    try:
        elf = read_elf(argv[0])
    except BinaryError:
        return argv  # a script, or a program on PATH: it runs as it is
    plan = emulation.plan_for(elf, prefix=prefix_for(elf) if prefix_for else "")
    if plan is None:
        return argv
    if plan.ok:
        return plan.wrap(argv)
    if emulation.required():
        raise ToolchainError(f"live check of {plugin} not run: {plan.problem}", fix=plan.fix)
    log(f"verify {plugin}: live check not run: {plan.problem} (fix: {plan.fix}); the "
        f"static analysis decides")
    return None


def _emulator_prefix(config: Config, libc: str | None, arch: str | None) -> str:
    """libc.<name>.arch.<arch>.emulator_prefix of the config, "" when it names none."""
    if libc is None or libc not in config.libcs or arch is None:
        return ""
    entry = config.libcs[libc].toolchain(arch)
    return entry.emulator_prefix if entry is not None else ""


def _combination_of(config: Config, host: Side) -> Combination | None:
    """The combination a host binary was built for, as its loader must be; None when
    it has none we can build for (a static host has no libc to match)."""
    libc = host.elf.libc
    if host.buildinfo is None or libc is None or libc not in config.libcs:
        return None
    go = host.buildinfo.base_go_version.removeprefix("go")
    return Combination(go, libc, host.elf.goarch or "amd64")


def _already_passed(pair: Pair, log: Log) -> PluginResult:
    log(f"verify {pair.plugin.name}: pass (up to date: host and plugin unchanged since "
        f"they were verified)")
    proof = LiveResult(argv=(), status=OK, exit_code=0, signal=None, error_line=None,
                       tail=("verified earlier; host and plugin unchanged",), duration_s=0.0)
    return PluginResult(str(pair.plugin), str(pair.host), (), proof, pair.combination)


def combination_pairs(config: Config, combination: Combination, hosts: Mapping[str, Outcome],
                      plugins: Mapping[PluginTarget, Outcome]) -> list[Pair]:
    """Every plugin built for the combination with its service's host binary, in the
    order of ``plugins`` (config order: the order each service loads its plugins in)."""
    pairs = []
    view = project_view(config) if plugins else None
    before: dict[str, list[str]] = {}  # service -> the plugins it loads first
    floor = glibc_floor_of(config, combination.libc)
    for target, plugin in plugins.items():
        plugin_type = config.plugin_types[target.type]
        service = plugin_type.service
        host = hosts.get(service)
        if host is None and config.host.recipe is not None:
            raise UsageError(f"the host is a recipe only (host.recipe): verify needs its "
                             f"binary to load {target.id} into",
                             fix="invoke verify --host PATH/TO/HOST --plugin "
                                 f"{plugin.path} (or name host.binary or host.image)")
        if host is None:
            raise UsageError(f"service {service} is not built for {combination.id}",
                             fix=f"invoke build-host {combination.flags}")
        contract = contract_of(plugin_type)
        check = config.check_command(plugin_type)
        loaded = before.setdefault(service, [])
        key = cache_key(host.sha256, plugin.sha256, contract, check, tuple(loaded), floor)
        loaded.append(plugin.sha256)
        pairs.append(Pair(host.path, plugin.path, contract, target.name, check,
                          combination.id, key, _recorded_fingerprints(host),
                          _recorded_fingerprints(plugin), project=view, glibc_floor=floor))
    return pairs


def _recorded_fingerprints(outcome: Outcome) -> Fingerprints | None:
    return fingerprints.from_record(outcome.path, outcome.entry.get("fingerprints"))


def passed_keys(store: ArtifactStore) -> frozenset[str]:
    """Cache keys of the pairs that passed when this combination was last verified."""
    return frozenset(store.verified().values())


def record(store: ArtifactStore, pairs: Sequence[Pair], results: Sequence[PluginResult]) -> None:
    """Write the verify verdicts, and the keys of the pairs that passed, into the manifest."""

    def change(manifest: dict) -> None:
        manifest["verify"] = to_dict(results)
        # A pass without a live load because no emulator could run the host is no proof:
        # the next run, with the emulator installed, must load it.
        manifest["verified"] = {Path(pair.plugin).name: pair.cache_key
                                for pair, result in zip(pairs, results, strict=True)
                                if result.verdict == Verdict.PASS and pair.cache_key
                                and (result.live is not None or _runs_here(pair.host))}
        # Each verdict with the pair it was given on: it holds while both binaries and
        # the contract are unchanged (the artifacts index reports it only then).
        manifest["verdicts"] = {Path(pair.plugin).name: {"verdict": str(result.verdict),
                                                         "key": pair.cache_key}
                                for pair, result in zip(pairs, results, strict=True)}

    store.update_manifest(change)


def _runs_here(binary: Path) -> bool:
    try:
        return emulation.is_native(read_elf(binary).goarch)
    except BinaryError:
        return True


def _first_cause(result: PluginResult) -> str:
    name = result.plugin_path.rsplit("/", 1)[-1]
    if result.errors:
        return f"{name}: {result.errors[0].message}"
    live = result.live
    return f"{name}: {live.error_line if live and live.error_line else 'did not load'}"


def _with_staleness(result: PluginResult, target: PluginTarget, job: Job) -> PluginResult:
    """A static verify judges the binaries as they are; say when one of them is not what
    its sources build now, so a pass is never read as a verdict on the edited sources."""
    service = job.config.plugin_types[target.type].service
    stale = [(what, outcome) for what, outcome in (("host", job.hosts.get(service)),
                                                     ("plugin", job.plugins.get(target)))
             if outcome is not None and outcome.stale]
    findings = tuple(Finding(
        rule=RuleId.STALE_ARTIFACT, subject=outcome.relative, host_value="", plugin_value="",
        host_error="", severity=WARNING,
        fix=_rebuild_command(job, target, what),
        fix_action="for a verdict on the sources as they are now, rebuild with",
        summary=f"the {what} binary {outcome.relative} was judged as it is: {outcome.stale}")
        for what, outcome in stale)
    return dataclasses.replace(result, findings=result.findings + findings) if findings \
        else result


def _rebuild_command(job: Job, target: PluginTarget, what: str) -> str:
    flags = job.combination.flags
    if what == "host":
        return f"invoke build-host {flags}"
    return f"invoke build-plugin --type {target.type} --name {target.name} {flags}"


def unbuilt(job: Job, target: PluginTarget, error: PluginBuilderError) -> PluginResult:
    """The verdict on a target that could not be built: it fails, with the build's error."""
    from plugin_builder.steps.plugin import plugin_path

    service = job.config.host.services[job.config.plugin_types[target.type].service]
    host = job.hosts.get(service.name)
    finding = Finding(
        rule=RuleId.NOT_BUILT, subject=target.id, host_value="", plugin_value="", host_error="",
        fix=error.fix or f"invoke build-plugin --type {target.type} --name {target.name} "
                         f"{job.combination.flags}",
        fix_action="as the build says" if error.fix else "correct it, then rebuild with",
        summary=f"plugin {target.id} could not be built: {error.message}")
    return PluginResult(str(job.store.path(plugin_path(job.config, target))),
                        str(host.path) if host else "", (finding,), None, job.combination.id)
