"""What the go command's environment and flags mean for a build's output.

One place names the variables that are passed through from this machine, the ones that
feed package fingerprints, and the flags that must be identical for a host and every
plugin it loads: the host build, the plugin builds and the stand-in loader all take
them from here.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

# Passed through from this machine: how modules are fetched (never where caches live).
MODULE_FETCH_ENV = ("GOPROXY", "GOPRIVATE", "GONOSUMDB", "GOSUMDB", "GOINSECURE", "GONOPROXY")
# Where this machine keeps Go's caches: passed through to local builds only.
CACHE_ENV = ("GOCACHE", "GOMODCACHE", "GOPATH")
# The variables that feed a build's output; the rest of the environment does not.
FINGERPRINT_ENV = ("CGO_ENABLED", "GOOS", "GOARCH", "GOFLAGS", "GOTOOLCHAIN", "GOAMD64",
                   "GOEXPERIMENT")
GOFLAGS = "-buildvcs=false -mod=readonly"


def toolchain_env() -> dict[str, str]:
    """The environment every go command of the local backend starts from.

    This machine's Go variables are dropped but for how modules are fetched and where
    caches live; GOTOOLCHAIN=local (a go or toolchain line in a go.mod must not switch
    releases behind our back) and GOENV=off (the user's ``go env -w`` file must not reach
    a build: it could set GOFLAGS, GOTOOLCHAIN or anything else).
    """
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("GO", "CGO_")) and k not in ("CC", "CXX")}
    env.update({name: os.environ[name] for name in (*MODULE_FETCH_ENV, *CACHE_ENV)
                if name in os.environ})
    env.update(GOTOOLCHAIN="local", GOENV="off")
    return env


def fingerprint_flags(*, trimpath: bool, tags: Iterable[str], gcflags: str = "") -> list[str]:
    """The go build flags that feed package fingerprints: identical on both sides."""
    flags = ["-trimpath"] if trimpath else []
    tags = list(tags)
    if tags:
        flags.append("-tags=" + ",".join(tags))
    if gcflags:
        flags.append("-gcflags=" + gcflags)
    return flags
