"""Step: prove that every plugin of a combination loads into the service that loads it.

Each pair gets both checks: the static analysis predicts the cause and the fix without
running anything; the live check loads the plugin for real, in a child process, through
the service's own check command or, for a host without one, a stand-in loader built
with the host's exact toolchain and settings. The pairs come from the outcomes of the
host and plugin steps, never from re-reading the manifest; the manifest only keeps the
proofs of earlier runs, so an unchanged pair is not loaded again by the pipeline.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from plugin_builder import emulation
from plugin_builder.artifacts import ArtifactStore
from plugin_builder.backends import Backend, BuildEnvironment
from plugin_builder.binary import fingerprints
from plugin_builder.binary.elffacts import ElfFacts, read_elf
from plugin_builder.binary.fingerprints import Fingerprints
from plugin_builder.binary.side import Side
from plugin_builder.combination import Combination
from plugin_builder.config import Config, PluginTarget
from plugin_builder.errors import BinaryError, ToolchainError, UsageError, VerifyError
from plugin_builder.log import Log
from plugin_builder.status import Verdict
from plugin_builder.steps import loader
from plugin_builder.steps.gobuild import Outcome
from plugin_builder.verify import LiveResult, PluginResult, run_check, to_dict
from plugin_builder.verify.live import OK
from plugin_builder.verify.pairs import Pair, cache_key, contract_of, judge

LIVE_TIMEOUT_S = 60.0
# How a pair with no check command of its own gets the argv that loads its plugin.
# None: no loader can match this host (no Go build info, or a libc we cannot build for).
LoaderFor = Callable[[Side, Pair], list[str] | None]
# The configured qemu library prefix for a binary of another arch ("": the known places).
PrefixFor = Callable[[ElfFacts], str]


def verify_combination(config: Config, environment: BuildEnvironment | None,
                       store: ArtifactStore,
                       hosts: Mapping[str, Outcome], plugins: Mapping[PluginTarget, Outcome],
                       log: Log, *, reuse_proofs: bool, live: bool = True,
                       ) -> list[PluginResult]:
    """Verify each plugin against its service's binary; record the verdicts."""
    pairs = combination_pairs(config, store.combination, hosts, plugins)
    proven = passed_keys(store) if reuse_proofs else frozenset()

    def loader_for(host: Side, pair: Pair) -> list[str] | None:
        if host.buildinfo is None or environment is None:
            return None
        return loader.loader_argv(environment, store, host.buildinfo, pair.plugin,
                                  pair.contract, log)

    def prefix_for(elf: ElfFacts) -> str:
        return _emulator_prefix(config, store.combination.libc, elf.goarch)

    results = [_already_passed(pair, log) if pair.cache_key in proven
               else verify_pair(pair, log, live=live, loader_for=loader_for,
                                prefix_for=prefix_for) for pair in pairs]
    if live and any(pair.cache_key not in proven for pair in pairs):
        record(store, pairs, results)  # only a new proof changes the record
    return results


def raise_unless_verified(results: Sequence[PluginResult]) -> None:
    failed = [result for result in results if result.verdict == Verdict.FAIL]
    if failed:
        raise VerifyError(f"{len(failed)} plugin(s) would not load: "
                          + "; ".join(_first_cause(result) for result in failed),
                          fix="apply the fix each finding names")


def verify_explicit(config: Config, backend: Backend, pairs: Sequence[Pair], log: Log, *,
                    live: bool = True) -> list[PluginResult]:
    """Verify binaries named on the command line; a loader is built per host combination."""
    environments: dict[Combination, tuple[BuildEnvironment, ArtifactStore]] = {}

    def loader_for(host: Side, pair: Pair) -> list[str] | None:
        combination = _combination_of(config, host)
        if combination is None or host.buildinfo is None:
            return None
        if combination not in environments:
            environments[combination] = (backend.prepare(combination, log),
                                         ArtifactStore(config.artifacts, combination))
        environment, store = environments[combination]
        return loader.loader_argv(environment, store, host.buildinfo, pair.plugin,
                                  pair.contract, log)

    def prefix_for(elf: ElfFacts) -> str:
        return _emulator_prefix(config, elf.libc, elf.goarch)

    return [verify_pair(pair, log, live=live, loader_for=loader_for, prefix_for=prefix_for)
            for pair in pairs]


def verify_pair(pair: Pair, log: Log, *, live: bool, loader_for: LoaderFor,
                prefix_for: PrefixFor | None = None) -> PluginResult:
    host = Side.read(pair.host, pair.host_fingerprints, lookups=False)
    plugin = Side.read(pair.plugin, pair.plugin_fingerprints)
    argv = (pair.check_argv() if pair.check else loader_for(host, pair)) if live else None
    if live and argv is None:
        log(f"verify {pair.plugin.name}: no live check (the host has no check command and "
            f"no stand-in loader can be built like it); the static analysis decides")
    if argv:
        argv = runnable(argv, pair.plugin.name, log, prefix_for)
    result = judge(pair, host, plugin, _live_check(pair, argv, log) if argv else None)
    log(f"verify {pair.plugin.name}: {result.verdict}")
    return result


def runnable(argv: list[str], plugin: str, log: Log,
             prefix_for: PrefixFor | None = None) -> list[str] | None:
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
    verified = store.manifest().get("verified", {})
    return frozenset(v for v in verified.values() if isinstance(v, str)) \
        if isinstance(verified, dict) else frozenset()


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
