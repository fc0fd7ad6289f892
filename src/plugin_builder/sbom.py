"""A CycloneDX 1.5 SBOM of each built binary, from what its manifest entry already holds.

The build information Go embeds (read when the artifact landed: the Go release, the main
module, every dependency module with its version, go.sum hash and replacement) is the
binary's exact module list; no other scan is needed. Each module is a component
``pkg:golang/<path>@<version>``, its ``h1:`` hash (a SHA-256 of the module's files, as
go.sum records it) given as a SHA-256; a replaced module is its replacement, with what
it replaces as a property; the standard library is ``pkg:golang/std@go1.x.y``. The
document is a function of the entry alone (its serial number and timestamp too), so
writing it again changes nothing.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Mapping
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import quote

from plugin_builder import __version__

SPEC_VERSION = "1.5"
PROPERTY = "plugin-builder"  # the namespace of our properties


def purl(path: str, version: str | None = None) -> str:
    """The package URL of a Go module: ``pkg:golang/github.com/google/uuid@v1.5.0``."""
    name = "/".join(quote(segment, safe="") for segment in path.split("/"))
    return f"pkg:golang/{name}" + (f"@{quote(version, safe='')}" if version else "")


def document(combination: str, relative: str, entry: Mapping[str, Any]) -> dict[str, Any]:
    """The SBOM of the artifact ``relative`` of ``combination``, from its manifest entry."""
    subject = _subject(combination, relative, entry)
    components = [_standard_library(entry)] if entry.get("go_version") else []
    components += [_module(module) for module in entry.get("deps") or ()]
    refs = [component["bom-ref"] for component in components]
    return {
        "$schema": "http://cyclonedx.org/schema/bom-1.5.schema.json",
        "bomFormat": "CycloneDX",
        "specVersion": SPEC_VERSION,
        "serialNumber": "urn:uuid:" + str(uuid.uuid5(uuid.NAMESPACE_URL, "plugin-builder:"
                                                     f"{combination}/{relative}:"
                                                     f"{entry.get('sha256', '')}")),
        "version": 1,
        "metadata": {
            **({"timestamp": entry["built_at"]} if entry.get("built_at") else {}),
            "tools": {"components": [{"type": "application", "name": "plugin-builder",
                                      "version": __version__}]},
            "component": subject,
        },
        "components": components,
        "dependencies": [{"ref": subject["bom-ref"], "dependsOn": refs},
                         *({"ref": ref} for ref in refs)],
    }


def _subject(combination: str, relative: str, entry: Mapping[str, Any]) -> dict[str, Any]:
    """The binary itself: a host is an application, a plugin (a shared object) a library."""
    kind = entry.get("kind", "")
    main = entry.get("main") or {}
    component: dict[str, Any] = {
        "type": "application" if kind == "host" else "library",
        "bom-ref": f"{combination}/{relative}",
        "name": PurePosixPath(relative).name,
        "hashes": [{"alg": "SHA-256", "content": entry["sha256"]}],
        "properties": _properties({
            "combination": combination, "kind": kind, "libc": entry.get("libc"),
            "arch": entry.get("arch"), "go": entry.get("go_version"),
            "service": entry.get("service"), "type": entry.get("type"),
            "name": entry.get("name"), "main-package": main.get("package")}),
    }
    if entry.get("version"):
        component["version"] = str(entry["version"])
    if main.get("path"):
        component["purl"] = purl(main["path"], _released(main.get("version")))
    return component


def _standard_library(entry: Mapping[str, Any]) -> dict[str, Any]:
    release = str(entry["go_version"]).split(" ", 1)[0]
    return {"type": "library", "bom-ref": purl("std", release), "name": "std",
            "version": release, "purl": purl("std", release),
            "description": "the Go standard library and runtime of the release that built it"}


def _module(module: Mapping[str, Any]) -> dict[str, Any]:
    replace = module.get("replace")
    used = replace if replace and replace.get("version") else module
    component: dict[str, Any] = {
        "type": "library", "name": used["path"],
        "bom-ref": purl(used["path"], _released(used.get("version"))),
        "purl": purl(used["path"], _released(used.get("version"))),
    }
    if used.get("version"):
        component["version"] = used["version"]
    digest = _h1_sha256(used.get("sum"))
    if digest:
        component["hashes"] = [{"alg": "SHA-256", "content": digest}]
    if replace:
        replaced = f"{module['path']}@{module.get('version') or ''}".rstrip("@")
        component["properties"] = _properties(
            {"replaces": replaced} if replace.get("version") else
            {"replaced-by-directory": replace.get("path"), "replaces": replaced})
        if not replace.get("version"):  # a directory: the module under its own name
            component["bom-ref"] = f"{component['purl']}#directory"
    return component


def _released(version: str | None) -> str | None:
    """A version a package URL can name: not the "(devel)" of a main module."""
    return None if not version or version == "(devel)" else version


def _h1_sha256(go_sum: str | None) -> str | None:
    """go.sum's ``h1:<base64>`` as the hex SHA-256 it is; None for anything else."""
    if not go_sum or not go_sum.startswith("h1:"):
        return None
    try:
        raw = base64.b64decode(go_sum[3:], validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw.hex() if len(raw) == 32 else None


def _properties(values: Mapping[str, Any]) -> list[dict[str, str]]:
    return [{"name": f"{PROPERTY}:{name}", "value": str(value)}
            for name, value in values.items() if value not in (None, "")]
