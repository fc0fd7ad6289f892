"""What the artifacts folder holds, for tools other than this one.

After every run that built something, three kinds of file are written, each atomically:

- ``artifacts/<combination>/sbom/<file>.cdx.json``: a CycloneDX SBOM of each binary of
  the combinations that ran (:mod:`plugin_builder.sbom`);
- ``artifacts/index.json``: every combination, each artifact with its sha256, size, kind,
  SBOM and verify verdict (``pass``/``warn``/``fail`` as last found for exactly these
  binaries; ``null`` when they were not verified live since they were built);
- ``artifacts/SHA256SUMS``: ``sha256sum -c`` input, paths relative to the folder.

The index is made from every combination's manifest, not from the run that writes it,
so parallel nox sessions (each building its own combination) write it in turn under a
lock and the last one written names them all. An artifact whose file no longer holds
what its manifest records is left out of both.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path, PurePosixPath
from typing import Any

from plugin_builder import __version__, sbom
from plugin_builder.artifacts import MANIFEST, MARKER, ArtifactStore
from plugin_builder.combination import Combination
from plugin_builder.config import Config
from plugin_builder.files import sha256_file, write_atomically

INDEX = "index.json"
SUMS = "SHA256SUMS"
SBOM_FOLDER = "sbom"
SCHEMA = "plugin-builder/artifacts-index/1"


def publish(config: Config, combinations: Iterable[Combination]) -> None:
    """The SBOMs of these combinations' binaries, then the index and sums of them all."""
    for combination in combinations:
        store = ArtifactStore(config.artifacts, combination)
        if store.manifest_path.is_file():
            write_sboms(store)
    write_index(config)


def sbom_path(relative: str) -> str:
    """Where the SBOM of an artifact lies in its combination folder."""
    return f"{SBOM_FOLDER}/{PurePosixPath(relative).name}.cdx.json"


# What ships: the stand-in loader is the tool's own checking program, never published.
SHIPPED = ("host", "plugin")


def _shipped(store: ArtifactStore, manifest: dict[str, Any]) -> Iterable[tuple[str, Any]]:
    """The hosts and plugins of a manifest that still hold the content it records."""
    for relative, entry in sorted(manifest["artifacts"].items()):
        if entry.get("kind") in SHIPPED and store.intact(relative, entry):
            yield relative, entry


def write_sboms(store: ArtifactStore) -> None:
    for relative, entry in _shipped(store, store.manifest()):
        text = json.dumps(sbom.document(store.combination.id, relative, entry), indent=2) + "\n"
        _write_if_changed(store.path(sbom_path(relative)), text)


def write_index(config: Config) -> None:
    """index.json and SHA256SUMS of every combination folder, under a lock."""
    from filelock import FileLock

    root = config.artifacts
    if not (root / MARKER).is_file():
        return  # nothing of ours here (a folder clean removed, or never made)
    with FileLock(str(root / ".index.lock")):
        combinations = {store.combination.id: _combination(config, store)
                        for store in _stores(root)}
        index = {"schema": SCHEMA, "tool": __version__, "combinations": combinations}
        sums = [(artifact["path"], artifact["sha256"]) for combination in combinations.values()
                for artifact in combination["artifacts"]]
        sums += _sbom_sums(root, combinations)
        _write_if_changed(root / SUMS, "".join(f"{digest}  {path}\n"
                                               for path, digest in sorted(sums)))
        _write_if_changed(root / INDEX, json.dumps(index, indent=2) + "\n")


def _write_if_changed(path: Path, text: str) -> None:
    """A run that changed nothing leaves the files as they were (their times too)."""
    if not (path.is_file() and path.read_text(encoding="utf-8") == text):
        write_atomically(path, text)


def _stores(root: Path) -> Iterable[ArtifactStore]:
    for folder in sorted(root.iterdir()):
        combination = Combination.parse(folder.name)
        if combination is not None and (folder / MANIFEST).is_file():
            yield ArtifactStore(root, combination)


def _combination(config: Config, store: ArtifactStore) -> dict[str, Any]:
    manifest = store.manifest()
    artifacts = []
    for relative, entry in _shipped(store, manifest):
        path = f"{store.combination.id}/{relative}"
        listed = {"path": path, "kind": entry.get("kind"), "sha256": entry["sha256"],
                  "size": entry.get("size"), "go_version": entry.get("go_version"),
                  "built_at": entry.get("built_at")}
        for key in ("service", "type", "name"):
            if entry.get(key):
                listed[key] = entry[key]
        if store.path(sbom_path(relative)).is_file():
            listed["sbom"] = f"{store.combination.id}/{sbom_path(relative)}"
        if entry.get("kind") == "plugin":
            listed["verify"] = _verdict(config, store, manifest, relative, entry)
        artifacts.append(listed)
    c = store.combination
    return {"go": c.go, "libc": c.libc, "arch": c.arch, "artifacts": artifacts}


def _verdict(config: Config, store: ArtifactStore, manifest: dict[str, Any], relative: str,
             entry: dict[str, Any]) -> str | None:
    """The verdict recorded for exactly this plugin and its service's current binary."""
    from plugin_builder.steps.host import binary_path
    from plugin_builder.verify.pairs import cache_key, contract_of, glibc_floor_of

    plugin_type = config.plugin_types.get(entry.get("type", ""))
    if plugin_type is None or plugin_type.service not in config.host.services:
        return None
    host_relative = binary_path(config.host.services[plugin_type.service])
    host = manifest["artifacts"].get(host_relative)
    if not isinstance(host, dict) or not store.intact(host_relative, host):
        return None
    key = cache_key(host["sha256"], entry["sha256"], contract_of(plugin_type),
                    config.check_command(plugin_type),
                    _loaded_before(config, manifest, plugin_type.service, relative),
                    glibc_floor_of(config, store.combination.libc))
    name = PurePosixPath(relative).name
    recorded = manifest.get("verdicts", {}).get(name)
    if isinstance(recorded, dict) and recorded.get("key") == key:
        return str(recorded.get("verdict"))
    return "pass" if manifest.get("verified", {}).get(name) == key else None


def _loaded_before(config: Config, manifest: dict[str, Any], service: str,
                   relative: str) -> tuple[str, ...]:
    """The sha256 of the plugins the service loads before this one (config order), as
    the verify step keys its proofs."""
    from plugin_builder.steps.plugin import plugin_path

    before = []
    for target in config.plugins:
        if config.plugin_types[target.type].service != service:
            continue
        path = plugin_path(config, target)
        if path == relative:
            break
        entry = manifest["artifacts"].get(path)
        if isinstance(entry, dict):
            before.append(entry["sha256"])
    return tuple(before)


def _sbom_sums(root: Path, combinations: dict[str, Any]) -> list[tuple[str, str]]:
    return [(artifact["sbom"], sha256_file(root / artifact["sbom"]))
            for combination in combinations.values() for artifact in combination["artifacts"]
            if "sbom" in artifact]
