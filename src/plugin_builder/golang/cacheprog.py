"""A client of the GOCACHEPROG protocol, as the go command speaks it (cmd/go/internal/cacheprog).

The program starts, says which commands it knows (a first message with ID 0), then
answers JSON requests, one per line on its stdin, with JSON responses on its stdout:
``get`` by a 32-byte action id (a miss, or the OutputID stored with the body and a file
on this disk holding the body), ``put`` of an action id, an OutputID and a body (sent
as a base64 JSON string on the line after the request), and ``close``, after which it
exits (go-cacher first waits for its uploads to finish). What the program writes on
stderr is for people: it is kept apart and only quoted when something fails.

The tool stores what Go does not cache in it, linked binaries (see
:mod:`plugin_builder.steps.linkcache`), and ``invoke doctor`` asks it a get.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import selectors
import subprocess
import tempfile
import time
from collections.abc import Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from plugin_builder.processes import Supervised

ANSWER_TIMEOUT_S = 60.0  # a get may wait on a remote server
CLOSE_TIMEOUT_S = 120.0  # close waits for uploads to finish


class CacheProgError(Exception):
    """The program did not start, broke the protocol, or answered with an error."""


@dataclass(frozen=True)
class Hit:
    output_id: bytes  # sha256 of the body, as stored by its put
    size: int
    disk_path: Path  # a file holding the body, until close


class CacheProg:
    """One running cache program: ``with CacheProg(argv, env) as cache: cache.get(...)``."""

    def __init__(self, argv: Sequence[str], env: Mapping[str, str] | None = None, *,
                 timeout: float = ANSWER_TIMEOUT_S) -> None:
        self.argv, self.timeout = list(argv), timeout
        # Closed by self._cleanup, with the program.
        self._said: IO[bytes] = tempfile.TemporaryFile(  # noqa: SIM115
            prefix="plugin-builder-cacheprog-")
        try:
            # Supervised: nothing the program starts outlives it, nor us.
            self._supervised = Supervised(self.argv, env=env, stdin=subprocess.PIPE,
                                          stdout=subprocess.PIPE, stderr=self._said)
            self.child = self._supervised.process
        except OSError as error:
            self._said.close()
            raise CacheProgError(f"cannot start {self.argv[0]}: {error.strerror}") from None
        self._cleanup = ExitStack()  # the watchdog released and stderr's file closed, last
        self._cleanup.callback(self._said.close)
        self._cleanup.enter_context(self._supervised)
        self._pending = b""
        self._next_id = 1
        try:
            self.known = self._first_message()
        except BaseException:
            self.__exit__(CacheProgError, None, None)
            raise

    # -- requests -------------------------------------------------------------------------

    def get(self, action_id: bytes) -> Hit | None:
        """The entry stored under ``action_id``, or None on a miss."""
        answer = self._ask({"Command": "get", "ActionID": _b64(action_id)})
        if answer.get("Miss"):
            return None
        output_id = base64.b64decode(answer.get("OutputID") or "")
        disk_path = answer.get("DiskPath") or ""
        if len(output_id) != 32 or not disk_path:
            raise CacheProgError(f"{self.argv[0]} answered a get without an OutputID or "
                                 f"DiskPath: {json.dumps(answer)[:200]}")
        return Hit(output_id, int(answer.get("Size") or 0), Path(disk_path))

    def put(self, action_id: bytes, body: Path) -> bytes:
        """Store the file ``body`` under ``action_id``; its OutputID (sha256) is returned."""
        data = body.read_bytes()
        output_id = hashlib.sha256(data).digest()
        request = {"Command": "put", "ActionID": _b64(action_id), "OutputID": _b64(output_id),
                   "BodySize": len(data)}
        self._ask(request, body=data)
        return output_id

    def close(self) -> None:
        """Ask the program to finish (its uploads done), close its stdin and wait until it
        has exited."""
        try:
            if self.child.poll() is None and "close" in self.known:
                self._ask({"Command": "close"}, timeout=CLOSE_TIMEOUT_S)
            assert self.child.stdin is not None
            self.child.stdin.close()  # as the go command does: the program exits at EOF
            self.child.wait(timeout=CLOSE_TIMEOUT_S)
        except (CacheProgError, subprocess.TimeoutExpired):
            self._kill()
        finally:
            self._cleanup.close()

    def __enter__(self) -> CacheProg:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        if kind is None:
            self.close()
            return
        try:
            self._kill()  # an error or Ctrl-C: no graceful close to wait for
        finally:
            self._cleanup.close()

    def _kill(self) -> None:
        self._supervised.stop()  # the supervisor ends the program and all it started
        self.child.wait()

    # -- the wire -------------------------------------------------------------------------

    def _first_message(self) -> list[str]:
        first = self._read_message(self.timeout)
        known = first.get("KnownCommands") or []
        if first.get("ID") != 0 or "get" not in known:
            raise CacheProgError(f"{self.argv[0]} is not a GOCACHEPROG program (its first "
                                 f"message: {json.dumps(first)[:200]})")
        return [str(command) for command in known]

    def _ask(self, request: dict[str, Any], *, body: bytes | None = None,
             timeout: float | None = None) -> dict[str, Any]:
        if request["Command"] not in self.known:
            raise CacheProgError(f"{self.argv[0]} does not know {request['Command']}")
        number, self._next_id = self._next_id, self._next_id + 1
        line = json.dumps({"ID": number, **request}).encode() + b"\n"
        if body:  # the body follows as one JSON string of its base64
            line += b'"' + base64.b64encode(body) + b'"\n'
        try:
            assert self.child.stdin is not None
            self.child.stdin.write(line)
            self.child.stdin.flush()
        except OSError:
            raise CacheProgError(f"{self.argv[0]} exited{self._stderr_tail()}") from None
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:  # answers may come in any order; ours are one at a time
            answer = self._read_message(deadline - time.monotonic())
            if answer.get("ID") == number:
                break
        if answer.get("Err"):
            raise CacheProgError(f"{self.argv[0]}: {request['Command']}: {answer['Err']}")
        return answer

    def _read_message(self, timeout: float) -> dict[str, Any]:
        line = self._read_line(timeout)
        try:
            message = json.loads(line)
        except ValueError:
            raise CacheProgError(f"{self.argv[0]} wrote no JSON on stdout: "
                                 f"{line[:200]!r}") from None
        if not isinstance(message, dict):
            raise CacheProgError(f"{self.argv[0]} wrote {line[:200]!r}, not a response")
        return message

    def _read_line(self, timeout: float) -> bytes:
        stdout = self.child.stdout
        assert stdout is not None
        deadline = time.monotonic() + max(timeout, 0.0)
        with selectors.DefaultSelector() as selector:
            selector.register(stdout, selectors.EVENT_READ)
            while b"\n" not in self._pending:
                left = deadline - time.monotonic()
                if left <= 0 or not selector.select(left):
                    raise CacheProgError(f"{self.argv[0]} did not answer within "
                                         f"{timeout:.0f}s{self._stderr_tail()}")
                chunk = os.read(stdout.fileno(), 1 << 16)
                if not chunk:
                    self.child.wait()
                    raise CacheProgError(f"{self.argv[0]} exited (code "
                                         f"{self.child.returncode}){self._stderr_tail()}")
                self._pending += chunk
        line, _, self._pending = self._pending.partition(b"\n")
        return line

    def _stderr_tail(self) -> str:
        self._said.seek(0)
        lines = self._said.read().decode(errors="replace").strip().splitlines()
        return f": {' / '.join(lines[-3:])}" if lines else ""


def read_hit(hit: Hit) -> bytes:
    """The body of a hit, once its bytes are what the cache says they are (the OutputID is
    the sha256 of the body)."""
    try:
        data = hit.disk_path.read_bytes()
    except OSError as error:
        raise CacheProgError(f"the cache's file {hit.disk_path}: {error.strerror}") from None
    if hashlib.sha256(data).digest() != hit.output_id or (hit.size and len(data) != hit.size):
        raise CacheProgError(f"the cache's file {hit.disk_path} does not hold what its "
                             "OutputID says (sha256 or size differ)")
    return data


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()
