"""One deploy as data: what the plan step decided, what the upload step did, and
which of the problems found along the way ends the run."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from collectstupid import clear, failures, prune
from collectstupid.backends import Backend
from collectstupid.clear import ClearPlan, ClearResult
from collectstupid.clear import failures as clear_failures
from collectstupid.collect import SourceFile
from collectstupid.conf import CdnSettings
from collectstupid.manifest.publish import STALE_AFTER
from collectstupid.plan import Plan
from collectstupid.profiles import Profile
from collectstupid.report import plural
from collectstupid.smart import SmartRun
from collectstupid.stage import Staged
from collectstupid.upload import ABANDONED, UploadResult


@dataclass(frozen=True)
class Invalidating:
    """This run invalidates the CDN these settings name (and waits, with ``wait``)."""

    settings: CdnSettings
    wait: bool = False


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
    # --abort-uploads: abort what killed runs left open under the location first.
    abort_uploads: bool = False
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


def report_extra(deployment: Deployment, cleared: ClearResult | None = None) -> dict[str, Any]:
    """The JSON report's sections for smart mode and --clear, when the run has them."""
    extra: dict[str, Any] = {}
    if deployment.smart:
        extra["smart"] = deployment.smart.report()
        # As the storage lists it: Azure drops a leading dot at the container's root.
        stored = deployment.backend.listed_name(deployment.smart.store.name)
        extra["smart"]["manifest_stored_as"] = stored
    if deployment.clearing:
        extra["clear"] = clear.report_data(deployment.clearing, cleared)
    return extra


def exit_status(signum: int) -> int:
    """The shell's status for a process a signal ended: 130 for SIGINT, 143 for SIGTERM."""
    return 128 + signum


def closing_error(deployment: Deployment, executed: Executed, verbosity: int = 1) -> str | None:
    """The one error the run ends with, most urgent first; None when it succeeded.

    An interruption says how to finish; failed files come next, with their
    reasons, then failed deletes; a manifest or report that could not be
    written last, because the files themselves did land.
    """
    result = executed.result
    if executed.aborted:
        abandoned = sum(o.error == ABANDONED for o in result.failed)
        clauses = [f"{len(result.uploaded)} files were uploaded"]
        if abandoned:
            clauses.append(f"{abandoned} abandoned while being written")
        if result.cancelled:
            clauses.append(f"{len(result.cancelled)} not started")
        text = f"Aborted: {', '.join(clauses)}. Run the command again to finish."
        return text + leftovers_note(executed.leftovers)
    if executed.interrupted:
        return (
            f"Interrupted: {cleared_first(executed.cleared)}{len(result.uploaded)} files were "
            f"uploaded, {len(result.cancelled)} were not started. Run the command again "
            "to finish."
        )
    if result.failed:
        return failures.closing_message(
            result, len(deployment.plan.all_files), verbosity, deployment.report_json
        )
    if executed.cleared and executed.cleared.failed:
        return clear_failures(executed.cleared)
    pruned = executed.pruned
    if pruned and pruned.failed:
        return prune.closing_message(pruned.failed)
    return (
        executed.manifest_error
        or (pruned.manifest_error if pruned else None)
        or executed.report_error
    )


def cleared_first(cleared: ClearResult | None) -> str:
    """The clause naming what --clear deleted before the run stopped, if anything."""
    if not cleared or not cleared.deleted:
        return ""
    return f"--clear deleted {plural(len(cleared.deleted), 'file')} first; "


def interrupted_message(deployment: Deployment | None) -> str:
    """The closing error of a run a signal ended before its uploads."""
    cleared = deployment.cleared if deployment else None
    if cleared and (cleared.deleted or cleared.in_flight):
        doubt = (
            f", and was deleting {len(cleared.in_flight)} more (they may be gone)"
            if cleared.in_flight
            else ""
        )
        return (
            f"Interrupted during --clear after it deleted {plural(len(cleared.deleted), 'file')}"
            f"{doubt}; -v 2 and --report-json name each. Nothing was uploaded: run the "
            "command again to upload the files."
        )
    return "Interrupted before any upload: nothing was uploaded."


def leftovers_note(leftovers: list[str]) -> str:
    if not leftovers:
        return ""
    listed = "\n".join(f"  {line}" for line in leftovers[:20])
    return (
        f"\n{plural(len(leftovers), 'multipart upload')} could not be aborted and "
        f"will be billed until a lifecycle rule (AbortIncompleteMultipartUpload) removes "
        f"them:\n{listed}"
    )


def manifest_cut_short(name: str) -> str:
    return (
        f"The deploy manifest '{name}' may not have been updated: a signal cut its write "
        "short. It does not vouch for this run's files yet, so the next smart run uploads "
        "them again."
    )


def conflict_warning(run: SmartRun | None) -> str | None:
    """The terminal's word on entries dropped because another run wrote the same paths."""
    published = run.published if run else None
    if run is None or published is None or not published.conflicts:
        return None
    paths = published.conflicts
    them = "it" if len(paths) == 1 else "them"
    shown = ", ".join(paths[:5]) + (", ..." if len(paths) > 5 else "")
    return (
        f"{plural(len(paths), 'path')} dropped from the deploy manifest "
        f"'{run.store.name}': another run marked {them} as being written at the same "
        f"time, so which write landed last is unknown ({shown}). The next smart run "
        f"uploads {them} again. A run that was killed keeps its marks for "
        f"{STALE_AFTER / 60:.0f} minutes after it started; if no other deploy is "
        "running, one run with --force clears them now."
    )
