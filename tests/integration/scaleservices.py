"""Services beyond one machine, started for real on 127.0.0.1: a gocached compile-cache
server, and a second Docker engine with its own data root and bridge. The scale tests
and benchmarks/bench_scale.py use them.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from plugin_builder.config.model import GO_CACHER
from plugin_builder.golang import gotools
from plugin_builder.golang.toolchains import go_toolchain

# gocached comes from the module go-cacher does, at the same pinned version.
GOCACHED = GO_CACHER.replace("/cmd/go-cacher@", "/cmd/gocached@")
GO = "1.26.6"  # the release the servers are built with (any that builds them)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for(ready, what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ready():
            return
        time.sleep(0.2)
    raise AssertionError(f"{what} did not come up within {timeout:.0f}s")


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    url: str
    log: Path


@contextlib.contextmanager
def gocached(folder: Path, cache_dir: Path | None = None) -> Iterator[Server]:
    """A gocached serving ``folder`` on 127.0.0.1, built from the module proxy with a
    provisioned Go (kept in the toolchain cache, as the tool keeps go-cacher)."""
    from plugin_builder.config import default_toolchain_cache

    cache_dir = cache_dir or default_toolchain_cache()
    toolchain = go_toolchain(GO, cache_dir, log=lambda message: None)
    program = gotools.installed(GOCACHED, "gocached", toolchain, cache_dir,
                                log=lambda message: None)
    port = free_port()
    folder.mkdir(parents=True, exist_ok=True)
    log = folder.parent / f"{folder.name}.log"
    with log.open("wb") as out:
        process = subprocess.Popen([str(program), f"--cache-dir={folder}",
                                    f"--listen=127.0.0.1:{port}"], stdout=out, stderr=out)
    try:
        wait_for(lambda: _listening(port) or process.poll() is not None, "gocached")
        assert process.poll() is None, log.read_text()
        yield Server(process, f"http://127.0.0.1:{port}", log)
    finally:
        process.terminate()
        process.wait(timeout=30)


# -- a second Docker engine -------------------------------------------------------------------


@dataclass
class Engine:
    host: str  # DOCKER_HOST
    client: Any
    log: Path


def can_start_engine() -> str | None:
    """Why no second engine can be started here, or None."""
    for program in ("dockerd", "ip", "iptables"):
        if shutil.which(program) is None and not Path("/usr/sbin", program).exists():
            return f"{program} is not installed"
    if os.geteuid() != 0 and subprocess.run(["sudo", "-n", "true"], capture_output=True,
                                            check=False).returncode != 0:
        return "starting a second dockerd (and its bridge) needs root or sudo without a password"
    return None


def _as_root(argv: list[str]) -> list[str]:
    """argv as root: itself when this is root, else through sudo (GitHub's runners)."""
    return argv if os.geteuid() == 0 else ["sudo", "-n", *argv]


@contextlib.contextmanager
def second_engine(folder: Path) -> Iterator[Engine]:
    """A dockerd on a 127.0.0.1 TCP port with its own data root, exec root, pid file and
    bridge, so it shares nothing with the main engine; see :func:`_own_bridge` for how its
    containers reach the module proxy."""
    import docker

    port = free_port()
    folder.mkdir(parents=True, exist_ok=True)
    log = folder / "dockerd.log"
    with _own_bridge(f"pbt{port}"[:15]) as bridge:
        argv = ["dockerd", "--host", f"tcp://127.0.0.1:{port}",
                "--data-root", str(folder / "data"), "--exec-root", str(folder / "exec"),
                "--pidfile", str(folder / "dockerd.pid"), "--bridge", bridge,
                "--iptables=false", "--ip-masq=false"]
        with log.open("wb") as out:
            process = subprocess.Popen(_as_root(argv), stdout=out, stderr=out,
                                       start_new_session=True)
        host = f"tcp://127.0.0.1:{port}"
        try:
            wait_for(lambda: _listening(port) or process.poll() is not None,
                     "the second dockerd")
            assert process.poll() is None, log.read_text()[-2000:]
            client = docker.DockerClient(base_url=host)
            wait_for(lambda: _pings(client), "the second dockerd's API")
            yield Engine(host, client, log)
            client.close()
        finally:
            process.send_signal(signal.SIGTERM)  # sudo passes it on to dockerd
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                subprocess.run(_as_root(["kill", "-KILL", f"-{process.pid}"]), check=False)
                process.wait()
            # What the engine kept belongs to root: removed here, not left to pytest.
            subprocess.run(_as_root(["rm", "-rf", str(folder / "data"), str(folder / "exec")]),
                           check=False)


@contextlib.contextmanager
def _own_bridge(name: str) -> Iterator[str]:
    """A bridge of the second engine's own, on a /24 no route of this machine uses, with
    NAT and forwarding rules of its own (added here, removed afterwards): the engine is
    told to leave iptables alone, so it never touches the main engine's bridge or rules.
    """
    subnet = _free_subnet()
    gateway = next(subnet.hosts())
    rules = [["-t", "nat", "POSTROUTING", "-s", str(subnet), "!", "-o", name, "-j",
              "MASQUERADE"],
             ["FORWARD", "-i", name, "-j", "ACCEPT"],
             ["FORWARD", "-o", name, "-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED",
              "-j", "ACCEPT"]]
    added: list[list[str]] = []
    _run(_as_root(["ip", "link", "add", name, "type", "bridge"]))
    try:
        _run(_as_root(["ip", "addr", "add", f"{gateway}/{subnet.prefixlen}", "dev", name]))
        _run(_as_root(["ip", "link", "set", name, "up"]))
        for rule in rules:
            _run(_as_root(["iptables", *_iptables(rule, "-I")]))
            added.append(rule)
        yield name
    finally:
        for rule in reversed(added):
            subprocess.run(_as_root(["iptables", *_iptables(rule, "-D")]), check=False)
        subprocess.run(_as_root(["ip", "link", "del", name]), check=False)


def _iptables(rule: list[str], action: str) -> list[str]:
    """``-t nat POSTROUTING ...`` as ``-t nat -I POSTROUTING ...``."""
    table, rest = (rule[:2], rule[2:]) if rule[0] == "-t" else ([], rule)
    return [*table, action, *rest]


def _free_subnet() -> ipaddress.IPv4Network:
    used = subprocess.run(["ip", "-4", "route"], capture_output=True, text=True,
                          check=True).stdout
    taken = [ipaddress.ip_network(word, strict=False) for word in used.split()
             if "/" in word and word[0].isdigit()]
    for third in range(200, 255):
        candidate = ipaddress.ip_network(f"172.31.{third}.0/24")
        if not any(candidate.overlaps(network) for network in taken):
            return candidate
    raise AssertionError("no free /24 in 172.31.200.0-172.31.254.0 for the second engine")


def _run(argv: list[str]) -> None:
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    assert done.returncode == 0, f"{' '.join(argv)}: {done.stderr.strip()}"


def _pings(client: Any) -> bool:
    try:
        return bool(client.ping())
    except Exception:  # not listening yet
        return False


def copy_images(source: Any, target: Any, tags: list[str]) -> None:
    """docker save | docker load: the images the config names, onto the other engine."""
    for tag in tags:
        target.images.load(source.images.get(tag).save(chunk_size=1 << 20, named=tag))
