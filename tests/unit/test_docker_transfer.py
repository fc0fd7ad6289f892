"""The docker backend without an engine: what a build container receives and gives back
(nothing of this machine is mounted, so a remote engine works), and the labels that let
a shared engine be cleaned of a killed run's containers only."""

from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path
from typing import Any

import pytest

from plugin_builder import dockerengine
from plugin_builder.backends import transfer
from plugin_builder.backends.docker import DockerEnvironment
from plugin_builder.combination import Combination

# The docker extra (the error classes the backend catches); the python-versions CI job
# installs the test extra alone.
docker = pytest.importorskip("docker", reason="the docker extra is not installed")
MUSL = Combination("1.26.6", "musl", "amd64")


def listing(upload: transfer.Upload) -> dict[str, tarfile.TarInfo]:
    with upload.archive() as stream, tarfile.open(fileobj=stream) as tar:
        return {member.name: member for member in tar}


@pytest.fixture
def tree(tmp_path) -> Path:
    root = tmp_path / "project"
    for relative in ("host/go.mod", "host/main.go", "plugins/p/main.go", ".git/HEAD",
                     "node_modules/x.js", "artifacts/c/bin/old", "artifacts/c/.work/p/go.work",
                     "results/c.json"):
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text(relative)
    (root / "linked").symlink_to(root / "host")
    return root


def test_a_container_receives_the_sources_at_their_own_paths(tree, tmp_path) -> None:
    ca = tmp_path / "ca.crt"
    ca.write_text("roots")
    upload = transfer.Upload(sources=(tree,), apart=(tree / "artifacts", tree / "results"),
                             copied=(tree / "artifacts" / "c" / ".work",),
                             folders=(tree / "artifacts" / "c" / "bin",),
                             files=((ca, "/etc/plugin-builder/ca.crt"),))
    names = listing(upload)
    inside = str(tree).lstrip("/")
    assert {f"{inside}/host/go.mod", f"{inside}/host/main.go", f"{inside}/plugins/p/main.go",
            f"{inside}/artifacts/c/.work/p/go.work", "etc/plugin-builder/ca.crt"} <= set(names)
    # Never the VCS, tools' folders, the tool's outputs or a built file; the folder the
    # command writes to is there, empty.
    assert not [n for n in names if "/.git" in n or "node_modules" in n or "results" in n
                or n.endswith("bin/old")]
    assert names[f"{inside}/artifacts/c/bin"].isdir()
    assert names[f"{inside}/linked"].issym()
    # Owned by whoever runs the command (the container runs as this uid:gid).
    assert {(m.uid, m.gid) for m in names.values()} == {(os.getuid(), os.getgid())}


class FakeContainer:
    def __init__(self, files: dict[str, bytes]) -> None:
        self.files = files
        self.received: list[tarfile.TarInfo] = []
        self.removed = False

    def put_archive(self, path: str, data: Any) -> bool:
        with tarfile.open(fileobj=data) as tar:
            self.received = list(tar)
        return True

    def get_archive(self, path: str) -> tuple[list[bytes], dict]:
        if path not in self.files:
            raise docker.errors.NotFound("no such file")
        stream = io.BytesIO()
        with tarfile.open(fileobj=stream, mode="w") as tar:
            info = tarfile.TarInfo(Path(path).name)
            info.size = len(self.files[path])
            tar.addfile(info, io.BytesIO(self.files[path]))
        data = stream.getvalue()
        return [data[:100], data[100:]], {}

    def start(self) -> None: ...

    def logs(self, *, stdout: bool = True, stderr: bool = True, stream: bool = False,
             follow: bool = False) -> Any:
        return iter([b"compiling\n"]) if stream else b'{"ok": true}\n'

    def wait(self) -> dict:
        return {"StatusCode": 0}

    def remove(self, force: bool = False) -> None:
        self.removed = True


class FakeClient:
    def __init__(self, container: FakeContainer) -> None:
        self.container, self.created = container, {}
        self.containers = self

    def create(self, image: str, **options: Any) -> FakeContainer:
        self.created = options
        return self.container

    def list(self, all: bool, filters: dict) -> list[FakeContainer]:
        return [] if self.container.removed else [self.container]


def test_a_build_command_gets_its_output_back_as_an_archive(tree, tmp_path) -> None:
    staged = tree / "artifacts" / "c" / "bin" / ".scheduler.tmp"
    container = FakeContainer({str(staged): b"\x7fELF the host"})
    client = FakeClient(container)
    environment = DockerEnvironment(
        combination=MUSL, client=client, image=type("Image", (), {"id": "sha256:b"})(),
        upload=transfer.Upload(sources=(tree,), apart=(tree / "artifacts",)), cc="musl-gcc")
    result = environment.run(["go", "build", "-o", str(staged), "."], cwd=tree / "host",
                             env={"GOOS": "linux"}, outputs=[staged])
    assert (result.returncode, result.stdout, result.stderr) == (0, '{"ok": true}\n',
                                                                 "compiling\n")
    assert staged.read_bytes() == b"\x7fELF the host"
    # Nothing of this machine is mounted: only the named cache volumes.
    assert all(mount["Type"] == "volume" for mount in client.created["mounts"])
    labels = client.created["labels"]
    assert labels[dockerengine.RUN_LABEL] == dockerengine.run_id()
    assert labels[dockerengine.OWNER_PID] == str(os.getpid())
    received = {member.name for member in container.received}
    assert str(staged.parent).lstrip("/") in received  # where go writes, as its user
    assert container.removed


def test_a_failed_command_brings_nothing_back(tree) -> None:
    staged = tree / "artifacts" / "c" / "bin" / ".x.tmp"
    container = FakeContainer({})
    assert not transfer.fetch(container, staged)
    assert not staged.exists()


# -- which containers a run may remove -----------------------------------------------------


def test_a_run_id_can_be_named(monkeypatch) -> None:
    assert dockerengine.run_id() == dockerengine.run_id()  # one per process
    dockerengine.run_id.cache_clear()
    monkeypatch.setenv(dockerengine.RUN_ID_ENV, "ci-job-42")
    try:
        assert dockerengine.run_labels()[dockerengine.RUN_LABEL] == "ci-job-42"
    finally:
        dockerengine.run_id.cache_clear()


class Leftover:
    def __init__(self, labels: dict[str, str]) -> None:
        self.labels, self.short_id, self.removed = labels, "abc123", False

    def remove(self, force: bool = False) -> None:
        self.removed = True


def test_only_containers_whose_owner_is_gone_are_removed(monkeypatch) -> None:
    mine = dockerengine.run_labels()
    reused = {**mine, dockerengine.OWNER_STARTED: "1"}  # this pid, but another process then
    dead = {**mine, dockerengine.OWNER_PID: "999999999"}
    containers = [Leftover(mine), Leftover(reused), Leftover(dead)]
    client = type("Client", (), {"containers": type("C", (), {
        "list": staticmethod(lambda all, filters: containers)})()})()
    assert dockerengine.remove_orphans(client, lambda message: None) == 2
    assert [c.removed for c in containers] == [False, True, True]
