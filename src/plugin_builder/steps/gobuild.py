"""What every go build of a combination shares: settings, environment, landing.

Host and plugins take their fingerprint-relevant settings (``-trimpath``, ``-tags``,
``CGO_ENABLED``, ``GOFLAGS``) from this one place, which is what makes a plugin built
here loadable by a host built here.
"""

from __future__ import annotations

import re
import shlex
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from plugin_builder.artifacts import ArtifactStore, inputs_digest
from plugin_builder.backends import BuildEnvironment, PlannedEnvironment
from plugin_builder.binary import buildinfo, fingerprints
from plugin_builder.combination import Combination
from plugin_builder.config import Config, Host, PluginTarget
from plugin_builder.errors import BuildError
from plugin_builder.files import sha256_file
from plugin_builder.golang import gojson, quoted, sources, sourcestate
from plugin_builder.golang.goenv import FINGERPRINT_ENV, GOFLAGS, fingerprint_flags
from plugin_builder.log import Log
from plugin_builder.steps import compiler_output

NEVER_BUILT = "not built yet"

if TYPE_CHECKING:
    from plugin_builder.sharedcache import LinkEntry

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
    # A dry run: why it would be built (None: it is up to date, nothing would run).
    planned: str | None = None

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
        GOENV="off",  # the user's `go env -w` file must not reach a build
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
    try:
        return quoted.field(word)
    except ValueError:
        raise BuildError("composing -ldflags", f"{word!r} holds a space and both quotes",
                         fix="drop one kind of quote or the spaces from the stamp value") from None


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
    # Run when the artifact is to be built, before compiling; raises to refuse the build
    # (an out-of-tree plugin whose module graph cannot agree with its host's).
    check: Callable[[GoBuild], None] | None = field(default=None, compare=False)
    # The folder paths are recorded relative to (the project's; a generated build's own
    # folder), so a copied or moved project is judged by its own sources; the compiler's
    # file paths are shown relative to it too.
    project: Path = field(kw_only=True)

    def command(self, output: Path, *, list_packages: bool = False) -> list[str]:
        """argv with the output path; ``list_packages``: with -v, so go names each
        package on stderr as it compiles it (progress; no effect on the output)."""
        argv = [str(output) if part == OUTPUT else part for part in self.argv]
        return [*argv[:2], "-v", *argv[2:]] if list_packages else argv


def _inputs(identity: Mapping[str, str], build: GoBuild) -> str:
    """The digest of everything that feeds the build's output."""
    return inputs_digest(*_input_parts(identity, build, build.project.resolve()))


def planned(environment: PlannedEnvironment, store: ArtifactStore, build: GoBuild,
            log: Log) -> Outcome:
    """What go_build would do (a dry run): say it, and why; run nothing, write nothing."""
    relative = build.relative
    if environment.identity_known:
        reason = _stale(store, relative, _inputs(environment.identity, build),
                        build.project.resolve())
    else:  # whether it is up to date is known once the toolchain is there
        reason = NEVER_BUILT if _never_built(store, relative) else None
        if reason is None:
            log(f"would build {relative} unless up to date: {environment.first}")
            return Outcome(relative, store.path(relative), False, 0.0, {},
                           planned=environment.first)
    if reason is None:
        log(f"up to date: {relative}")
        return Outcome(relative, store.path(relative), False, 0.0, store.entry(relative) or {})
    log(f"would build {relative}: {reason}")
    return Outcome(relative, store.path(relative), False, 0.0, {}, planned=reason)


def go_build(environment: BuildEnvironment, store: ArtifactStore, build: GoBuild,
             log: Log) -> Outcome:
    """Run one go build into a staging path and land it, unless it is up to date (in a
    dry run, only say which it would be)."""
    if isinstance(environment, PlannedEnvironment):
        return planned(environment, store, build, log)
    relative, argv = build.relative, build.argv
    project = build.project.resolve()
    parts = _input_parts(environment.identity, build, project)
    inputs = inputs_digest(*parts)
    reason = _stale(store, relative, inputs, project)
    if reason is None:
        log(f"up to date: {relative}")
        store.keep_checked()
        return Outcome(relative, store.path(relative), False, 0.0, store.entry(relative) or {})
    if build.check is not None:
        build.check(build)
    started = time.monotonic()
    log.status(f"listing the packages of {relative}")
    # Listed before the build: a source edited while it compiles is then recorded with
    # its old content, so the next run rebuilds (listed after, it would look built).
    read, packages = _sources_read(environment, build, project)
    shared = _shared_entry(environment, build, parts, read)
    with store.staging(relative) as staged:
        if log.verbose:
            log(f"building {relative}: {reason}")
            log(command_line(build, staged))
        fetched = shared is not None and shared.fetch(staged, log)
        compiled = 0 if fetched else _compile_and_link(environment, build, staged, packages, log)
        info = buildinfo.read_buildinfo(staged)
        landed = store.land(relative, staged, {
            **build.entry,
            **buildinfo_fields(info),
            "fingerprints": fingerprints.record_for(staged),
            "libc": environment.combination.libc,
            "arch": environment.combination.arch,
            "flags": list(argv[2:]),
            "toolchain": dict(environment.identity),
            "inputs": inputs,
            "sources": read,
            "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
            **({"fetched": "shared cache"} if fetched else {}),
        })
    if shared is not None and not fetched:
        shared.store(store.path(relative), log)
    seconds = time.monotonic() - started
    log(f"fetched {relative} from the shared cache in {seconds:.1f}s" if fetched else
        f"built {relative} in {seconds:.1f}s ({compiled} of {len(packages)} packages compiled)")
    return Outcome(relative, store.path(relative), True, seconds, landed)


def _input_parts(identity: Mapping[str, str], build: GoBuild, project: Path) -> list[Any]:
    """What the artifact is a function of, but for its sources: argv (argv[0] is the go
    path, which differs by backend; identity covers it), the variables that feed the
    output, the toolchain's identity, generated files and where in the project it runs."""
    return [list(build.argv[1:]), {k: build.env[k] for k in FINGERPRINT_ENV if k in build.env},
            dict(identity), _anchored(build, project)]


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


def _shared_entry(environment: BuildEnvironment, build: GoBuild, parts: list[Any],
                  read: Mapping[str, Any]) -> LinkEntry | None:
    """The artifact's entry in the shared cache; None without one."""
    if environment.link_cache is None:
        return None
    return environment.link_cache.entry(parts, build.cwd, read,
                                        trimpath="-trimpath" in build.argv)


def _compile_and_link(environment: BuildEnvironment, build: GoBuild, staged: Path,
                      packages: frozenset[str], log: Log) -> int:
    """The go build itself, into ``staged``: how many packages it compiled (the others
    were cached); BuildError with what go said when it fails."""
    relative = build.relative
    compiling = _Compiling(log, relative, packages)
    result = environment.run(build.command(staged, list_packages=True), cwd=build.cwd,
                             env=build.env, on_stderr=compiling.line, outputs=[staged])
    if result.returncode != 0 or not staged.exists():
        said, first = compiler_output.relative_to_project(
            compiling.without_progress(result.stderr) + result.stdout, build.cwd, build.project)
        raise BuildError(f"building {relative} for {environment.combination.id}",
                         said or f"exit code {result.returncode}",
                         fix=compiler_output.fix_for(first, build.entry, build.cwd,
                                                     environment.combination.flags))
    return compiling.compiled


def _stale(store: ArtifactStore, relative: str, inputs: str, project: Path) -> str | None:
    """Why the artifact must be built, or None when it is up to date."""
    if _never_built(store, relative):
        return NEVER_BUILT
    entry = store.entry(relative) or {}
    if entry.get("inputs") != inputs:
        return "built with other settings (flags, stamps, toolchain or module graph)"
    if not store.intact(relative, entry):
        return "its file is not the one this tool built (its content changed)"
    return store.sources_changed(relative, project)


def _never_built(store: ArtifactStore, relative: str) -> bool:
    return store.entry(relative) is None or not store.path(relative).is_file()


def _sources_read(environment: BuildEnvironment, build: GoBuild,
                  project: Path) -> tuple[dict[str, Any], frozenset[str]]:
    """The files this build reads, as `go list -deps` names them (see sources.py), and
    the import paths of every package it needs."""
    argv = sources.list_argv(environment.go, build.argv, build.argv[-1])
    listed = environment.run(argv, cwd=build.cwd, env=build.env)
    if listed.returncode != 0:
        # stderr says why; stdout is the JSON of the packages it could list.
        said, first = compiler_output.relative_to_project(listed.stderr or listed.output,
                                                          build.cwd, build.project)
        raise BuildError(f"listing the sources of {build.relative}", said,
                         fix=compiler_output.fix_for(first, build.entry, build.cwd,
                                                     environment.combination.flags))
    packages = frozenset(p.get("ImportPath", "") for p in
                         gojson.objects(listed.stdout, "go list -deps"))
    return (sources.record(listed.stdout, gowork=build.env.get("GOWORK"), project=project),
            packages)


class _Compiling:
    """Counts the packages `go build -v` names on stderr as it compiles them, and says
    how far it got; cached packages are not compiled, so a warm build ends early."""

    def __init__(self, log: Log, relative: str, packages: frozenset[str]) -> None:
        self.log, self.relative, self.packages = log, relative, packages
        self.compiled = 0
        log.status(f"compiling {relative}", f"0/{len(packages)} packages")

    def line(self, line: str) -> None:
        if line in self.packages:
            self.compiled += 1
            self.log.status(f"compiling {self.relative}",
                            f"{self.compiled}/{len(self.packages)} packages")

    def without_progress(self, stderr: str) -> str:
        """What go said, less the package names -v printed."""
        return "".join(line for line in stderr.splitlines(keepends=True)
                       if line.rstrip("\n") not in self.packages)


def command_line(build: GoBuild, output: Path) -> str:
    """The build as a shell line: the fingerprint-relevant environment, then argv."""
    env = {k: build.env[k] for k in (*FINGERPRINT_ENV, "CC", "GOWORK") if k in build.env}
    words = [f"{k}={shlex.quote(v)}" for k, v in env.items()]
    words += [shlex.quote(part) for part in build.command(output)]
    return f"$ (cd {shlex.quote(str(build.cwd))} && " + " ".join(words) + ")"


def buildinfo_fields(info: buildinfo.BuildInfo | None) -> dict[str, Any]:
    if info is None:
        return {"go_version": None, "settings": {}, "main": None, "deps": []}
    return {
        "go_version": info.go_version,
        "settings": dict(info.settings),
        "main": {**_module(info.main), "package": info.path},  # for its SBOM
        "deps": [_module(m) for m in info.deps],
    }


def _module(module: buildinfo.Module) -> dict[str, Any]:
    out: dict[str, Any] = {"path": module.path, "version": module.version, "sum": module.sum}
    if module.replace is not None:
        out["replace"] = _module(module.replace)
    return out
