"""A throwaway project that is a copy of the real buildconfig.toml's shape."""

from __future__ import annotations

import shutil
import tomllib
from pathlib import Path

import pytest
import tomlkit

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures"


def host_of_preset(preset: str, root: Path) -> None:
    """A host of the preset's family as root/host, with what it needs beside it (its
    plugins; lura for the KrakenD gateway, whose go.mod replaces it by ../lura)."""
    ignore = shutil.ignore_patterns("go.work*", "*.so")
    if preset == "reference":
        shutil.copytree(REPO / "host", root / "host", ignore=ignore)
        shutil.copytree(REPO / "plugins", root / "plugins", ignore=ignore)
    elif preset == "dragonfly":
        shutil.copytree(FIXTURES / "dragonfly", root / "host", ignore=ignore)
    elif preset == "krakend":
        shutil.copytree(FIXTURES / "krakend" / "krakend-ce", root / "host", ignore=ignore)
        shutil.copytree(FIXTURES / "krakend" / "lura", root / "lura", ignore=ignore)
        shutil.copytree(FIXTURES / "krakend" / "plugins", root / "plugins", ignore=ignore)
    elif preset == "tyk":
        shutil.copytree(FIXTURES / "tyk" / "gateway", root / "host", ignore=ignore)
        shutil.copytree(FIXTURES / "tyk" / "plugins", root / "plugins", ignore=ignore)
    else:  # bifrost, and blank on the Bifrost-style host
        shutil.copytree(FIXTURES / "bifrost" / "host", root / "host", ignore=ignore)
        shutil.copytree(FIXTURES / "bifrost" / "plugins", root / "plugins", ignore=ignore)


class Project:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.config_path = root / "buildconfig.toml"
        self.data = tomllib.loads((REPO / "buildconfig.toml").read_text())
        (root / "host").mkdir()
        shutil.copy(REPO / "host" / "go.mod", root / "host" / "go.mod")
        for plugin in self.data["plugins"]:
            folder = root / plugin["source"]
            folder.mkdir(parents=True)
            (folder / "go.mod").write_text(f"module example.com/{plugin['name']}\n\ngo 1.26\n")
        self.write()

    def write(self, text: str | None = None) -> Path:
        self.config_path.write_text(text if text is not None else tomlkit.dumps(self.data))
        return self.config_path


@pytest.fixture
def project(tmp_path: Path) -> Project:
    return Project(tmp_path)
