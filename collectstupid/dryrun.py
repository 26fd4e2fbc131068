"""--dry-run: what a deploy would upload, skip, prune and delete, and its summary; no write."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from collectstupid import github_actions, report
from collectstupid.cdn import invalidate
from collectstupid.deploy import Deployment, report_extra
from collectstupid.output import Output


def dry_run(deployment: Deployment, out: Output) -> None:
    plan, run = deployment.plan, deployment.smart
    extra: dict[str, Any] = {}
    if run:
        run.preview(plan, deployment.threads)
        would, unchanged, summary = run.dry_run(plan, deployment.destination)
        for text in would:
            out.say(text, level=1)
        for text in unchanged:
            out.say(text, level=2)
        extra["smart"] = run.report()
        if run.prune:
            doomed = run.would_prune()
            for path in doomed:
                out.say(f"Would prune '{path}'", level=1)
            summary = replace(summary, pruned=len(doomed))
            extra["would_prune"] = doomed
    else:
        summary = report.dry_run_summary(plan, deployment.destination)
        for source in plan.all_files:
            out.say(f"Would upload '{source.dest}' ({report.format_size(source.size)})", level=1)
    for source in plan.left_out:
        out.say(f"Left out by the profile: '{source.dest}'", level=2)
    if deployment.clearing:
        for name in deployment.clearing.names:
            out.say(f"Would delete '{name}'", level=1)
        summary = replace(summary, deleted=len(deployment.clearing.names))
    extra |= invalidate.dry_run(deployment, out)
    if deployment.report_json:
        report.write_json(
            deployment.report_json,
            report.report_data(
                plan,
                None,
                deployment.destination,
                True,
                extra=extra | report_extra(deployment),
            ),
        )
    out.say(report.render(summary))
    github_actions.publish(out, summary)
