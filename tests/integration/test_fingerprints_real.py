"""read_buildinfo and read_fingerprints against the real toolchain and the real runtime.

* read_buildinfo must equal ``go version -m -json`` (Go 1.26.8's, the oracle) field by
  field for binaries of several Go releases: plugins, a stripped ``-trimpath -tags``
  exe, and an exe with a module dependency and a ``replace``.
* compare() must predict what ``plugin.Open`` does: a host (``host check PLUGIN``) loads
  the plugin, and when it refuses, the package it names must be the verdict's ``first``.

Every binary is built once per module; warm (Go build cache filled) this takes well
under two minutes, cold about as long again for each older release's standard library.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile
from elftools.elf.sections import SymbolTableSection

from plugin_builder.binary.buildinfo import BuildInfo, Module, read_buildinfo
from plugin_builder.binary.fingerprints import (
    DIFFER,
    MATCH,
    UNREADABLE,
    Fingerprints,
    compare,
    read_fingerprints,
)
from plugin_builder.config import default_toolchain_cache
from plugin_builder.golang.toolchains import go_toolchain

ORACLE_GO = "1.26.8"  # the newest release here: its `go version -m` reads every format
OLDER_RELEASES = ("1.23.9", "1.24.11", "1.25.5", "1.26.6")
REFUSAL = re.compile(r"plugin was built with a different version of package (\S+)")
LOAD_TIMEOUT_S = 60

HOST_MAIN = """package main

import (
	"fmt"
	"net/http"
	"os"
	"plugin"
)

var client = http.DefaultClient // real hosts share net/http with their plugins

func main() {
	if len(os.Args) != 3 || os.Args[1] != "check" {
		fmt.Fprintln(os.Stderr, "usage: host check PLUGIN")
		os.Exit(64)
	}
	if _, err := plugin.Open(os.Args[2]); err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	fmt.Println("ok")
}
"""

PLUGIN_MAIN = """package main

import "net/http"

var Client = http.DefaultClient

func main() {}
"""

TINY_PLUGIN_MAIN = """package main

func Name() string { return "tiny" }

func main() {}
"""

# An exe with a local dependency replaced by a directory and a versioned one with a sum.
APP_MAIN = """package main

import (
	"fmt"

	"example.com/dep"
	"github.com/google/uuid"
)

func main() { fmt.Println(dep.Name(), uuid.NewString()) }
"""
APP_REQUIRES = """
require (
	example.com/dep v1.2.0
	github.com/google/uuid v1.5.0
)

replace example.com/dep => ../dep
"""
# Written out so that no checksum database is asked; the module comes from the module
# cache or the Go module proxy.
APP_SUMS = """\
github.com/google/uuid v1.5.0 h1:1p67kYwdtXjb0gL0BPiP1Av9wiZPo5A8z2cWkTZ+eyU=
github.com/google/uuid v1.5.0/go.mod h1:TIyPZe4MgqvfeYDBFedMoGGpEw/LqOeaOT+nhxU+yHo=
"""
DEP_MAIN = """package dep

func Name() string { return "dep" }
"""


# -- building -----------------------------------------------------------------------------


def build_env() -> dict[str, str]:
    env = {
        **os.environ,
        "GOTOOLCHAIN": "local",  # a go line in go.mod must not switch toolchains
        "GOENV": "off",  # the user's `go env -w` settings are not ours
        "GOFLAGS": "-buildvcs=false",  # tmp dirs may sit inside someone's checkout
        "CGO_ENABLED": "1",  # plugins need cgo
    }
    env.pop("GOWORK", None)
    return env


def write_module(directory: Path, module: str, files: dict[str, str], extra: str = "") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    # go 1.21: every release under test accepts it with GOTOOLCHAIN=local
    (directory / "go.mod").write_text(f"module {module}\n\ngo 1.21\n{extra}")
    for name, text in files.items():
        (directory / name).write_text(text)
    return directory


def go_build(go: str, module: Path, output: Path, flags: Sequence[str] = (),
             env: dict[str, str] | None = None) -> Path:
    result = subprocess.run(
        [go, "build", *flags, "-o", str(output), "."], cwd=module,
        env={**build_env(), **(env or {})}, capture_output=True, text=True, check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"go build {' '.join(flags)} in {module} failed:\n{result.stderr}")
    return output


def go_of(version: str) -> str:
    return str(go_toolchain(version, default_toolchain_cache()).go)


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("fingerprints")
    write_module(root / "host", "example.com/host", {"main.go": HOST_MAIN})
    write_module(root / "plug", "example.com/plug", {"main.go": PLUGIN_MAIN})
    write_module(root / "tiny", "example.com/tiny", {"main.go": TINY_PLUGIN_MAIN})
    write_module(root / "dep", "example.com/dep", {"dep.go": DEP_MAIN})
    write_module(root / "app", "example.com/app", {"main.go": APP_MAIN, "go.sum": APP_SUMS},
                 APP_REQUIRES)
    (root / "bin").mkdir()
    return root


BuildFn = Callable[..., Path]


@pytest.fixture(scope="module")
def build(tree: Path) -> BuildFn:
    """build(name, module, version, *flags): each binary once per module."""
    built: dict[str, Path] = {}

    def build_once(name: str, module: str, version: str = "1.26.8", *flags: str,
                   env: dict[str, str] | None = None) -> Path:
        if name not in built:
            built[name] = go_build(go_of(version), tree / module, tree / "bin" / name, flags,
                                   env)
        return built[name]

    return build_once


PLUGIN = "-buildmode=plugin"
STRIPPED = ("-trimpath", "-tags=x", "-ldflags=-s -w")

# name -> (module, Go release, flags): every binary this module builds
BINARIES: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "host": ("host", "1.26.8", ()),
    "host-trimpath": ("host", "1.26.8", ("-trimpath",)),
    "host-stripped": ("host", "1.26.8", ("-ldflags=-s -w",)),
    "plugin": ("plug", "1.26.8", (PLUGIN,)),
    "plugin-stripped": ("plug", "1.26.8", (PLUGIN, "-ldflags=-s -w")),
    "plugin-go1.26.6": ("plug", "1.26.6", (PLUGIN,)),
    "plugin-race": ("plug", "1.26.8", (PLUGIN, "-race")),
    "tiny-plugin-go1.23.9": ("tiny", "1.23.9", (PLUGIN,)),
    "tiny-plugin-go1.25.5": ("tiny", "1.25.5", (PLUGIN, "-trimpath")),
    "app-stripped": ("app", "1.26.8", STRIPPED),
    "app-stripped-go1.24.11": ("app", "1.24.11", STRIPPED),
    "app": ("app", "1.26.8", ()),
    **{f"app-go{version}": ("app", version, ()) for version in OLDER_RELEASES},
}


@pytest.fixture(scope="module")
def binary(build: BuildFn) -> Callable[[str], Path]:
    def by_name(name: str) -> Path:
        module, version, flags = BINARIES[name]
        return build(name, module, version, *flags)

    return by_name


# -- build info equals go version -m -json ------------------------------------------------


def oracle(path: Path) -> dict:
    result = subprocess.run(
        [go_of(ORACLE_GO), "version", "-m", "-json", str(path)], capture_output=True, text=True,
        env=build_env(), check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def module_fields(module: Module) -> dict:
    """A Module as Go's JSON spells it (omitempty)."""
    fields = {"Path": module.path, "Version": module.version, "Sum": module.sum}
    if module.replace is not None:
        fields["Replace"] = module_fields(module.replace)
    return {key: value for key, value in fields.items() if value}


def assert_equal_field_by_field(mine: BuildInfo, go: dict) -> None:
    assert mine.go_version == go["GoVersion"]
    assert mine.path == go.get("Path", "")
    assert module_fields(mine.main) == go["Main"]
    assert [module_fields(dep) for dep in mine.deps] == go.get("Deps", [])
    settings = [(item.get("Key", ""), item.get("Value", "")) for item in go["Settings"]]
    assert len({key for key, _ in settings}) == len(settings)  # so a dict loses nothing
    assert list(mine.settings.items()) == settings


@pytest.mark.parametrize("name", BINARIES)
def test_buildinfo_equals_go_version_m_json(binary, name):
    path = binary(name)
    mine = read_buildinfo(path)
    assert mine is not None
    assert_equal_field_by_field(mine, oracle(path))


def test_buildinfo_of_the_kinds_under_test_is_what_they_are(binary):
    plugin = read_buildinfo(binary("tiny-plugin-go1.23.9"))
    assert (plugin.go_version, plugin.buildmode, plugin.cgo_enabled) == ("go1.23.9", "plugin", True)
    stripped = read_buildinfo(binary("app-stripped-go1.24.11"))
    # Go does not record -ldflags of a -trimpath build: they might hold paths.
    assert (stripped.trimpath, stripped.tags, stripped.ldflags) == (True, ("x",), "")
    with binary("app-stripped-go1.24.11").open("rb") as stream:
        assert ELFFile(stream).get_section_by_name(".symtab") is None
    dep = read_buildinfo(binary("app")).modules_by_path()["example.com/dep"]
    assert dep.label == "v1.2.0 => ../dep"
    uuid = read_buildinfo(binary("app")).modules_by_path()["github.com/google/uuid"]
    assert (uuid.version, uuid.sum[:3]) == ("v1.5.0", "h1:")


def test_buildinfo_of_non_go_files_is_none(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("not a binary\n")
    c_program = shutil.which("true")
    assert c_program is not None
    assert (read_buildinfo(text), read_buildinfo(c_program)) == (None, None)


def test_buildinfo_is_read_in_milliseconds(binary):
    path = binary("plugin")
    read_buildinfo(path)
    started = time.process_time()
    for _ in range(10):
        read_buildinfo(path)
    per_read_ms = (time.process_time() - started) * 100
    assert per_read_ms < 20, f"{per_read_ms:.1f} ms per read of a {path.stat().st_size} B plugin"


# -- fingerprints against real plugin.Open ------------------------------------------------


def load(host: Path, plugin: Path) -> str:
    """What the host prints when it opens the plugin: "ok" or plugin.Open's error."""
    result = subprocess.run(
        [str(host), "check", str(plugin)], capture_output=True, text=True,
        timeout=LOAD_TIMEOUT_S, check=False,
    )
    return (result.stdout + result.stderr).strip()


def refused_package(output: str) -> str:
    match = REFUSAL.search(output)
    assert match, f"the host did not refuse a package: {output!r}"
    return match.group(1)


def pkgname_symbols_order(plugin: Path) -> tuple[str, ...]:
    """The pkghashes order as the linker names it in .symtab (go:link.pkgname.N), which
    only an unstripped plugin has: the reference the relocation order is checked with."""
    with plugin.open("rb") as stream:
        elf = ELFFile(stream)
        symtab = elf.get_section_by_name(".symtab")
        assert isinstance(symtab, SymbolTableSection)
        names = {}
        for symbol in symtab.iter_symbols():
            if symbol.name.startswith("go:link.pkgname."):
                section = elf.get_section(symbol["st_shndx"])
                offset = symbol["st_value"] - section["sh_addr"] + section["sh_offset"]
                stream.seek(offset)
                names[int(symbol.name.rsplit(".", 1)[1])] = stream.read(symbol["st_size"])
    return tuple(names[index].decode() for index in sorted(names))


def test_identical_builds_match_and_load(binary):
    host, plugin = read_fingerprints(binary("host")), read_fingerprints(binary("plugin"))
    verdict = compare(host, plugin)
    assert (verdict.status, verdict.first) == (MATCH, None)
    assert verdict.shared > 100  # net/http and everything below it
    assert load(binary("host"), binary("plugin")) == "ok"


def test_the_check_order_is_the_linkers_pkghashes_order_also_when_stripped(binary):
    order = read_fingerprints(binary("plugin")).check_order
    assert order == pkgname_symbols_order(binary("plugin"))
    assert order[0] == "internal/goarch"  # postorder: the packages nothing imports first
    assert read_fingerprints(binary("plugin-stripped")).check_order == order


def test_a_trimpath_host_differs_everywhere_and_the_runtime_names_first(binary):
    verdict = compare(read_fingerprints(binary("host-trimpath")),
                      read_fingerprints(binary("plugin")))
    assert verdict.status == DIFFER
    assert len(verdict.differing) == verdict.shared  # -trimpath changes every package
    assert refused_package(load(binary("host-trimpath"), binary("plugin"))) == verdict.first


def test_patch_releases_differ_where_export_data_changed_and_the_runtime_names_first(binary):
    verdict = compare(read_fingerprints(binary("host")),
                      read_fingerprints(binary("plugin-go1.26.6")))
    assert verdict.status == DIFFER
    assert "net/http" in verdict.differing
    assert len(verdict.differing) < verdict.shared  # most packages did not change
    assert refused_package(load(binary("host"), binary("plugin-go1.26.6"))) == verdict.first


def test_the_first_differing_package_is_deep_in_the_order_for_a_race_plugin(binary):
    # The case that tells orders apart: the first refused package is neither the first
    # package checked nor the alphabetically first, and the runtime agrees with `first`.
    plugin = read_fingerprints(binary("plugin-race"))
    verdict = compare(read_fingerprints(binary("host")), plugin)
    assert verdict.status == DIFFER
    assert verdict.first != plugin.check_order[0]
    assert verdict.first != min(verdict.differing)
    assert refused_package(load(binary("host"), binary("plugin-race"))) == verdict.first


def test_a_stripped_host_exports_the_same_fingerprints(binary):
    stripped = read_fingerprints(binary("host-stripped"))
    assert dict(stripped.hashes) == dict(read_fingerprints(binary("host")).hashes)
    assert compare(stripped, read_fingerprints(binary("plugin"))).status == MATCH
    assert load(binary("host-stripped"), binary("plugin-stripped")) == "ok"


def test_a_program_that_does_not_import_plugin_exports_no_fingerprints(binary):
    # app is dynamically linked (cgo, for net): it has .dynsym, only no fingerprints.
    app = read_fingerprints(binary("app"))
    assert (len(app), app.why_none) == (0, "")
    verdict = compare(app, read_fingerprints(binary("plugin")))
    assert verdict.status == UNREADABLE
    assert verdict.reason.startswith("the host exports no package fingerprints")


def test_fingerprints_are_read_in_milliseconds(binary):
    path = binary("plugin")
    read_fingerprints(path)
    started = time.process_time()
    for _ in range(10):
        prints: Fingerprints = read_fingerprints(path)
    per_read_ms = (time.process_time() - started) * 100
    assert len(prints) > 100
    # about 7 ms on the project machines; pyelftools' per-symbol parsing takes 500
    assert per_read_ms < 50, f"{per_read_ms:.1f} ms per read of {len(prints)} fingerprints"
