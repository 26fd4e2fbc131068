"""One deploy as data: what the plan step decided, what the upload step did, and
which of the problems found along the way ends the run."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from collectstupid import failures, prune
from collectstupid.backends import Backend
from collectstupid.clear import ClearPlan, ClearResult
from collectstupid.clear import failures as clear_failures
from collectstupid.collect import SourceFile
from collectstupid.plan import Plan
from collectstupid.profiles import Profile
from collectstupid.smart import SmartRun
from collectstupid.stage import Staged
from collectstupid.upload import UploadResult


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


def closing_error(deployment: Deployment, executed: Executed, verbosity: int = 1) -> str | None:
    """The one error the run ends with, most urgent first; None when it succeeded.

    An interruption says how to finish; failed files come next, with their
    reasons, then failed deletes; a manifest or report that could not be
    written last, because the files themselves did land.
    """
    result = executed.result
    if executed.interrupted:
        return (
            f"Interrupted: {len(result.uploaded)} files were uploaded, "
            f"{len(result.cancelled)} were not started. Run the command again to finish."
        )
    if result.failed:
        return failures.closing_message(result, len(deployment.plan.all_files), verbosity,
                                        deployment.report_json)
    if executed.cleared and executed.cleared.failed:
        return clear_failures(executed.cleared)
    pruned = executed.pruned
    if pruned and pruned.failed:
        return prune.closing_message(pruned.failed)
    return (executed.manifest_error or (pruned.manifest_error if pruned else None)
            or executed.report_error)
