"""verify on whole files that are not what a host or a plugin must be: C programs, C
libraries, a few crafted bytes. Static analysis refuses each (issue 23), naming the rule
and the fix; a Go host and plugin of the same hand-made shapes are accepted.

No Go is needed: the Go-shaped files are written by tests/unit/elffiles.py, and the C
program is the machine's own ``ls``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from plugin_builder import commands
from plugin_builder.binary.side import Side
from plugin_builder.errors import VerifyError
from plugin_builder.status import Verdict
from plugin_builder.verify import RuleId

from . import elffiles, fixcommands

LS = shutil.which("ls") or "/bin/ls"
PLUGIN_NAME = "d7y-scheduler-plugin-evaluator.so"  # the scheduler type's file pattern


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    folder = tmp_path / "binaries"
    folder.mkdir()
    paths = {name: folder / name / PLUGIN_NAME for name in ("go", "c", "crafted")}
    for path in paths.values():
        path.parent.mkdir()
    elffiles.go_plugin(paths["go"])
    elffiles.c_library(paths["c"])
    elffiles.crafted(paths["crafted"])
    return {**paths, "go-host": elffiles.go_host(folder / "scheduler"), "ls": Path(LS)}


def verdicts(project, host: Path, plugin: Path, *, live: bool = False):
    context = commands.Context.open(project.config_path)
    return commands.verify_binaries(context, str(host), [str(plugin)], live=live)


def test_the_hand_made_go_files_are_accepted(project, files):
    # The shapes themselves are sound: what refuses the others is that they are not Go.
    assert os.path.getsize(files["crafted"]) == 304
    [result] = verdicts(project, files["go-host"], files["go"])
    assert result.verdict == Verdict.WARN, result.findings  # fingerprints unreadable only
    assert [f.rule for f in result.findings] == [RuleId.PACKAGE_FINGERPRINT]


@pytest.mark.parametrize(("host", "plugin", "rules"), [
    ("ls", "go", [RuleId.NOT_A_GO_HOST]),
    ("go-host", "c", [RuleId.NOT_A_GO_PLUGIN]),
    ("go-host", "crafted", [RuleId.NOT_A_GO_PLUGIN]),
    ("ls", "c", [RuleId.NOT_A_GO_HOST, RuleId.NOT_A_GO_PLUGIN]),
    ("ls", "crafted", [RuleId.NOT_A_GO_HOST, RuleId.NOT_A_GO_PLUGIN]),
    ("go", "go", [RuleId.NOT_A_GO_HOST]),  # a plugin given as the host
])
def test_what_is_not_a_go_host_or_plugin_fails_static_analysis(project, files, host, plugin,
                                                                rules):
    [result] = verdicts(project, files[host], files[plugin])
    assert [f.rule for f in result.findings] == rules
    assert result.verdict == Verdict.FAIL
    with pytest.raises(VerifyError):
        commands.require_loaded([result])
    for finding in result.findings:  # real targets and combinations, or go commands
        fixcommands.check(finding.fix, commands.load(project.config_path))


def test_the_crafted_file_is_refused_with_what_dlopen_says(project, files):
    [result] = verdicts(project, files["go-host"], files["crafted"])
    [finding] = result.findings
    assert finding.host_error.endswith(": object file has no dynamic section")
    [c_library] = verdicts(project, files["go-host"], files["c"]).pop().findings
    assert (c_library.host_error, c_library.host_crashes) == (
        "fatal error: runtime: no plugin module data", True)


def test_a_side_of_each_reads_as_not_go(files):
    assert Side.read(files["ls"]).buildinfo is None
    assert Side.read(files["c"]).buildinfo is None
    assert Side.read(files["crafted"]).buildinfo is None
    assert Side.read(files["go"]).buildinfo.buildmode == "plugin"


def test_invoke_verify_with_a_c_program_as_host_fails(project, files):
    """The command itself, live (no loader can be built like a C program, so the static
    verdict stands): it exits with VerifyError's code and says why in JSON."""
    (project.root / "tasks.py").write_text("from plugin_builder.tasks import ns  # noqa\n")
    run = subprocess.run(
        [sys.executable, "-m", "invoke", "verify", "--host", LS, "--plugin", str(files["go"]),
         "--json", "--config", str(project.config_path)],
        cwd=project.root, capture_output=True, text=True, timeout=120)
    assert run.returncode == VerifyError.return_code, run.stderr
    report = json.loads(run.stdout)
    [result] = report["results"]
    assert result["verdict"] == "fail"
    assert result["findings"][0]["rule"] == "not-a-go-host"
    assert "Traceback" not in run.stderr
