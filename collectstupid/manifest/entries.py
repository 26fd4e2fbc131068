"""The manifest's bytes: what each destination path holds, as JSON."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass

from collectstupid.errors import ManifestFormatError

FORMAT = "collectstupid-deploy-manifest"
VERSION = 1

_SHA256 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class Entry:
    """What was written at one destination path: the source file's hash and size."""

    sha256: str
    size: int


Entries = dict[str, Entry]


def dumps(entries: Mapping[str, Entry]) -> bytes:
    """The manifest as bytes: sorted, so an unchanged manifest is byte-identical."""
    data = {
        "format": FORMAT,
        "version": VERSION,
        "files": {
            path: {"sha256": entry.sha256, "size": entry.size}
            for path, entry in sorted(entries.items())
        },
    }
    return (json.dumps(data, separators=(",", ":"), ensure_ascii=False) + "\n").encode()


def loads(data: bytes) -> Entries:
    """Parse a manifest; any doubt about any entry rejects the whole object.

    Trusting half of a manifest would mean trusting an object we know was not
    written the way we write it.
    """
    try:
        doc = json.loads(data)
    except (UnicodeDecodeError, ValueError) as exc:
        raise ManifestFormatError(f"it is not valid JSON ({exc})") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise ManifestFormatError("it was not written by collectstupid")
    if doc.get("version") != VERSION:
        raise ManifestFormatError(
            f"it has format version {doc.get('version')!r}; this collectstupid reads {VERSION}"
        )
    files = doc.get("files")
    if not isinstance(files, dict):
        raise ManifestFormatError("its 'files' is not a mapping")
    entries: Entries = {}
    for path, value in files.items():
        if not (
            isinstance(value, dict)
            and isinstance(value.get("sha256"), str)
            and _SHA256.fullmatch(value["sha256"])
            and type(value.get("size")) is int
            and value["size"] >= 0
        ):
            raise ManifestFormatError(f"its entry for {path!r} is malformed")
        entries[path] = Entry(value["sha256"], value["size"])
    return entries
