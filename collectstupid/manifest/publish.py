"""Write the manifest once, last, merging with any run that wrote meanwhile.

The manifest must never claim content that is not in the bucket. Three rules
keep it truthful:

- an entry is recorded only after its file's write succeeded;
- a file whose write failed loses its entry: the failed write may have
  landed (a lost response) or, on storages without atomic writes, half-landed,
  so "old content" is no longer known to be true either;
- when two runs race and both wrote the same path with different content,
  neither knows whose write landed last, so the entry is dropped.

A missing entry is always safe: it costs one upload on the next run.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from collectstupid.errors import ManifestError
from collectstupid.manifest.entries import Entries, Entry, dumps
from collectstupid.manifest.store import ManifestStore, Snapshot

# Enough for a handful of jobs finishing at once; each retry costs one GET and one PUT.
WRITE_ATTEMPTS = 5


def merge(
    fresh: Mapping[str, Entry],
    base: Mapping[str, Entry],
    uploaded: Mapping[str, Entry],
    failed: Iterable[str],
) -> tuple[Entries, list[str]]:
    """This run's changes applied to the manifest as it is now.

    ``base`` is what this run read at its start, ``fresh`` what the store holds
    now (the same object unless another run wrote meanwhile). Entries this run
    did not touch are kept, whichever profile recorded them. For a path this
    run uploaded, ``fresh`` holding neither the base's entry nor ours means
    another run wrote that path with other content while we did: which write
    landed last is unknown, so the entry is dropped. Returns the entries and
    the paths dropped that way.
    """
    merged = dict(fresh)
    conflicts = []
    for path, entry in uploaded.items():
        current = fresh.get(path)
        if current == entry or current == base.get(path):
            merged[path] = entry
        else:
            merged.pop(path, None)
            conflicts.append(path)
    for path in failed:
        merged.pop(path, None)
    return merged, sorted(conflicts)


@dataclass(frozen=True)
class Published:
    written: bool
    attempts: int = 0
    entries: int = 0
    conflicts: tuple[str, ...] = ()


def publish(
    store: ManifestStore,
    base: Snapshot,
    uploaded: Mapping[str, Entry],
    failed: Iterable[str] = (),
    attempts: int = WRITE_ATTEMPTS,
) -> Published:
    """Write the manifest once, merging with any run that wrote since ``base`` was read.

    Nothing is written when the merge leaves the manifest as it is (nothing
    uploaded, no entry to drop), so a run that changed nothing costs no write.
    """
    failed = list(failed)
    current = base
    conflicts: list[str] = []
    for attempt in range(1, attempts + 1):
        merged, conflicts = merge(current.entries, base.entries, uploaded, failed)
        if merged == current.entries:
            # After a refused write, finding our entries already there means a write
            # landed for this run: ours (a retry of a write that had landed) or a twin's.
            return Published(attempt > 1, attempt - 1, len(merged), tuple(conflicts))
        if store.write(dumps(merged), current):
            return Published(True, attempt, len(merged), tuple(conflicts))
        # Another run wrote first: back off a little so racing runs spread out.
        time.sleep(random.uniform(0.02, 0.1) * attempt)
        current = store.read()
    why = (f"it could not be read back after a refused write: {current.problem}"
           if current.problem and not current.found
           else f"other runs kept changing it ({attempts} attempts)")
    raise ManifestError(
        f"The deploy manifest '{store.name}' could not be written: {why}. The files were "
        "uploaded; run the command again to record them (with --force if you deploy "
        "older files next)."
    )
