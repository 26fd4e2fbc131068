"""One deploy as data: :class:`Deployment`, everything decided before the first write
(built in planning.py), and :class:`Executed`, what the writes did (execute.py).
report.py renders both.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from collectstupid import prune
from collectstupid.backends import Backend
from collectstupid.clear import ClearPlan, ClearResult
from collectstupid.collect import SourceFile
from collectstupid.conf import CdnSettings
from collectstupid.profiles import Plan, Profile
from collectstupid.smart import SmartRun
from collectstupid.stage import Staged
from collectstupid.upload import UploadResult


@dataclass(frozen=True)
class Invalidating:
    """This run invalidates the CDN these settings name (and waits, with ``wait``)."""

    settings: CdnSettings
    wait: bool = False


@dataclass
class LeftOpen:
    """--abort-uploads: the uploads killed runs left open, listed when planning."""

    uploads: list[tuple[str, str]]  # (name, upload ID)
    aborted: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def report(self) -> dict[str, list[str]]:
        """The JSON report's ``abort_uploads`` section (a dry run's aborts none)."""
        listed = [name for name, _ in self.uploads]
        return {"listed": listed, "aborted": self.aborted, "failed": self.problems}


@dataclass
class Deployment:
    """Everything decided before the first write."""

    profile: Profile
    plan: Plan
    backend: Backend
    destination: str
    threads: int
    staged: Staged | None = None
    smart: SmartRun | None = None
    report_json: Path | None = None
    # --link: these files (the originals found) become symlinks, not copies.
    link: list[SourceFile] | None = None
    clearing: ClearPlan | None = None
    # The CDN to invalidate once the files landed (COLLECTSTUPID['CDN']).
    invalidation: Invalidating | None = None
    # --abort-uploads: what killed runs left open under the location, aborted first.
    left_open: LeftOpen | None = None
    # What --clear deleted so far, filled as deletes land (a signal may stop it).
    cleared: ClearResult | None = None
    # The JSON report was written (by the dry run or the finish).
    reported: bool = False

    @property
    def post_processed(self) -> int:
        return len(self.staged.post_processed) if self.staged else 0


@dataclass
class Executed:
    """What the upload step did, and the problems it met after the files."""

    result: UploadResult
    interrupted: bool = False
    manifest_error: str | None = None
    report_error: str | None = None
    pruned: prune.Pruned | None = None
    cleared: ClearResult | None = None
    # A second signal gave up on the writes in flight; ``leftovers`` says what of
    # theirs (multipart uploads) could not be undone.
    aborted: bool = False
    leftovers: list[str] = field(default_factory=list)
    # The signal that stopped the run, if one did.
    signum: int | None = None
