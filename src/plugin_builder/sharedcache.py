"""[cache]: one compile cache for every machine, checkout and CI job, and linked artifacts in it.

Go 1.24 and later keep their build cache through a GOCACHEPROG program when one is set
(go-cacher, talking to a gocached server). ``[cache] prog`` (or ``GOCACHEPROG`` in this
machine's environment, which wins: a CI secret) becomes the GOCACHEPROG of every go
command a build runs, locally and in builder images. A program named bare that
``[cache] install`` makes (``go-cacher``) is built by the tool at the pinned version:
into the toolchain cache for this machine, into the builder image for containers.

Go caches compiles, not links (``go build -o`` always links), so the tool keeps what it
links in the same cache: under an action id made of the build's inputs and the content
of every source it read, its paths taken relative to the project when the build is
``-trimpath`` (as the binary then is). A second checkout at another path fetches the
binary instead of linking it, and lands it only once its bytes hash to the OutputID
the cache stored with them.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from plugin_builder.combination import Combination
from plugin_builder.config import Config
from plugin_builder.errors import UsageError
from plugin_builder.golang import cacheprog, quoted
from plugin_builder.golang.goenv import toolchain_env
from plugin_builder.golang.goproxy import Log
from plugin_builder.golang.semver import go_newer

if TYPE_CHECKING:
    from plugin_builder.golang.toolchains import GoToolchain

MIN_GO = "1.24"  # the first release with GOCACHEPROG on by default
# Bumped when what an action id covers changes: old entries are then never hit.
LINK_KEY_VERSION = "plugin-builder link 1"


def words(config: Config) -> list[str]:
    """The cache program and its flags: GOCACHEPROG of this machine, else [cache] prog."""
    from_env = os.environ.get("GOCACHEPROG", "").strip()
    try:
        found = quoted.split(from_env or config.cache.prog)
    except ValueError as error:  # the config's value was checked when it was read
        raise UsageError(f"GOCACHEPROG={from_env!r} cannot be split as Go splits it ({error})",
                         fix="close the quote in GOCACHEPROG, or unset it") from None
    if found and found[0].startswith("-"):
        raise UsageError(f"GOCACHEPROG={from_env!r} names no program first",
                         fix="start GOCACHEPROG with the cache program, or unset it")
    return found


def applies(config: Config, combination: Combination) -> bool:
    """A cache program is set and the combination's Go runs one."""
    return bool(words(config)) and not go_newer(MIN_GO, combination.go)


def bundled(config: Config) -> bool:
    """The program is named bare and is the one [cache] install makes."""
    found = words(config)
    return bool(found) and found[0] == config.cache.program


def local_words(config: Config, toolchain: GoToolchain, log: Log) -> list[str]:
    """The program and its flags as this machine runs them (the tool's build of a bundled
    program, made with the combination's Go)."""
    found = words(config)
    if bundled(config):
        found[0] = str(program(config, toolchain, None, log))
    return found


def program(config: Config, toolchain: GoToolchain, arch: str | None, log: Log) -> Path:
    """The tool's build of [cache] install, for linux/``arch`` (this machine's: None)."""
    from plugin_builder.golang import gotools

    return gotools.installed(config.cache.install, config.cache.program, toolchain,
                             config.toolchain_cache, arch=arch, log=log)


# -- linked artifacts -----------------------------------------------------------------------


@dataclass(frozen=True)
class LinkCache:
    """Where linked artifacts are kept: the cache program as this machine runs it, and the
    folders whose paths a -trimpath build does not see (named instead of spelled)."""

    command: tuple[str, ...]
    roots: tuple[tuple[str, str], ...]  # ("$ARTIFACTS", "/abs/artifacts"), longest first
    artifacts: Path
    project: Path  # what the sources' relative paths are relative to

    @classmethod
    def of(cls, config: Config, command: Sequence[str]) -> LinkCache | None:
        if not command:
            return None
        project = config.root.absolute()
        roots = {"$ARTIFACTS": str(config.artifacts), "$PROJECT": str(project)}
        return cls(tuple(command), tuple(sorted(roots.items(), key=lambda r: -len(r[1]))),
                   config.artifacts, project)

    def entry(self, inputs: Sequence[Any], cwd: Path, sources: Mapping[str, Any], *,
              trimpath: bool) -> LinkEntry:
        """The entry of a build whose output is a function of its inputs (argv,
        environment, toolchain, generated files), where it runs, and what every source
        it read holds."""
        files = {path: fingerprint[0] if fingerprint else None
                 for path, fingerprint in sources.get("files", {}).items()
                 if not self._generated(path)}
        folders = {folder: names for folder, names in sources.get("folders", {}).items()
                   if not self._generated(folder)}
        key = [LINK_KEY_VERSION, list(inputs), str(cwd), files, folders]
        text = json.dumps(self._relative(key) if trimpath else key, sort_keys=True,
                          default=str)
        return LinkEntry(self.command, hashlib.sha256(text.encode()).digest())

    def _generated(self, path: str) -> bool:
        """A file the tool wrote (a go.work, a loader's source, in the artifacts folder):
        its text is among the build's inputs already, spelled with the roots named
        (its sha256 and folder name, made from absolute paths, are not)."""
        return (self.project / path).is_relative_to(self.artifacts)  # relative or not

    def _relative(self, value: Any) -> Any:
        if isinstance(value, str):
            for name, root in self.roots:
                value = value.replace(root, name)
            return value
        if isinstance(value, Mapping):
            return {self._relative(k): self._relative(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self._relative(item) for item in value]
        return value


@dataclass(frozen=True)
class LinkEntry:
    """One linked artifact's place in the shared cache."""

    command: tuple[str, ...]
    action_id: bytes

    def fetch(self, staged: Path, log: Log) -> bool:
        """Write the stored file to ``staged``; False on a miss, and when the cache cannot
        answer or its bytes are not what it says (then the build links)."""
        try:
            with cacheprog.CacheProg(self.command, toolchain_env()) as cache:
                hit = cache.get(self.action_id)
                if hit is None:
                    return False
                staged.write_bytes(cacheprog.read_hit(hit))
        except cacheprog.CacheProgError as error:
            log(f"note: the shared cache: {error}; linking instead")
            staged.unlink(missing_ok=True)
            return False
        return True

    def store(self, landed: Path, log: Log) -> None:
        """Keep a linked file; a cache that cannot take it is a note, not a failure."""
        try:
            with cacheprog.CacheProg(self.command, toolchain_env()) as cache:
                cache.put(self.action_id, landed)
        except cacheprog.CacheProgError as error:
            log(f"note: the shared cache did not take {landed.name}: {error}")
