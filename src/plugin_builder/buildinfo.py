"""The Go build information embedded in a binary, as ``go version -m -json`` reports it.

Every input of a Go package's fingerprint that the toolchain records (Go version, module
versions, -trimpath, -tags, GOEXPERIMENT, ...) is in this build information, which is why
the verifier compares it between a host and its plugins. The Go toolchain reads it; we
only ask it, so every Go release's format is read by the code that wrote it.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from plugin_builder.errors import PluginBuilderError, ToolchainError

DEVEL = "(devel)"  # the version Go records for main and workspace modules
_GO_TIMEOUT_S = 120


@dataclass(frozen=True)
class Module:
    """One module line of the build information (``mod``, ``dep`` or ``=>``)."""

    path: str
    version: str = ""
    sum: str = ""
    replace: Module | None = None

    @property
    def is_local_directory(self) -> bool:
        """True for a replacement by a directory (Go records those as "(devel)")."""
        return self.version == DEVEL or self.path.startswith((".", "/"))

    @property
    def label(self) -> str:
        """The version as a person reads it: "v1.2.0", "v1.2.0 => ../shared"."""
        version = self.version or DEVEL
        if self.replace is None:
            return version
        target = self.replace
        if target.is_local_directory:
            return f"{version} => {target.path}"
        return f"{version} => {target.path} {target.version}"


@dataclass(frozen=True)
class BuildInfo:
    """What the Go toolchain recorded about how a binary was built."""

    go_version: str  # as recorded, e.g. "go1.26.8" or "go1.26.8-X:nogreenteagc"
    path: str  # the main package path; a plugin's symbols are prefixed with it
    main: Module
    deps: tuple[Module, ...] = ()
    # Mapping is immutable (MappingProxyType) but not hashable, so it stays out of hash().
    settings: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}), hash=False)

    # -- the Go release ---------------------------------------------------------------

    @property
    def base_go_version(self) -> str:
        """The Go version without the "-X:experiment" suffix GOEXPERIMENT adds to it."""
        return self.go_version.split("-X:", 1)[0].split(" ", 1)[0]

    @property
    def go_release(self) -> str:
        """The major release ("go1.26"); plugins never load across releases."""
        return ".".join(self.base_go_version.split(".")[:2])

    # -- build settings -----------------------------------------------------------------

    def setting(self, key: str, default: str = "") -> str:
        return self.settings.get(key, default)

    @property
    def buildmode(self) -> str:
        return self.setting("-buildmode", "exe")

    @property
    def cgo_enabled(self) -> bool | None:
        value = self.settings.get("CGO_ENABLED")
        return None if value is None else value == "1"

    @property
    def trimpath(self) -> bool:
        return self.setting("-trimpath") == "true"

    @property
    def tags(self) -> tuple[str, ...]:
        return tuple(tag for tag in self.setting("-tags").split(",") if tag)

    @property
    def goos(self) -> str:
        return self.setting("GOOS")

    @property
    def goarch(self) -> str:
        return self.setting("GOARCH")

    @property
    def goamd64(self) -> str:
        # Go omits nothing here today, but v1 is what an absent value means.
        return self.setting("GOAMD64", "v1") if self.goarch == "amd64" else ""

    @property
    def goexperiment(self) -> str:
        return self.setting("GOEXPERIMENT")

    @property
    def gcflags(self) -> str:
        return self.setting("-gcflags")

    @property
    def ldflags(self) -> str:
        return self.setting("-ldflags")

    @property
    def race(self) -> bool:
        return self.setting("-race") == "true"

    @property
    def msan(self) -> bool:
        return self.setting("-msan") == "true"

    @property
    def asan(self) -> bool:
        return self.setting("-asan") == "true"

    @property
    def mod_vendor(self) -> bool:
        return self.setting("-mod") == "vendor"

    # -- modules ------------------------------------------------------------------------

    def modules_by_path(self) -> dict[str, Module]:
        """Every module of the build, the main module included, keyed by module path."""
        modules = {dep.path: dep for dep in self.deps}
        modules[self.main.path] = self.main
        return modules


def read_buildinfo(path: str | os.PathLike[str], go: str = "go") -> BuildInfo | None:
    """Ask ``go`` for the build information of ``path``; None when it carries none.

    A missing file is a PluginBuilderError naming it; a missing or too old ``go`` is a
    ToolchainError.
    """
    path = os.path.abspath(os.fspath(path))
    if not os.path.exists(path):
        raise PluginBuilderError(f"{path}: no such file")
    if os.path.isdir(path):
        raise PluginBuilderError(f"{path}: is a directory, not a Go binary")
    result = _run_go_version(go, path)
    if result.returncode != 0:
        _raise_if_go_too_old(go, result.stderr)
        # "not a Go executable", "unrecognized file format", or no output at all for a
        # file that is no executable: each means the file carries no Go build info.
        return None
    return parse_buildinfo_json(result.stdout, source=path)


def _run_go_version(go: str, path: str) -> subprocess.CompletedProcess[str]:
    # GOTOOLCHAIN=local: a go.mod in the working directory must not switch toolchains.
    env = {**os.environ, "GOTOOLCHAIN": "local"}
    argv = [go, "version", "-m", "-json", path]
    try:
        return subprocess.run(
            argv, capture_output=True, text=True, env=env, timeout=_GO_TIMEOUT_S, check=False
        )
    except OSError as error:
        raise ToolchainError(
            f"cannot run Go toolchain {go!r}: {error.strerror}",
            fix="install Go or pass the path of its go binary",
        ) from None
    except subprocess.TimeoutExpired:
        raise ToolchainError(f"{go} version -m {path}: no answer after {_GO_TIMEOUT_S} s") from None


def _raise_if_go_too_old(go: str, stderr: str) -> None:
    if "flag provided but not defined: -json" in stderr:
        raise ToolchainError(
            f"{go} cannot print build information as JSON (needs Go 1.22 or later)",
            fix="pass a newer go binary",
        )


def parse_buildinfo_json(text: str, source: str = "<json>") -> BuildInfo:
    """Build a BuildInfo from the JSON ``go version -m -json`` prints."""
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as error:
        raise PluginBuilderError(f"{source}: unreadable build information ({error})") from None
    settings = {item["Key"]: item.get("Value", "") for item in raw.get("Settings") or ()}
    return BuildInfo(
        go_version=raw.get("GoVersion", ""),
        path=raw.get("Path", ""),
        main=_module(raw.get("Main") or {}),
        deps=tuple(_module(dep) for dep in raw.get("Deps") or ()),
        settings=MappingProxyType(settings),
    )


def _module(raw: Mapping[str, object]) -> Module:
    replace = raw.get("Replace")
    return Module(
        path=str(raw.get("Path", "")),
        version=str(raw.get("Version", "")),
        sum=str(raw.get("Sum", "")),
        replace=_module(replace) if isinstance(replace, Mapping) else None,
    )
