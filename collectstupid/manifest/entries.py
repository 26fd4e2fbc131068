"""The manifest's bytes, as JSON: each destination path vouched for (``files``: hash, size and
object parameters' hash) or ``pending``, what each project's profiles shipped, and the
location it describes; since version 5 gzipped, with ``files`` as columns (``packed``).
Every earlier format version is still read. See docs/smart-mode.md.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from collectstupid.errors import ManifestFormatError
from collectstupid.manifest import packed

FORMAT = "collectstupid-deploy-manifest"
VERSION = 5
# Version 1 had no pending paths, 2 no profile records; 3 kept its records under
# 'profiles', with no project or location: read as an unknown project's, and only kept.
# Up to 4 the bytes were plain JSON with an object per path in 'files'.
READS = (1, 2, 3, 4, 5)
# What the stores label the object with: since version 5 it is gzip, not JSON.
CONTENT_TYPE = "application/gzip"
# No deploy runs this long: a pending marker this old belongs to a run that died.
STALE_AFTER = 3600.0

_SHA256 = re.compile(r"[0-9a-f]{64}")
_DIGEST = re.compile(r"[0-9a-f]{16,64}")


# Slots: a smart run holds one per path recorded, 100,000 of them on a large site.
@dataclass(frozen=True, slots=True)
class Entry:
    """What was written at one destination path: the source file's hash and size.

    ``parameters``: a hash of the object parameters it was written with (see
    object_parameters.digest); None where the backend has none, or for an
    entry written before they were recorded, which is then unknown.
    """

    sha256: str
    size: int
    parameters: str | None = None


@dataclass(frozen=True)
class Pending:
    """A path that runs announced they are about to write.

    ``runs`` maps each run's id to when it started (seconds since the epoch).
    ``contended`` says two runs wrote the path at overlapping times, so
    whichever write landed last is unknown and nobody may vouch for it.
    """

    runs: Mapping[str, float]
    contended: bool = False


@dataclass(frozen=True)
class Record:
    """What one profile's complete deploys shipped, as far as pruning needs to know.

    ``ships``: every path its latest deploy shipped. ``hashed``: the hashed
    copies each of its last deploys shipped, newest first (as many as it
    keeps). ``stale``: paths its earlier deploys shipped that nothing it
    ships or keeps names any more, and that are not known to be deleted yet.
    """

    ships: frozenset[str] = frozenset()
    hashed: tuple[frozenset[str], ...] = ()
    stale: frozenset[str] = frozenset()


Entries = dict[str, Entry]
PendingPaths = dict[str, Pending]
Records = dict[str, Record]
# Per CDN (its key, such as 'cloudfront:E2EXAMPLE'), the paths a failed invalidation owes.
Owed = dict[str, frozenset[str]]
Projects = dict[str, Records]


@dataclass(frozen=True)
class Contents:
    """A manifest's contents.

    ``profiles``: records of an unknown project (written by version 3, which
    kept none), by profile. ``projects``: records by project, then profile.
    ``location``: the place the manifest describes (None when not recorded).
    """

    entries: Entries = field(default_factory=dict)
    pending: PendingPaths = field(default_factory=dict)
    profiles: Records = field(default_factory=dict)
    projects: Projects = field(default_factory=dict)
    location: str | None = None
    owed: Owed = field(default_factory=dict)


def dumps(contents: Contents) -> bytes:
    """The manifest as bytes: sorted, so an unchanged manifest is byte-identical."""
    data: dict[str, object] = {"format": FORMAT, "version": VERSION}
    if contents.location is not None:
        data["location"] = contents.location
    data["files"] = packed.columns(
        (path, entry.sha256, entry.size, entry.parameters)
        for path, entry in sorted(contents.entries.items())
    )
    if contents.pending:
        data["pending"] = {
            path: {"runs": dict(sorted(p.runs.items())), "contended": p.contended}
            for path, p in sorted(contents.pending.items())
        }
    if contents.profiles:
        data["profiles"] = _records_data(contents.profiles)
    if contents.projects:
        data["projects"] = {
            project: _records_data(records)
            for project, records in sorted(contents.projects.items())
            if records
        }
    if contents.owed:
        data["invalidations_owed"] = {
            cdn: sorted(paths) for cdn, paths in sorted(contents.owed.items())
        }
    document = json.dumps(data, separators=(",", ":"), ensure_ascii=False) + "\n"
    return packed.pack(document.encode())


def _records_data(records: Mapping[str, Record]) -> dict[str, object]:
    return {
        name: {
            "ships": sorted(r.ships),
            "hashed": [sorted(h) for h in r.hashed],
            "stale": sorted(r.stale),
        }
        for name, r in sorted(records.items())
    }


def _entry(value: object) -> Entry | None:
    if (
        isinstance(value, dict)
        and isinstance(value.get("sha256"), str)
        and _SHA256.fullmatch(value["sha256"])
        and type(value.get("size")) is int
        and value["size"] >= 0
    ):
        parameters = value.get("parameters")
        if parameters is not None and not (
            isinstance(parameters, str) and _DIGEST.fullmatch(parameters)
        ):
            return None
        return Entry(value["sha256"], value["size"], parameters)
    return None


def _pending(value: object) -> Pending | None:
    if not isinstance(value, dict) or not isinstance(value.get("contended"), bool):
        return None
    runs = value.get("runs")
    if not isinstance(runs, dict) or not all(
        isinstance(k, str) and type(t) in (int, float) for k, t in runs.items()
    ):
        return None
    return Pending(dict(runs), value["contended"])


def _paths(value: object) -> frozenset[str] | None:
    if isinstance(value, list) and all(isinstance(path, str) for path in value):
        # Interned, as the entries' paths are: the same path in both is then one string.
        return frozenset(map(sys.intern, value))
    return None


def _record(value: object) -> Record | None:
    if not isinstance(value, dict) or not isinstance(value.get("hashed"), list):
        return None
    ships, stale = _paths(value.get("ships")), _paths(value.get("stale"))
    hashed = [_paths(h) for h in value["hashed"]]
    if ships is None or stale is None or any(h is None for h in hashed):
        return None
    return Record(ships, tuple(h for h in hashed if h is not None), stale)


def loads(data: bytes) -> Contents:
    """Parse a manifest; any doubt about any entry rejects the whole object.

    Trusting half of a manifest would mean trusting an object we know was not
    written the way we write it.
    """
    doc = _document(data)
    files, pending = doc.get("files"), doc.get("pending", {})
    profiles, projects = doc.get("profiles", {}), doc.get("projects", {})
    owed = doc.get("invalidations_owed", {})
    if not all(isinstance(part, dict) for part in (files, pending, profiles, projects, owed)):
        raise ManifestFormatError(
            "its 'files', 'pending', 'profiles', 'projects' or 'invalidations_owed' is not a "
            "mapping"
        )
    location = doc.get("location")
    if location is not None and not isinstance(location, str):
        raise ManifestFormatError("its 'location' is not a string")
    entries = _entries(files, doc["version"])
    return Contents(
        entries,
        _pending_paths(pending, entries),
        _records(profiles),
        _projects(projects),
        location,
        _owed(owed),
    )


def _document(data: bytes) -> dict[str, Any]:
    """The manifest's JSON document, of a format version this collectstupid reads."""
    try:
        doc = json.loads(packed.unpack(data))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ManifestFormatError(f"it is not valid JSON ({exc})") from None
    except RecursionError:
        # A few kilobytes of brackets exhaust the parser's stack; we never nest that deep.
        raise ManifestFormatError("it nests too deeply to be a deploy manifest") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise ManifestFormatError("it was not written by collectstupid")
    if doc.get("version") not in READS:
        raise ManifestFormatError(
            f"it has format version {doc.get('version')!r}; this collectstupid reads "
            f"{' and '.join(map(str, READS))}"
        )
    return doc


def _pending_paths(pending: dict[str, object], entries: Entries) -> PendingPaths:
    markers: PendingPaths = {}
    for path, value in pending.items():
        marker = _pending(value)
        if marker is None or path in entries:
            raise ManifestFormatError(f"its pending entry for {path!r} is malformed")
        markers[path] = marker
    return markers


def _records(values: dict[str, object], of: str = "") -> Records:
    """Records by profile; ``of`` names their project in the error for a bad one."""
    records: Records = {}
    for name, value in values.items():
        record = _record(value)
        if record is None:
            raise ManifestFormatError(f"its record of profile {name!r}{of} is malformed")
        records[name] = record
    return records


def _projects(projects: dict[str, object]) -> Projects:
    found: Projects = {}
    for project, records in projects.items():
        if not isinstance(records, dict) or not project:
            raise ManifestFormatError(f"its records of project {project!r} are malformed")
        if records:
            found[project] = _records(records, f" of project {project!r}")
    return found


def _owed(owed: dict[str, object]) -> Owed:
    found: Owed = {}
    for cdn, value in owed.items():
        paths = _paths(value)
        if paths is None:
            raise ManifestFormatError(f"its invalidations owed to {cdn!r} are malformed")
        found[cdn] = paths
    return found


def _entries(files: object, version: int) -> Entries:
    """The paths vouched for: a table of columns since version 5, a mapping before."""
    entries: Entries = {}
    if version >= 5:
        for path, sha256, size, parameters in packed.rows(files):
            if path in entries:
                raise ManifestFormatError(f"its entry for {path!r} is malformed")
            entries[sys.intern(path)] = Entry(sha256, size, parameters)
        return entries
    assert isinstance(files, dict)
    for path, value in files.items():
        entry = _entry(value)
        if entry is None:
            raise ManifestFormatError(f"its entry for {path!r} is malformed")
        entries[sys.intern(path)] = entry
    return entries
