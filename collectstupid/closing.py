"""The end of every run, dry or real: the lines report.py renders from the run's data,
printed in one order (the per-file lines, the JSON report, the warnings held back, the
summary line, what follows it), then the job summary under GitHub Actions.
"""

from __future__ import annotations

from collectstupid import github_actions, output, report
from collectstupid.cdn.invalidate import Invalidated
from collectstupid.deployment import Deployment, DryRun, Executed
from collectstupid.errors import CollectStupidError, DeployError, ReportedError
from collectstupid.output import Output


def end_dry_run(out: Output, deployment: Deployment, dry: DryRun) -> None:
    """Say what the real run would do, and end as it would, having written nothing."""
    lines, summary = report.dry_run_lines(deployment, dry)
    data = report.dry_run_report(deployment, dry) if deployment.report_json else None
    error, line = report.would_fail(dry.refused), report.render(summary)
    if dry.overlap:
        out.warn(dry.overlap)
    for text, level in lines:
        if level == report.WARNING:
            out.warn(text)
        else:
            out.say(text, level=level)
    if deployment.report_json and data is not None:
        output.write_json(deployment.report_json, data)
    out.warn_pending()
    out.say(line)
    github_actions.publish(out, summary)
    if error:
        # The real run fails exactly these files, so the dry run says so and fails too.
        raise ReportedError(error) if deployment.report_json else DeployError(error)


def end_run(
    out: Output, deployment: Deployment, executed: Executed, invalidated: Invalidated | None
) -> None:
    """The report, the summary line, and the error the run ends with, if any."""
    result, cdn_error = executed.result, invalidated.error if invalidated else None
    section, described = (
        (invalidated.report(), invalidated.describe()) if invalidated else (None, None)
    )
    # One closing error: the deploy's own first, a failed invalidation otherwise.
    own_error = report.closing_error(deployment, executed, out.verbosity)
    error = own_error or cdn_error
    summary = report.run_summary(deployment, executed)
    warning = report.conflict_warning(deployment.smart, executed.smart)
    line = report.render(summary)
    reported = False
    if deployment.report_json:
        data = report.run_report(deployment, executed, section, error)
        try:
            output.write_json(deployment.report_json, data)
            reported = True
        except CollectStupidError as exc:
            # Said once: as the closing error when nothing else went wrong.
            if error:
                out.error(str(exc))
            else:
                error = str(exc)
    out.warn_pending()
    out.say(line)
    if warning:
        out.warn(warning)
    # Said once: as the closing error when it is that, else as a line before it.
    if executed.manifest_error and executed.manifest_error != error:
        out.error(executed.manifest_error)
    if own_error and cdn_error:
        out.error(cdn_error)
    failed = result.failed
    github_actions.publish(out, summary, failed, error if error and not failed else None, described)
    if error:
        raise ReportedError(error) if reported else DeployError(error)
