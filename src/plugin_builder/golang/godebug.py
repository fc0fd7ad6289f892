"""godebug settings a build names, and asking a Go release which of them it knows.

A main package sets GODEBUG defaults with ``//go:debug key=value`` lines above its
package clause (Go 1.21+), a go.mod or go.work with ``godebug`` directives (Go 1.23+).
A key the release does not know (newer, or removed) fails the build with Go's own
words about a file the user may never have looked at. The release is asked, not a
table copied here: a go.work in a scratch folder holding nothing but the settings is
loaded with that release's go command, which checks each line as it checks the
user's (``go: error loading go.work: go.work:4: unknown godebug "x"``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from plugin_builder.golang.gomod import GoMod

_DIRECTIVE = re.compile(r"//go:debug\s+(\S+)")
_PACKAGE = re.compile(r"\s*package\s")
# `go.work:4: unknown godebug "x"`, `... use of removed godebug "x509sha1", see ...`
_PROBE_ERROR = re.compile(r"go\.work:(\d+): (.+)")


@dataclass(frozen=True)
class Setting:
    setting: str  # "key=value" as written
    where: str  # "plugins/x/main.go:3", "plugins/x/go.mod"

    @property
    def key(self) -> str:
        return self.setting.split("=", 1)[0]


def settings(folder: Path, gomod: GoMod | None) -> list[Setting]:
    """The godebug settings of the main package in ``folder`` and of its go.mod."""
    found = [Setting(value, f"{folder / 'go.mod'}") for value in (gomod.godebug if gomod else ())]
    for source in sorted(folder.glob("*.go")):
        if not source.name.endswith("_test.go"):
            found += _directives(source)
    return found


def _directives(source: Path) -> Iterable[Setting]:
    """``//go:debug`` lines of a Go file: Go reads them above the package clause only."""
    try:
        lines = source.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return  # the build names an unreadable file in its own words
    for number, line in enumerate(lines, start=1):
        if _PACKAGE.match(line):
            return
        match = _DIRECTIVE.match(line.strip())
        if match:
            yield Setting(match.group(1), f"{source}:{number}")


def probe_gowork(go: str, values: Iterable[str]) -> str:
    """A go.work that names nothing but these settings, one per line from line 4."""
    lines = [f"go {go}", "", "godebug ("]
    lines += [f"\t{json.dumps(value) if ' ' in value else value}" for value in values]
    return "\n".join([*lines, ")"]) + "\n"


def probe_refusal(output: str, values: list[str]) -> tuple[str, str] | None:
    """The setting the probe go.work's loading refused and Go's reason, from its output."""
    match = _PROBE_ERROR.search(output)
    if not match:
        return None
    index = int(match.group(1)) - 4
    return (values[index], match.group(2).strip()) if 0 <= index < len(values) else None
