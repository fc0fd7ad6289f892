"""Step: prove that every plugin of a combination loads into the service that loads it.

Each pair gets both checks: the static analysis predicts the cause and the fix without
running anything; the live check loads the plugin for real, in a child process, through
the service's own check command or, for a host without one, a tiny loader built with
the host's exact toolchain and settings.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from plugin_builder import __version__
from plugin_builder.artifacts import ArtifactStore, inputs_digest
from plugin_builder.backends import Log
from plugin_builder.combination import Combination
from plugin_builder.config import Config, PluginTarget
from plugin_builder.errors import UsageError
from plugin_builder.steps.host import binary_path
from plugin_builder.steps.loader import loader_check_argv
from plugin_builder.steps.plugin import plugin_path
from plugin_builder.toolchains import inspection_go
from plugin_builder.verify import (
    OK,
    RULE_IDS,
    Contract,
    LiveResult,
    PluginResult,
    RebuildHint,
    Side,
    analyze,
    run_check,
    to_dict,
)
from plugin_builder.verify.report import PASS
from plugin_builder.verify.rules import ERROR
from plugin_builder.verify.runtime import live_finding

LIVE_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class Pair:
    """One plugin and the host binary that must load it."""

    host: Path
    plugin: Path
    contract: Contract
    plugin_name: str | None
    check: tuple[str, ...]  # the check command template; empty: build a loader
    combination: str | None = None
    # Digest of both binaries' sha256 and the contract: a pair that passed with this key
    # before is the same pair, so its proof still holds (None: always check).
    cache_key: str | None = None


def cache_key(host_sha256: str, plugin_sha256: str, contract: Contract,
              check: tuple[str, ...]) -> str:
    return inputs_digest(__version__, RULE_IDS, host_sha256, plugin_sha256,
                         contract.plugin_type, contract.symbols, check)


def verify_pairs(config: Config, pairs: Sequence[Pair], log: Log, *, live: bool = True,
                 passed: frozenset[str] = frozenset()) -> list[PluginResult]:
    """Verify each pair; those whose cache_key is in ``passed`` are not checked again."""
    return [_already_passed(pair, log) if pair.cache_key in passed
            else verify_pair(config, pair, log, live=live) for pair in pairs]


def _already_passed(pair: Pair, log: Log) -> PluginResult:
    log(f"verify {pair.plugin.name}: pass (up to date: host and plugin unchanged since "
        f"they were verified)")
    proof = LiveResult(argv=(), status=OK, exit_code=0, signal=None, error_line=None,
                       tail=("verified earlier; host and plugin unchanged",), duration_s=0.0)
    return PluginResult(str(pair.plugin), str(pair.host), (), proof, pair.combination)


def verify_pair(config: Config, pair: Pair, log: Log, *, live: bool = True) -> PluginResult:
    go = inspection_go(config.matrix.default.go, config.toolchain_cache)
    host, plugin = Side.read(pair.host, go=go), Side.read(pair.plugin, go=go)
    hint = RebuildHint.for_host(host, pair.contract.plugin_type, pair.plugin_name)
    findings = tuple(analyze(host, plugin, pair.contract, hint))
    outcome = _live_check(config, pair, host, log) if live else None
    explained = any(f.severity == ERROR for f in findings)
    if outcome is not None and not explained:
        # Only a real load sees what the plugin's code does; name that cause too.
        findings += tuple(f for f in [live_finding(outcome, hint)] if f)
    result = PluginResult(str(pair.plugin), str(pair.host), findings, outcome, pair.combination)
    log(f"verify {pair.plugin.name}: {result.verdict}")
    return result


def _live_check(config: Config, pair: Pair, host: Side, log: Log) -> LiveResult:
    if pair.check:
        argv = [part.format(binary=pair.host, plugin=pair.plugin) for part in pair.check]
    else:
        argv = loader_check_argv(config, host, pair.plugin, pair.contract, log)
    started = time.monotonic()
    outcome = run_check(argv, LIVE_TIMEOUT_S)
    log(f"live check of {pair.plugin.name}: {outcome.status} in "
        f"{time.monotonic() - started:.2f}s")
    return outcome


def combination_pairs(config: Config, combination: Combination,
                      targets: Sequence[PluginTarget] | None = None) -> list[Pair]:
    """Every plugin target of the combination with its service's host binary."""
    store = ArtifactStore(config.artifacts, combination)
    recorded = store.manifest()["artifacts"]
    pairs = []
    for target in targets if targets is not None else config.plugins:
        plugin_type = config.plugin_types[target.type]
        service = config.host.services[plugin_type.service]
        host, plugin = store.path(binary_path(service)), store.path(plugin_path(config, target))
        for path, what in ((host, f"service {service.name}"), (plugin, f"plugin {target.id}")):
            if not path.is_file():
                raise UsageError(f"{what} is not built for {combination.id}: {path} is missing",
                                 fix=f"invoke pipeline --go {combination.go} "
                                     f"--libc {combination.libc}")
        contract = Contract(target.type, plugin_type.symbols)
        host_entry = recorded.get(binary_path(service))
        plugin_entry = recorded.get(plugin_path(config, target))
        key = cache_key(host_entry["sha256"], plugin_entry["sha256"], contract, service.check) \
            if host_entry and plugin_entry else None
        pairs.append(Pair(host, plugin, contract, target.name, service.check, combination.id,
                          key))
    return pairs


def passed_keys(config: Config, combination: Combination) -> frozenset[str]:
    """Cache keys of the pairs that passed when this combination was last verified."""
    manifest = ArtifactStore(config.artifacts, combination).manifest()
    return frozenset(manifest.get("verified", {}).values())


def record(config: Config, combination: Combination, pairs: Sequence[Pair],
           results: Sequence[PluginResult]) -> None:
    """Write the verify verdicts, and the keys of the pairs that passed, into the manifest."""

    def change(manifest: dict) -> None:
        manifest["verify"] = to_dict(results)
        manifest["verified"] = {Path(pair.plugin).name: pair.cache_key
                                for pair, result in zip(pairs, results, strict=True)
                                if result.verdict == PASS and pair.cache_key}

    ArtifactStore(config.artifacts, combination).update_manifest(change)
