"""ArtifactStore: landing, the content check, the seal, damaged manifests, leftovers,
modes, marker."""

from __future__ import annotations

import hashlib
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from plugin_builder import artifacts, sealing
from plugin_builder import files as files_module
from plugin_builder.artifacts import MANIFEST, MARKER, SCHEMA, ArtifactStore
from plugin_builder.combination import Combination
from plugin_builder.files import TEMP_MARK, stat_key

COMBINATION = Combination("1.26.6", "glibc", "amd64")
RELATIVE = "bin/scheduler"
V1 = b"\x7fELF version one " * 1000
V2 = b"\x7fELF version TWO " * 1000  # the same size as V1
assert len(V1) == len(V2)


@pytest.fixture
def umask():
    saved = os.umask(0o022)
    yield lambda mask: os.umask(mask)
    os.umask(saved)


@pytest.fixture(autouse=True)
def own_key(tmp_path: Path, monkeypatch) -> Path:
    """This test's own manifest key (the user's cache folder stays untouched)."""
    path = tmp_path / "cache" / "manifest.key"
    monkeypatch.setattr(sealing, "key_path", lambda: path)
    return path


@pytest.fixture
def store(tmp_path: Path) -> ArtifactStore:
    return ArtifactStore(tmp_path / "artifacts", COMBINATION)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def land(store: ArtifactStore, relative: str, data: bytes, inputs: str) -> dict:
    with store.staging(relative) as staged:
        staged.write_bytes(data)
        return store.land(relative, staged, {"inputs": inputs, "kind": "host"})


def reopen(store: ArtifactStore) -> ArtifactStore:
    """A new store on the same folder, as the next run opens it."""
    return ArtifactStore(store.root, store.combination)


def on_disk(store: ArtifactStore) -> dict:
    manifest = json.loads(store.manifest_path.read_text())
    manifest.pop("seal")
    return manifest


def edit_by_hand(store: ArtifactStore, change) -> None:
    """Change the manifest as a person (or a script) would: parse, change, dump."""
    manifest = json.loads(store.manifest_path.read_text())
    change(manifest)
    store.manifest_path.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    with pytest.raises(ProcessLookupError):
        os.kill(child.pid, 0)
    return child.pid


# -- landing ----------------------------------------------------------------------------


def test_land_records_sha256_size_stat_and_the_file(store: ArtifactStore) -> None:
    entry = land(store, RELATIVE, V1, "inputs-1")
    target = store.path(RELATIVE)
    assert target.read_bytes() == V1
    assert entry["sha256"] == sha(V1)
    assert entry["size"] == len(V1)
    st = target.stat()
    assert entry["stat"] == [st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns]
    recorded = on_disk(store)
    assert recorded["combination"] == COMBINATION.id
    assert (recorded["go"], recorded["libc"], recorded["arch"]) == ("1.26.6", "glibc", "amd64")
    assert recorded["artifacts"][RELATIVE] == entry
    assert recorded["artifacts"][RELATIVE]["kind"] == "host"
    assert store.entry(RELATIVE) == entry


def test_land_takes_the_staged_file_and_leaves_nothing_behind(store: ArtifactStore) -> None:
    with store.staging(RELATIVE) as staged:
        staged.write_bytes(V1)
        store.land(RELATIVE, staged, {"inputs": "i"})
        assert not staged.exists()
    names = [p.name for p in store.path("bin").iterdir()]
    assert names == ["scheduler"]
    assert not [p for p in store.folder.rglob("*") if TEMP_MARK in p.name]


def test_staging_is_removed_when_the_build_fails(store: ArtifactStore) -> None:
    with pytest.raises(RuntimeError), store.staging(RELATIVE) as staged:
        assert TEMP_MARK in staged.name and not staged.exists()
        staged.write_bytes(b"half")
        raise RuntimeError("the build failed")
    assert list(store.path("bin").iterdir()) == []
    assert not store.path(RELATIVE).exists()


def test_landing_again_replaces_the_entry(store: ArtifactStore) -> None:
    land(store, RELATIVE, V1, "inputs-1")
    entry = land(store, RELATIVE, V2, "inputs-2")
    assert store.path(RELATIVE).read_bytes() == V2
    assert on_disk(store)["artifacts"][RELATIVE] == entry
    assert entry["sha256"] == sha(V2)


# -- up_to_date: the content check ------------------------------------------------------------


def test_up_to_date_for_the_same_inputs_and_an_intact_file(store: ArtifactStore) -> None:
    land(store, RELATIVE, V1, "inputs-1")
    assert store.up_to_date(RELATIVE, "inputs-1")
    assert reopen(store).up_to_date(RELATIVE, "inputs-1")


def test_not_up_to_date_for_other_inputs(store: ArtifactStore) -> None:
    land(store, RELATIVE, V1, "inputs-1")
    assert not store.up_to_date(RELATIVE, "inputs-2")
    assert not store.up_to_date("bin/other", "inputs-1")


def test_not_up_to_date_when_the_file_is_gone(store: ArtifactStore) -> None:
    land(store, RELATIVE, V1, "inputs-1")
    store.path(RELATIVE).unlink()
    assert not store.up_to_date(RELATIVE, "inputs-1")


def test_unchanged_files_are_not_hashed_again(store: ArtifactStore, monkeypatch) -> None:
    land(store, RELATIVE, V1, "inputs-1")

    def no_hashing(path):
        raise AssertionError(f"hashed {path} although inode/size/mtime/ctime match")

    monkeypatch.setattr(artifacts, "sha256_file", no_hashing)
    assert reopen(store).up_to_date(RELATIVE, "inputs-1")


def test_changed_bytes_are_found_even_with_size_and_mtime_restored(store: ArtifactStore) -> None:
    land(store, RELATIVE, V1, "inputs-1")
    target = store.path(RELATIVE)
    before = target.stat()
    with target.open("r+b") as stream:  # same inode, same size
        stream.write(b"\x00TAMPERED")
    os.utime(target, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = target.stat()
    assert (after.st_ino, after.st_size, after.st_mtime_ns) == \
        (before.st_ino, before.st_size, before.st_mtime_ns)
    assert not store.up_to_date(RELATIVE, "inputs-1")
    assert not reopen(store).up_to_date(RELATIVE, "inputs-1")


def test_a_file_replaced_by_a_copy_of_the_same_content_is_still_up_to_date(
        store: ArtifactStore) -> None:
    """A new inode (a copy, a restore from backup) is hashed, and the content matches."""
    land(store, RELATIVE, V1, "inputs-1")
    target = store.path(RELATIVE)
    copy = target.with_name("copy")
    copy.write_bytes(V1)
    os.replace(copy, target)
    assert store.up_to_date(RELATIVE, "inputs-1")


def test_a_manifest_naming_content_the_file_lacks_is_not_up_to_date(store: ArtifactStore) -> None:
    """A kill between the manifest write and the rename: the entry names V2, the file is V1."""
    land(store, RELATIVE, V1, "inputs-1")
    entry = {"inputs": "inputs-2", "sha256": sha(V2), "size": len(V2)}
    store.update_manifest(lambda m: m["artifacts"].__setitem__(RELATIVE, entry))  # no rename
    assert store.path(RELATIVE).read_bytes() == V1
    after_kill = reopen(store)
    assert not after_kill.up_to_date(RELATIVE, "inputs-2")
    assert not after_kill.up_to_date(RELATIVE, "inputs-1")


class Killed(BaseException):
    """Stands for a SIGKILL: nothing after it runs, not even an except Exception."""


def test_dying_between_manifest_and_rename_leaves_nothing_trusted(
        store: ArtifactStore, monkeypatch) -> None:
    land(store, RELATIVE, V1, "inputs-1")
    real_replace = os.replace

    def killed(source, destination):
        if Path(destination) == store.manifest_path:
            return real_replace(source, destination)  # the manifest is written
        raise Killed  # and we die before the artifact is renamed into place

    with store.staging(RELATIVE) as staged:
        staged.write_bytes(V2)
        monkeypatch.setattr(artifacts.os, "replace", killed)
        with pytest.raises(Killed):
            store.land(RELATIVE, staged, {"inputs": "inputs-2"})
        monkeypatch.undo()
    assert on_disk(store)["artifacts"][RELATIVE]["sha256"] == sha(V2)  # named first
    assert store.path(RELATIVE).read_bytes() == V1
    after_kill = reopen(store)
    assert not after_kill.up_to_date(RELATIVE, "inputs-2")
    assert not after_kill.up_to_date(RELATIVE, "inputs-1")
    # and the next build lands cleanly
    land(after_kill, RELATIVE, V2, "inputs-2")
    assert reopen(store).up_to_date(RELATIVE, "inputs-2")


# -- the seal: a manifest vouches only for what this user's runs wrote ----------------------


def swap_for_same_size(store: ArtifactStore, data: bytes) -> list[int]:
    """Put other bytes of the same size in place (a new inode); their stat key."""
    target = store.path(RELATIVE)
    other = target.with_name("other")
    other.write_bytes(data)
    os.replace(other, target)
    return stat_key(target.stat())


def test_a_manifest_is_sealed_by_the_users_key(store: ArtifactStore, own_key: Path) -> None:
    land(store, RELATIVE, V1, "inputs-1")
    text = store.manifest_path.read_text()
    assert text.startswith('{"seal": "')
    assert mode(own_key) == 0o600 and len(own_key.read_bytes()) == 32
    opened = reopen(store)
    assert opened.up_to_date(RELATIVE, "inputs-1") and opened.sealed


def test_a_stat_key_written_by_hand_vouches_for_nothing(store: ArtifactStore) -> None:
    """A plugin swapped for other bytes of the same size, and only the entry's stat
    rewritten in manifest.json: the file is hashed, and it is not what was built."""
    land(store, RELATIVE, V1, "inputs-1")
    key = swap_for_same_size(store, V2)
    edit_by_hand(store, lambda m: m["artifacts"][RELATIVE].__setitem__("stat", key))
    opened = reopen(store)
    assert not opened.sealed
    assert not opened.up_to_date(RELATIVE, "inputs-1")
    assert "stat" not in opened.entry(RELATIVE)  # nothing of it was kept


def test_a_verify_proof_of_an_unsealed_manifest_is_never_reused(store: ArtifactStore) -> None:
    from plugin_builder.steps.verify import passed_keys

    land(store, RELATIVE, V1, "inputs-1")
    store.update_manifest(lambda m: m.__setitem__("verified", {"x.so": "proof"}))
    assert passed_keys(reopen(store)) == {"proof"}
    edit_by_hand(store, lambda m: None)  # the same members, the seal no longer matching
    assert passed_keys(reopen(store)) == frozenset()


def test_a_manifest_sealed_with_another_key_is_not_believed(store: ArtifactStore, tmp_path,
                                                           monkeypatch) -> None:
    land(store, RELATIVE, V1, "inputs-1")
    monkeypatch.setattr(sealing, "key_path", lambda: tmp_path / "other" / "manifest.key")
    opened = reopen(store)
    assert opened.up_to_date(RELATIVE, "inputs-1")  # the claim checked: the bytes hold
    assert not opened.sealed


def test_a_manifest_of_another_combination_is_not_believed(store: ArtifactStore) -> None:
    land(store, RELATIVE, V1, "inputs-1")
    other = ArtifactStore(store.root, Combination("1.27.3", "glibc", "amd64"))
    other.folder.mkdir(parents=True)
    other.manifest_path.write_bytes(store.manifest_path.read_bytes())
    assert not reopen(other).sealed


def test_an_unsealed_manifest_is_checked_then_sealed_again(store: ArtifactStore,
                                                           monkeypatch) -> None:
    """Its claims are checked against the bytes (hashing), and what was checked is
    written back sealed: the run after trusts it without hashing."""
    from plugin_builder import files

    land(store, RELATIVE, V1, "inputs-1")
    fingerprints_before = store.entry(RELATIVE).get("fingerprints")
    edit_by_hand(store, lambda m: None)
    opened = reopen(store)
    assert opened.up_to_date(RELATIVE, "inputs-1") and not opened.sealed
    opened.keep_checked()
    assert store.manifest_path.read_text().startswith('{"seal": "')
    again = reopen(store)

    def no_hashing(path):
        raise AssertionError(f"hashed {path}: the sealed manifest vouches for it")

    monkeypatch.setattr(files, "sha256_file", no_hashing)
    assert again.up_to_date(RELATIVE, "inputs-1") and again.sealed
    assert again.entry(RELATIVE).get("fingerprints") == fingerprints_before


def test_a_copied_artifact_is_hashed_once_then_trusted(store: ArtifactStore,
                                                      monkeypatch) -> None:
    """cp -a gives every file a new inode: hashed once, its new key kept."""
    from plugin_builder import files

    land(store, RELATIVE, V1, "inputs-1")
    key = swap_for_same_size(store, V1)
    artifacts.past_the_clock_tick(key[3])
    opened = reopen(store)
    assert opened.up_to_date(RELATIVE, "inputs-1") and opened.refreshed
    opened.keep_checked()
    monkeypatch.setattr(files, "sha256_file", lambda path: pytest.fail(f"hashed {path}"))
    assert reopen(store).up_to_date(RELATIVE, "inputs-1")


@pytest.mark.parametrize("mode_bits", [0o644, 0o640, 0o604])
def test_a_key_others_may_read_seals_nothing(tmp_path, monkeypatch, mode_bits) -> None:
    path = tmp_path / f"keys-{mode_bits:o}" / "manifest.key"
    path.parent.mkdir()
    path.write_bytes(os.urandom(32))
    path.chmod(mode_bits)
    monkeypatch.setattr(sealing, "key_path", lambda: path)
    assert sealing.seal('{"a": 1}') == '{"a": 1}'
    assert not sealing.sealed(b'{"a": 1}')


def test_a_key_that_is_a_link_seals_nothing(tmp_path, monkeypatch) -> None:
    real = tmp_path / "real.key"
    real.write_bytes(os.urandom(32))
    real.chmod(0o600)
    link = tmp_path / "link" / "manifest.key"
    link.parent.mkdir()
    link.symlink_to(real)
    monkeypatch.setattr(sealing, "key_path", lambda: link)
    assert sealing.seal('{"a": 1}') == '{"a": 1}'


def test_a_seal_covers_every_byte(own_key) -> None:
    text = sealing.seal('{\n  "a": 1\n}\n')
    assert sealing.sealed(text.encode())
    assert json.loads(text) == {"seal": text[10:74], "a": 1}
    for changed in (text.replace('"a": 1', '"a": 2'), text + " ", text[:-1],
                    text.replace('{"seal": "', '{"seal":  "')):
        assert not sealing.sealed(changed.encode())


def test_timestamps_of_whole_seconds_never_vouch(tmp_path) -> None:
    """On a file system with 1-second timestamps a change in the landing second keeps the
    whole key alike: such a key is never trusted, the file is hashed."""
    path = tmp_path / "f"
    path.write_bytes(V1)
    real = path.stat()
    fields = list(real)
    coarse = os.stat_result((*fields[:7], int(real.st_atime), int(real.st_mtime),
                             int(real.st_ctime)),
                            {"st_atime_ns": int(real.st_atime) * 10**9,
                             "st_mtime_ns": int(real.st_mtime) * 10**9,
                             "st_ctime_ns": int(real.st_ctime) * 10**9})
    assert coarse.st_ctime_ns % 10**9 == 0
    assert not files_module.unchanged_since(stat_key(coarse), coarse)
    assert files_module.unchanged_since(stat_key(real), real) == bool(real.st_ctime_ns % 10**9)


# -- damaged manifests ----------------------------------------------------------------------

def ours(**members) -> str:
    """The text of a manifest of this version with these members (valid JSON)."""
    return json.dumps({"schema": SCHEMA, "combination": COMBINATION.id, **members})


SHA = "ab" * 32


def with_sources(record) -> str:
    return ours(artifacts={"bin/scheduler": {"sha256": SHA, "size": 1, "inputs": "i",
                                             "sources": record}})


RECORD = {"root": "/project", "files": {}, "folders": {}, "trees": {}}

DAMAGED = {
    "truncated": '{"artifacts": {"bin/scheduler": {"sha256": "ab',
    "empty": "",
    "not utf-8": b"\xff\xfe{}".decode("latin-1"),
    "a list": "[]",
    "a string": '"manifest"',
    "null": "null",
    "no artifacts": '{"combination": "go1.26.6-glibc-amd64"}',
    "artifacts a list": '{"artifacts": []}',
    "artifacts a string": '{"artifacts": "bin/scheduler"}',
    "entry not a dict": '{"artifacts": {"bin/scheduler": "ab12"}}',
    "entry without sha256": '{"artifacts": {"bin/scheduler": {"size": 1, "inputs": "inputs-1"}}}',
    "sha256 not a string": '{"artifacts": {"bin/scheduler": {"sha256": 12, "inputs": "i"}}}',
    "another version's": '{"artifacts": {}, "combination": "go1.26.6-glibc-amd64"}',
    "ours, artifacts a list": ours(artifacts=[]),
    "ours, entry a string": ours(artifacts={"bin/scheduler": "ab12"}),
    "ours, size a string": ours(artifacts={"bin/scheduler": {"sha256": SHA, "size": "1"}}),
    "ours, stat a string": ours(artifacts={"bin/scheduler": {"sha256": SHA, "size": 1,
                                                             "stat": "1 2 3 4"}}),
    "ours, stat of three": ours(artifacts={"bin/scheduler": {"sha256": SHA, "size": 1,
                                                             "stat": [1, 2, 3]}}),
    "ours, verified a list": ours(artifacts={}, verified=["x.so"]),
    "ours, combination a number": json.dumps({"schema": SCHEMA, "combination": 1,
                                              "artifacts": {}}),
    "sources a string": with_sources("x"),
    "sources files a string": with_sources({**RECORD, "files": "x"}),
    "a string where a pair is expected": with_sources({**RECORD, "files": {"a.go": "x"}}),
    "a pair of the wrong types": with_sources({**RECORD, "files": {"a.go": [1, "key"]}}),
    "folders [1, 2]": with_sources({**RECORD, "folders": [1, 2]}),
    "folder names not strings": with_sources({**RECORD, "folders": {"host": [1, 2]}}),
    "trees a list": with_sources({**RECORD, "trees": ["host"]}),
    "sources without root": with_sources({"files": {}, "folders": {}, "trees": {}}),
    "100,000 deep": "[" * 100_000 + "]" * 100_000,
    "100,000 deep inside ours": ours(artifacts={})[:-1] + ', "verify": '
    + "[" * 100_000 + "]" * 100_000 + "}",
    "deep but parseable": ours(artifacts={}, verify=json.loads("[" * 300 + "]" * 300)),
}


@pytest.mark.parametrize("text", DAMAGED.values(), ids=DAMAGED.keys())
def test_a_damaged_manifest_is_empty_and_reported_never_raised(store: ArtifactStore,
                                                                text: str) -> None:
    land(store, RELATIVE, V1, "inputs-1")
    store.manifest_path.write_bytes(text.encode("latin-1") if "\xff" in text else text.encode())
    damaged = reopen(store)
    manifest = damaged.manifest()
    assert manifest["artifacts"] == {}
    assert manifest["combination"] == COMBINATION.id
    assert not damaged.up_to_date(RELATIVE, "inputs-1")
    assert damaged.entry(RELATIVE) is None
    damaged.manifest()  # asked again: reported once
    assert len(damaged.problems) == 1
    assert str(damaged.manifest_path) in damaged.problems[0]
    # the next landing writes a whole manifest again
    land(damaged, RELATIVE, V1, "inputs-1")
    assert reopen(store).up_to_date(RELATIVE, "inputs-1")
    assert reopen(store).problems == []


def test_a_manifest_that_is_a_folder_is_reported_not_raised(store: ArtifactStore) -> None:
    store.manifest_path.mkdir(parents=True)
    assert store.manifest()["artifacts"] == {}
    assert not store.up_to_date(RELATIVE, "inputs-1")
    assert len(store.problems) == 1


def test_no_manifest_is_no_problem(store: ArtifactStore) -> None:
    assert store.manifest()["artifacts"] == {}
    assert not store.up_to_date(RELATIVE, "x")
    assert store.problems == []


# -- leftovers, modes, marker ---------------------------------------------------------------


def test_sweeping_a_store_removes_the_leftovers_of_dead_writers_only(
        store: ArtifactStore) -> None:
    land(store, RELATIVE, V1, "inputs-1")
    gone = dead_pid()
    dead = [store.path(f"bin/.scheduler.{gone}{TEMP_MARK}.x1.tmp"),
            store.folder / f".{MANIFEST}.{gone}{TEMP_MARK}.x2"]
    live = [store.path(f"bin/.scheduler.{os.getpid()}{TEMP_MARK}.x3.tmp"),
            store.folder / f".{MANIFEST}.{os.getpid()}{TEMP_MARK}.x4"]
    for path in dead + live:
        path.write_bytes(b"partial")
    reopen(store)
    assert all(p.exists() for p in dead + live), "opening a store changes nothing"
    reopen(store).sweep()
    assert not any(p.exists() for p in dead)
    assert all(p.exists() for p in live)
    assert store.path(RELATIVE).read_bytes() == V1


@pytest.mark.parametrize("mask", [0o022, 0o002])
def test_written_files_get_the_umasks_mode(store: ArtifactStore, umask, mask) -> None:
    umask(mask)
    land(store, RELATIVE, V1, "inputs-1")
    assert mode(store.manifest_path) == 0o666 & ~mask  # not mkstemp's 0600
    assert mode(store.path(RELATIVE)) == 0o777 & ~mask  # executables are executable
    land(store, RELATIVE, V2, "inputs-2")  # rewriting keeps it so
    assert mode(store.manifest_path) == 0o666 & ~mask
    assert mode(store.path(RELATIVE)) == 0o777 & ~mask


def test_the_marker_is_written_in_the_root_and_the_combination_folder(
        store: ArtifactStore) -> None:
    assert not store.folder.exists()  # opening a store creates nothing
    land(store, RELATIVE, V1, "inputs-1")
    for folder in (store.root, store.folder):
        assert (folder / MARKER).is_file()
        assert "plugin-builder" in (folder / MARKER).read_text()


def test_make_folder_keeps_an_existing_marker(store: ArtifactStore) -> None:
    store.make_folder()
    (store.folder / MARKER).write_text("mine\n")
    store.make_folder()
    assert (store.folder / MARKER).read_text() == "mine\n"


def test_update_manifest_keeps_other_entries(store: ArtifactStore) -> None:
    land(store, RELATIVE, V1, "inputs-1")
    store.update_manifest(lambda m: m.__setitem__("verified", {"x.so": "key"}))
    assert on_disk(store)["verified"] == {"x.so": "key"}
    assert store.up_to_date(RELATIVE, "inputs-1")
