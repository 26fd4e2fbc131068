"""What each profile shipped, and which objects no deploy needs any more.

A complete deploy (every file and ``staticfiles.json`` landed) replaces its
profile's record: the paths it ships, its hashed copies pushed onto the
history of the last ``keep`` deploys, and ``stale``, the paths the profile
shipped before and neither ships nor keeps now. Stale paths stay recorded
until their delete succeeded, so a run killed anywhere, or a failed delete,
leaves them for the next ``--prune`` to delete.

A pruning run stops vouching for its stale paths in the same manifest write
that records the deploy, deletes them afterwards, and only then forgets them
(``forget_deleted``): at no instant does the manifest vouch for a deleted
object or forget one that still needs deleting.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

from collectstupid.manifest.entries import Contents, Pending, Record
from collectstupid.manifest.publish import live
from collectstupid.paths import is_safe_relative


@dataclass(frozen=True)
class Shipped:
    """One complete deploy of a profile: every path it shipped, and which are hashed copies."""

    profile: str
    paths: frozenset[str]
    hashed: frozenset[str]
    keep: int


def _owned_elsewhere(profiles: Mapping[str, Record], profile: str) -> set[str]:
    """What other profiles ship or keep: never this profile's to delete."""
    owned: set[str] = set()
    for name, record in profiles.items():
        if name != profile:
            owned.update(record.ships, *record.hashed)
    return owned


def record_deploy(
    contents: Contents, shipped: Shipped, prune: bool, manifest_name: str
) -> tuple[Contents, list[str]]:
    """Record ``shipped`` as its profile's latest deploy; with ``prune``, say what to delete.

    Returns the new contents and the stale paths to delete now, whose entries
    the new contents no longer hold. A path pending for a live run is left
    stale (another run may be writing it) and deleted by a later run.
    """
    before = contents.profiles.get(shipped.profile, Record())
    history = before.hashed
    if not history or history[0] != shipped.hashed:
        history = (shipped.hashed, *history)
    kept, dropped = history[: shipped.keep], history[shipped.keep :]
    keeps = set(shipped.paths).union(*kept)
    owned = _owned_elsewhere(contents.profiles, shipped.profile)
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
    profiles = {**contents.profiles, shipped.profile: record}
    return replace(contents, entries=entries, profiles=profiles), doomed


def forget_deleted(contents: Contents, profile: str, deleted: Iterable[str]) -> Contents:
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
    profiles = dict(contents.profiles)
    if profile in profiles:
        record = profiles[profile]
        profiles[profile] = Record(record.ships, record.hashed, record.stale - gone)
    return replace(contents, entries=entries, pending=pending, profiles=profiles)
