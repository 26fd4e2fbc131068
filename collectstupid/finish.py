"""The end of a deploy that wrote: the JSON report, the summary line, the warnings, and
the error the run ends with, if any."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from collectstupid import github_actions, report
from collectstupid.cdn import invalidate
from collectstupid.deploy import (
    Deployment,
    Executed,
    closing_error,
    conflict_warning,
    report_extra,
)
from collectstupid.errors import CollectStupidError, DeployError
from collectstupid.output import Output
from collectstupid.redact import redact


def finish(deployment: Deployment, executed: Executed, out: Output) -> None:
    """The report, the summary line, and the error the run ends with, if any."""
    result, run, pruned = executed.result, deployment.smart, executed.pruned
    invalidated = invalidate.after_deploy(deployment, executed, out)
    extra: dict[str, Any] = {"smart": run.report()} if run else {}
    if invalidated:
        extra["invalidation"] = invalidated.report()
    if run and run.prune:
        extra["pruned"] = pruned.deleted if pruned else []
        extra["prune_failed"] = pruned.failed if pruned else {}
    if deployment.report_json:
        try:
            report.write_json(
                deployment.report_json,
                report.report_data(
                    deployment.plan,
                    result,
                    deployment.destination,
                    dry_run=False,
                    extra=extra | report_extra(deployment, executed.cleared),
                ),
            )
        except CollectStupidError as exc:
            executed.report_error = str(exc)
            out.error(redact(str(exc)))
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
    if executed.manifest_error:
        out.error(redact(executed.manifest_error))
    error = closing_error(deployment, executed, out.verbosity)
    error = invalidate.closing(error, invalidated, out)
    github_actions.publish(
        out,
        summary,
        result.failed,
        error if error and not result.failed else None,
        invalidated.describe() if invalidated else None,
    )
    if error:
        raise DeployError(error)
