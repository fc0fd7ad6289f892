"""The CI files, linted as CI runs them: every workflow of this repository and the one
`plugin-builder init --ci github` writes, through actionlint (built from the Go module
proxy with a provisioned Go, which runs shellcheck on each `run:` script), the shell
scripts through shellcheck (Debian's package), and no `${{ }}` expression inside a
script (a value reaches a script through `env:`, never pasted into its text).

    python -m tests.cilint          what `nox -s lint` runs; exit 1 on any finding
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))  # the library, also without an installed package

from plugin_builder.config import default_toolchain_cache  # noqa: E402
from plugin_builder.golang import gotools  # noqa: E402
from plugin_builder.golang.toolchains import go_toolchain  # noqa: E402
from plugin_builder.init import workflow  # noqa: E402

ACTIONLINT = "github.com/rhysd/actionlint/cmd/actionlint@v1.7.12"
GO = "1.26.6"  # the release actionlint is built with (its go.mod asks for 1.25)
SHELL_SCRIPTS = (".ci/run", "benchmarks/quick_timings.sh")
_RUN_KEY = re.compile(r"^(?P<indent>\s*)(?:- )?run:\s*(?P<value>.*)$")


def actionlint() -> Path:
    cache = default_toolchain_cache()
    toolchain = go_toolchain(GO, cache, log=lambda message: None)
    return gotools.installed(ACTIONLINT, "actionlint", toolchain, cache,
                             log=lambda message: None)


def workflows(folder: Path) -> list[Path]:
    """This repository's workflows, and the one init writes (into ``folder``)."""
    generated = folder / "init-ci-github.yml"
    generated.write_text(workflow.render())
    return sorted((REPO / ".github" / "workflows").glob("*.yml")) + [generated]


def scripts_with_expressions(text: str) -> list[str]:
    """The `run:` scripts of a workflow that hold a `${{ }}` expression."""
    found = []
    lines = text.splitlines()
    for number, line in enumerate(lines):
        key = _RUN_KEY.match(line)
        if key is None:
            continue
        script = [key["value"]]
        if key["value"].strip() in ("|", ">", "|-", ">-"):
            indent = len(key["indent"]) + (2 if line.lstrip().startswith("- ") else 0)
            for following in lines[number + 1:]:
                if following.strip() and len(following) - len(following.lstrip()) <= indent:
                    break
                script.append(following)
        if any("${{" in part for part in script):
            found.append(f"line {number + 1}: {line.strip()}")
    return found


def problems() -> list[str]:
    """Every finding, as `file: what`; empty when all is clean."""
    if shutil.which("shellcheck") is None:
        return ["shellcheck is not installed: apt-get install shellcheck (actionlint "
                "checks each run: script with it)"]
    found = []
    with tempfile.TemporaryDirectory(prefix="plugin-builder-cilint-") as scratch:
        program = actionlint()
        for path in workflows(Path(scratch)):
            linted = subprocess.run([str(program), "-no-color", str(path)], capture_output=True,
                                    text=True, check=False)
            if linted.returncode != 0:
                found.append(f"{path.name}: actionlint:\n{linted.stdout}{linted.stderr}")
            found += [f"{path.name}: an expression inside a script, {where}"
                      for where in scripts_with_expressions(path.read_text())]
    for script in SHELL_SCRIPTS:
        checked = subprocess.run(["shellcheck", str(REPO / script)], capture_output=True,
                                 text=True, check=False)
        if checked.returncode != 0:
            found.append(f"{script}: shellcheck:\n{checked.stdout}{checked.stderr}")
    return found


def main() -> int:
    found = problems()
    for problem in found:
        print(problem)
    print(f"{len(found)} finding(s) in the CI files" if found else "CI files: clean")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
