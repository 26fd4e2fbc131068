"""What a run's writes and deletes are to do and did, as data: each file's :class:`Outcome`
and the :class:`UploadResult` (upload.py fills them), what --clear deletes
(:class:`ClearPlan`) and deleted (:class:`ClearResult`, clear.py fills them). report.py reads
them and computes none of them.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from collectstupid.collect import SourceFile
from collectstupid.manifest import Snapshot

UPLOADED = "uploaded"
SKIPPED = "skipped"
FAILED = "failed"
CANCELLED = "cancelled"
# Why a write in flight when the run was aborted failed: it may land or not.
ABANDONED = "abandoned: the run was aborted while it was being written"


@dataclass(frozen=True, slots=True)
class Outcome:
    source: SourceFile
    status: str
    error: str = ""
    seconds: float = 0.0
    # A FAILED write that still replaced what was online (its source changed meanwhile).
    wrote: bool = False


@dataclass
class UploadResult:
    """The outcome of every write, by status; with ``keep_done`` False only those of files
    that failed or were not started are kept, the rest counted: a plain deploy keeps no
    value per file it sent."""

    outcomes: list[Outcome] = field(default_factory=list)
    seconds: float = 0.0
    # Requests the storage's client sent again after a transient error.
    retries: int = 0
    keep_done: bool = True
    # Outcomes by status, and the bytes of the files UPLOADED, kept or not.
    tally: Counter[str] = field(default_factory=Counter)
    uploaded_bytes: int = 0

    def __post_init__(self) -> None:
        given, self.outcomes = self.outcomes, []
        for outcome in given:
            self.add(outcome)

    def add(self, outcome: Outcome) -> None:
        self.tally[outcome.status] += 1
        if outcome.status == UPLOADED:
            self.uploaded_bytes += outcome.source.size
        if self.keep_done or outcome.status in (FAILED, CANCELLED):
            self.outcomes.append(outcome)

    def absorb(self, later: UploadResult) -> None:
        """Add what a later upload did to this one's result."""
        self.outcomes += later.outcomes
        self.tally += later.tally
        self.uploaded_bytes += later.uploaded_bytes
        self.seconds += later.seconds

    def count(self, status: str) -> int:
        return self.tally[status]

    def with_status(self, status: str) -> list[Outcome]:
        if not self.keep_done and status not in (FAILED, CANCELLED):
            raise ValueError(f"the {status} outcomes were counted, not kept")
        return [o for o in self.outcomes if o.status == status]

    uploaded = property(lambda self: self.with_status(UPLOADED))
    skipped = property(lambda self: self.with_status(SKIPPED))
    failed = property(lambda self: self.with_status(FAILED))
    cancelled = property(lambda self: self.with_status(CANCELLED))


@dataclass
class ClearPlan:
    """What ``--clear`` deletes, in order, and what the listing showed besides."""

    manifest_name: str
    names: list[str] = field(default_factory=list)
    # The deploy manifest is in the storage (seen in the listing).
    manifest_found: bool = False
    # Listed names that could point outside the location: never deleted.
    refused: list[str] = field(default_factory=list)
    # Folder markers (``css/``, as consoles create them): no file, never deleted.
    markers: list[str] = field(default_factory=list)
    # The manifest's name as the listing shows it (Azure drops a leading dot at the root).
    manifest_listed: str = ""
    # The profile selects every path, as ``full`` does: all of the location goes.
    everything: bool = False


@dataclass
class ClearResult:
    deleted: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    # The deploy manifest as the clear left it, when it read one.
    manifest: Snapshot | None = None
    # Names being deleted right now: a run stopped here cannot tell which are gone.
    in_flight: list[str] = field(default_factory=list)
