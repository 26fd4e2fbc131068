"""One deploy as data, built by the flow: :class:`Deployment` (what planning.py decided
before the first write), :class:`DryRun` (what a dry run found) and :class:`Executed`
(what execute.py did). report.py renders what a run tells the user from these, and
computes none of it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from collectstupid import prune
from collectstupid.backends import Backend
from collectstupid.collect import SourceFile
from collectstupid.conf import CdnSettings
from collectstupid.outcomes import ClearPlan, ClearResult, UploadResult
from collectstupid.profiles import Plan
from collectstupid.smart_values import Read, Recorded
from collectstupid.stage import Staged


@dataclass(frozen=True)
class Invalidating:
    """This run invalidates the CDN these settings name (and waits, with ``wait``)."""

    settings: CdnSettings
    wait: bool = False


@dataclass
class LeftOpen:
    """--abort-uploads: the uploads killed runs left open, listed when planning."""

    uploads: list[tuple[str, str]]  # (name, upload ID): those the run owns
    # (name, why): the others listed under the location, never aborted.
    left: list[tuple[str, str]] = field(default_factory=list)
    aborted: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def report(self) -> dict[str, object]:
        """The JSON report's ``abort_uploads`` section (a dry run's aborts none)."""
        listed = [name for name, _ in self.uploads]
        left = [{"name": name, "why": why} for name, why in self.left]
        return {"listed": listed, "aborted": self.aborted, "failed": self.problems, "left": left}


@dataclass(frozen=True)
class Deployment:
    """Everything decided before the first write; what the run does after is in
    :class:`Executed` and the values the flow builds, never here."""

    plan: Plan
    backend: Backend
    destination: str
    threads: int
    staged: Staged | None = None
    smart: Read | None = None
    report_json: Path | None = None
    # --link: these files (the originals found) become symlinks, not copies.
    link: list[SourceFile] | None = None
    clearing: ClearPlan | None = None
    # The CDN to invalidate once the files landed (COLLECTSTUPID['CDN']).
    invalidation: Invalidating | None = None
    # --abort-uploads: what killed runs left open under the location, aborted first.
    left_open: LeftOpen | None = None
    # Smart mode: the deploy manifest's name as the storage lists it.
    manifest_listed: str | None = None

    @property
    def post_processed(self) -> int:
        return len(self.staged.post_processed) if self.staged else 0


@dataclass(frozen=True)
class Executed:
    """What the upload step did, and the problems it met after the files."""

    result: UploadResult
    interrupted: bool = False
    manifest_error: str | None = None
    pruned: prune.Pruned | None = None
    cleared: ClearResult | None = None
    # Smart mode: what the deploy manifest's final write recorded.
    smart: Recorded | None = None
    # A second signal gave up on the writes in flight; ``leftovers`` says what of
    # theirs (multipart uploads) could not be undone.
    aborted: bool = False
    leftovers: list[str] = field(default_factory=list)
    # The signal that stopped the run, if one did.
    signum: int | None = None
    # Local targets: (copied, post-processed) as collectstatic counts them.
    counts: tuple[int, int] | None = None


def names_shown(deployment: Deployment) -> Iterator[str]:
    """Every name the run may show: the files planned and left out (hashed copies
    included), and the keys --clear, --abort-uploads and --prune work on."""
    plan = deployment.plan
    yield from (source.dest for source in [*plan.all_files, *plan.left_out])
    if deployment.clearing:
        clearing = deployment.clearing
        yield from [*clearing.names, *clearing.refused, *clearing.markers]
    if deployment.left_open:
        yield from (name for name, _ in deployment.left_open.uploads)
    if deployment.smart:
        yield from deployment.smart.base.entries


# A dry run's verdict on one selected file: the file, its status and why (smart mode).
Verdict = tuple[SourceFile, str, str | None]


@dataclass(frozen=True)
class WouldInvalidate:
    """What a dry run would ask the CDN to invalidate."""

    cdn: str
    # The URL path of each changed name, and the paths requested (wildcards included).
    changed: tuple[str, ...]
    paths: tuple[str, ...]


@dataclass(frozen=True)
class DryRun:
    """What a dry run found the real run would do, beyond the deployment itself."""

    # None: every planned file would be uploaded (no verdict kept per file).
    verdicts: tuple[Verdict, ...] | None
    invalidation: WouldInvalidate | None = None
    # The files no storage key can hold, and why: the real run fails them.
    refused: Mapping[str, str] = field(default_factory=dict)
    # Smart mode: a warning about paths other profiles ship.
    overlap: str | None = None
    # --prune: the stale paths a deploy would delete, and those it keeps with why.
    doomed: tuple[str, ...] | None = None
    prune_kept: Mapping[str, str] | None = None
    # --prune: why the guard would stop it before deleting anything.
    prune_refused: str | None = None
