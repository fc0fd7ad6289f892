"""The archive verify --image puts into a container of a released host's image: the
plugin at its path there, with the folders an image of only a libc lacks."""

from __future__ import annotations

import io
import tarfile

from plugin_builder.verify.image import PLUGIN_DIR_IN_IMAGE, _plugin_archive


def test_the_plugin_lands_at_its_path_with_its_folders_readable_by_any_user(tmp_path):
    plugin = tmp_path / "describer.so"
    plugin.write_bytes(b"\x7fELF plugin bytes")
    plugin.chmod(0o600)  # as a umask may leave it: the image's user must still read it
    with tarfile.open(fileobj=io.BytesIO(
            _plugin_archive(plugin, f"{PLUGIN_DIR_IN_IMAGE}/describer.so"))) as tar:
        members = {member.name: member for member in tar.getmembers()}
        assert list(members) == ["plugin-builder", "plugin-builder/plugins",
                                 "plugin-builder/plugins/describer.so"]
        assert all(members[name].isdir() for name in list(members)[:2])
        landed = members["plugin-builder/plugins/describer.so"]
        assert (landed.mode, landed.uid, landed.gid) == (0o755, 0, 0)
        extracted = tar.extractfile(landed)
        assert extracted is not None and extracted.read() == b"\x7fELF plugin bytes"
