"""Benchmark: `invoke verify --all --static-only` now, against the same command before
exact verify (commit BASELINE), each run on its own build of the default matrix.

    python benchmarks/bench_verify.py [--repeat 7]

Every side is measured in one run, alternately, as whole processes (Python start-up and
imports included), with the interpreter running this script (not a pyenv shim, which
adds ~60 ms of bash to any command on this machine) and the library's bytecode compiled
first, as `pip install` leaves it (invoke turns off writing bytecode, so an uncompiled
checkout would compile every module on every run). The sides:

* before: a git worktree of BASELINE with its own library on PYTHONPATH (its default
  matrix had 4 combinations, all amd64);
* now, the same 4 combinations (`--arch amd64` filters the matrix) and the whole
  6-combination matrix;
* now, unrecorded: the same artifacts with the fingerprints recorded at landing removed
  from their manifests, as binaries built by an older plugin-builder are: every
  fingerprint is then read from the binaries.

Then, in process, each pair's static reads with the size of the plugin's dynamic symbol
table, recorded and unrecorded, to show how the per-pair cost grows with the plugin.
Goal: at most 0.3 s for the whole matrix.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from common import REPO, copy_project  # noqa: E402

from plugin_builder import commands, pipeline, sealing  # noqa: E402
from plugin_builder.binary.side import Side  # noqa: E402
from plugin_builder.console import Console  # noqa: E402
from plugin_builder.files import stat_key  # noqa: E402
from plugin_builder.selection import Choice  # noqa: E402
from plugin_builder.steps import verify as verify_step  # noqa: E402
from plugin_builder.steps.job import Job, Request  # noqa: E402
from plugin_builder.verify.pairs import Pair  # noqa: E402

BASELINE = "2e2fe9c"  # the last commit before exact verify (static-only ~1.8 s then)
COMMAND = ("verify", "--all", "--static-only", "--json")


def invoke(project: Path, *args: str, pythonpath: Path | None = None,
           check: bool = True) -> float:
    env = {**os.environ, "PYTHONPATH": str(pythonpath)} if pythonpath else None
    started = time.perf_counter()
    run = subprocess.run([sys.executable, "-m", "invoke", *args], cwd=project, env=env,
                         capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if check and run.returncode != 0:
        raise SystemExit(f"invoke {' '.join(args)} failed in {project}:\n{run.stderr[-3000:]}")
    return seconds


def baseline_project(scratch: Path) -> tuple[Path, Path]:
    """A worktree of BASELINE and a project copy made from it, built by its own pipeline."""
    tree = scratch / "baseline-tree"
    subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", str(tree), BASELINE],
                   check=True, capture_output=True)
    project = scratch / "baseline"
    project.mkdir()
    for name in ("host", "plugins", "buildconfig.toml", "tasks.py"):
        subprocess.run(["cp", "-r", str(tree / name), str(project / name)], check=True)
    invoke(project, "pipeline", "--all", pythonpath=tree / "src")
    return tree, project


# A scheduler plugin that links much more of the standard library than the project's own
# (about three times their dynamic symbols): the per-pair cost is compared across sizes.
BULKY_PACKAGES = ("archive/zip", "compress/gzip", "crypto/tls", "crypto/x509",
                  "database/sql", "encoding/json", "encoding/xml", "go/parser", "go/printer",
                  "html/template", "image/png", "net/http", "net/mail", "net/rpc",
                  "regexp", "text/template")
BULKY_USES = ("zip.NewReader", "gzip.NewReader", "tls.Dial", "x509.ParseCertificate",
              "sql.Open", "json.Marshal", "xml.Marshal", "parser.ParseFile", "printer.Fprint",
              "template.New", "png.Decode", "http.Get", "mail.ReadMessage", "rpc.Dial",
              "regexp.MustCompile", "texttemplate.New")


def add_bulky_plugin(project: Path) -> None:
    """A copy of the evaluator plugin that also links BULKY_PACKAGES, as a new target."""
    source = project / "plugins" / "scheduler" / "evaluator"
    bulky = project / "plugins" / "scheduler" / "bulky"
    shutil.copytree(source, bulky, ignore=shutil.ignore_patterns("*_test.go"))
    go_mod = bulky / "go.mod"
    go_mod.write_text(go_mod.read_text().replace("plugins/evaluator", "plugins/bulky"))
    main = bulky / "main.go"  # the host checks that the plugin names itself as its file does
    main.write_text(main.read_text().replace('name    = "evaluator"', 'name    = "bulkyevaluator"'))
    imports = "\n".join(f'\ttexttemplate "{p}"' if p == "text/template" else f'\t"{p}"'
                        for p in BULKY_PACKAGES)
    (bulky / "bulk.go").write_text(
        f"package main\n\nimport (\n{imports}\n)\n\n"
        f"// Linked, so that the plugin carries these packages.\n"
        f"var Bulk = []any{{{', '.join(BULKY_USES)}}}\n")
    with (project / "buildconfig.toml").open("a") as config:
        config.write('\n[[plugins]]\ntype = "scheduler"\nname = "bulkyevaluator"\n'
                     'source = "plugins/scheduler/bulky"\n')


def compile_bytecode(source: Path) -> None:
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(source / "plugin_builder")],
                   check=True, capture_output=True)


def without_records(project: Path, copy: Path) -> Path:
    """A copy of a built project whose manifests keep no fingerprint records. Each entry's
    stat key is the copy's, as landing records it, so that what differs from the project
    is the fingerprint records alone (not a sha256 of every artifact)."""
    shutil.copytree(project, copy, symlinks=True)
    time.sleep(0.05)  # past the timestamp tick, as landing waits
    for manifest in (copy / "artifacts").glob("*/manifest.json"):
        recorded = json.loads(manifest.read_text())
        for relative, entry in recorded["artifacts"].items():
            entry.pop("fingerprints", None)
            entry["stat"] = stat_key((manifest.parent / relative).stat())
        recorded.pop("seal", None)  # sealed again, as the tool writes it: still believed
        manifest.write_text(sealing.seal(json.dumps(recorded, indent=2, sort_keys=True) + "\n"))
    return copy


def per_pair(project: Path, choice: Choice) -> list[tuple[str, int, float, float]]:
    """(pair, dynamic symbols of the plugin, seconds of its static reads with the records
    kept at landing, seconds reading everything from the binaries), in process."""
    context = commands.Context.open(project / "buildconfig.toml", None,
                                    Console(stream=io.StringIO()))
    request = Request.everything(context.config, build=False, live=False)
    found = []
    for combination in context.combinations(choice):
        job = Job.open(context.config, combination, context.backend, request,
                       context.reporter.for_prefix(combination.id))
        pipeline.run(job, through="plugins")  # the artifacts as they are
        for pair in verify_step.combination_pairs(context.config, combination, job.hosts,
                                                  job.plugins):
            assert pair.plugin_fingerprints is not None, "no fingerprints recorded at landing"
            with_records = best_of_3(read_recorded, pair)
            unrecorded = best_of_3(read_unrecorded, pair)
            symbols = len(Side.read(pair.plugin).elf.exported_symbols)
            found.append((f"{combination.id} {pair.plugin.name}", symbols, with_records,
                          unrecorded))
    return found


def read_recorded(pair: Pair) -> None:
    """What verify reads of a landed pair: the records stand for the fingerprints."""
    Side.read(pair.host, pair.host_fingerprints, lookups=False)
    Side.read(pair.plugin, pair.plugin_fingerprints)


def read_unrecorded(pair: Pair) -> None:
    Side.read(pair.host)
    Side.read(pair.plugin)


def best_of_3(read: Callable[[Pair], None], pair: Pair) -> float:
    seconds = []
    for _ in range(3):
        started = time.perf_counter()
        read(pair)
        seconds.append(time.perf_counter() - started)
    return min(seconds)


def median_line(label: str, seconds: list[float]) -> str:
    return (f"  {label:<44} median {statistics.median(seconds):6.3f} s  "
            f"min {min(seconds):6.3f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-verify-") as folder:
        scratch = Path(folder).resolve()
        current = copy_project(scratch / "current")
        invoke(current, "pipeline", "--all")
        unrecorded = without_records(current, scratch / "unrecorded")
        tree, old = baseline_project(scratch)
        compile_bytecode(tree / "src")
        compile_bytecode(REPO / "src")
        sides: dict[str, tuple[Path, tuple[str, ...], Path | None]] = {
            f"before ({BASELINE}), 4 combinations": (old, COMMAND, tree / "src"),
            "now, the same 4 combinations": (current, (*COMMAND, "--arch", "amd64"), None),
            "now, 6 combinations (default matrix)": (current, COMMAND, None),
            "now, 6 combinations, nothing recorded": (unrecorded, COMMAND, None),
        }
        times: dict[str, list[float]] = {label: [] for label in sides}
        try:
            for _ in range(args.repeat):  # alternately, so drift hits every side alike
                for label, (project, command, pythonpath) in sides.items():
                    times[label].append(invoke(project, *command, pythonpath=pythonpath,
                                               check=False))
            pairs = per_pair(current, Choice(every=True))
            growth = copy_project(scratch / "growth")
            add_bulky_plugin(growth)
            invoke(growth, "pipeline")  # the default combination
            pairs += [p for p in per_pair(growth, Choice()) if "bulkyevaluator" in p[0]]
        finally:
            subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(tree)],
                           capture_output=True)
        start_up = [invoke(current, "--version") for _ in range(args.repeat)]
    print(f"invoke {' '.join(COMMAND)}, whole process, {args.repeat} runs each, alternating")
    for label, seconds in times.items():
        print(median_line(label, seconds))
    print(median_line("invoke --version alone (start-up)", start_up))
    before = statistics.median(times[next(iter(times))])
    now = statistics.median(times["now, the same 4 combinations"])
    whole = statistics.median(times["now, 6 combinations (default matrix)"])
    print(f"  ratio now/before (same 4 combinations)  {now / before:6.3f}")
    print(f"  goal: default matrix <= 0.300 s: {'met' if whole <= 0.3 else 'NOT met'} "
          f"({whole:.3f} s)")
    print("static reads per pair, in process, best of 3 (both binaries: ELF, build info,"
          " fingerprints):")
    print(f"  {'pair':<56} {'symbols':>8} {'recorded':>9} {'unrecorded':>11}")
    for name, symbols, recorded, read in sorted(pairs, key=lambda p: p[1]):
        print(f"  {name:<56} {symbols:>8} {recorded * 1000:7.1f} ms {read * 1000:8.1f} ms")


if __name__ == "__main__":
    main()
