"""What the config model gives besides parsing: the committed JSON Schema and the key table
of docs/configuration.md are the model's, and every config the project ships, documents or
makes validates against the schema."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import jsonschema
import pytest

from plugin_builder import init
from plugin_builder.config import schema
from plugin_builder.init import presets, render
from tests.project import host_of_preset
from tests.unit.test_bad_configs import base

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures"
VALIDATOR = jsonschema.Draft202012Validator(schema.json_schema())
SHIPPED = [REPO / "buildconfig.toml", *sorted(FIXTURES.rglob("buildconfig.toml"))]
EXAMPLES = re.findall(r"^```toml\n(.*?)^```", (REPO / "docs" / "configuration.md").read_text(),
                      re.M | re.S)


def test_the_committed_schema_is_the_models() -> None:
    assert json.loads(schema.SCHEMA_FILE.read_text()) == schema.json_schema(), \
        "run python -m plugin_builder.config"


def test_the_schema_is_a_draft_2020_12_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(schema.json_schema())


def test_the_key_table_of_the_docs_is_the_models() -> None:
    page = schema.DOC_FILE.read_text()
    assert f"{schema.TABLE_BEGIN}\n{schema.reference_table()}\n{schema.TABLE_END}" in page, \
        "run python -m plugin_builder.config"


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: str(p.relative_to(REPO)))
def test_every_shipped_config_validates(path: Path) -> None:
    VALIDATOR.validate(tomllib.loads(path.read_text()))


@pytest.mark.parametrize("text", [t for t in EXAMPLES if "[matrix]" in t])
def test_every_complete_config_of_the_docs_validates(text: str) -> None:
    VALIDATOR.validate(tomllib.loads(text))


def test_the_bad_config_corpus_base_validates() -> None:
    VALIDATOR.validate(base())


@pytest.mark.parametrize("preset", presets.names())
def test_every_preset_writes_a_config_that_validates(preset: str, tmp_path: Path) -> None:
    host_of_preset(preset, tmp_path)
    plan = init.plan(init.Options(folder=tmp_path / "project", host=tmp_path / "host",
                                  preset=preset, go=("1.26.6",), libc=("glibc,musl",)))
    VALIDATOR.validate(tomllib.loads(render.project(plan).files["buildconfig.toml"]))


@pytest.mark.parametrize("change, path", [
    (lambda data: data["host"].update(modul="host"), "$.host"),
    (lambda data: data["matrix"].update(go="1.26.6"), "$.matrix.go"),
    (lambda data: data["plugins"][0].update(stamps={}), "$.plugins[0]"),
    (lambda data: data["libc"]["glibc"].update(arch={"arm64": {"packages": []}}),
     "$.libc.glibc.arch.arm64"),
    (lambda data: data.pop("host"), "$"),
])
def test_the_schema_refuses_what_the_model_refuses(change, path: str) -> None:
    data = base()
    change(data)
    errors = list(VALIDATOR.iter_errors(data))
    assert [error.json_path for error in errors] == [path], errors
