"""outputs: folders the tool made itself, written without following links, and cleaned
only as far as a marker vouches."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from plugin_builder import outputs, results
from plugin_builder.artifacts import ArtifactStore
from plugin_builder.combination import Combination
from plugin_builder.errors import FilesystemError, UsageError
from plugin_builder.outputs import MARKER

COMBINATION = Combination("1.26.6", "glibc", "amd64")


def tree(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` with its text, links as '-> target'."""
    found = {}
    for current, dirs, names in os.walk(folder):
        for name in dirs + names:
            path = Path(current) / name
            relative = str(path.relative_to(folder))
            if path.is_symlink():
                found[relative] = "-> " + os.readlink(path)
            elif path.is_file():
                found[relative] = path.read_text()
    return found


@pytest.fixture
def users(tmp_path: Path) -> Path:
    """A folder of the user's, with files in it (a .git, a docs folder)."""
    folder = tmp_path / "users"
    (folder / "objects").mkdir(parents=True)
    (folder / "HEAD").write_text("ref: refs/heads/main\n")
    (folder / "objects" / "ab").write_text("blob\n")
    return folder


# -- claim ---------------------------------------------------------------------------------


def test_a_new_folder_is_made_and_marked(tmp_path: Path) -> None:
    folder = tmp_path / "build" / "artifacts"
    outputs.claim(folder)
    assert outputs.ours(folder)
    assert not (tmp_path / "build" / MARKER).exists()  # a parent made on the way is not ours


def test_an_empty_folder_is_taken(tmp_path: Path) -> None:
    folder = tmp_path / "artifacts"
    folder.mkdir()
    outputs.claim(folder)
    assert outputs.ours(folder)


def test_a_folder_of_ours_stays_as_it_is(tmp_path: Path) -> None:
    folder = tmp_path / "artifacts"
    outputs.claim(folder)
    (folder / "go1.26.6-glibc-amd64").mkdir()
    outputs.claim(folder)
    assert outputs.ours(folder)


def test_a_folder_with_the_users_files_is_never_taken(users: Path) -> None:
    before = tree(users)
    with pytest.raises(UsageError) as raised:
        outputs.claim(users)
    assert str(users) in raised.value.message and "project.artifacts" in raised.value.fix
    assert tree(users) == before  # no marker written


@pytest.mark.parametrize("shape", ["link to a folder", "link to nothing", "a file"])
def test_a_link_or_file_where_the_folder_must_be_is_refused(tmp_path: Path, shape) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    folder = tmp_path / "artifacts"
    if shape == "link to a folder":
        folder.symlink_to(elsewhere)
    elif shape == "link to nothing":
        folder.symlink_to(tmp_path / "nothing")
    else:
        folder.write_text("a file\n")
    with pytest.raises(FilesystemError) as raised:
        outputs.claim(folder)
    assert str(folder) in raised.value.message
    assert list(elsewhere.iterdir()) == [] and not (tmp_path / "nothing").exists()


def test_a_marker_that_is_a_link_is_not_written_through(tmp_path: Path) -> None:
    folder = tmp_path / "artifacts"
    folder.mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    (folder / MARKER).symlink_to(victim)
    with pytest.raises(FilesystemError):
        outputs.claim(folder)
    assert victim.read_text() == "precious\n"


# -- the artifact store: its folders are ours, with no link inside -------------------------


def land(store: ArtifactStore) -> None:
    with store.staging("plugins/x.so") as staged:
        staged.write_bytes(b"plugin")
        store.land("plugins/x.so", staged, {"inputs": "i"})


def test_a_store_never_builds_into_a_folder_of_the_users(users: Path) -> None:
    before = tree(users)
    store = ArtifactStore(users, COMBINATION)
    with pytest.raises(UsageError):
        land(store)
    assert tree(users) == before


@pytest.mark.parametrize("link", ["go1.26.6-glibc-amd64", "go1.26.6-glibc-amd64/plugins",
                                  f"go1.26.6-glibc-amd64/{MARKER}",
                                  "go1.26.6-glibc-amd64/.work",
                                  "go1.26.6-glibc-amd64/.manifest.lock"])
def test_a_link_inside_the_output_folders_is_refused(tmp_path: Path, link: str) -> None:
    root = tmp_path / "artifacts"
    store = ArtifactStore(root, COMBINATION)
    land(store)  # the folders exist, made by the store
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep.txt").write_text("mine\n")
    path = root / link
    if path.is_dir() and not path.is_symlink():
        import shutil

        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)
    path.symlink_to(outside if link != f"go1.26.6-glibc-amd64/{MARKER}"
                    and not link.endswith(".lock") else outside / "keep.txt")
    again = ArtifactStore(root, COMBINATION)
    with pytest.raises(FilesystemError) as raised:
        land(again)
    assert "symbolic link" in raised.value.message or "marker" in raised.value.message
    assert tree(outside) == {"keep.txt": "mine\n"}


def test_results_are_never_written_through_a_link(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (tmp_path / "results").symlink_to(outside)
    record = {"combination": COMBINATION.id, "steps": [], "verify": {"results": []}}
    with pytest.raises(FilesystemError):
        results.write(tmp_path / "results", record)
    assert list(outside.iterdir()) == []


# -- remove: what a marker vouches for -----------------------------------------------------


def test_a_combination_folder_of_ours_is_removed_whole(tmp_path: Path) -> None:
    store = ArtifactStore(tmp_path / "artifacts", COMBINATION)
    land(store)
    assert outputs.remove(store.folder, whole=True) == []
    assert not store.folder.exists() and outputs.ours(store.root)


def test_the_artifacts_folder_keeps_what_the_tool_did_not_make(tmp_path: Path) -> None:
    """A marker an older version wrote into a folder of the user's: clean removes the
    combination folders it made and the marker, and keeps the rest."""
    root = tmp_path / "docs"
    store = ArtifactStore(root, COMBINATION)
    land(store)
    (root / "guide.md").write_text("# guide\n")
    (root / "images").mkdir()
    kept = outputs.remove(root, whole=False)
    assert [p.name for p in kept] == ["guide.md", "images"]
    assert (root / "guide.md").read_text() == "# guide\n" and (root / "images").is_dir()
    assert not store.folder.exists() and not (root / MARKER).exists()


def test_the_artifacts_folder_is_removed_when_nothing_else_is_in_it(tmp_path: Path) -> None:
    store = ArtifactStore(tmp_path / "artifacts", COMBINATION)
    land(store)
    assert outputs.remove(store.root, whole=False) == []
    assert not store.root.exists()


@pytest.mark.parametrize("whole", [True, False])
def test_a_folder_not_ours_is_never_removed(users: Path, whole: bool) -> None:
    before = tree(users)
    with pytest.raises(UsageError):
        outputs.remove(users, whole=whole)
    assert tree(users) == before


def test_a_link_to_a_folder_of_ours_is_not_ours(tmp_path: Path) -> None:
    store = ArtifactStore(tmp_path / "artifacts", COMBINATION)
    land(store)
    link = tmp_path / "link"
    link.symlink_to(store.root)
    assert not outputs.ours(link)
    with pytest.raises(UsageError):
        outputs.remove(link, whole=True)
    assert store.path("plugins/x.so").read_bytes() == b"plugin"


def test_a_go_commands_temporary_folder_leaves_the_artifacts_folder_ours(tmp_path) -> None:
    # nox -j: one session's first go command (the toolchain step) makes its temporary
    # folder before anything is built; another session then claims the artifacts folder.
    root = tmp_path / "artifacts"
    temporary = ArtifactStore(root, COMBINATION).temporary_folder()
    temporary.mkdir(parents=True)
    assert outputs.ours(root) and outputs.ours(root / COMBINATION.id)
    other = ArtifactStore(root, Combination("1.27.3", "glibc", "amd64"))
    other.make_folder()
    assert outputs.ours(other.folder)
