"""What each profile of each project shipped, and which paths no deploy needs any more: a
complete deploy replaces its own profile's record, never another's, and a stale path stays
recorded until its delete succeeded (``forget_deleted``). See docs/lifecycle.md.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace

from collectstupid.conf import is_safe_relative
from collectstupid.manifest.entries import Contents, Pending, Record
from collectstupid.manifest.publish import live


@dataclass(frozen=True)
class Shipped:
    """One complete deploy of a profile: every path it shipped, and which are hashed copies.

    ``project``: whose profile it is (``COLLECTSTUPID["PROJECT"]``); empty
    only for a record of an unknown project, as version 3 kept them.
    """

    profile: str
    paths: frozenset[str]
    hashed: frozenset[str]
    keep: int
    project: str = ""


def records(contents: Contents) -> Iterator[tuple[tuple[str, str], Record]]:
    """Every record, keyed by (project, profile); an unknown project is ''."""
    for name, record in contents.profiles.items():
        yield ("", name), record
    for project, records in contents.projects.items():
        for name, record in records.items():
            yield (project, name), record


def whose(key: tuple[str, str], project: str) -> str:
    """A record named for a person: its profile, and its project when not ``project``."""
    other, profile = key
    if other == project:
        return f"profile '{profile}'"
    if not other:
        return f"profile '{profile}' of an unknown project (a version 3 record)"
    return f"profile '{profile}' of project '{other}'"


def _owned_elsewhere(contents: Contents, key: tuple[str, str]) -> set[str]:
    """What other records ship or keep: never this record's to delete."""
    owned: set[str] = set()
    for other, record in records(contents):
        if other != key:
            owned.update(record.ships, *record.hashed)
    return owned


def record_of(contents: Contents, project: str, profile: str) -> Record | None:
    """The record of ``project``'s ``profile`` (an unknown project's with ``project`` '')."""
    if not project:
        return contents.profiles.get(profile)
    return contents.projects.get(project, {}).get(profile)


def _put(contents: Contents, project: str, profile: str, record: Record) -> Contents:
    if not project:
        return replace(contents, profiles={**contents.profiles, profile: record})
    records = {**contents.projects.get(project, {}), profile: record}
    return replace(contents, projects={**contents.projects, project: records})


def record_deploy(
    contents: Contents, shipped: Shipped, prune: bool, manifest_name: str
) -> tuple[Contents, list[str]]:
    """Record ``shipped`` as its profile's latest deploy; with ``prune``, say what to delete.

    Returns the new contents and the stale paths to delete now, whose entries
    the new contents no longer hold. A path pending for a live run is left
    stale (another run may be writing it) and deleted by a later run.
    """
    project, profile = shipped.project, shipped.profile
    before = record_of(contents, project, profile) or Record()
    history = before.hashed
    if not history or history[0] != shipped.hashed:
        history = (shipped.hashed, *history)
    kept, dropped = history[: shipped.keep], history[shipped.keep :]
    keeps = set(shipped.paths).union(*kept)
    owned = _owned_elsewhere(contents, (project, profile))
    stale = frozenset(
        path
        for path in before.stale.union(before.ships, *dropped)
        if path not in keeps
        and path not in owned
        and path != manifest_name
        and is_safe_relative(path)
    )
    record = Record(frozenset(shipped.paths), kept, stale)
    entries = dict(contents.entries)
    busy = live(contents.pending)
    doomed = sorted(path for path in stale if path not in busy) if prune else []
    for path in doomed:
        entries.pop(path, None)
    after = replace(contents, entries=entries, pending=dict(contents.pending))
    return _put(after, project, profile, record), doomed


def forget_deleted(
    contents: Contents, profile: str, deleted: Iterable[str], project: str = ""
) -> Contents:
    """Forget the stale paths whose delete succeeded.

    Should another run have written one of them since it was doomed, what it
    wrote was deleted: its entry goes, and its pending marker becomes
    contended so that run does not vouch for it either.
    """
    gone = set(deleted)
    entries = {path: e for path, e in contents.entries.items() if path not in gone}
    pending = {
        path: Pending(marker.runs, contended=True) if path in gone else marker
        for path, marker in contents.pending.items()
    }
    after = replace(contents, entries=entries, pending=pending)
    record = record_of(contents, project, profile)
    if record is None:
        return after
    return _put(after, project, profile, Record(record.ships, record.hashed, record.stale - gone))
