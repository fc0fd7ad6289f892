"""docs/configuration.md documents exactly the keys the config model accepts."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from plugin_builder import config as config_module
from plugin_builder.config import SCHEMA, tomllib

PAGE = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"
ROWS = {m[1]: [c.strip() for c in m[2].split(" | ")]
        for m in re.finditer(r"^\| `([^`]+)` \| (.+) \|$", PAGE.read_text(), re.M)}
SCHEMA_KEYS = [(section, key) for section, keys in SCHEMA.items() for key in keys]


def documents(row: str, section: str, key: str) -> bool:
    """The row documents the key itself or, for a table key, one of its keys."""
    full = f"{section}.{key}" if section else key
    return row == full or row.startswith((f"{full}.", f"{full}[]."))


def is_a_table(section: str, key: str) -> bool:
    full = f"{section}.{key}" if section else key
    return any(s.startswith((f"{full}.", f"{full}[]")) for s in SCHEMA)


@pytest.mark.parametrize("section, key", SCHEMA_KEYS)
def test_every_key_of_the_model_is_documented(section, key):
    assert any(documents(row, section, key) for row in ROWS), (
        f"{section}.{key} is accepted by the config model but missing from {PAGE.name}")


@pytest.mark.parametrize("row", sorted(ROWS))
def test_every_documented_key_exists(row):
    matches = [(s, k) for s, k in SCHEMA_KEYS if documents(row, s, k)]
    assert matches, f"{PAGE.name} documents {row}, which the config model does not accept"
    # A row names a value, not a table the model describes key by key.
    assert any(not is_a_table(s, k) for s, k in matches), row


@pytest.mark.parametrize("row", sorted(ROWS))
def test_every_row_has_type_default_example_and_meaning(row):
    kind, default, example, meaning = ROWS[row]
    assert kind and default and meaning
    assert example.startswith("`") and "=" in example, f"{row}: the example is a TOML line"


MINIMAL = """
[matrix]
go = ["1.26.6"]
libc = ["glibc"]
default = "go1.26.6-glibc-amd64"
[libc.glibc]
cc = "gcc"
[host]
module = "host"
[host.services.svc]
main = "./cmd/svc"
[plugin_types.t]
service = "svc"
file = "{name}.so"
"""
# How each key with a literal default reads back from the loaded model.
READ_BACK = {
    "project.backend": lambda c: c.backend,
    "matrix.arch": lambda c: list(c.matrix.arch),
    "libc.<name>.builder_base": lambda c: c.libcs["glibc"].builder_base,
    "libc.<name>.runtime_base": lambda c: c.libcs["glibc"].runtime_base,
    "host.version": lambda c: c.host.version,
    "host.trimpath": lambda c: c.host.trimpath,
    "host.tags": lambda c: list(c.host.tags),
    "host.plugin_dir": lambda c: c.host.plugin_dir,
    "host.services.<name>.check": lambda c: list(c.host.services["svc"].check),
    "host.services.<name>.healthcheck": lambda c: list(c.host.services["svc"].healthcheck),
    "plugin_types.<type>.required_symbols": lambda c: list(c.plugin_types["t"].required_symbols),
    "plugin_types.<type>.check": lambda c: list(c.plugin_types["t"].check),
    "plugin_types.<type>.imports": lambda c: list(c.plugin_types["t"].imports),
    "plugin_types.<type>.names": lambda c: list(c.plugin_types["t"].names),
    "plugin_types.<type>.symbols": lambda c: {
        s.name: s.go_type for s in c.plugin_types["t"].typed_symbols if s.required},
    "plugin_types.<type>.optional_symbols": lambda c: {
        s.name: s.go_type for s in c.plugin_types["t"].typed_symbols if not s.required},
    "host.ldflags": lambda c: list(c.host.ldflags),
    "host.gcflags": lambda c: c.host.gcflags,
    "project.artifacts": lambda c: c.artifacts.name,
    "project.results": lambda c: c.results.name,
    **{f"docker.{k}": (lambda c, k=k: getattr(c.docker, k))
       for k in ("builder_repository", "service_repository", "bootstrap_suite",
                 "bootstrap_mirror")},
}


def test_documented_defaults_are_the_models(tmp_path):
    (tmp_path / "host").mkdir()
    (tmp_path / "host" / "go.mod").write_text("module example.com/h\n")
    (tmp_path / "buildconfig.toml").write_text(MINIMAL)
    loaded = config_module.load(tmp_path / "buildconfig.toml")
    checked = 0
    for row, (_, default, _, _) in ROWS.items():
        literal = re.fullmatch(r"`([^`]+)`(?: \(.*\))?", default)
        if not literal or row not in READ_BACK:
            continue
        expected = tomllib.loads(f"v = {literal[1]}")["v"]
        assert READ_BACK[row](loaded) == expected, f"{row}: documented default {default}"
        checked += 1
    assert checked == len(READ_BACK), "a documented default is no longer a literal"
