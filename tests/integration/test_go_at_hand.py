"""`plugin-builder go` and `plugin-builder env` with the real toolchains: the release, the C
compiler and the exit code are the combination's, whatever go the machine has."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.project import Project


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Project:
    return Project(tmp_path_factory.mktemp("go-at-hand"))


def plugin_builder(project: Project, *args: str, cwd=None, **env: str
                   ) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "plugin_builder.cli", *args],
                          cwd=cwd or project.root, capture_output=True, text=True, timeout=600,
                          env={**os.environ, **env})


def test_go_runs_the_default_combinations_go(project):
    run = plugin_builder(project, "go", "--", "version")
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("go version go1.26.6 linux/amd64")


def test_go_selects_the_combination_and_its_c_compiler(project):
    run = plugin_builder(project, "go", "--go", "1.27.3", "--libc", "musl", "--",
                         "env", "GOVERSION", "CC", "CGO_ENABLED", "GOTOOLCHAIN")
    assert run.returncode == 0, run.stderr
    version, cc, cgo, toolchain = run.stdout.split()
    assert (version, os.path.basename(cc), cgo, toolchain) == \
        ("go1.27.3", "musl-gcc", "1", "local")


def test_go_passes_the_exit_code_through(project):
    run = plugin_builder(project, "go", "--", "tool", "nosuchtool")
    assert run.returncode == 2 and 'no such tool "nosuchtool"' in run.stderr
    assert "Traceback" not in run.stderr


def test_go_keeps_a_word_holding_a_space(project):
    """invoke joins the words after -- with spaces; the go command gets them as given."""
    plugin = project.root / "plugins" / "scheduler" / "evaluator"
    run = plugin_builder(project, "--config", str(project.root / "buildconfig.toml"), "go", "--",
                         "list", "-f", "{{.Name}} in {{.Dir}}", ".", cwd=plugin)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == f"main in {plugin}"


def test_eval_env_gives_the_shell_the_combinations_go(project):
    exports = plugin_builder(project, "env", "--go", "1.27.3", GOFLAGS="-mod=mod")
    assert exports.returncode == 0, exports.stderr
    shell = subprocess.run(["sh", "-c", exports.stdout + "\ngo version\ncommand -v go\n"],
                           capture_output=True, text=True,
                           env={**os.environ, "PATH": "/usr/bin:/bin", "GOFLAGS": "-mod=mod"})
    # GOFLAGS is unset: the shell's go runs as the tool's builds do.
    assert shell.returncode == 0, shell.stderr
    version, where = shell.stdout.splitlines()
    assert version.startswith("go version go1.27.3 ")
    assert where.endswith("/go1.27.3/go/bin/go")
    assert "unset GOFLAGS" in exports.stdout
