"""The docker keys of the config and the service Dockerfile they render (no engine)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from plugin_builder import config
from plugin_builder.combination import Combination
from plugin_builder.errors import ConfigError
from plugin_builder.steps.service_image import render

REPO = Path(__file__).resolve().parents[2]
MUSL = Combination("1.26.6", "musl", "amd64")


def test_the_default_config_names_offline_bases_and_image_tags() -> None:
    loaded = config.load(REPO / "buildconfig.toml")
    assert loaded.libcs["musl"].builder_base == "plugin-builder/bootstrap:bookworm"
    assert loaded.libcs["musl"].runtime_base == "plugin-builder/runtime:bookworm-musl"
    assert loaded.docker.builder_tag(MUSL) == "plugin-builder/builder:go1.26.6-musl-amd64"
    assert loaded.docker.service_tag("scheduler", MUSL) == \
        "plugin-builder/scheduler:go1.26.6-musl-amd64"
    assert loaded.host.services["scheduler"].healthcheck_argv("/usr/local/bin/scheduler", 8080) \
        == ["/usr/local/bin/scheduler", "healthcheck", "http://127.0.0.1:8080/healthz"]


def test_without_a_docker_table_the_defaults_apply(project) -> None:
    loaded = config.load(project.write())
    assert loaded.docker == config.Docker()


@pytest.mark.parametrize(("docker", "key", "words"), [
    ({"builder_repo": "x"}, "docker.builder_repo", "did you mean 'builder_repository'"),
    ({"builder_repository": "Plugin Builder"}, "docker.builder_repository", "not a Docker"),
    ({"builder_repository": "a/b:tag"}, "docker.builder_repository", "without a tag"),
    ({"service_repository": "plugin-builder/svc"}, "docker.service_repository", "{service}"),
    ({"service_repository": "x/{name}"}, "docker.service_repository", "unknown placeholder"),
    ({"bootstrap_mirror": "deb.debian.org"}, "docker.bootstrap_mirror", "not a URL"),
    ({"bootstrap_suite": 12}, "docker.bootstrap_suite", "expected a string"),
])
def test_bad_docker_keys_name_the_key(project, docker, key, words) -> None:
    project.data["docker"] = docker
    with pytest.raises(ConfigError) as raised:
        config.load(project.write())
    assert f": {key}: " in str(raised.value) and words in str(raised.value)


def test_a_registry_with_a_port_is_a_valid_repository(project) -> None:
    project.data["docker"] = {"builder_repository": "registry.local:5000/team/builder"}
    assert config.load(project.write()).docker.builder_repository.endswith("team/builder")


def test_healthcheck_placeholders_are_checked(project) -> None:
    service = next(iter(project.data["host"]["services"].values()))
    service["healthcheck"] = ["{binary}", "healthcheck", "{url}"]
    with pytest.raises(ConfigError, match=r"healthcheck\[2\]: unknown placeholder \{url\}"):
        config.load(project.write())


def test_the_service_dockerfile_is_exec_form_json_and_nonroot() -> None:
    loaded = config.load(REPO / "buildconfig.toml")
    text = render(loaded, loaded.host.services["scheduler"])
    assert not [line for line in text.splitlines()  # every @MARKER@ is filled in
                if "@" in line and not line.startswith("#")]
    lines = {line.split(" ", 1)[0]: line for line in text.splitlines()
             if line and not line.startswith("#")}
    assert lines["USER"] == "USER 65532:65532"
    assert json.loads(lines["ENTRYPOINT"].split(" ", 1)[1]) == ["/usr/local/bin/scheduler"]
    assert json.loads(lines["CMD"].split(" ", 1)[1]) == [
        "--plugin-dir", "/usr/local/dragonfly/plugins", "--listen", ":8080"]
    assert lines["HEALTHCHECK"].endswith(json.dumps(
        ["/usr/local/bin/scheduler", "healthcheck", "http://127.0.0.1:8080/healthz"]))


def test_a_service_without_healthcheck_gets_none() -> None:
    loaded = config.load(REPO / "buildconfig.toml")
    service = config.Service(name="x", main="./cmd/x", binary="x", check=())
    assert "HEALTHCHECK NONE" in render(loaded, service)


def test_markers_in_a_healthcheck_stay_text() -> None:
    # Filled in one after the other, "@CMD@" in a healthcheck item became the CMD's JSON
    # and turned the exec-form HEALTHCHECK into a CMD-SHELL string (issue 23).
    loaded = config.load(REPO / "buildconfig.toml")
    items = ["{binary}", "@CMD@", "@ENTRYPOINT@ @USER@ @PORT@", "@HEALTHCHECK@"]
    service = config.Service(name="x", main="./cmd/x", check=(), healthcheck=tuple(items))
    lines = {line.split(" ", 1)[0]: line for line in render(loaded, service).splitlines()
             if line and not line.startswith("#")}
    assert lines["HEALTHCHECK"].endswith(" CMD " + json.dumps(["/usr/local/bin/x", *items[1:]]))
    assert json.loads(lines["CMD"].split(" ", 1)[1])[0] == "--plugin-dir"
