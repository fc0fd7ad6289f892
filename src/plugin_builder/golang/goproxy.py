"""Go toolchains from the Go module proxy, checked against the Go checksum database.

Why: a plugin loads only into a host built by the very same Go release, so every release
in the config must be installed exactly, on machines that reach package registries but
not go.dev's download page. Go publishes every release from 1.21.0 as the module
``golang.org/toolchain`` at ``v0.0.1-go<release>.<goos>-<goarch>``: the zip that
``GOTOOLCHAIN=go1.x.y`` downloads. This module fetches that zip from the first http(s)
entry of GOPROXY (https://proxy.golang.org by default) and checks it the way the go
command checks a module it downloads.

What is checked:

- the zip's ``h1:`` hash (Go's dirhash Hash1: the sha256 of every file, hashed again as a
  sorted list) equals the one sum.golang.org records for that module version, read
  through the proxy's ``/sumdb/sum.golang.org/`` endpoint;
- that record is authentic: the tree head is a note signed with sum.golang.org's Ed25519
  key (the one the go command ships), and the record is proven to be in that tree by an
  RFC 6962 inclusion proof rebuilt from the tree's tiles. A proxy can thus neither serve
  other bytes nor forge the record that would match them;
- every zip entry before anything is written: it must lie under the module's prefix,
  with no ``..``, absolute path, backslash or symbolic link, and no name given twice.

What is not checked:

- that the signed tree extends the one seen last time (the go command keeps the last
  tree head it saw and proves each new one grew from it; nothing is kept here, so a
  checksum database that showed this machine alone a forked log would go unnoticed),
  nor how old the signed tree is;
- the ``go.mod`` line of the record, and the proxy's ``.info`` and ``@v/list`` answers:
  they only decide whether a release is "not published" rather than "unreachable";
- without the ``cryptography`` package the signature and the proof are skipped: the
  hash is then compared with the proxy's copy of the record only (provenance says so);
- ``GOSUMDB=off`` skips the check entirely, with a warning; any other GOSUMDB, and
  GONOSUMDB or GOPRIVATE, are ignored: the toolchain is always checked against
  sum.golang.org with its built-in key.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import http.client
import importlib.util
import os
import platform
import re
import stat
import sys
import time
import urllib.error
import urllib.request
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from plugin_builder.errors import ToolchainError

Log = Callable[[str], None]

FIRST_RELEASE = (1, 21)  # the first release published as a golang.org/toolchain module
DEFAULT_GOPROXY = "https://proxy.golang.org"
TOOLCHAIN_MODULE = "golang.org/toolchain"
# The checksum database and its key, as the go command knows them
# (cmd/go/internal/modfetch/key.go).
SUMDB_NAME = "sum.golang.org"
SUMDB_KEY = "sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8"
TILE_HEIGHT = 8  # sum.golang.org serves its Merkle tree in tiles of 2**8 hashes
HASH_SIZE = 32
HTTP_TIMEOUT_S = 60
CHUNK = 1 << 20
USER_AGENT = "plugin-builder (Go toolchain provisioning)"
_GOARCH = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64",
           "i386": "386", "i686": "386", "armv6l": "arm", "armv7l": "arm",
           "ppc64le": "ppc64le", "s390x": "s390x", "riscv64": "riscv64",
           "loongarch64": "loong64"}


class Unavailable(Exception):
    """A source lacks the release (``missing``) or cannot be reached: try the next one."""

    def __init__(self, source: str, reason: str, *, missing: bool,
                 status: int | None = None) -> None:
        super().__init__(f"{source}: {reason}")
        self.missing = missing
        self.status = status  # the HTTP status, when the source answered


# -- which module, from which proxy --------------------------------------------------------


def module_proxy(environ: Mapping[str, str] = os.environ) -> str:
    """The first http(s) entry of GOPROXY (the one the go command tries first), or the default."""
    for entry in re.split(r"[,|]", environ.get("GOPROXY", "")):
        if entry.strip().startswith(("https://", "http://")):
            return entry.strip().rstrip("/")
    return DEFAULT_GOPROXY


def toolchain_module_version(version: str) -> str:
    """go<version>'s golang.org/toolchain version for this machine: v0.0.1-go1.23.0.linux-amd64."""
    return f"v0.0.1-go{version}.{host_platform()}"


def host_platform() -> str:
    """GOOS-GOARCH of this machine, where the toolchain runs (it cross-compiles from there)."""
    goos = {"linux": "linux", "darwin": "darwin"}.get(sys.platform)
    goarch = _GOARCH.get(platform.machine().lower())
    if goos is None or goarch is None:
        raise ToolchainError(
            f"no Go toolchain is published for {sys.platform}/{platform.machine()}",
            fix="run plugin-builder on linux or darwin, amd64 or arm64")
    return f"{goos}-{goarch}"


def toolchain_published(version: str, *, timeout_s: float) -> bool:
    """Whether the proxy publishes go<version>'s toolchain module (asks for its ``.info``).

    403 and 404 mean it does not (proxy.golang.org answers 403 for an unknown version);
    a proxy that cannot be asked raises :class:`Unavailable`.
    """
    proxy = module_proxy()
    url = f"{proxy}/{TOOLCHAIN_MODULE}/@v/{toolchain_module_version(version)}.info"
    try:
        _fetch(url, _proxy_source(proxy), timeout_s=timeout_s)
    except Unavailable as answer:
        if answer.missing or answer.status == 403:
            return False
        raise
    return True


def _proxy_source(proxy: str) -> str:
    return f"the Go module proxy {proxy}"


# -- the toolchain zip ----------------------------------------------------------------------


def fetch_toolchain(version: str, goroot: Path, download: Path, log: Log) -> dict[str, str]:
    """Download go<version>'s zip to ``download``, check it and extract it into ``goroot``.

    Returns the provenance: the module and proxy (``source``), the zip's ``h1`` and how it
    was ``verified``. A proxy that lacks the release or cannot be reached raises
    :class:`Unavailable`; a zip that is unusable or differs from the checksum database's
    record raises ToolchainError (the caller deletes what was extracted).
    """
    proxy = module_proxy()
    module_version = toolchain_module_version(version)
    module = f"{TOOLCHAIN_MODULE}@{module_version}"
    _download_toolchain(version, proxy, module_version, download, log)
    expected, how = _sumdb_checksum(version, proxy, module_version, log)
    actual = _extract_toolchain(version, proxy, module, download, goroot)
    if expected is not None and actual != expected:
        raise ToolchainError(
            f"checksum mismatch for go{version}: {module} from {proxy} hashes to {actual}, "
            f"but {SUMDB_NAME} records {expected}",
            fix="do not use this download: run the same command again, and if it persists "
                "set GOPROXY to a proxy you trust (https://proxy.golang.org)")
    download.unlink()
    return {"source": f"{module} from {proxy}", "h1": actual, "verified": how}


def _download_toolchain(version: str, proxy: str, module_version: str, target: Path,
                        log: Log) -> None:
    source = _proxy_source(proxy)
    url = f"{proxy}/{TOOLCHAIN_MODULE}/@v/{module_version}.zip"
    log(f"provisioning go{version} from {url}")
    started = time.monotonic()
    try:
        size = _download(url, target, source)
    except Unavailable as refused:
        if refused.status == 403 and _listed(proxy, module_version, source) is False:
            # Some proxies answer 403 rather than 404 for a version that does not exist.
            raise Unavailable(source, f"{TOOLCHAIN_MODULE}@{module_version} is not published "
                                      f"(not in {proxy}/{TOOLCHAIN_MODULE}/@v/list)",
                              missing=True) from None
        raise
    log(f"downloaded {size / 1e6:.1f} MB in {time.monotonic() - started:.1f} s")


def _listed(proxy: str, module_version: str, source: str) -> bool | None:
    """Whether the proxy lists this toolchain version; None when it cannot tell."""
    try:
        listed = _fetch(f"{proxy}/{TOOLCHAIN_MODULE}/@v/list", source)
    except Unavailable:
        return None
    return module_version in listed.decode("utf-8", "replace").split()


def _extract_toolchain(version: str, proxy: str, module: str, download: Path,
                       goroot: Path) -> str:
    """Extract the zip into ``goroot``; its h1: hash, for the caller to compare."""
    try:
        return extract_module_zip(download, module, goroot)
    except (ValueError, zipfile.BadZipFile, zlib.error, EOFError) as error:
        raise ToolchainError(f"the {module} zip for go{version} from {proxy} is unusable: {error}",
                             fix="run the same command again; if it persists, the proxy serves "
                                 "a broken file: set GOPROXY=https://proxy.golang.org") from None


# -- HTTP ---------------------------------------------------------------------------------


@contextlib.contextmanager
def _get(url: str, source: str,
         timeout_s: float = HTTP_TIMEOUT_S) -> Iterator[http.client.HTTPResponse]:
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    try:
        response = urllib.request.urlopen(request, timeout=timeout_s)
    except urllib.error.HTTPError as error:
        said = _error_body(error)
        raise Unavailable(source, f"{url}: HTTP {error.code}" + (f" ({said})" if said else ""),
                          missing=error.code in (404, 410), status=error.code) from None
    except (OSError, http.client.HTTPException) as error:
        raise Unavailable(source, f"{url} unreachable: {_network_reason(error)}",
                          missing=False) from None
    with response:
        yield response


def _read(response: http.client.HTTPResponse, url: str, source: str, size: int = -1) -> bytes:
    try:
        return response.read(size)
    except (OSError, http.client.HTTPException) as error:
        raise Unavailable(source, f"{url}: connection lost: {_network_reason(error)}",
                          missing=False) from None


def _fetch(url: str, source: str, timeout_s: float = HTTP_TIMEOUT_S) -> bytes:
    with _get(url, source, timeout_s) as response:
        return _read(response, url, source)


def _download(url: str, target: Path, source: str) -> int:
    """Stream ``url`` into ``target``; a cut connection is an error, never a short file."""
    with _get(url, source) as response, target.open("wb") as out:
        expected = int(response.headers.get("Content-Length") or -1)
        size = 0
        while chunk := _read(response, url, source, CHUNK):
            out.write(chunk)  # an OSError here is the disk's, not the network's
            size += len(chunk)
    if expected >= 0 and size != expected:
        raise Unavailable(source, f"{url}: download stopped at {size} of {expected} bytes",
                          missing=False)
    return size


def _error_body(error: urllib.error.HTTPError) -> str:
    """The last line of an error answer ("not found: ..."), if it can be read."""
    try:
        return last_line(error.read(500).decode("utf-8", "replace"))
    except (OSError, http.client.HTTPException):
        return ""


def _network_reason(error: BaseException) -> str:
    reason = getattr(error, "reason", None)  # URLError wraps the socket error
    return str(reason or error) or type(error).__name__


def last_line(text: str) -> str:
    """The last non-blank line of an answer or a tool's output: usually what went wrong."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else ""


# -- module zips and Go's dirhash ---------------------------------------------------------


def extract_module_zip(archive: Path, prefix: str, destination: Path) -> str:
    """Extract a module zip into ``destination`` without its ``prefix/``; its h1: dirhash.

    Every entry name is checked before anything is written. Hashing while extracting
    reads the 220 MB of a toolchain once; nothing extracted is used before the caller
    compares the hash, and a mismatch deletes it with the staging folder.
    """
    destination.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(archive) as opened:
        entries = opened.infolist()
        paths = [safe_entry_path(entry, prefix) for entry in entries]
        names = [entry.filename for entry in entries]
        if len(set(names)) != len(names):
            raise ValueError("the zip names a file twice")
        digests = [(entry.filename,
                    _extract_entry(opened, entry, destination.joinpath(*path.parts),
                                   executable=_is_executable(entry, path)))
                   for entry, path in zip(entries, paths, strict=True)]
    return hash1(digests)


def safe_entry_path(entry: zipfile.ZipInfo, prefix: str) -> PurePosixPath:
    """The entry's path below ``prefix/``; a ValueError for anything that could escape it."""
    name = entry.filename
    if not name.startswith(prefix + "/"):
        raise ValueError(f"entry {name!r} is not under {prefix}/")
    relative = name[len(prefix) + 1:]
    if entry.is_dir():
        relative = relative.removesuffix("/")
    parts = relative.split("/")
    if (not relative or relative.startswith("/") or any(c in relative for c in "\\\0\n")
            or any(part in ("", ".", "..") for part in parts)):
        raise ValueError(f"entry {name!r} has an unsafe path")
    if stat.S_ISLNK(entry.external_attr >> 16):
        raise ValueError(f"entry {name!r} is a symbolic link")
    return PurePosixPath(relative)


def _is_executable(entry: zipfile.ZipInfo, path: PurePosixPath) -> bool:
    mode = entry.external_attr >> 16
    if entry.create_system == 3 and mode:  # made on Unix: the mode is recorded
        return bool(mode & 0o111)
    # No recorded mode: the go command's own rule for toolchain zips.
    return path.parts[0] == "bin" or path.parts[:2] == ("pkg", "tool")


def _extract_entry(archive: zipfile.ZipFile, entry: zipfile.ZipInfo, target: Path, *,
                   executable: bool) -> str:
    """Write one entry; the sha256 of its content."""
    digest = hashlib.sha256()
    if entry.is_dir():
        target.mkdir(parents=True, exist_ok=True)
        return digest.hexdigest()
    target.parent.mkdir(parents=True, exist_ok=True)
    with archive.open(entry) as source, target.open("wb") as out:
        while chunk := source.read(CHUNK):
            digest.update(chunk)
            out.write(chunk)
    target.chmod(0o755 if executable else 0o644)
    return digest.hexdigest()


def hash1(digests: Iterable[tuple[str, str]]) -> str:
    """Go's dirhash.Hash1 from (file name, hex sha256 of its content) pairs."""
    summary = "".join(f"{digest}  {name}\n" for name, digest in sorted(digests))
    return "h1:" + base64.b64encode(hashlib.sha256(summary.encode()).digest()).decode()


def dirhash_zip(archive: Path) -> str:
    """Go's dirhash.HashZip(archive, Hash1): the h1: a go.sum line records for a module zip."""
    with zipfile.ZipFile(archive) as opened:
        return hash1((entry.filename, _sha256_entry(opened, entry)) for entry in opened.infolist())


def _sha256_entry(archive: zipfile.ZipFile, entry: zipfile.ZipInfo) -> str:
    digest = hashlib.sha256()
    with archive.open(entry) as source:
        while chunk := source.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


# -- the checksum database ------------------------------------------------------------------


@dataclass(frozen=True)
class SumdbLookup:
    """A lookup answer of the checksum database: one record and the signed tree holding it."""

    record_id: int
    record: bytes  # "<module> <version> h1:...\n<module> <version>/go.mod h1:...\n"
    note_text: bytes  # "go.sum database tree\n<size>\n<root hash>\n": what is signed
    signatures: tuple[tuple[str, bytes], ...]  # (signer name, key hash + signature)
    tree_size: int
    root_hash: bytes

    @classmethod
    def parse(cls, body: bytes) -> SumdbLookup:
        """Parse ``<id>\\n<record>\\n<note>`` as sumdb's lookup endpoint answers."""
        first, _, rest = body.partition(b"\n")
        record, separator, note = rest.partition(b"\n\n")
        if not first.isdigit() or not separator:
            raise ValueError("not a checksum database lookup answer")
        # A note is its text, a blank line, then one "— <name> <base64>" line per signature.
        text_end = note.rfind(b"\n\n")
        if text_end < 0:
            raise ValueError("the tree note carries no signature")
        text, signature_lines = note[:text_end + 1], note[text_end + 2:]
        tree = text.decode().split("\n")
        if len(tree) != 4 or tree[0] != "go.sum database tree" or not tree[1].isdigit():
            raise ValueError("the tree note is malformed")
        signatures = []
        for line in signature_lines.decode().splitlines():
            signer, _, blob = line.removeprefix("\N{EM DASH} ").partition(" ")
            signatures.append((signer, base64.b64decode(blob)))
        return cls(int(first), record + b"\n", text, tuple(signatures), int(tree[1]),
                   base64.b64decode(tree[2]))

    def hashes(self) -> dict[str, str]:
        """``"<module> <version>"`` (or ``.../go.mod``) -> its h1: hash."""
        pairs = (line.rsplit(" ", 1) for line in self.record.decode().splitlines())
        return {where: h1 for where, h1 in pairs}


def _sumdb_checksum(version: str, proxy: str, module_version: str,
                    log: Log) -> tuple[str | None, str]:
    """The h1: hash sum.golang.org records for the toolchain zip, and how it was checked."""
    module = f"{TOOLCHAIN_MODULE}@{module_version}"
    if os.environ.get("GOSUMDB") == "off":
        log(f"warning: GOSUMDB=off: go{version} ({module}) is installed without checking it")
        return None, "not checked: GOSUMDB=off"
    base = f"{proxy}/sumdb/{SUMDB_NAME}"
    source = f"{SUMDB_NAME} through {proxy}"
    try:
        lookup = SumdbLookup.parse(_fetch(f"{base}/lookup/{module}", source))
        expected = lookup.hashes().get(f"{TOOLCHAIN_MODULE} {module_version}")
        if expected is None:
            raise ValueError(f"the answer has no line for {module}")
        how = _authenticate(lookup, lambda path: _fetch(f"{base}/{path}", source))
    except (Unavailable, ValueError) as error:
        raise ToolchainError(
            f"could not check go{version} ({module}) against {SUMDB_NAME} through {proxy}: "
            f"{error}",
            fix="run the same command again; use a GOPROXY that also serves /sumdb/"
                f"{SUMDB_NAME} (proxy.golang.org does), or set GOSUMDB=off to install "
                "without any check (not recommended)") from None
    log(f"{module}: {how}")
    return expected, how


def _authenticate(lookup: SumdbLookup, fetch: Callable[[str], bytes]) -> str:
    """Prove the record is in a tree sum.golang.org signed; say what was proven."""
    if importlib.util.find_spec("cryptography") is None:
        return (f"hash compared with the proxy's copy of {SUMDB_NAME}; its signature was "
                "not checked (install the 'cryptography' package to check it)")
    verify_note(lookup.note_text, lookup.signatures, SUMDB_KEY)
    tiles = TileHashes(lookup.tree_size, lambda level, index, width:
                       _read_tile(fetch, level, index, width))
    root = root_with_leaf(lookup.tree_size, lookup.record_id, record_hash(lookup.record),
                          tiles.subtree)
    if root != lookup.root_hash:
        raise ValueError(f"record {lookup.record_id} is not in the tree {SUMDB_NAME} signed")
    return (f"signed by {SUMDB_NAME}; record {lookup.record_id} proven in its tree of "
            f"{lookup.tree_size} records")


def verify_note(text: bytes, signatures: Iterable[tuple[str, bytes]], verifier_key: str) -> None:
    """Check a signed note's Ed25519 signature, as golang.org/x/mod/sumdb/note does.

    ``verifier_key`` is ``<name>+<key hash>+<base64 of 0x01 and the public key>``.
    """
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    name, key_hash, encoded = verifier_key.split("+", 2)
    key = base64.b64decode(encoded)
    expected_hash = hashlib.sha256(name.encode() + b"\n" + key).digest()[:4]
    if len(key) != 33 or key[0] != 1 or expected_hash.hex() != key_hash:
        raise ValueError(f"the verifier key of {name} is malformed")
    for signer, blob in signatures:
        if signer == name and blob[:4] == expected_hash:
            try:
                Ed25519PublicKey.from_public_bytes(key[1:]).verify(blob[4:], text)
            except InvalidSignature:
                raise ValueError(f"the tree's signature by {name} is invalid") from None
            return
    raise ValueError(f"the tree is not signed by {name}")


# -- the Merkle tree: tiles and the inclusion proof ----------------------------------------


def record_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()  # RFC 6962 leaf hash


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()  # RFC 6962 interior node


def tile_path(level: int, index: int, width: int) -> str:
    """tlog's tile path: tile/8/<level>/x001/x234/567[.p/<width>]."""
    path = f"{index % 1000:03d}"
    while index >= 1000:
        index //= 1000
        path = f"x{index % 1000:03d}/{path}"
    partial = f".p/{width}" if width != 1 << TILE_HEIGHT else ""
    return f"tile/{TILE_HEIGHT}/{level}/{path}{partial}"


def _read_tile(fetch: Callable[[str], bytes], level: int, index: int, width: int) -> bytes:
    try:
        return fetch(tile_path(level, index, width))
    except Unavailable:
        if width == 1 << TILE_HEIGHT:
            raise
        # A partial tile is gone once the tile is full; the full one starts the same.
        return fetch(tile_path(level, index, 1 << TILE_HEIGHT))[:width * HASH_SIZE]


class TileHashes:
    """Hashes of complete subtrees of a tree of ``size`` records, read from its tiles.

    A tile at tile level L holds up to 2**8 consecutive hashes of tree level 8*L; the
    hash of a subtree at a level in between is folded from the tile's hashes below it.
    """

    def __init__(self, size: int, read_tile: Callable[[int, int, int], bytes]) -> None:
        self.size = size
        self._read_tile = read_tile
        self._tiles: dict[tuple[int, int], bytes] = {}

    def subtree(self, level: int, index: int) -> bytes:
        tile_level, height = divmod(level, TILE_HEIGHT)
        first = index << height  # its first hash at tree level 8 * tile_level
        tile = self._tile(tile_level, first >> TILE_HEIGHT)
        offset = first % (1 << TILE_HEIGHT)
        hashes = [tile[i * HASH_SIZE:(i + 1) * HASH_SIZE]
                  for i in range(offset, offset + (1 << height))]
        while len(hashes) > 1:
            hashes = [node_hash(hashes[i], hashes[i + 1]) for i in range(0, len(hashes), 2)]
        return hashes[0]

    def _tile(self, level: int, index: int) -> bytes:
        if (level, index) not in self._tiles:
            stored = self.size >> (TILE_HEIGHT * level)  # hashes the tree has at that level
            width = min(1 << TILE_HEIGHT, stored - (index << TILE_HEIGHT))
            if width <= 0:
                raise ValueError(f"tile {level}/{index} is beyond a tree of {self.size}")
            data = self._read_tile(level, index, width)
            if len(data) != width * HASH_SIZE:
                raise ValueError(f"tile {level}/{index} has {len(data)} bytes, not "
                                 f"{width * HASH_SIZE}")
            self._tiles[level, index] = data
        return self._tiles[level, index]


def root_with_leaf(size: int, leaf_index: int, leaf: bytes,
                   subtree: Callable[[int, int], bytes]) -> bytes:
    """RFC 6962's root of a tree of ``size`` leaves, leaf ``leaf_index`` hashed from ``leaf``.

    The tree splits into complete subtrees, largest first; the one holding the leaf is
    rebuilt from the leaf and its siblings, the others are read. The result equals the
    signed root only if the leaf is in the tree.
    """
    if not 0 <= leaf_index < size:
        raise ValueError(f"record {leaf_index} is outside a tree of {size}")
    roots, start = [], 0
    for level in reversed(range(size.bit_length())):
        if size >> level & 1:
            if start <= leaf_index < start + (1 << level):
                roots.append(_subtree_from_leaf(level, leaf_index, leaf, subtree))
            else:
                roots.append(subtree(level, start >> level))
            start += 1 << level
    root = roots[-1]
    for left in reversed(roots[:-1]):
        root = node_hash(left, root)
    return root


def _subtree_from_leaf(level: int, leaf_index: int, leaf: bytes,
                       subtree: Callable[[int, int], bytes]) -> bytes:
    """The hash of the complete subtree at ``level`` holding the leaf: the leaf's audit path."""
    node = leaf
    for below in range(level):
        sibling = (leaf_index >> below) ^ 1
        if sibling & 1:
            node = node_hash(node, subtree(below, sibling))
        else:
            node = node_hash(subtree(below, sibling), node)
    return node
