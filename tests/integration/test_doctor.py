"""`invoke doctor` on a real machine, then on one broken for real: a PATH without
musl-gcc, a DOCKER_HOST where no engine listens."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest
import tomlkit

from plugin_builder.errors import DoctorError
from tests.project import Project


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Project:
    return Project(tmp_path_factory.mktemp("doctor"))


def doctor(project: Project, *args: str, env: dict[str, str] | None = None):
    return subprocess.run([sys.executable, "-m", "invoke", "doctor", *args], cwd=project.root,
                          env=env or dict(os.environ), capture_output=True, text=True,
                          timeout=120)


def checks(run) -> dict[str, dict]:
    return {c["name"]: c for c in json.loads(run.stdout)["checks"]}


def test_a_ready_machine_passes(project):
    # The default matrix needs musl-gcc; .ci/run installs it, so its absence is a failure.
    assert shutil.which("musl-gcc"), "install musl-tools: the default matrix needs musl-gcc"
    run = doctor(project)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "✓" in run.stdout and "go1.26.6" in run.stdout
    found = checks(doctor(project, "--json"))
    assert {"python rich", "go1.26.6", "go1.27.3", "gcc (glibc)", "musl-gcc (musl)",
            "free disk", "artifacts writable"} <= set(found)
    assert all(c["status"] != "fail" for c in found.values())


def test_a_broken_machine_names_each_fix(project, tmp_path):
    bin_dir = tmp_path / "bin"  # a PATH with gcc and nothing else: no musl-gcc, no go
    bin_dir.mkdir()
    (bin_dir / "gcc").symlink_to(shutil.which("gcc"))
    env = {**os.environ, "PATH": str(bin_dir),
           "DOCKER_HOST": f"unix://{tmp_path}/no-engine.sock"}
    run = doctor(project, "--backend", "docker", "--json", env=env)
    assert run.returncode == DoctorError.return_code
    found = checks(run)
    musl = found["musl-gcc (musl)"]
    assert musl["status"] == "fail" and musl["fix"] == "apt-get install musl-tools"
    engine = found["docker engine"]
    assert engine["status"] == "fail" and "no-engine.sock" in engine["detail"]
    assert "dockerd" in engine["fix"]
    assert found["gcc (glibc)"]["status"] == "ok"
    assert found["go1.26.6"]["status"] == "ok"  # a provisioned toolchain: no go on PATH needed
    # The arm64 combinations need the cross compilers (and, in CI, qemu) on PATH too.
    cross = found["aarch64-linux-musl-gcc (musl arm64)"]
    assert cross["status"] == "fail" and "musl-dev:arm64" in cross["fix"]
    assert found["aarch64-linux-gnu-gcc (glibc arm64)"]["status"] == "fail"
    failed = [c for c in found.values() if c["status"] == "fail"]
    assert f"{len(failed)} of" in run.stderr
    assert "see: docs/troubleshooting.md#doctor-error" in run.stderr
    assert "Traceback" not in run.stderr

    table = doctor(project, "--backend", "docker", env=env)
    assert table.returncode == DoctorError.return_code
    assert "✗" in table.stdout and "musl-tools" in table.stdout


def test_an_unknown_backend_is_a_usage_error(project):
    run = doctor(project, "--backend", "podman")
    assert run.returncode == 2 and "--backend podman: no such backend" in run.stderr


def test_releases_not_cached_yet_are_asked_of_the_real_registries(tmp_path):
    project = Project(tmp_path)
    config = project.root / "buildconfig.toml"
    data = tomlkit.parse(config.read_text())
    data["project"]["toolchain_cache"] = "empty-cache"
    data["matrix"]["go"] = ["1.23.0", "1.21.99"]
    data["matrix"]["default"] = "go1.23.0-glibc-amd64"
    data["matrix"]["exclude"] = []
    config.write_text(tomlkit.dumps(data))
    found = checks(doctor(project, "--json"))
    assert found["go1.23.0"]["status"] == "ok"
    assert "provisioned on first use from the Go module proxy" in found["go1.23.0"]["detail"]
    unknown = found["go1.21.99"]
    assert unknown["status"] == "fail" and "not a published release" in unknown["detail"]
    assert "matrix.go" in unknown["fix"]
    assert not (project.root / "empty-cache").exists()  # doctor provisions nothing
