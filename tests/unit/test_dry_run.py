"""A dry run says what it would do and does none of it; invoke's core flags mean ours.

Without a provisioned toolchain a dry run runs no go command at all, so these run in the
unit tier: in a copy of the project, through `invoke` as a user types it, with a cache
folder that has no toolchain. (tests/integration/test_dry_run.py plans over real builds.)
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def snapshot(root: Path) -> dict[str, str]:
    """Every file and folder under root, files with the sha256 of their content."""
    found = {}
    for path in sorted(root.rglob("*")):
        relative = str(path.relative_to(root))
        found[relative] = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() \
            else "folder"
    return found


@pytest.fixture
def project(tmp_path: Path, monkeypatch) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    for name in ("host", "plugins"):
        shutil.copytree(REPO / name, root / name, ignore=shutil.ignore_patterns("go.work*"))
    for name in ("buildconfig.toml", "tasks.py"):
        shutil.copy(REPO / name, root / name)
    monkeypatch.setenv("PLUGIN_BUILDER_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("PLUGIN_BUILDER_CONFIG", raising=False)
    return root


def invoke(root: Path, *args: str, program: str = "invoke") -> subprocess.CompletedProcess:
    module = "invoke" if program == "invoke" else "plugin_builder.cli"
    return subprocess.run([sys.executable, "-m", module, *args], cwd=root, text=True,
                          capture_output=True, env={**os.environ, "CI": "true"})


PLUGIN = "would build plugins/d7y-scheduler-plugin-evaluator.so: not built yet"
HOST = "would build bin/scheduler: not built yet"


@pytest.mark.parametrize("args, planned", [
    (("build-host", "--dry-run"), HOST),
    (("build-plugin", "--dry-run", "--type", "scheduler"), PLUGIN),
    (("pipeline", "--dry-run", "--all"), PLUGIN),
    (("verify", "--dry-run"), PLUGIN),
    (("verify", "--dry-run", "--static-only"), HOST),
    (("--dry", "build-plugin"), PLUGIN),
    (("--dry", "pipeline"), HOST),
])
def test_a_dry_run_plans_without_a_toolchain_and_writes_nothing(project, tmp_path, args,
                                                                planned):
    before = snapshot(project)
    run = invoke(project, *args)
    assert run.returncode == 0, run.stderr
    assert "dry run: nothing was provisioned, built or written" in run.stdout
    assert "would provision go1.26.6 into" in run.stderr
    assert planned in run.stderr
    assert snapshot(project) == before
    assert not (tmp_path / "cache").exists(), "a dry run provisioned a toolchain"


def test_the_pipeline_plan_names_every_step(project):
    run = invoke(project, "pipeline", "--dry-run")
    assert run.returncode == 0, run.stderr
    for line in ("would build bin/scheduler: not built yet",
                 "would verify plugins/d7y-scheduler-plugin-evaluator.so against "
                 "bin/scheduler: static analysis, then a live load by the service's check "
                 "command"):
        assert line in run.stderr


def make_artifacts(root: Path) -> Path:
    folder = root / "artifacts" / "go1.26.6-glibc-amd64"
    folder.mkdir(parents=True)
    for marked in (root / "artifacts", folder):
        (marked / ".plugin-builder").write_text("made by plugin-builder\n")
    (folder / "manifest.json").write_text('{"artifacts": {}}\n')
    return folder


@pytest.mark.parametrize("args", [("--dry", "clean"), ("clean", "--dry-run")])
@pytest.mark.parametrize("program", ["invoke", "plugin-builder"])
def test_clean_dry_run_removes_nothing(project, args, program):
    """`plugin-builder --dry clean` (invoke's --dry) deleted artifacts/."""
    make_artifacts(project)
    before = snapshot(project)
    run = invoke(project, *args, program=program)
    assert run.returncode == 0, run.stderr
    assert f"would remove {project / 'artifacts'}" in run.stdout
    assert snapshot(project) == before


def test_new_plugin_dry_run_writes_nothing(project):
    before = snapshot(project)
    run = invoke(project, "new-plugin", "--type", "scheduler", "--name", "newevaluator",
                 "--dry-run")
    assert run.returncode == 0, run.stderr
    assert f"would create {project / 'plugins/scheduler/newevaluator'}: go.mod" in run.stdout
    assert "would register [[plugins]] scheduler/newevaluator in" in run.stdout
    assert snapshot(project) == before


@pytest.mark.parametrize("task", ["init", "bootstrap-base", "go", "env"])
def test_a_task_without_a_dry_run_refuses_invokes_dry(project, task):
    before = snapshot(project)
    run = invoke(project, "--dry", task, program="plugin-builder")
    assert run.returncode == 2
    assert f"error: --dry: {task} has no dry run, and nothing was done" in run.stderr
    assert "Traceback" not in run.stderr
    assert snapshot(project) == before


def test_verify_dry_run_of_given_binaries_is_refused(project):
    run = invoke(project, "verify", "--dry-run", "--host", "/bin/ls", "--plugin", "/bin/ls")
    assert run.returncode == 2 and "--dry-run plans the targets of the config" in run.stderr


# -- invoke's core --config ---------------------------------------------------------------


@pytest.mark.parametrize("program", ["invoke", "plugin-builder"])
@pytest.mark.parametrize("flag", ["--config", "-f"])
def test_the_core_config_flag_names_the_build_config(project, tmp_path, program, flag):
    """`plugin-builder --config buildconfig.toml list` ended in a 40-line traceback."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    shutil.copy(project / "tasks.py", elsewhere / "tasks.py")
    run = invoke(elsewhere, flag, str(project / "buildconfig.toml"), "list", "--json",
                 program=program)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["default"] == "go1.26.6-glibc-amd64"
    missing = invoke(elsewhere, flag, "nosuch.toml", "list", program=program)
    assert missing.returncode == 3 and "Traceback" not in missing.stderr
    assert "nosuch.toml: no such file" in missing.stderr


def test_the_task_flag_wins_over_the_core_flag(project, tmp_path):
    run = invoke(project, "--config", "nosuch.toml", "list", "--config", "buildconfig.toml")
    assert run.returncode == 0, run.stderr


# -- check ----------------------------------------------------------------------------------


def test_check_says_a_valid_config_is_valid(project):
    run = invoke(project, "check")
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith(f"{project / 'buildconfig.toml'}: valid: 6 combination(s)")
    listed = json.loads(invoke(project, "check", "--json").stdout)
    assert listed["valid"] is True and listed["config"] == str(project / "buildconfig.toml")
    assert "go1.27.3-musl-amd64" in listed["combinations"]
    assert {"type": "scheduler", "name": "evaluator"}.items() <= listed["plugins"][1].items()


def test_check_names_the_key_and_the_fix_of_an_invalid_config(project):
    config = project / "buildconfig.toml"
    config.write_text(config.read_text().replace("[matrix]", "[matrix]\nlibcs = 1", 1))
    run = invoke(project, "check")
    assert run.returncode == 3
    assert "matrix.libcs" in run.stderr and "fix:" in run.stderr
    assert "Traceback" not in run.stderr
    as_json = invoke(project, "check", "--json")
    assert as_json.returncode == 3
    error = json.loads(as_json.stdout)["error"]
    assert error["key"] == "matrix.libcs" and error["fix"] and error["exit_code"] == 3
    assert error["file"] == "buildconfig.toml"
