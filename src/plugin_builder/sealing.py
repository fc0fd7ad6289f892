"""The seal on each manifest the tool writes: proof that this tool wrote it, unchanged.

A manifest vouches for its artifacts: "this file has not changed since it landed" (its
stat key), "this pair was loaded and passed" (a verify proof). Anyone who can edit the
file could make those claims about other bytes, so a manifest is only believed when it
carries an HMAC-SHA256 of its text under a secret only this user's runs know: a key of
32 random bytes in the user's cache folder (``$PLUGIN_BUILDER_CACHE``, else
``$XDG_CACHE_HOME/plugin-builder``, else ``~/.cache/plugin-builder``), readable by the
user alone and never inside a project, so a project copied, restored from a CI cache or
edited by hand cannot carry a seal that passes.

The seal is the first member of the manifest's JSON object, over the bytes of the rest:
checking it costs one HMAC of the text already read (microseconds), no parse. Without a
usable key (a read-only home, a key file others may read) nothing is sealed and nothing
believed: every claim is checked against the bytes instead, which is slower, never wrong.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import hmac
import os
import stat
from pathlib import Path

KEY_NAME = "manifest.key"
_KEY_SIZE = 32
_HEAD = '{"seal": "'
_HEX_SIZE = 64  # an HMAC-SHA256 in hex
_AFTER = '",'


def key_path() -> Path:
    """Where this user's key is: the cache folder of plugin-builder, outside any project."""
    from plugin_builder.config import default_toolchain_cache  # the same cache folder

    return default_toolchain_cache().parent / KEY_NAME


def seal(body: str) -> str:
    """``body`` (the JSON text of an object with at least one member) with its seal in
    front; ``body`` unchanged when there is no usable key."""
    key = _key(key_path())
    if key is None or not body.startswith("{"):
        return body
    return f"{_HEAD}{_mac(key, body)}{_AFTER}{body[1:]}"


def sealed(data: bytes) -> bool:
    """Whether ``data`` (a file's bytes) carries a seal made with this user's key over
    exactly its bytes."""
    head = _HEAD.encode()
    if not data.startswith(head):
        return False
    start = len(head) + _HEX_SIZE
    mac, rest = data[len(head):start], memoryview(data)[start:]
    if bytes(rest[:len(_AFTER)]) != _AFTER.encode():
        return False
    key = _key(key_path())
    if key is None:
        return False
    digest = hmac.new(key, b"{", hashlib.sha256)
    digest.update(rest[len(_AFTER):])
    return hmac.compare_digest(mac, digest.hexdigest().encode())


def usable() -> bool:
    """Whether this user has a key that seals (else nothing is sealed, nor believed)."""
    return _key(key_path()) is not None


def _mac(key: bytes, body: str) -> str:
    return hmac.new(key, body.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()


@functools.cache
def _key(path: Path) -> bytes | None:
    """The key at ``path``, made on first use; None when none can be read or made safely."""
    try:
        return _read_key(path)
    except FileNotFoundError:
        pass
    except OSError:
        return None
    with contextlib.suppress(OSError):
        _make_key(path)
    try:
        return _read_key(path)
    except OSError:
        return None


def _read_key(path: Path) -> bytes | None:
    """The key, unless the file is a link, someone else's, or readable by others."""
    handle = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        info = os.fstat(handle)
        if not stat.S_ISREG(info.st_mode) or info.st_uid != os.geteuid() \
                or info.st_mode & 0o077:
            return None
        key = os.read(handle, _KEY_SIZE + 1)
    finally:
        os.close(handle)
    return key if len(key) == _KEY_SIZE else None


def _make_key(path: Path) -> None:
    """Write a new key under a temporary name and link it into place: two runs making
    one at once agree on whichever landed first, and no run reads half of one."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}")
    handle = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        try:
            os.write(handle, os.urandom(_KEY_SIZE))  # the kernel's CSPRNG, as secrets uses
            os.fsync(handle)
        finally:
            os.close(handle)
        with contextlib.suppress(FileExistsError):
            os.link(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
