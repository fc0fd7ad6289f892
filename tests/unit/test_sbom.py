"""Results others can use: a CycloneDX 1.5 SBOM per binary (valid against the CycloneDX
JSON schema, tests/fixtures/cyclonedx), artifacts/index.json and a SHA256SUMS that
`sha256sum -c` accepts, written after builds; JUnit with time, timestamp, errors and
skipped."""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest
from referencing import Registry, Resource

from plugin_builder import artifact_index, results, sbom
from plugin_builder import config as config_module
from plugin_builder.artifacts import MARKER, ArtifactStore
from plugin_builder.combination import Combination
from plugin_builder.verify.pairs import cache_key, contract_of

SCHEMAS = Path(__file__).resolve().parents[1] / "fixtures" / "cyclonedx"
UUID_SUM = "h1:" + base64.b64encode(hashlib.sha256(b"uuid").digest()).decode()
COMBINATION = Combination("1.26.6", "glibc", "amd64")


def validator() -> jsonschema.Draft7Validator:
    resources = []
    for path in SCHEMAS.glob("*.json"):
        schema = json.loads(path.read_text())
        # bom-1.5 refers to the others by these file names, relative to its own $id.
        resources.append((f"http://cyclonedx.org/schema/{path.name}",
                          Resource.from_contents(schema)))
        resources.append((schema["$id"], Resource.from_contents(schema)))
    bom = json.loads((SCHEMAS / "bom-1.5.schema.json").read_text())
    return jsonschema.Draft7Validator(bom, registry=Registry().with_resources(resources))


def entry(kind: str = "plugin", **more) -> dict:
    target = {"type": "scheduler", "name": "evaluator"} if kind == "plugin" else {}
    return {"kind": kind, **target, "libc": "glibc",
            "arch": "amd64", "go_version": "go1.26.6", "sha256": "ab" * 32, "size": 10,
            "built_at": "2026-01-02T03:04:05+00:00",
            "main": {"path": "example.com/evaluator", "version": "(devel)", "sum": "",
                     "package": "example.com/evaluator"},
            "deps": [
                {"path": "github.com/google/uuid", "version": "v1.5.0", "sum": UUID_SUM},
                {"path": "example.com/lib", "version": "v1.2.0", "sum": "",
                 "replace": {"path": "example.com/fork", "version": "v1.1.0",
                             "sum": UUID_SUM}},
                {"path": "plugin-builder.dev/host", "version": "v0.0.0", "sum": "",
                 "replace": {"path": "../../host", "version": "", "sum": ""}},
            ], **more}


def test_the_sbom_is_valid_cyclonedx_1_5():
    document = sbom.document(COMBINATION.id, "plugins/x.so", entry())
    errors = sorted(validator().iter_errors(document), key=str)
    assert not errors, [e.message for e in errors]
    host = sbom.document(COMBINATION.id, "bin/scheduler", entry("host", service="scheduler",
                                                                version="v2.1.0"))
    assert not list(validator().iter_errors(host))
    assert host["metadata"]["component"]["type"] == "application"
    # The schema is really checked: a document missing what it requires is refused.
    assert list(validator().iter_errors({"bomFormat": "CycloneDX"}))


def test_components_are_the_modules_with_their_purls_hashes_and_replacements():
    document = sbom.document(COMBINATION.id, "plugins/x.so", entry())
    by_name = {c["name"]: c for c in document["components"]}
    assert by_name["std"]["purl"] == "pkg:golang/std@go1.26.6"
    uuid = by_name["github.com/google/uuid"]
    assert uuid["purl"] == "pkg:golang/github.com/google/uuid@v1.5.0"
    assert uuid["hashes"] == [{"alg": "SHA-256", "content": hashlib.sha256(b"uuid").hexdigest()}]
    fork = by_name["example.com/fork"]  # what the binary contains is the replacement
    assert fork["version"] == "v1.1.0"
    assert {"name": "plugin-builder:replaces", "value": "example.com/lib@v1.2.0"} in \
        fork["properties"]
    local = by_name["plugin-builder.dev/host"]
    assert {"name": "plugin-builder:replaced-by-directory", "value": "../../host"} in \
        local["properties"]
    subject = document["metadata"]["component"]
    assert subject["purl"] == "pkg:golang/example.com/evaluator"  # (devel): no version
    assert subject["hashes"][0]["content"] == "ab" * 32
    [edges, *leaves] = document["dependencies"]
    assert edges["ref"] == subject["bom-ref"] and len(edges["dependsOn"]) == 4 == len(leaves)
    # A function of the entry: written again, it is the same document.
    assert document == sbom.document(COMBINATION.id, "plugins/x.so", entry())


# -- the index and the sums ------------------------------------------------------------------


@pytest.fixture
def built(project):
    """A combination folder as builds leave it: marker, two files, their manifest."""
    config = config_module.load(project.config_path)
    store = ArtifactStore(config.artifacts, COMBINATION)
    store.make_folder()
    files = {"bin/scheduler": b"host binary", "plugins/d7y-scheduler-plugin-evaluator.so":
             b"plugin binary"}
    for relative, content in files.items():
        store.path(relative).parent.mkdir(parents=True, exist_ok=True)
        store.path(relative).write_bytes(content)
    host = {**entry("host", service="scheduler"), "sha256": hashlib.sha256(
        files["bin/scheduler"]).hexdigest(), "size": 11}
    plugin = {**entry(), "sha256": hashlib.sha256(
        files["plugins/d7y-scheduler-plugin-evaluator.so"]).hexdigest(), "size": 13}
    store.update_manifest(lambda m: m["artifacts"].update({"bin/scheduler": host,
                          "plugins/d7y-scheduler-plugin-evaluator.so": plugin}))
    return config, store, host, plugin


def test_the_index_names_every_artifact_and_sha256sum_checks_the_sums(built):
    config, store, host, plugin = built
    artifact_index.publish(config, [COMBINATION])
    root = config.artifacts
    index = json.loads((root / "index.json").read_text())
    [listed_host, listed_plugin] = index["combinations"][COMBINATION.id]["artifacts"]
    assert listed_host == {"path": f"{COMBINATION.id}/bin/scheduler", "kind": "host",
                           "sha256": host["sha256"], "size": 11, "go_version": "go1.26.6",
                           "built_at": host["built_at"], "service": "scheduler",
                           "sbom": f"{COMBINATION.id}/sbom/scheduler.cdx.json"}
    assert listed_plugin["verify"] is None  # never verified
    checked = subprocess.run(["sha256sum", "-c", "SHA256SUMS"], cwd=root, text=True,
                             capture_output=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.count(": OK") == 4  # two binaries, two SBOMs
    assert not list(validator().iter_errors(json.loads(
        (root / listed_plugin["sbom"]).read_text())))


def test_the_verdict_is_the_one_recorded_for_exactly_these_binaries(built):
    config, store, host, plugin = built
    plugin_type = config.plugin_types["scheduler"]
    key = cache_key(host["sha256"], plugin["sha256"], contract_of(plugin_type),
                    config.check_command(plugin_type))
    name = "d7y-scheduler-plugin-evaluator.so"

    def verdict() -> str | None:
        artifact_index.write_index(config)
        index = json.loads((config.artifacts / "index.json").read_text())
        return index["combinations"][COMBINATION.id]["artifacts"][1]["verify"]

    store.update_manifest(lambda m: m.update(verdicts={name: {"verdict": "fail", "key": key}}))
    assert verdict() == "fail"
    store.update_manifest(lambda m: m.update(verdicts={name: {"verdict": "fail",
                                                                "key": "older binaries"}}))
    assert verdict() is None  # not for these binaries
    store.update_manifest(lambda m: m.update(verified={name: key}))
    assert verdict() == "pass"  # a proof kept from an earlier run


def test_a_changed_artifact_is_left_out_and_nothing_is_rewritten_when_nothing_changed(built):
    config, store, _, _ = built
    artifact_index.publish(config, [COMBINATION])
    sums = config.artifacts / "SHA256SUMS"
    stamp = sums.stat().st_mtime_ns
    artifact_index.publish(config, [COMBINATION])
    assert sums.stat().st_mtime_ns == stamp
    store.path("bin/scheduler").write_bytes(b"edited by hand")
    artifact_index.write_index(config)
    assert "bin/scheduler" not in sums.read_text()


def test_clean_of_a_combination_takes_it_out_of_the_index(built):
    from plugin_builder import commands

    config, _, _, _ = built
    artifact_index.publish(config, [COMBINATION])
    commands.clean(config.path, COMBINATION)
    index = json.loads((config.artifacts / "index.json").read_text())
    assert index["combinations"] == {}
    assert (config.artifacts / "SHA256SUMS").read_text() == ""


def test_no_index_where_the_tool_made_no_folder(project):
    config = config_module.load(project.config_path)
    artifact_index.write_index(config)
    assert not config.artifacts.exists()
    assert not (config.artifacts / MARKER).exists()


# -- JUnit ---------------------------------------------------------------------------------


def test_junit_has_time_timestamp_errors_and_skipped_on_suites_and_time_on_cases():
    record = {"combination": COMBINATION.id, "status": "failed", "error": "boom",
              "finished_at": "2026-01-02T03:04:05+00:00",
              "steps": [{"name": "toolchain", "seconds": 1.5, "status": "passed"},
                        {"name": "host", "seconds": 2.25, "status": "failed"}],
              "verify": {"results": [{"plugin": "/a/x.so", "verdict": "pass", "findings": [],
                                      "live": {"duration_s": 0.5}}]}}
    tree = ET.fromstring(results.junit(record))
    assert tree.tag == "testsuites"
    [suite] = tree
    for element in (tree, suite):  # the steps' time: verify's loads ran inside its step
        assert float(element.get("time")) == pytest.approx(3.75)
        assert (element.get("tests"), element.get("failures"), element.get("errors"),
                element.get("skipped")) == ("3", "1", "0", "0")
    assert suite.get("timestamp") == "2026-01-02T03:04:05"
    assert [case.get("time") for case in suite] == ["1.500", "2.250", "0.500"]
