"""The end of a deploy that wrote: the JSON report, the summary line, the warnings, and
the error the run ends with, if any."""

from __future__ import annotations

import contextlib
from dataclasses import replace
from pathlib import Path
from typing import Any

from collectstupid import github_actions, report
from collectstupid.cdn import invalidate
from collectstupid.deploy import (
    Deployment,
    Executed,
    closing_error,
    conflict_warning,
    exit_status,
    report_extra,
)
from collectstupid.errors import CollectStupidError, DeployError
from collectstupid.output import Output
from collectstupid.redact import redact


def finish(deployment: Deployment, executed: Executed, out: Output) -> None:
    """The report, the summary line, and the error the run ends with, if any."""
    result, run, pruned = executed.result, deployment.smart, executed.pruned
    invalidated = invalidate.after_deploy(deployment, executed, out)
    # One closing error: the deploy's own first, a failed invalidation otherwise.
    own_error = closing_error(deployment, executed, out.verbosity)
    error = own_error or (invalidated.error if invalidated else None)
    extra: dict[str, Any] = {"smart": run.report()} if run else {}
    if invalidated:
        extra["invalidation"] = invalidated.report()
    if run and run.prune:
        extra["pruned"] = pruned.deleted if pruned else []
        extra["prune_failed"] = pruned.failed if pruned else {}
        extra["prune_kept"] = pruned.kept if pruned else {}
    if deployment.report_json:
        status = 0 if not error else exit_status(executed.signum) if executed.signum else 1
        try:
            report.write_json(
                deployment.report_json,
                report.report_data(
                    deployment.plan,
                    result,
                    deployment.destination,
                    dry_run=False,
                    extra=extra | report_extra(deployment, executed.cleared),
                    ending=report.Ending(status, error),
                ),
            )
            deployment.reported = True
        except CollectStupidError as exc:
            # Said once: as the closing error when nothing else went wrong.
            executed.report_error = str(exc)
            if error:
                out.error(redact(str(exc)))
            else:
                error = str(exc)
    copied, post_processed = None, deployment.post_processed
    counts = deployment.staged and deployment.backend.collectstatic_counts(
        deployment.plan, result, deployment.staged, smart=run is not None
    )
    if counts:
        copied, post_processed = counts
    summary = report.run_summary(
        deployment.plan,
        result,
        deployment.destination,
        post_processed,
        smart=run is not None,
        pruned=len(pruned.deleted) if pruned else (0 if run and run.prune else None),
        prune_failed=len(pruned.failed) if pruned else 0,
        copied=copied,
    )
    if deployment.link is not None:
        summary = replace(summary, action="symlinked")
    if executed.cleared:
        summary = replace(
            summary,
            deleted=len(executed.cleared.deleted),
            delete_failed=len(executed.cleared.failed),
        )
    out.say(report.render(summary))
    warning = conflict_warning(run)
    if warning:
        out.warn(warning)
    # Said once: as the closing error when it is that, else as a line before it.
    if executed.manifest_error and executed.manifest_error != error:
        out.error(redact(executed.manifest_error))
    if own_error and invalidated and invalidated.error:
        out.error(redact(invalidated.error))
    github_actions.publish(
        out,
        summary,
        result.failed,
        error if error and not result.failed else None,
        invalidated.describe() if invalidated else None,
    )
    if error:
        raise DeployError(error)


def report_failure(
    path: Path | None, deployment: Deployment | None, error: str, status: int, dry_run: bool
) -> None:
    """The JSON report of a run that ended before its own report was written.

    Best effort: the closing error stands whether or not this can be written.
    """
    if path is None or (deployment is not None and deployment.reported):
        return
    data = report.report_data(
        deployment.plan if deployment else None,
        None,
        deployment.destination if deployment else "",
        dry_run,
        extra=report_extra(deployment, deployment.cleared) if deployment else None,
        ending=report.Ending(status, error),
    )
    with contextlib.suppress(CollectStupidError):
        report.write_json(path, data)
