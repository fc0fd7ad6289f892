"""What real builds publish for other tools: artifacts/index.json, a SHA256SUMS that
`sha256sum -c` accepts, a valid CycloneDX SBOM per binary naming its real modules, the
verify verdict of exactly these binaries, and JUnit a CI system reads."""

from __future__ import annotations

import json
import subprocess
import xml.etree.ElementTree as ET

import pytest

from tests.project import Project

from ..unit.test_sbom import validator

DEFAULT = "go1.26.6-glibc-amd64"


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Project:
    project = Project(tmp_path_factory.mktemp("published"))
    project.invoke("pipeline")
    return project


def test_the_index_and_the_sums_name_every_artifact(project):
    root = project.root / "artifacts"
    index = json.loads((root / "index.json").read_text())
    artifacts = index["combinations"][DEFAULT]["artifacts"]
    shipped = [path for path, entry in project.manifest(DEFAULT)["artifacts"].items()
               if entry["kind"] != "loader"]  # verify's stand-in loader never ships
    assert sorted(a["path"].split("/", 1)[1] for a in artifacts) == sorted(shipped)
    assert {a["kind"] for a in artifacts} == {"host", "plugin"}
    assert all(a["verify"] == "pass" for a in artifacts if a["kind"] == "plugin")
    checked = subprocess.run(["sha256sum", "-c", "SHA256SUMS"], cwd=root, capture_output=True,
                             text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.count(": OK") == 2 * len(artifacts)  # each binary and its SBOM


def test_every_sbom_is_valid_and_names_the_binarys_modules(project):
    root = project.root / "artifacts"
    index = json.loads((root / "index.json").read_text())
    for artifact in index["combinations"][DEFAULT]["artifacts"]:
        document = json.loads((root / artifact["sbom"]).read_text())
        assert not [e.message for e in validator().iter_errors(document)], artifact["path"]
        names = {c["name"] for c in document["components"]}
        assert "std" in names
        assert document["metadata"]["component"]["hashes"][0]["content"] == artifact["sha256"]
        if artifact["kind"] == "plugin":  # out of tree: the host module is a dependency
            assert "plugin-builder.dev/host" in names


def test_junit_carries_times_and_counts(project):
    suite = ET.parse(project.root / "results" / f"{DEFAULT}.xml").getroot()
    assert suite.tag == "testsuites"
    [inner] = suite
    for element in (suite, inner):
        assert float(element.get("time")) > 0
        assert (element.get("errors"), element.get("skipped"), element.get("failures")) == \
            ("0", "0", "0")
    assert inner.get("timestamp")
    assert all(case.get("time") for case in inner)
