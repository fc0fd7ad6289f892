"""arm64 without an arm64 machine: cross toolchains per (libc, arch) in the config, the
qemu prefix and loader per libc and arch, the argv a live check runs, what doctor
reports, and how an image of another platform is run. No emulator or engine is needed:
tests/integration/test_arm64.py runs the real ones."""

from __future__ import annotations

import types
from pathlib import Path

import pytest

from plugin_builder import config, doctor, emulation
from plugin_builder.backends import base_images, ccompiler
from plugin_builder.binary.elffacts import ElfFacts
from plugin_builder.errors import ConfigError, ImageError, ToolchainError
from plugin_builder.steps import verify as verify_step
from plugin_builder.verify import image as image_module

REPO = Path(__file__).resolve().parents[2]
QEMU = "/usr/bin/qemu-aarch64-static"


@pytest.fixture
def no_ci(monkeypatch):
    monkeypatch.delenv("CI", raising=False)


@pytest.fixture
def on_amd64(monkeypatch):
    monkeypatch.setattr(emulation.platform, "machine", lambda: "x86_64")


@pytest.fixture
def qemu(monkeypatch, on_amd64):
    """qemu-aarch64-static is installed, whatever this machine has."""
    real = emulation.shutil.which

    def which(name, *args, **kwargs):
        return QEMU if name == "qemu-aarch64-static" else real(name, *args, **kwargs)

    monkeypatch.setattr(emulation.shutil, "which", which)


@pytest.fixture
def no_qemu(monkeypatch, on_amd64):
    real = emulation.shutil.which

    def which(name, *args, **kwargs):
        return None if name.startswith("qemu-") else real(name, *args, **kwargs)

    monkeypatch.setattr(emulation.shutil, "which", which)


def elf(arch: str = "arm64", libc: str | None = "glibc",
        interpreter: str | None = "/lib/ld-linux-aarch64.so.1") -> ElfFacts:
    machine = {"arm64": "EM_AARCH64", "amd64": "EM_X86_64"}[arch]
    return ElfFacts(path="/a/host", elf_class=64, machine=machine, goarch=arch,
                    elf_type="ET_EXEC", interpreter=interpreter, is_dynamic=True, needed=(),
                    libc=libc, exported_symbols=frozenset())


def sysroot(tmp_path: Path, loader: str) -> Path:
    """A folder holding a (fake) loader, as a cross libc package lays it out."""
    (tmp_path / loader.lstrip("/")).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / loader.lstrip("/")).write_bytes(b"\x7fELF")
    return tmp_path


# -- the config: a cross toolchain per (libc, arch) ------------------------------------------


def test_the_projects_config_cross_builds_arm64_for_both_libcs():
    loaded = config.load(REPO / "buildconfig.toml")
    arm64 = [c.id for c in loaded.matrix.combinations if c.arch == "arm64"]
    assert arm64 == ["go1.26.6-glibc-arm64", "go1.26.6-musl-arm64"]  # the default release
    glibc, musl = loaded.libcs["glibc"], loaded.libcs["musl"]
    assert (glibc.cc, glibc.cc_for("amd64"), glibc.cc_for("arm64")) == \
        ("gcc", "gcc", "aarch64-linux-gnu-gcc")
    assert glibc.toolchain("arm64").packages == ("gcc-aarch64-linux-gnu",
                                                 "libc6-dev-arm64-cross")
    assert glibc.toolchain("arm64").emulator_prefix == "/usr/aarch64-linux-gnu"
    assert (musl.cc, musl.cc_for("arm64")) == ("musl-gcc", "aarch64-linux-musl-gcc")
    assert "musl-dev:arm64" in musl.toolchain("arm64").packages
    assert musl.runtime_base_for("arm64") == ("plugin-builder/runtime:bookworm-musl-arm64",
                                              "libc.musl.arch.arm64.runtime_base")
    assert musl.runtime_base_for("amd64") == ("plugin-builder/runtime:bookworm-musl",
                                              "libc.musl.runtime_base")
    assert musl.toolchain("amd64") is None


def test_an_arch_table_needs_only_cc(project):
    project.data["libc"]["glibc"]["arch"] = {"arm64": {"cc": "aarch64-linux-gnu-gcc"}}
    glibc = config.load(project.write()).libcs["glibc"]
    entry = glibc.toolchain("arm64")
    assert (entry.packages, entry.runtime_base, entry.emulator_prefix) == \
        (("aarch64-linux-gnu-gcc",), "", "")
    assert glibc.runtime_base_for("arm64") == ("", "libc.glibc.arch.arm64.runtime_base")


@pytest.mark.parametrize("table, key, says", [
    ({"riscv": {"cc": "x"}}, "libc.glibc.arch.riscv", "unknown arch 'riscv'"),
    ({"arm64": {}}, "libc.glibc.arch.arm64.cc", "missing required key"),
    ({"arm64": {"cc": "-wrapper"}}, "libc.glibc.arch.arm64.cc", "is not a C compiler command"),
    ({"arm64": {"cc": "x", "pakages": []}}, "libc.glibc.arch.arm64.pakages", "unknown key"),
    ({"arm64": {"cc": "x", "packages": ["musl dev"]}}, "libc.glibc.arch.arm64.packages[0]",
     "is not a Debian package name"),
    ({"arm64": {"cc": "x", "packages": ["a", "a"]}}, "libc.glibc.arch.arm64.packages",
     "listed twice"),
    ({"arm64": {"cc": "x", "emulator_prefix": "usr/aarch64"}},
     "libc.glibc.arch.arm64.emulator_prefix", "is not an absolute folder path"),
    ({"arm64": {"cc": "x", "emulator_prefix": "/usr/../etc"}},
     "libc.glibc.arch.arm64.emulator_prefix", "is not an absolute folder path"),
    ({"arm64": {"cc": "x", "runtime_base": "--privileged"}},
     "libc.glibc.arch.arm64.runtime_base", "is not an image reference"),
])
def test_a_broken_arch_table_names_its_key(project, table, key, says):
    project.data["libc"]["glibc"]["arch"] = table
    with pytest.raises(ConfigError) as raised:
        config.load(project.write())
    assert raised.value.key == key and says in raised.value.message
    assert raised.value.fix


# -- the C compiler of a (libc, arch) --------------------------------------------------------


def libc(**cross) -> config.Libc:
    entries = tuple(config.CrossToolchain(arch=arch, cc=cc, packages=packages)
                    for arch, (cc, packages) in cross.items())
    return config.Libc("musl", "musl-gcc", "musl-tools", "", "", entries)


def test_another_arch_without_a_table_is_an_error_naming_the_table(on_amd64):
    ccompiler.c_compiler.cache_clear()
    with pytest.raises(ToolchainError) as raised:
        ccompiler.c_compiler(libc(), "arm64")
    assert "[libc.musl.arch.arm64]" in raised.value.message
    assert 'cc = "aarch64-linux-musl-gcc"' in raised.value.fix


def test_a_missing_cross_compiler_names_every_package_and_multiarch(on_amd64):
    ccompiler.c_compiler.cache_clear()
    missing = libc(arm64=("no-such-cc-aarch64", ("gcc-aarch64-linux-gnu", "musl-dev:arm64")))
    with pytest.raises(ToolchainError) as raised:
        ccompiler.c_compiler(missing, "arm64")
    assert "'no-such-cc-aarch64' for musl on arm64 is not installed" in raised.value.message
    assert raised.value.fix == ("dpkg --add-architecture arm64 && apt-get update && "
                                "apt-get install gcc-aarch64-linux-gnu musl-dev:arm64")


def test_the_native_arch_keeps_the_libcs_own_compiler(on_amd64, monkeypatch):
    ccompiler.c_compiler.cache_clear()
    monkeypatch.setattr(ccompiler.shutil, "which", lambda name: None)
    with pytest.raises(ToolchainError) as raised:
        ccompiler.c_compiler(libc(arm64=("x", ("x",))), "amd64")
    assert raised.value.message == "C compiler 'musl-gcc' for musl is not installed"
    assert raised.value.fix == "apt-get install musl-tools"
    ccompiler.c_compiler.cache_clear()


def test_install_fix_adds_an_arch_once():
    assert emulation.install_fix(["gcc"]) == "apt-get install gcc"
    assert emulation.install_fix(["a:arm64", "b:arm64"]) == \
        "dpkg --add-architecture arm64 && apt-get update && apt-get install a:arm64 b:arm64"


# -- the emulator, its prefix and the loader -------------------------------------------------


def test_a_native_binary_runs_as_it_is(on_amd64):
    assert emulation.plan_for(elf("amd64", "glibc", "/lib64/ld-linux-x86-64.so.2")) is None
    assert emulation.is_native("amd64") and not emulation.is_native("arm64")


def test_an_arm64_binary_runs_under_qemu_with_its_libcs_prefix(qemu, tmp_path):
    root = sysroot(tmp_path, "/lib/ld-linux-aarch64.so.1")
    plan = emulation.plan_for(elf(), prefix=str(root))
    assert plan.ok and (plan.emulator, plan.prefix) == (QEMU, str(root))
    assert plan.wrap(["/a/host", "check-plugin", "/a/p.so"]) == \
        [QEMU, "-L", str(root), "/a/host", "check-plugin", "/a/p.so"]


def test_the_known_prefixes_are_tried_in_order(qemu, monkeypatch, tmp_path):
    first, second = tmp_path / "cross", sysroot(tmp_path / "multiarch",
                                                "/lib/ld-musl-aarch64.so.1")
    target = emulation.TARGETS[("musl", "arm64")]
    monkeypatch.setitem(emulation.TARGETS, ("musl", "arm64"), emulation.Target(
        "musl", "arm64", target.loader, (str(first), str(second)), target.package))
    plan = emulation.plan("arm64", "musl")
    assert plan.ok and plan.prefix == str(second) and plan.loader == target.loader


def test_the_glibc_and_musl_loaders_of_arm64():
    glibc, musl = emulation.TARGETS[("glibc", "arm64")], emulation.TARGETS[("musl", "arm64")]
    assert (glibc.loader, glibc.prefixes[0]) == ("/lib/ld-linux-aarch64.so.1",
                                                 "/usr/aarch64-linux-gnu")
    assert (musl.loader, musl.prefixes[0], musl.multiarch) == \
        ("/lib/ld-musl-aarch64.so.1", "/", True)


def test_a_missing_loader_says_where_it_looked_and_what_installs_it(qemu, monkeypatch,
                                                                     tmp_path):
    target = emulation.TARGETS[("musl", "arm64")]
    monkeypatch.setitem(emulation.TARGETS, ("musl", "arm64"), emulation.Target(
        "musl", "arm64", target.loader, (str(tmp_path),), target.package, True))
    plan = emulation.plan("arm64", "musl")
    assert not plan.ok
    assert plan.problem == f"no /lib/ld-musl-aarch64.so.1 of musl arm64 under {tmp_path}"
    assert plan.fix == "dpkg --add-architecture arm64 && apt-get update && " \
                       "apt-get install musl:arm64"
    with pytest.raises(ValueError):
        plan.wrap(["x"])


def test_without_qemu_the_plan_says_what_to_install(no_qemu):
    plan = emulation.plan_for(elf())
    assert not plan.ok
    assert (plan.problem, plan.fix) == ("qemu-aarch64-static is not installed",
                                        "apt-get install qemu-user-static")


def test_a_static_binary_needs_no_loader(qemu):
    plan = emulation.plan_for(elf(libc=None, interpreter=None))
    assert plan.ok and plan.wrap(["/a/x"]) == [QEMU, "-L", "/", "/a/x"]


def test_ci_requires_the_emulator():
    assert emulation.required({"CI": "true"}) and emulation.required({"CI": "TRUE"})
    assert not emulation.required({}) and not emulation.required({"CI": "false"})


# -- the live check's argv ---------------------------------------------------------------


def test_the_live_check_of_an_arm64_host_goes_through_qemu(qemu, monkeypatch, tmp_path):
    root = sysroot(tmp_path, "/lib/ld-linux-aarch64.so.1")
    monkeypatch.setattr(verify_step, "read_elf", lambda path: elf())
    argv = verify_step.runnable(["/a/host", "check-plugin", "/a/p.so"], "p.so", print,
                                lambda facts: str(root))
    assert argv == [QEMU, "-L", str(root), "/a/host", "check-plugin", "/a/p.so"]


def test_a_native_host_and_a_script_run_as_they_are(on_amd64, monkeypatch, tmp_path):
    monkeypatch.setattr(verify_step, "read_elf",
                        lambda path: elf("amd64", "glibc", "/lib64/ld-linux-x86-64.so.2"))
    assert verify_step.runnable(["/a/host", "x"], "p.so", print) == ["/a/host", "x"]
    monkeypatch.undo()
    script = tmp_path / "check.sh"
    script.write_text("#!/bin/sh\nexit 0\n")
    assert verify_step.runnable([str(script), "p"], "p.so", print) == [str(script), "p"]
    assert verify_step.runnable(["python3", "p"], "p.so", print) == ["python3", "p"]


def test_without_an_emulator_the_live_check_is_not_run(no_qemu, no_ci, monkeypatch):
    monkeypatch.setattr(verify_step, "read_elf", lambda path: elf())
    said: list[str] = []
    assert verify_step.runnable(["/a/host", "check-plugin", "/a/p.so"], "p.so",
                                said.append) is None
    assert said == ["verify p.so: live check not run: qemu-aarch64-static is not installed "
                    "(fix: apt-get install qemu-user-static); the static analysis decides"]


def test_in_ci_a_missing_emulator_fails(no_qemu, monkeypatch):
    monkeypatch.setenv("CI", "true")
    monkeypatch.setattr(verify_step, "read_elf", lambda path: elf())
    with pytest.raises(ToolchainError) as raised:
        verify_step.runnable(["/a/host"], "p.so", print)
    assert raised.value.message == "live check of p.so not run: qemu-aarch64-static is not " \
                                   "installed"
    assert raised.value.fix == "apt-get install qemu-user-static"


# -- doctor ------------------------------------------------------------------------------


def test_doctor_checks_the_emulator_and_each_loader(qemu, project, no_ci):
    loaded = config.load(project.write())
    found = {check.name: check for check in doctor.emulators(loaded)}
    emulator = found["emulator qemu-aarch64-static (arm64)"]
    assert (emulator.status, emulator.detail) == (doctor.OK, QEMU)
    assert set(found) == {"emulator qemu-aarch64-static (arm64)",
                          "loader /lib/ld-linux-aarch64.so.1 (glibc arm64)",
                          "loader /lib/ld-musl-aarch64.so.1 (musl arm64)"}


def test_doctor_warns_without_qemu_and_fails_in_ci(no_qemu, project, monkeypatch):
    loaded = config.load(project.write())
    monkeypatch.delenv("CI", raising=False)
    emulator = next(doctor.emulators(loaded))
    assert (emulator.status, emulator.fix) == (doctor.WARN, "apt-get install qemu-user-static")
    monkeypatch.setenv("CI", "true")
    assert next(doctor.emulators(loaded)).status == doctor.FAIL


def test_doctor_names_each_cross_compiler_by_libc_and_arch(project, on_amd64, monkeypatch):
    ccompiler.c_compiler.cache_clear()
    monkeypatch.setattr(ccompiler.shutil, "which", lambda name: None)
    found = {c.name: c for c in doctor.c_compilers(config.load(project.write()))}
    ccompiler.c_compiler.cache_clear()
    assert set(found) == {"gcc (glibc)", "aarch64-linux-gnu-gcc (glibc arm64)",
                          "musl-gcc (musl)", "aarch64-linux-musl-gcc (musl arm64)"}
    assert found["aarch64-linux-gnu-gcc (glibc arm64)"].fix == \
        "apt-get install gcc-aarch64-linux-gnu libc6-dev-arm64-cross"
    assert found["aarch64-linux-musl-gcc (musl arm64)"].fix == (
        "dpkg --add-architecture arm64 && apt-get update && "
        "apt-get install gcc-aarch64-linux-gnu musl-dev:arm64")


# -- base and service images of another arch ---------------------------------------------


def test_bootstrap_makes_a_runtime_base_per_libc_and_arch(project):
    loaded = config.load(project.write())
    recipes = base_images.runtime_recipes(loaded)
    assert {key: path.name for key, path in recipes.items()} == {
        ("glibc", "amd64"): "runtime-glibc.Dockerfile",
        ("musl", "amd64"): "runtime-musl.Dockerfile",
        ("glibc", "arm64"): "runtime-glibc-arm64.Dockerfile",
        ("musl", "arm64"): "runtime-musl-arm64.Dockerfile"}
    assert base_images.runtime_tag(loaded, "musl", "arm64") == \
        "plugin-builder/runtime:bookworm-musl-arm64"
    assert base_images.runtime_tag(loaded, "musl") == "plugin-builder/runtime:bookworm-musl"
    assert base_images.cross_packages(loaded) == (
        ("gcc-aarch64-linux-gnu", "libc6-dev-arm64-cross"), ("musl-dev:arm64",))
    for (_, arch), path in recipes.items():
        if arch == "arm64":
            text = path.read_text()
            assert "FROM --platform=${BOOTSTRAP_PLATFORM} ${BOOTSTRAP}" in text
            assert "aarch64" in text and "x86_64" not in text


def test_an_amd64_only_matrix_keeps_the_bootstrap_as_it_was(project):
    project.data["matrix"]["arch"] = ["amd64"]
    project.data["matrix"]["exclude"] = []
    loaded = config.load(project.write())
    assert base_images.cross_packages(loaded) == ((), ())
    assert [arch for _, arch in base_images.runtime_recipes(loaded)] == ["amd64", "amd64"]


def test_an_image_build_for_another_platform_passes_it_to_the_engine():
    calls = []
    client = types.SimpleNamespace(images="images", api=types.SimpleNamespace(
        build=lambda **kwargs: calls.append(kwargs)))
    on = base_images.on_platform(client, "linux/arm64")
    on.api.build(tag="t")
    assert on.images == "images" and calls == [{"platform": "linux/arm64", "tag": "t"}]
    image = types.SimpleNamespace(attrs={"Os": "linux", "Architecture": "arm64"})
    assert base_images.image_platform(image) == "linux/arm64"


class _Client:
    def __init__(self, engine_arch: str = "amd64",
                 base_url: str = "http+docker://localhost") -> None:
        self.engine_arch = engine_arch
        self.api = types.SimpleNamespace(base_url=base_url)

    def version(self):
        return {"Arch": self.engine_arch}


ARM64_IMAGE = types.SimpleNamespace(attrs={
    "Os": "linux", "Architecture": "arm64",
    "Config": {"Entrypoint": ["/usr/local/bin/scheduler"], "Cmd": ["--listen", ":8080"]}})


def test_an_arm64_image_runs_through_the_mounted_static_qemu(qemu):
    emulator = image_module._emulator(_Client(), ARM64_IMAGE, "t", print)
    assert emulator.platform == "linux/arm64"
    inside = "/usr/local/libexec/plugin-builder/qemu-aarch64-static"
    assert emulator.wrap(["/usr/local/bin/scheduler", "healthcheck"]) == \
        [inside, "-L", "/", "/usr/local/bin/scheduler", "healthcheck"]
    options = emulator.run_options(ARM64_IMAGE)
    assert options["entrypoint"] == [inside, "-L", "/", "/usr/local/bin/scheduler"]
    assert options["command"] == ["--listen", ":8080"]
    assert options["platform"] == "linux/arm64"
    mount = options["mounts"][0]
    assert (mount["Target"], mount["Source"], mount["ReadOnly"]) == (inside, QEMU, True)


def test_an_image_of_the_engines_platform_runs_as_it_is(qemu):
    assert image_module._emulator(_Client("arm64"), ARM64_IMAGE, "t", print) is None


def test_a_remote_engine_runs_another_platform_as_it_is(qemu):
    said: list[str] = []
    assert image_module._emulator(_Client(base_url="https://engine:2376"), ARM64_IMAGE, "t",
                                  said.append) is None
    assert "registered" in said[0]


def test_no_emulator_for_an_arm64_image_is_one_clear_error(no_qemu, monkeypatch):
    monkeypatch.setattr(image_module, "Path", lambda path: types.SimpleNamespace(
        exists=lambda: False))
    with pytest.raises(ImageError) as raised:
        image_module._emulator(_Client(), ARM64_IMAGE, "plugin-builder/scheduler:x", print)
    assert raised.value.message.startswith("live check of plugin-builder/scheduler:x not run")
    assert raised.value.fix == "apt-get install qemu-user-static"
