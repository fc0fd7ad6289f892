"""A throwaway project that is a copy of the real buildconfig.toml's shape."""

from __future__ import annotations

import shutil
import tomllib
from pathlib import Path

import pytest
import tomlkit

REPO = Path(__file__).resolve().parents[2]


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
