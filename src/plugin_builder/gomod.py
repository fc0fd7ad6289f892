"""What a go.mod declares, as the go command itself reads it (`go mod edit -json`)."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from plugin_builder.errors import BuildError
from plugin_builder.toolchains import toolchain_env


@dataclass(frozen=True)
class GoMod:
    module: str
    go: str | None
    requires: tuple[tuple[str, str], ...]  # (module path, version)

    def required_version(self, module: str) -> str | None:
        return next((version for path, version in self.requires if path == module), None)


def read_gomod(folder: Path, go: str = "go") -> GoMod:
    gomod = folder / "go.mod"
    stat = gomod.stat()
    return _read(str(gomod), stat.st_mtime_ns, stat.st_size, go)


@lru_cache(maxsize=256)
def _read(gomod: str, mtime_ns: int, size: int, go: str) -> GoMod:
    # mtime and size are part of the cache key, so an edited go.mod is read again.
    run = subprocess.run([go, "mod", "edit", "-json", gomod], capture_output=True, text=True,
                         env=toolchain_env(), check=False)
    if run.returncode != 0:
        raise BuildError(f"reading {gomod}", run.stderr)
    data = json.loads(run.stdout)
    return GoMod(
        module=data["Module"]["Path"],
        go=data.get("Go"),
        requires=tuple((r["Path"], r["Version"]) for r in data.get("Require") or ()),
    )
