"""--dry-run: what a deploy would upload, skip, prune and delete, and its summary; no write."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from collectstupid import clear, github_actions, overlap, prune, report, smart
from collectstupid.cdn import invalidate
from collectstupid.collect import SourceFile
from collectstupid.deploy import Deployment, report_extra
from collectstupid.errors import DeployError, NameNotUTF8
from collectstupid.output import Output
from collectstupid.upload import check_name


def dry_run(deployment: Deployment, out: Output) -> None:
    plan, run = deployment.plan, deployment.smart
    extra: dict[str, Any] = {}
    would: list[tuple[SourceFile, str, str | None]] = [
        (source, report.WOULD_UPLOAD, None) for source in plan.all_files
    ]
    if run:
        if deployment.clearing:
            # What the real run compares against: the manifest as --clear leaves it.
            run.cleared(clear.without_cleared(run.base, deployment.clearing))
        changes = run.preview(plan, deployment.threads)
        if (warning := overlap.warning(run, plan.profile.name)) is not None:
            out.warn(warning)
        would = [
            (c.source, report.UNCHANGED, None)
            if c.reason == smart.UNCHANGED
            else (c.source, report.WOULD_UPLOAD, c.reason)
            for c in changes
        ]
        upload, unchanged, summary = run.dry_run(plan, deployment.destination)
        for text in upload:
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
            if run.shipped is not None:
                reasons = prune.kept(run.base.contents, run.shipped)
                for path, why in reasons.items():
                    out.say(f"Would not prune '{path}': {why}", level=2)
                extra["prune_kept"] = reasons
    else:
        sendable = [s for s in plan.all_files if not unnamed(s.dest)]
        summary = report.dry_run_summary(plan, deployment.destination, sendable)
        for source in sendable:
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
                plan, None, deployment.destination, True, extra | report_extra(deployment), would
            ),
        )
        deployment.reported = True
    out.say(report.render(summary))
    github_actions.publish(out, summary)
    refused = {s.dest: why for s in plan.all_files if (why := unnamed(s.dest))}
    if refused:
        # The real run fails exactly these files, so the dry run says so and fails too.
        listed = "\n".join(f"  {dest}: {why}" for dest, why in sorted(refused.items())[:20])
        raise DeployError(
            f"{report.plural(len(refused), 'file')} would fail to upload:\n{listed}\n"
            "The others would be uploaded."
        )


def unnamed(dest: str) -> str:
    """Why no storage key can hold ``dest``, or ''."""
    try:
        check_name(dest)
    except NameNotUTF8 as exc:
        return str(exc)
    return ""
