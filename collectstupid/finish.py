"""The end of a deploy that wrote: the JSON report, the summary line, the warnings, and
the error the run ends with, if any."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from collectstupid import local, report
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
    extra: dict[str, Any] = {"smart": run.report()} if run else {}
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
    if deployment.staged and local.claims(deployment.backend.storage):
        copied, post_processed = local.collectstatic_counts(
            deployment.plan, result, deployment.staged
        )
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
    error = closing_error(deployment, executed, out.verbosity)
    # Said once: as the closing error when it is that, else as a line before it.
    if executed.manifest_error and executed.manifest_error != error:
        out.error(redact(executed.manifest_error))
    if error:
        raise DeployError(error)
