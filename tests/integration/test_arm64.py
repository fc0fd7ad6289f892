"""arm64 without an arm64 machine: hosts and plugins cross-built for both libcs, each
plugin loaded by its arm64 host under qemu-aarch64-static with the loader and libc of
its libc, a plugin of the other arch refused with the real loader's error (both ways),
the static verdict alone where no emulator is installed, and an arm64 service image
verified through the emulator.

The builds are the default matrix's (the session's `built` project: arm64 is in it for
the default Go release, glibc and musl); only the service image builds again.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from plugin_builder import emulation
from plugin_builder.binary.buildinfo import read_buildinfo
from plugin_builder.binary.elffacts import read_elf
from plugin_builder.errors import ToolchainError
from plugin_builder.verify import RuleId
from plugin_builder.verify.live import CRASHED, TIMED_OUT, run_check
from tests.project import Project

ARM64 = ["go1.26.6-glibc-arm64", "go1.26.6-musl-arm64"]
LOADER = {"glibc": "/lib/ld-linux-aarch64.so.1", "musl": "/lib/ld-musl-aarch64.so.1"}
PREFIX = {"glibc": "/usr/aarch64-linux-gnu", "musl": "/"}
SERVICE_OF = {"resource": "dfdaemon", "scheduler": "scheduler", "manager": "manager"}
PLUGIN = {"resource": "dfs", "scheduler": "evaluator", "manager": "searcher"}
EVALUATOR = "plugins/d7y-scheduler-plugin-evaluator.so"
# What the real loader says when a plugin of the other arch is opened (measured): glibc
# skips a file of another machine as if it were not there; musl maps it, then cannot
# relocate it (x86-64's R_X86_64_RELATIVE is 8, aarch64's R_AARCH64_RELATIVE 1027).
REFUSED_BY = {"glibc": "cannot open shared object file: No such file or directory",
              "musl": "unsupported relocation type"}
# Plugins that misbehave when plugin.Open runs their init: one dies of a nil dereference
# in a goroutine no host can recover, one never returns.
MISBEHAVING = {
    "crashevaluator": "package main\n\nfunc init() {\n\tdone := make(chan struct{})\n"
                      "\tgo func() {\n\t\tvar p *int\n\t\t*p = 1\n\t\tclose(done)\n"
                      "\t}()\n\t<-done\n}\n",
    "hangevaluator": "package main\n\nfunc init() {\n\tfor {\n\t}\n}\n",
}


def libc_of(combination: str) -> str:
    return combination.split("-")[1]


@pytest.fixture(scope="module", autouse=True)
def emulator_installed():
    """The emulator and the cross toolchains are prerequisites, as gcc is: .ci/run installs
    them, and this tier fails without them rather than proving nothing."""
    missing = [p for p in ("qemu-aarch64-static", "aarch64-linux-gnu-gcc",
                           "aarch64-linux-musl-gcc") if shutil.which(p) is None]
    assert not missing, ("install qemu-user-static, gcc-aarch64-linux-gnu, "
                         f"libc6-dev-arm64-cross and musl-dev:arm64 (missing: {missing})")


def verify_json(project: Project, *args: str, env: dict[str, str] | None = None,
                check: bool = False) -> tuple[subprocess.CompletedProcess[str], dict | None]:
    run = subprocess.run([sys.executable, "-m", "invoke", "verify", *args, "--json"],
                         cwd=project.root, env=env or dict(os.environ), capture_output=True,
                         text=True, timeout=300)
    if check:
        assert run.returncode == 0, run.stdout + run.stderr
    report = json.loads(run.stdout) if run.stdout.strip().startswith("{") else None
    return run, report


@pytest.mark.parametrize("combination", ARM64)
def test_hosts_and_plugins_are_cross_built_for_arm64(built: Project, combination) -> None:
    libc = libc_of(combination)
    manifest = built.manifest(combination)
    shipped = {r: e for r, e in manifest["artifacts"].items() if e["kind"] != "loader"}
    assert len(shipped) == 6  # 3 services, 3 plugins (and the stand-in loader)
    for relative, entry in shipped.items():
        path = built.artifacts(combination) / relative
        elf = read_elf(path)
        assert (elf.machine, elf.goarch, elf.libc) == ("EM_AARCH64", "arm64", libc), relative
        info = read_buildinfo(path)
        assert info.goarch == "arm64" and info.settings["CGO_ENABLED"] == "1"
        assert (entry["arch"], entry["libc"]) == ("arm64", libc)
        cross = {"glibc": "aarch64-linux-gnu-gcc", "musl": "aarch64-linux-musl-gcc"}[libc]
        assert entry["toolchain"]["cc_command"] == cross
        if relative.startswith("bin/"):
            assert elf.interpreter == LOADER[libc] and elf.is_dynamically_linked
        else:
            assert info.settings["-buildmode"] == "plugin"


@pytest.mark.parametrize("combination", ARM64)
def test_each_arm64_plugin_was_loaded_by_its_arm64_host_under_qemu(built: Project,
                                                                   combination) -> None:
    libc = libc_of(combination)
    verified = built.manifest(combination)["verify"]
    assert verified["summary"]["pass"] == 3
    for result in verified["results"]:
        live = result["live"]
        assert live["by"] == "host check command" and live["status"] == "ok", result
        qemu, flag, prefix, host, command, plugin = live["argv"]
        assert Path(qemu).name == "qemu-aarch64-static"
        assert (flag, prefix, command) == ("-L", PREFIX[libc], "check-plugin")
        assert read_elf(host).goarch == "arm64" and plugin == result["plugin"]
        assert any(line.startswith("ok: ") and "loaded" in line for line in live["tail"])
    first = built.first_run.stderr  # type: ignore[attr-defined]
    assert f"{combination}" in first and "host check of d7y-scheduler-plugin-evaluator.so" \
        in first


@pytest.mark.parametrize("libc", ["glibc", "musl"])
@pytest.mark.parametrize("host_arch, plugin_arch", [("arm64", "amd64"), ("amd64", "arm64")])
def test_a_plugin_of_the_other_arch_is_refused_with_the_real_loaders_error(
        built: Project, libc, host_arch, plugin_arch) -> None:
    host = built.artifacts(f"go1.26.6-{libc}-{host_arch}") / "bin" / "scheduler"
    plugin = built.artifacts(f"go1.26.6-{libc}-{plugin_arch}") / EVALUATOR
    run, report = verify_json(built, "--host", str(host), "--plugin", str(plugin),
                              "--host-check")
    assert run.returncode == 10, run.stderr  # VerifyError
    result = report["results"][0]
    assert result["verdict"] == "fail"
    arch = next(f for f in result["findings"] if f["rule"] == RuleId.ARCH)
    assert (arch["host_value"], arch["plugin_value"]) == (host_arch, plugin_arch)
    assert arch["fix"] == ("invoke build-plugin --type scheduler --name evaluator "
                           f"--go 1.26.6 --libc {libc} --arch {host_arch}")
    live = result["live"]
    assert live["status"] == "refused"
    assert REFUSED_BY[libc] in live["error_line"] and str(plugin) in live["error_line"]
    emulated = Path(live["argv"][0]).name == "qemu-aarch64-static"
    assert emulated == (host_arch == "arm64")


@pytest.fixture(scope="module")
def misbehaving(built: Project, tmp_path_factory) -> dict[tuple[str, str], Path]:
    """(name, arch) -> the crashing and the hanging scheduler plugin, built for glibc on
    both arches in a copy of the project (same sources and settings as `built`'s hosts)."""
    project = Project(tmp_path_factory.mktemp("misbehaving"))
    config = project.root / "buildconfig.toml"
    for name, code in MISBEHAVING.items():
        folder = project.root / "plugins" / "scheduler" / name
        shutil.copytree(project.root / "plugins" / "scheduler" / "evaluator", folder)
        gomod = folder / "go.mod"
        gomod.write_text(gomod.read_text().replace("/plugins/evaluator", f"/plugins/{name}"))
        (folder / "misbehave.go").write_text(code)
        with config.open("a") as text:
            text.write(f'\n[[plugins]]\ntype = "scheduler"\nname = "{name}"\n'
                       f'source = "plugins/scheduler/{name}"\n')
    built_plugins = {}
    for arch in ("amd64", "arm64"):
        for name in MISBEHAVING:
            project.invoke("build-plugin", "--type", "scheduler", "--name", name,
                           "--libc", "glibc", "--arch", arch)
            built_plugins[name, arch] = (project.artifacts(f"go1.26.6-glibc-{arch}") /
                                         "plugins" / f"d7y-scheduler-plugin-{name}.so")
    return built_plugins


def test_a_crash_under_qemu_is_reported_as_on_amd64(built: Project, misbehaving) -> None:
    seen = {}
    for arch in ("amd64", "arm64"):
        host = built.artifacts(f"go1.26.6-glibc-{arch}") / "bin" / "scheduler"
        plugin = misbehaving["crashevaluator", arch]
        run, report = verify_json(built, "--host", str(host), "--plugin", str(plugin),
                                  "--host-check")
        assert run.returncode == 10, run.stderr
        result = report["results"][0]
        live = result["live"]
        assert live["status"] == CRASHED, live
        assert [f["rule"] for f in result["findings"]] == [RuleId.LOAD_CRASHED]
        seen[arch] = (live["status"], live["exit_code"], live["signal"], live["error_line"],
                      any("SIGSEGV" in line for line in live["output"]))
    assert seen["arm64"] == seen["amd64"]
    assert seen["arm64"][:4] == (CRASHED, 2, None, "panic: runtime error: invalid memory "
                                                    "address or nil pointer dereference")


def test_a_hang_under_qemu_times_out_as_on_amd64_and_leaves_nothing(built: Project,
                                                                    misbehaving) -> None:
    for arch in ("amd64", "arm64"):
        host = read_elf(built.artifacts(f"go1.26.6-glibc-{arch}") / "bin" / "scheduler")
        plugin = misbehaving["hangevaluator", arch]
        argv = [host.path, "check-plugin", str(plugin)]
        plan = emulation.plan_for(host, prefix=PREFIX["glibc"])
        live = run_check(plan.wrap(argv) if plan else argv, 3.0)
        assert (live.status, live.signal) == (TIMED_OUT, "SIGKILL"), live
        assert (Path(live.argv[0]).name == "qemu-aarch64-static") == (arch == "arm64")
        left = [p for p in Path("/proc").iterdir() if p.name.isdigit()
                and str(plugin).encode() in _cmdline(p)]
        assert left == [], f"processes left behind: {left}"


def _cmdline(process: Path) -> bytes:
    try:
        return (process / "cmdline").read_bytes()
    except OSError:
        return b""


def path_without_qemu(bare: Path) -> Path:
    """A PATH folder with every program of this one's but qemu: a machine whose compilers
    (the stand-in loader is built with the cross compiler) are there, its emulator not."""
    bare.mkdir()
    for folder in os.environ["PATH"].split(os.pathsep):
        if not os.path.isdir(folder):
            continue
        for entry in os.scandir(folder):
            if entry.name.startswith("qemu-") or (bare / entry.name).exists():
                continue
            if entry.is_file() and os.access(entry.path, os.X_OK):
                (bare / entry.name).symlink_to(entry.path)
    return bare


def test_without_an_emulator_the_static_verdict_stands_alone(built: Project,
                                                             tmp_path) -> None:
    host = built.artifacts("go1.26.6-glibc-arm64") / "bin" / "scheduler"
    plugin = built.artifacts("go1.26.6-glibc-arm64") / EVALUATOR
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env["PATH"] = str(path_without_qemu(tmp_path / "bin"))
    args = ("--host", str(host), "--plugin", str(plugin), "--host-check")
    run, report = verify_json(built, *args, env=env, check=True)
    assert "live check not run: qemu-aarch64-static is not installed" in run.stderr
    assert "fix: apt-get install qemu-user-static" in run.stderr
    result = report["results"][0]
    # The packages are decided (fingerprints); the declared types, which only a load can
    # assert, are said unchecked: a warning, not a pass claimed without a load.
    assert (result["verdict"], result["live"]) == ("warn", None), result
    assert [f["rule"] for f in result["findings"]] == [RuleId.CONTRACT_UNCHECKED], result
    assert result["fingerprints"]["status"] == "match"

    # In CI the emulator is installed, so a live check it cannot run is a failure.
    run, _ = verify_json(built, *args, env={**env, "CI": "true"})
    assert run.returncode == ToolchainError.return_code, run.stderr
    # The first live check is the stand-in loader's (it loads every plugin of the host).
    assert "live check of the stand-in loader not run: qemu-aarch64-static is not " \
           "installed" in run.stderr
    assert "Traceback" not in run.stderr


def test_doctor_checks_what_arm64_needs(built: Project) -> None:
    run = subprocess.run([sys.executable, "-m", "invoke", "doctor", "--json"], cwd=built.root,
                         capture_output=True, text=True, timeout=120)
    found = {c["name"]: c for c in json.loads(run.stdout)["checks"]}
    for name in ("aarch64-linux-gnu-gcc (glibc arm64)", "aarch64-linux-musl-gcc (musl arm64)",
                 "emulator qemu-aarch64-static (arm64)",
                 "loader /lib/ld-linux-aarch64.so.1 (glibc arm64)",
                 "loader /lib/ld-musl-aarch64.so.1 (musl arm64)"):
        assert found[name]["status"] == "ok", found.get(name)


def test_an_arm64_service_image_is_verified_through_the_emulator(docker_project: Project,
                                                                 engine) -> None:
    combination = "go1.26.6-musl-arm64"
    tags = docker_project.bootstrap.stdout.split()  # type: ignore[attr-defined]
    assert {"plugin-builder/runtime:bookworm-glibc-arm64",
            "plugin-builder/runtime:bookworm-musl-arm64"} <= set(tags)
    runtime = engine.images.get("plugin-builder/runtime:bookworm-musl-arm64")
    assert (runtime.attrs["Os"], runtime.attrs["Architecture"]) == ("linux", "arm64")
    assert runtime.attrs["Size"] < 2_000_000  # the loader, which is musl's libc, only

    tag = f"plugin-builder/scheduler:{combination}"
    built = docker_project.invoke("build-service-image", "--service", "scheduler",
                                  "--libc", "musl", "--arch", "arm64")
    assert built.stdout.split() == [tag]
    image = engine.images.get(tag)
    assert (image.attrs["Os"], image.attrs["Architecture"]) == ("linux", "arm64")
    assert image.labels["dev.plugin-builder.arch"] == "arm64"
    assert image.labels["dev.plugin-builder.combination"] == combination

    verified = docker_project.invoke("verify", "--image", tag, "--json")
    [report] = json.loads(verified.stdout)
    assert (report["image"], report["ok"], report["problem"]) == (tag, True, ""), report
    assert "through /usr/bin/qemu-aarch64-static" in verified.stderr
    assert [(p["type"], p["name"], p["listed"], p["checked"]) for p in report["plugins"]] == \
        [("scheduler", "evaluator", True, True)]
    assert "ok: scheduler plugin \"evaluator\" loaded" in report["plugins"][0]["output"]


def test_the_emulator_runs_what_this_machine_cannot() -> None:
    assert emulation.native_arch() == "amd64"  # the machines this project runs on
    assert emulation.emulator_program("arm64", static=True)
