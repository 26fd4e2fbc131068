"""What smart mode's steps return, as immutable values: the manifest as read (``Read``),
what changed (``Decided``) and what the final write recorded (``Recorded``). smart.py
computes them; the flow hands them on, and report.py renders them without computing any.
See docs/smart-mode.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from collectstupid.collect import SourceFile
from collectstupid.conf import DEFAULTS
from collectstupid.errors import NameNotUTF8
from collectstupid.manifest import Entry, ManifestStore, Published, Run, Shipped, Snapshot

# Size, modification time and inode of a local file.
Fingerprint = tuple[int, int, int]

NEW = "new"
CHANGED = "changed"
UNCHANGED = "unchanged"
FORCED = "forced"
# The bytes are those recorded, the object parameters are not (or not known).
PARAMETERS = "new parameters"


@dataclass(frozen=True, slots=True)
class Change:
    """One planned file as hashed before the upload: whether it must be sent, and why.

    Only a file that is not unchanged gets one: nothing is sent or recorded
    for an unchanged file, and a large site has many.
    """

    source: SourceFile
    reason: str
    entry: Entry | None = None
    fingerprint: Fingerprint | None = None
    # Why the file could not be read, or its name used; the upload then fails it
    # without a request.
    error: OSError | NameNotUTF8 | None = None

    @property
    def sent(self) -> bool:
        """Whether the run tries to write it (and so announces it)."""
        return self.reason != UNCHANGED and not isinstance(self.error, NameNotUTF8)


@dataclass(frozen=True)
class Pruning:
    """--prune for this run: the percentage of the previous deploy's paths it may delete
    (manifest/guard.py)."""

    max_share: int = DEFAULTS["PRUNE_MAX_SHARE"]


@dataclass(frozen=True)
class Read:
    """The first step: the deploy manifest as read, and what this run records in it.

    ``shipped``: what this deploy ships, recorded for its profile once every file
    landed (None for a one-off selection). ``pruning``: set with --prune.
    """

    store: ManifestStore
    base: Snapshot
    force: bool = False
    shipped: Shipped | None = None
    pruning: Pruning | None = None
    # The markers this run writes ahead of its uploads.
    run: Run = field(default_factory=Run)

    @property
    def prune(self) -> bool:
        return self.pruning is not None

    @property
    def warning(self) -> str | None:
        """The one warning for a manifest that was found but cannot be used."""
        if not self.base.problem:
            return None
        if not self.base.found:
            # Not read at all: what it holds is unknown, so it is merged with, not replaced.
            return (
                f"The deploy manifest '{self.store.name}' was ignored: {self.base.problem}. "
                "Every selected file counts as changed; the manifest is updated before "
                "the upload, or nothing is uploaded."
            )
        return (
            f"The deploy manifest '{self.store.name}' was ignored: {self.base.problem}. "
            "Every selected file will be uploaded and the manifest rewritten."
        )

    def report(self) -> dict[str, Any]:
        """The ``smart`` section of the JSON report, as far as the manifest read says."""
        return {
            "manifest": self.store.name,
            "manifest_found": self.base.found,
            "manifest_problem": self.base.problem or None,
            "force": self.force,
        }


@dataclass(frozen=True)
class Decided:
    """The second step: the planned files that are not unchanged, by destination path
    (the others are), hashed against the manifest as ``Read`` left it."""

    changes: Mapping[str, Change]

    def reason(self, dest: str) -> str:
        change = self.changes.get(dest)
        return UNCHANGED if change is None else change.reason

    @property
    def announced(self) -> list[str]:
        """The paths this run announces before writing them."""
        return [dest for dest, change in self.changes.items() if change.sent]


@dataclass(frozen=True)
class Recorded:
    """The last step: what the final write recorded, and the manifest as it left it.

    ``doomed``: the stale paths --prune deletes; ``refused`` (an error) or ``held``
    (a warning): why it deletes nothing; ``lost``: what this deploy ships unchanged
    that another run deleted meanwhile; ``error``: why the write failed.
    """

    current: Snapshot
    published: Published | None = None
    # Why each file written was (new, changed, new parameters, forced).
    reasons: Mapping[str, str] = field(default_factory=dict)
    doomed: tuple[str, ...] = ()
    refused: str | None = None
    held: str | None = None
    lost: tuple[str, ...] = ()
    error: str | None = None

    def report(self) -> dict[str, Any]:
        """The ``smart`` section's part for what the run did."""
        data: dict[str, Any] = {"reasons": dict(sorted(self.reasons.items()))}
        if self.published is not None:
            data["manifest_written"] = self.published.written
            data["manifest_entries"] = self.published.entries
            data["manifest_conflicts"] = list(self.published.conflicts)
        return data
