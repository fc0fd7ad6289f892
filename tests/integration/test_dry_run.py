"""A dry run over real builds: it knows what is up to date and why the rest is not, as
the up-to-date logic of a real run does, and still writes nothing."""

from __future__ import annotations

import pytest

from tests.project import Project

from ..unit.test_dry_run import snapshot

PLUGIN = "plugins/d7y-scheduler-plugin-evaluator.so"


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Project:
    project = Project(tmp_path_factory.mktemp("dry-run"))
    project.invoke("build-plugin", "--type", "scheduler")
    project.invoke("build-host")
    return project


def test_a_dry_run_after_a_build_says_up_to_date_and_writes_nothing(project):
    before = snapshot(project.root)
    run = project.invoke("pipeline", "--dry-run")
    assert f"up to date: {PLUGIN}" in run.stderr
    assert "up to date: bin/scheduler" in run.stderr
    assert "would build plugins/d7y-manager-plugin-searcher.so: not built yet" in run.stderr
    assert snapshot(project.root) == before


def test_a_dry_run_names_the_source_that_changed(project):
    source = project.root / "plugins" / "scheduler" / "evaluator" / "main.go"
    source.write_text(source.read_text() + "\n// edited\n")
    before = snapshot(project.root)
    run = project.invoke("build-plugin", "--dry-run", "--type", "scheduler")
    assert f"would build {PLUGIN}: {source.relative_to(project.root)} changed" in run.stderr
    assert snapshot(project.root) == before
    built = project.invoke("build-plugin", "--type", "scheduler")  # the real run agrees
    assert f"built {PLUGIN}" in built.stderr
