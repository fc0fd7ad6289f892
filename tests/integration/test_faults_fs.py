"""Faults of the file system and of sharing, with the real tool: a full disk and a
read-only one (small tmpfs mounts over the project's artifacts and results folders),
and two configs of one project building at once.

Every case asserts: one message and no traceback, the exit code of its class, nothing
written outside the project, and no artifact whose sha256 differs from its manifest.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from plugin_builder.errors import BuildError, FilesystemError
from tests.project import Project

from .test_faults import assert_store_is_consistent, clone, start, template, temporaries  # noqa: F401

COMBINATION = "go1.26.6-glibc-amd64"


@contextlib.contextmanager
def tmpfs(folder: Path, size: str) -> Iterator[Path]:
    """A tmpfs of ``size`` mounted on ``folder`` (root only: CI runs as root)."""
    folder.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.fail(f"cannot mount a tmpfs here ({done.stderr.strip()}): these fault tests "
                    "need root")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def remount_read_only(folder: Path) -> None:
    subprocess.run(["mount", "-o", "remount,ro", str(folder)], check=True)


def assert_one_message(run: subprocess.CompletedProcess[str], code: int, *words: str) -> None:
    assert run.returncode == code, (run.returncode, run.stderr[-2000:])
    assert "Traceback" not in run.stderr, run.stderr
    assert run.stderr.count("error: ") == 1, run.stderr
    assert "fix:" in run.stderr
    for word in words:
        assert word in run.stderr, run.stderr


def test_a_full_disk_is_one_message_and_leaves_nothing_half_written(tmp_path) -> None:
    project = Project(tmp_path / "project")
    # Big enough for the manifest and scratch files, too small for a host binary.
    with tmpfs(project.root / "artifacts", "2m") as artifacts:
        run = project.invoke("build-host", expect=None)
        assert run.returncode in (BuildError.return_code, FilesystemError.return_code), run.stderr
        assert "Traceback" not in run.stderr and "fix:" in run.stderr
        assert "no space left on device" in run.stderr.lower()
        assert not temporaries(artifacts)
        binaries = artifacts / COMBINATION / "bin"
        assert not binaries.exists() or not list(binaries.iterdir())


def test_a_read_only_artifacts_folder_is_one_message(template, tmp_path) -> None:  # noqa: F811
    project = clone(template, tmp_path / "project")
    built = project.root / "artifacts"
    saved = tmp_path / "saved"
    built.rename(saved)
    with tmpfs(built, "256m") as artifacts:
        subprocess.run(["cp", "-a", f"{saved}/.", str(artifacts)], check=True)
        remount_read_only(artifacts)
        for command in (("verify",), ("pipeline",), ("build-plugin", "--type", "scheduler")):
            run = project.invoke(*command, expect=None)
            assert run.returncode != 0, command
            assert "Traceback" not in run.stderr, (command, run.stderr)
            assert "fix:" in run.stderr and "read-only" in run.stderr.lower(), run.stderr
        assert_store_is_consistent(project)


def test_a_read_only_results_folder_is_one_message_after_the_pipeline(template,  # noqa: F811
                                                                     tmp_path) -> None:
    project = clone(template, tmp_path / "project")
    with tmpfs(project.root / "results", "1m") as results:
        remount_read_only(results)
        run = project.invoke("pipeline", expect=None)
        assert_one_message(run, FilesystemError.return_code, str(results), "read-only")
    assert_store_is_consistent(project)


def test_two_configs_of_one_project_build_at_once(template, tmp_path) -> None:  # noqa: F811
    """Another version stamp, the same artifacts folder: both runs end well, the manifest
    is whole, and each artifact is what the manifest says."""
    project = clone(template, tmp_path / "project")
    other = project.root / "other.toml"
    other.write_text((project.root / "buildconfig.toml").read_text().replace(
        'version = "0.1.0"', 'version = "0.2.0"'))
    runs = [start(project, "build-plugin", "--config", name)
            for name in ("buildconfig.toml", "other.toml")]
    for process in runs:
        assert process.wait(timeout=600) == 0
        assert "Traceback" not in process.logs[1].read_text()  # type: ignore[attr-defined]
    json.loads((project.artifacts(COMBINATION) / "manifest.json").read_text())
    assert_store_is_consistent(project)
    assert not temporaries(project.root / "artifacts")
    outside = [p for p in tmp_path.iterdir() if p.name not in ("project",)
               and not p.name.startswith("project-invoke-")]
    assert outside == [], outside
