"""What every go build of a combination shares: settings, environment, landing.

Host and plugins take their fingerprint-relevant settings (``-trimpath``, ``-tags``,
``CGO_ENABLED``, ``GOFLAGS``) from this one place, which is what makes a plugin built
here loadable by a host built here.
"""

from __future__ import annotations

import re
import shlex
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from plugin_builder.artifacts import ArtifactStore, inputs_digest
from plugin_builder.backends import BuildEnvironment
from plugin_builder.binary import buildinfo, fingerprints
from plugin_builder.combination import Combination
from plugin_builder.config import Config, Host, PluginTarget
from plugin_builder.errors import BuildError
from plugin_builder.files import sha256_file
from plugin_builder.golang import sources, sourcestate
from plugin_builder.golang.goenv import FINGERPRINT_ENV, GOFLAGS, fingerprint_flags
from plugin_builder.log import Log

OUTPUT = "{output}"  # stands for the staging path in argv, so the digest does not see it


@dataclass(frozen=True)
class Outcome:
    """One artifact after its build step: landed now, or found up to date."""

    relative: str  # the artifact's path inside the combination folder
    path: Path  # where it is
    built: bool  # False: it was up to date and nothing ran
    seconds: float
    entry: Mapping[str, Any]  # its manifest entry: sha256, size, build info, inputs

    # Taken as it is (a static verify builds nothing): why it is not what its sources
    # would build now, or None when it is (or when it was just built).
    stale: str | None = None

    @property
    def sha256(self) -> str:
        return str(self.entry["sha256"])


def existing(store: ArtifactStore, relative: str, project: Path) -> Outcome:
    """An artifact as it is now, without building: its recorded entry while the file
    still holds that content, and whether its sources (in ``project``, the project
    folder) changed since it was built."""
    path = store.path(relative)
    entry = store.entry(relative) or {}
    if not (entry and store.intact(relative, entry)):
        # Changed or foreign: nothing recorded about it holds, only what is there now.
        return Outcome(relative, path, False, 0.0,
                       {"sha256": sha256_file(path), "size": path.stat().st_size},
                       stale="it is not the file this tool built (its content changed)")
    return Outcome(relative, path, False, 0.0, entry,
                   stale=store.sources_changed(relative, project.resolve()))


def shared_flags(host: Host) -> list[str]:
    """Flags that feed package fingerprints: identical for host and plugins."""
    return fingerprint_flags(trimpath=host.trimpath, tags=host.tags, gcflags=host.gcflags)


def build_env(environment: BuildEnvironment, *, gowork: str) -> dict[str, str]:
    env = environment.base_env()
    env.update(
        GOTOOLCHAIN="local",  # a go or toolchain line in a go.mod must not switch releases
        CGO_ENABLED="1",  # plugins need cgo, and so does a host that loads them
        CC=environment.cc,
        GOOS="linux",
        GOARCH=environment.combination.arch,
        GOFLAGS=GOFLAGS,
        GOWORK=gowork,
    )
    return env


def ldflags_value(words: Sequence[str]) -> str:
    """One -ldflags value that the go command splits back into exactly these words.

    cmd/go splits the value like cmd/internal/quoted: on spaces, a field that starts with
    a quote running to the next same quote, with no escapes. So a word holding a space is
    wrapped in a quote it does not contain (the config refuses words holding a space and
    both quotes, and every control character); a quote inside a word is literal. A value
    that starts with a quote would be read as a "pattern=flags" value, so ``all=`` leads.
    """
    fields = [_ldflags_field(word) for word in words]
    value = " ".join(fields)
    return "all=" + value if value.startswith(("'", '"')) else value


def _ldflags_field(word: str) -> str:
    if " " not in word and not word.startswith(("'", '"')):
        return word
    quote = "'" if "'" not in word else '"'
    if quote in word:
        raise BuildError("composing -ldflags", f"{word!r} holds a space and both quotes",
                         fix="drop one kind of quote or the spaces from the stamp value")
    return f"{quote}{word}{quote}"


def stamp_values(config: Config, combination: Combination, source: Path, *,
                 service: str = "", target: PluginTarget | None = None) -> dict[str, str]:
    """What stamp placeholders become in a build of ``source`` for this combination."""
    values = {"version": config.host.version, "combination": combination.id,
              "go": combination.go, "libc": combination.libc, "arch": combination.arch,
              "service": service, "commit": sourcestate.commit_of(source),
              "time": sourcestate.time_of(source)}
    if target is not None:
        values.update(type=target.type, name=target.name)
    return values


def stamp_words(stamps: Mapping[str, str], values: Mapping[str, str]) -> list[str]:
    """-X words that set each variable to its template filled with ``values``."""
    return [f"-X={variable}={template.format(**values)}" for variable, template in stamps.items()]


@dataclass(frozen=True)
class GoBuild:
    """One planned go build: everything needed to run it, or to decide it need not run."""

    relative: str  # where the artifact lands inside the combination folder
    argv: Sequence[str]  # with OUTPUT where the output path goes
    cwd: Path
    env: Mapping[str, str]
    digest_parts: Mapping[str, Any]  # what else feeds it (generated files' text)
    entry: Mapping[str, Any]  # what the manifest records besides the build's facts
    # The folder paths are recorded relative to (the project's; a generated build's own
    # folder), so a copied or moved project is judged by its own sources.
    project: Path

    def command(self, output: Path) -> list[str]:
        return [str(output) if part == OUTPUT else part for part in self.argv]


def go_build(environment: BuildEnvironment, store: ArtifactStore, build: GoBuild,
             log: Log) -> Outcome:
    """Run one go build into a staging path and land it, unless it is up to date."""
    relative, argv, env = build.relative, build.argv, build.env
    project = build.project.resolve()
    inputs = inputs_digest(
        list(argv[1:]),  # argv[0] is the go path, which differs by backend; identity covers it
        {k: env[k] for k in FINGERPRINT_ENV if k in env},
        dict(environment.identity),
        _anchored(build, project),
    )
    reason = _stale(store, relative, inputs, project)
    if reason is None:
        log(f"up to date: {relative}")
        store.keep_checked()
        return Outcome(relative, store.path(relative), False, 0.0, store.entry(relative) or {})
    started = time.monotonic()
    with store.staging(relative) as staged:
        if log.verbose:
            log(f"building {relative}: {reason}")
            log(command_line(build, staged))
        result = environment.run(build.command(staged), cwd=build.cwd, env=env)
        if result.returncode != 0 or not staged.exists():
            raise BuildError(f"building {relative} for {environment.combination.id}",
                             result.output or f"exit code {result.returncode}")
        read = _sources_read(environment, build, project)
        info = buildinfo.read_buildinfo(staged)
        landed = store.land(relative, staged, {
            **build.entry,
            **_buildinfo_fields(info),
            "fingerprints": fingerprints.record_for(staged),
            "libc": environment.combination.libc,
            "arch": environment.combination.arch,
            "flags": list(argv[2:]),
            "toolchain": dict(environment.identity),
            "inputs": inputs,
            "sources": read,
            "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
        })
    seconds = time.monotonic() - started
    log(f"built {relative} in {seconds:.1f}s")
    return Outcome(relative, store.path(relative), True, seconds, landed)


def _anchored(build: GoBuild, project: Path) -> dict[str, Any]:
    """What else feeds the build, with the project's own path written as <project>, and
    where in the project it runs: a project moved elsewhere builds the same binaries, so
    they stay up to date. Without -trimpath, paths are compiled in (and feed package
    fingerprints): then the absolute folder is an input."""
    if "-trimpath" not in build.argv:
        return {**build.digest_parts, "cwd": str(build.cwd)}
    own = re.compile(re.escape(str(project)) + r'(?=[/"\s]|$)')
    parts = {name: own.sub("<project>", value) if isinstance(value, str) else value
             for name, value in build.digest_parts.items()}
    return {**parts, "cwd": own.sub("<project>", str(build.cwd))}


def _stale(store: ArtifactStore, relative: str, inputs: str, project: Path) -> str | None:
    """Why the artifact must be built, or None when it is up to date."""
    if not store.up_to_date(relative, inputs):
        return "not built with these settings, or not what its manifest says"
    return store.sources_changed(relative, project)


def _sources_read(environment: BuildEnvironment, build: GoBuild,
                  project: Path) -> dict[str, Any]:
    """The files this build read, as `go list -deps` names them (see sources.py)."""
    argv = sources.list_argv(environment.go, build.argv, build.argv[-1])
    listed = environment.run(argv, cwd=build.cwd, env=build.env)
    if listed.returncode != 0:
        raise BuildError(f"listing the sources of {build.relative}", listed.output)
    return sources.record(listed.stdout, gowork=build.env.get("GOWORK"), project=project)


def command_line(build: GoBuild, output: Path) -> str:
    """The build as a shell line: the fingerprint-relevant environment, then argv."""
    env = {k: build.env[k] for k in (*FINGERPRINT_ENV, "CC", "GOWORK") if k in build.env}
    words = [f"{k}={shlex.quote(v)}" for k, v in env.items()]
    words += [shlex.quote(part) for part in build.command(output)]
    return f"$ (cd {shlex.quote(str(build.cwd))} && " + " ".join(words) + ")"


def _buildinfo_fields(info: buildinfo.BuildInfo | None) -> dict[str, Any]:
    if info is None:
        return {"go_version": None, "settings": {}, "deps": []}
    return {
        "go_version": info.go_version,
        "settings": dict(info.settings),
        "deps": [_module(m) for m in info.deps],
    }


def _module(module: buildinfo.Module) -> dict[str, Any]:
    out: dict[str, Any] = {"path": module.path, "version": module.version, "sum": module.sum}
    if module.replace is not None:
        out["replace"] = _module(module.replace)
    return out
