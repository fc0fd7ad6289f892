"""Step: prove that every plugin of a combination loads into the service that loads it.

Each pair gets both checks: the static analysis predicts the cause and the fix without
running anything; the live check loads the plugin for real, in a child process, through
the service's own check command or, for a host without one, a stand-in loader built
with the host's exact toolchain and settings. The pairs come from the outcomes of the
host and plugin steps, never from re-reading the manifest; the manifest only keeps the
proofs of earlier runs, so an unchanged pair is not loaded again by the pipeline.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Protocol

from plugin_builder import emulation
from plugin_builder.artifacts import ArtifactStore
from plugin_builder.backends import Backend, BuildEnvironment
from plugin_builder.binary import fingerprints
from plugin_builder.binary.elffacts import ElfFacts, read_elf
from plugin_builder.binary.fingerprints import Fingerprints
from plugin_builder.combination import Combination
from plugin_builder.config import Config, PluginTarget
from plugin_builder.errors import (
    BinaryError,
    PluginBuilderError,
    ToolchainError,
    UsageError,
    VerifyError,
)
from plugin_builder.log import Log
from plugin_builder.status import Verdict
from plugin_builder.steps import loader
from plugin_builder.steps.gobuild import Outcome
from plugin_builder.steps.job import Job
from plugin_builder.verify import (
    WARNING,
    Finding,
    LiveResult,
    PluginResult,
    Side,
    run_check,
    to_dict,
)
from plugin_builder.verify.live import OK
from plugin_builder.verify.pairs import Pair, cache_key, contract_of, judge

LIVE_TIMEOUT_S = 60.0


class Loaders(Protocol):
    """How a pair with no check command of its own gets loaded for real, and where an
    emulator finds the libraries of a binary of another arch."""

    def argv(self, host: Side, pair: Pair) -> list[str] | None:
        """The stand-in loader's argv for this pair; None: none can be built like the host
        (no Go build info, or a libc we cannot build for)."""
        ...

    def emulator_prefix(self, elf: ElfFacts) -> str:
        """The configured qemu library prefix for a binary of another arch ("": the
        known places)."""
        ...


def run(job: Job) -> list[Outcome]:
    """Verify each plugin of the job against its service's binary; record the verdicts."""
    pairs = combination_pairs(job.config, job.combination, job.hosts, job.plugins)
    proven = passed_keys(job.store) if job.request.reuse_proofs else frozenset()
    loaders = _CombinationLoaders(job)
    results = [_already_passed(pair, job.log) if pair.cache_key in proven
               else verify_pair(pair, job.log, live=job.request.live, loaders=loaders)
               for pair in pairs]
    if job.request.live and any(pair.cache_key not in proven for pair in pairs):
        record(job.store, pairs, results)  # only a new proof changes the record
    # combination_pairs keeps the order of job.plugins: one pair per target.
    results = [_with_staleness(result, target, job)
               for result, target in zip(results, job.plugins, strict=True)]
    results += [unbuilt(job, target, error) for target, error in job.unbuilt.items()]
    job.verdicts.extend(results)
    raise_unless_verified(results)
    return []


class _CombinationLoaders:
    """Stand-in loaders built in the job's own environment (prepared on first need)."""

    def __init__(self, job: Job) -> None:
        self.job = job

    def argv(self, host: Side, pair: Pair) -> list[str] | None:
        if host.buildinfo is None:
            return None
        return loader.loader_argv(self.job.prepared(), self.job.store, host.buildinfo,
                                  pair.plugin, pair.contract, self.job.log)

    def emulator_prefix(self, elf: ElfFacts) -> str:
        return _emulator_prefix(self.job.config, self.job.combination.libc, elf.goarch)


def raise_unless_verified(results: Sequence[PluginResult]) -> None:
    failed = [result for result in results if result.verdict == Verdict.FAIL]
    if failed:
        raise VerifyError(f"{len(failed)} of {len(results)} plugin(s) would not load: "
                          + "; ".join(_first_cause(result) for result in failed),
                          fix="apply the fix each finding names")


def verify_explicit(config: Config, backend: Backend, pairs: Sequence[Pair], log: Log, *,
                    live: bool = True) -> list[PluginResult]:
    """Verify binaries named on the command line; a loader is built per host combination."""
    loaders = _ExplicitLoaders(config, backend, log)
    return [verify_pair(pair, log, live=live, loaders=loaders) for pair in pairs]


class _ExplicitLoaders:
    """Stand-in loaders for binaries of any combination: each host's combination is
    prepared once, when a pair of it first needs a loader."""

    def __init__(self, config: Config, backend: Backend, log: Log) -> None:
        self.config, self.backend, self.log = config, backend, log
        self.environments: dict[Combination, tuple[BuildEnvironment, ArtifactStore]] = {}

    def argv(self, host: Side, pair: Pair) -> list[str] | None:
        combination = _combination_of(self.config, host)
        if combination is None or host.buildinfo is None:
            return None
        if combination not in self.environments:
            store = ArtifactStore(self.config.artifacts, combination)
            store.make_folder()  # before the backend mounts or writes anything there
            self.environments[combination] = (self.backend.prepare(combination, self.log),
                                              store)
        environment, store = self.environments[combination]
        return loader.loader_argv(environment, store, host.buildinfo, pair.plugin,
                                  pair.contract, self.log)

    def emulator_prefix(self, elf: ElfFacts) -> str:
        return _emulator_prefix(self.config, elf.libc, elf.goarch)


def verify_pair(pair: Pair, log: Log, *, live: bool, loaders: Loaders) -> PluginResult:
    host = Side.read(pair.host, pair.host_fingerprints, lookups=False)
    plugin = Side.read(pair.plugin, pair.plugin_fingerprints)
    argv = (pair.check_argv() if pair.check else loaders.argv(host, pair)) if live else None
    if live and argv is None:
        log(f"verify {pair.plugin.name}: no live check (the host has no check command and "
            f"no stand-in loader can be built like it); the static analysis decides")
    if argv:
        argv = runnable(argv, pair.plugin.name, log, loaders.emulator_prefix)
    result = judge(pair, host, plugin, _live_check(pair, argv, log) if argv else None)
    log(f"verify {pair.plugin.name}: {result.verdict}")
    return result


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


def _live_check(pair: Pair, argv: list[str], log: Log) -> LiveResult:
    started = time.monotonic()
    outcome = run_check(argv, LIVE_TIMEOUT_S)
    log(f"live check of {pair.plugin.name}: {outcome.status} in "
        f"{time.monotonic() - started:.2f}s")
    return outcome


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
    """Every plugin built for the combination with its service's host binary."""
    pairs = []
    for target, plugin in plugins.items():
        plugin_type = config.plugin_types[target.type]
        service = config.host.services[plugin_type.service]
        host = hosts.get(service.name)
        if host is None:
            raise UsageError(f"service {service.name} is not built for {combination.id}",
                             fix=f"invoke build-host {combination.flags}")
        contract = contract_of(plugin_type)
        check = config.check_command(plugin_type)
        key = cache_key(host.sha256, plugin.sha256, contract, check)
        pairs.append(Pair(host.path, plugin.path, contract, target.name, check,
                          combination.id, key, _recorded_fingerprints(host),
                          _recorded_fingerprints(plugin)))
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
        rule="stale-artifact", subject=outcome.relative, host_value="", plugin_value="",
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
        rule="not-built", subject=target.id, host_value="", plugin_value="", host_error="",
        fix=error.fix or f"invoke build-plugin --type {target.type} --name {target.name} "
                         f"{job.combination.flags}",
        fix_action="then build it again:" if error.fix else "correct it, then rebuild with",
        summary=f"plugin {target.id} could not be built: {error.message}")
    return PluginResult(str(job.store.path(plugin_path(job.config, target))),
                        str(host.path) if host else "", (finding,), None, job.combination.id)
