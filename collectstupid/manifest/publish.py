"""The manifest's writes around the uploads: ``announce`` before them (the files about to
change lose their entries and are marked pending), ``settle`` after them (what landed is
vouched for, unless another run announced it meanwhile), each merged with whatever another
run wrote in between. See docs/smart-mode.md.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace

from collectstupid.errors import ManifestError
from collectstupid.manifest.entries import (
    STALE_AFTER,
    Contents,
    Entry,
    Pending,
    PendingPaths,
    dumps,
)
from collectstupid.manifest.store import ManifestStore, Snapshot, placed, snapshot

# Enough for a handful of jobs finishing at once; each retry costs one GET and one PUT.
WRITE_ATTEMPTS = 5


@dataclass(frozen=True)
class Run:
    """One deploy, as its markers in the manifest name it."""

    id: str = field(default_factory=lambda: uuid.uuid4().hex[:16])
    started: float = field(default_factory=time.time)


def live(pending: Mapping[str, Pending], now: float | None = None) -> PendingPaths:
    """The markers of runs that may still be writing; markers of dead runs go."""
    oldest = (time.time() if now is None else now) - STALE_AFTER
    kept: PendingPaths = {}
    for path, marker in pending.items():
        runs = {run: started for run, started in marker.runs.items() if started >= oldest}
        if runs:
            kept[path] = Pending(runs, marker.contended)
    return kept


def announce(
    contents: Contents, run: Run, paths: Iterable[str], take_over: bool = False
) -> Contents:
    """Stop vouching for ``paths`` and mark them pending for ``run``.

    ``take_over`` (``--force``) drops other runs' markers on these paths: the
    user says no other deploy is running, as after one that was killed.
    """
    entries = dict(contents.entries)
    pending = live(contents.pending)
    for path in paths:
        entries.pop(path, None)
        prior = None if take_over else pending.get(path)
        others = {r: t for r, t in (prior.runs if prior else {}).items() if r != run.id}
        contended = bool(others) or bool(prior and prior.contended)
        pending[path] = Pending({**others, run.id: run.started}, contended)
    return replace(contents, entries=entries, pending=pending)


def settle(
    contents: Contents, run: Run, announced: Iterable[str], uploaded: Mapping[str, Entry]
) -> tuple[Contents, list[str]]:
    """Record what ``run`` uploaded of the paths it announced.

    Returns the new contents and the uploaded paths left unrecorded because
    another run wrote them at an overlapping time.
    """
    entries = dict(contents.entries)
    pending = live(contents.pending)
    conflicts = []
    for path in announced:
        mine = uploaded.get(path)
        marker = pending.get(path)
        if marker is None or run.id not in marker.runs:
            # Our marker is gone (a run judged us dead): another write may have
            # landed after ours, unless it wrote the very same content.
            if mine is None or entries.get(path) != mine:
                entries.pop(path, None)
                if mine is not None:
                    conflicts.append(path)
            continue
        others = {r: t for r, t in marker.runs.items() if r != run.id}
        if others:
            pending[path] = Pending(others, contended=True)
        else:
            del pending[path]
        if mine is not None and not others and not marker.contended:
            entries[path] = mine
        else:
            entries.pop(path, None)
            if mine is not None:
                conflicts.append(path)
    return replace(contents, entries=entries, pending=pending), sorted(conflicts)


@dataclass(frozen=True)
class Published:
    written: bool
    attempts: int = 0
    entries: int = 0
    conflicts: tuple[str, ...] = ()


ContentsEdit = Callable[[Contents], tuple[Contents, list[str]]]


def rewrite(
    store: ManifestStore, current: Snapshot, change: ContentsEdit, attempts: int = WRITE_ATTEMPTS
) -> tuple[Published, Snapshot]:
    """Apply ``change`` to the manifest and write it once, conditionally.

    When another run wrote since ``current`` was read, the change is applied
    again to what it wrote. Nothing is written when the change leaves the
    manifest as it is. Returns what happened and the manifest as now written.
    The manifest keeps describing ``current.location``.
    """
    location = current.location
    for attempt in range(1, attempts + 1):
        before = current.contents
        after, conflicts = change(before)
        if after == before:
            # After a refused write, finding our change already there means a write
            # landed for this run: ours (a retry of a write that had landed) or a twin's.
            return Published(
                attempt > 1, attempt - 1, len(after.entries), tuple(conflicts)
            ), current
        token = store.write(dumps(after), current)
        if token is not None:
            written = snapshot(after, token or None)
            return Published(True, attempt, len(after.entries), tuple(conflicts)), written
        # Another run wrote first: back off a little so racing runs spread out.
        time.sleep(random.uniform(0.02, 0.1) * attempt)
        current = placed(store.read(), location)
    why = (
        f"it could not be read back after a refused write: {current.problem}"
        if current.problem and not current.found
        else f"other runs kept changing it ({attempts} attempts)"
    )
    raise ManifestError(f"The deploy manifest '{store.name}' could not be written: {why}.")
