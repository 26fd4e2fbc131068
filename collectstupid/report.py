"""What a run tells the user, rendered in one place from the run's data
(:mod:`collectstupid.deployment`, built by the flow): the
summary line, the -v 2 lines, the closing error (one, with one verdict on retrying), the
JSON report (schema 2), the question asked before writing and --list-profiles. Printed only
through output.Output. See docs/command.md.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from itertools import chain
from pathlib import Path
from typing import Any

from collectstupid.collect import SourceFile
from collectstupid.deployment import Deployment, DryRun, Executed, Verdict, WouldInvalidate
from collectstupid.errors import ReportError
from collectstupid.failures import (
    LISTED_FILES,
    RETRY,
    SHOWN_CAUSES,
    cause_of,
    group,
    one_line,
    verdict,
)
from collectstupid.manifest.entries import STALE_AFTER
from collectstupid.outcomes import (
    ABANDONED,
    CANCELLED,
    FAILED,
    SKIPPED,
    UPLOADED,
    ClearPlan,
    ClearResult,
    Outcome,
    UploadResult,
)
from collectstupid.profiles import Catalog, Plan
from collectstupid.smart_values import CHANGED, FORCED, NEW, PARAMETERS, Read, Recorded


def format_size(size: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    raise AssertionError("unreachable")


def plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


@dataclass(frozen=True)
class Summary:
    """What the summary line says, as data; ``render`` makes the one line."""

    destination: str
    profile: str
    files: int  # uploaded, or that would be in a dry run
    bytes: int
    left_out_files: int
    left_out_bytes: int
    dry_run: bool = False
    seconds: float = 0.0
    failed: int = 0
    cancelled: int = 0
    retries: int = 0
    post_processed: int = 0
    # Local targets that post-process: ``files`` counts the originals, as
    # collectstatic does, and this every file written, copies included.
    written: int | None = None
    # Smart mode only: files skipped because the manifest records them, and
    # in a dry run why the others would be uploaded (new, changed, forced).
    unchanged: int | None = None
    reasons: tuple[tuple[str, int], ...] = ()
    # --prune only: stale files deleted (or that would be), and deletes that failed.
    pruned: int | None = None
    prune_failed: int = 0
    # collectstatic's verb: "symlinked" with --link.
    action: str = "copied"
    # --clear only: files deleted (in a dry run, that would be) and those that could not be.
    deleted: int | None = None
    delete_failed: int = 0


@dataclass(frozen=True)
class Counts:
    """What the summary of a run that wrote counts beyond its upload result."""

    post_processed: int = 0
    smart: bool = False
    # --prune only: stale files deleted, and deletes that failed.
    pruned: int | None = None
    prune_failed: int = 0
    # Local targets that post-process: the originals, as collectstatic counts them.
    copied: int | None = None


def written_summary(
    plan: Plan, result: UploadResult, destination: str, counts: Counts = Counts()
) -> Summary:
    """The summary of a run that wrote, from its plan and upload result."""
    uploaded, copied = result.count(UPLOADED), counts.copied
    return Summary(
        destination=destination,
        profile=plan.profile.name,
        files=uploaded if copied is None else copied,
        bytes=result.uploaded_bytes,
        left_out_files=len(plan.left_out),
        left_out_bytes=plan.left_out_bytes,
        seconds=result.seconds,
        failed=len(result.failed),
        cancelled=len(result.cancelled),
        retries=result.retries,
        post_processed=counts.post_processed,
        written=None if copied is None else uploaded,
        unchanged=result.count(SKIPPED) if counts.smart else None,
        pruned=counts.pruned,
        prune_failed=counts.prune_failed,
    )


def run_summary(deployment: Deployment, executed: Executed) -> Summary:
    """The summary of a deploy that wrote: what it uploaded, cleared and pruned."""
    run, pruned, cleared = deployment.smart, executed.pruned, executed.cleared
    copied, post_processed = executed.counts or (None, deployment.post_processed)
    counts = Counts(
        post_processed,
        smart=run is not None,
        pruned=len(pruned.deleted) if pruned else (0 if run and run.prune else None),
        prune_failed=len(pruned.failed) if pruned else 0,
        copied=copied,
    )
    summary = written_summary(deployment.plan, executed.result, deployment.destination, counts)
    if deployment.link is not None:
        summary = replace(summary, action="symlinked")
    if cleared:
        summary = replace(summary, deleted=len(cleared.deleted), delete_failed=len(cleared.failed))
    return summary


def run_report(
    deployment: Deployment,
    executed: Executed,
    invalidation: dict[str, Any] | None,
    error: str | None,
) -> dict[str, Any]:
    """The JSON report of a deploy that wrote; ``invalidation``: the CDN's section."""
    run, pruned = deployment.smart, executed.pruned
    extra: dict[str, Any] = {"smart": run.report()} if run else {}
    if invalidation:
        extra["invalidation"] = invalidation
    if run and run.prune:
        extra["pruned"] = pruned.deleted if pruned else []
        extra["prune_failed"] = pruned.failed if pruned else {}
        extra["prune_kept"] = pruned.kept if pruned else {}
    status = 0 if not error else exit_status(executed.signum) if executed.signum else 1
    extra |= report_extra(deployment, executed.cleared, executed.smart)
    result, destination = executed.result, deployment.destination
    data = report_data(deployment.plan, result, destination, False, Ending(status, error))
    return data | extra


def dry_run_summary(
    plan: Plan,
    destination: str,
    files: list[SourceFile] | None = None,
    unchanged: int | None = None,
    reasons: tuple[tuple[str, int], ...] = (),
) -> Summary:
    """The summary of a dry run: ``files`` would be uploaded (every planned file if None)."""
    files = plan.all_files if files is None else files
    return Summary(
        destination=destination,
        profile=plan.profile.name,
        files=len(files),
        bytes=sum(f.size for f in files),
        left_out_files=len(plan.left_out),
        left_out_bytes=plan.left_out_bytes,
        dry_run=True,
        unchanged=unchanged,
        reasons=reasons,
    )


def render(summary: Summary) -> str:
    """One line in collectstatic's manner, naming the profile and what it left out."""
    s = summary
    if s.left_out_files:
        kept_back = (
            f"{plural(s.left_out_files, 'file')} ({format_size(s.left_out_bytes)}) "
            f"left out by profile '{s.profile}'"
        )
    else:
        kept_back = f"nothing left out by profile '{s.profile}'"
    if s.dry_run:
        return dry_run_line(s, kept_back)
    # collectstatic's own words first ("N static files copied to '...', U unmodified,
    # P post-processed"), so people and log parsers find what they know; ours after.
    head = f"{plural(s.files, 'static file')} {s.action} to '{s.destination}'"
    if s.unchanged is not None:
        head += f", {s.unchanged} unmodified"
    if s.post_processed:
        head += f", {s.post_processed} post-processed"
    # Local targets count originals, as collectstatic does: every file written after.
    written = f"{plural(s.written, 'file')}, " if s.written is not None else ""
    clauses = [f"{head} ({written}{format_size(s.bytes)} in {s.seconds:.1f}s)", kept_back]
    if s.failed:
        clauses.append(f"{s.failed} failed")
    if s.cancelled:
        clauses.append(f"{s.cancelled} not started")
    if s.retries:
        # Retries are normal under load, but many of them explain a slow run.
        clauses.append(f"{plural(s.retries, 'request')} retried after transient errors")
    if s.deleted is not None:
        clauses.append(
            f"{s.deleted} deleted by --clear"
            + (f", {s.delete_failed} could not be" if s.delete_failed else "")
        )
    if s.pruned is not None:
        clauses.append(f"{s.pruned} pruned")
    if s.prune_failed:
        clauses.append(f"{s.prune_failed} could not be pruned")
    return "; ".join(clauses) + "."


def dry_run_line(s: Summary, kept_back: str) -> str:
    """A dry run's summary line: what would be uploaded, skipped, pruned and deleted."""
    files = f"{plural(s.files, 'static file')} ({format_size(s.bytes)}"
    clauses = [
        f"{files}) would be uploaded to '{s.destination}'"
        + (f" ({', '.join(f'{n} {why}' for why, n in s.reasons)})" if s.reasons else "")
    ]
    if s.unchanged is not None:
        clauses.append(f"{s.unchanged} unchanged would be skipped")
    if s.pruned is not None:
        clauses.append(f"{s.pruned} stale would be pruned")
    clauses.append(kept_back)
    if s.deleted is not None:
        clauses.append(f"{s.deleted} would be deleted by --clear first")
    return "; ".join(clauses) + ". Dry run: nothing was written."


def file_line(outcome: Outcome, linked: bool = False) -> str:
    """The -v 2 line for a file that landed or was skipped, in collectstatic's words."""
    dest = outcome.source.dest
    if outcome.status == SKIPPED:
        return f"Skipping '{dest}' (not modified)"
    return f"{'Linking' if linked else 'Copying'} '{dest}'"


# The JSON report's layout; raised when a key changes meaning or goes (docs/command.md).
SCHEMA = 2
WOULD_UPLOAD = "would_upload"


@dataclass(frozen=True)
class Ending:
    """How the run ended, for the report: its exit status and closing error."""

    exit_status: int = 0
    error: str | None = None


def report_data(
    plan: Plan | None,
    done: UploadResult | Sequence[Verdict] | None,
    destination: str,
    dry_run: bool,
    ending: Ending = Ending(),
) -> dict[str, Any]:
    """The JSON report, the same for a dry run and a real one (docs/command.md), before
    the sections of the run's options, which the caller adds.

    ``done``: the upload's result, or each selected file's verdict (a dry run's status
    and reason). Without either, a run that ended before its uploads lists each selected
    file as ``cancelled``: not started.
    """
    files = file_rows(plan.all_files if plan else [], done, dry_run)
    files.sort(key=lambda f: f["destination"])
    result = done if isinstance(done, UploadResult) else None
    left_out = plan.left_out if plan else []
    return {
        "schema": SCHEMA,
        "exit_status": ending.exit_status,
        "error": ending.error or None,
        "profile": plan.profile.name if plan else None,
        "destination": destination,
        "dry_run": dry_run,
        "seconds": round(result.seconds, 3) if result else 0.0,
        "retries": result.retries if result else 0,
        "totals": totals(files, (len(plan.all_files) if plan else 0) + len(left_out), left_out),
        "files": files,
        "left_out": sorted(s.dest for s in left_out),
    }


def file_rows(
    selected: Sequence[SourceFile], done: UploadResult | Sequence[Verdict] | None, dry_run: bool
) -> list[dict[str, Any]]:
    """The report's line for each file: what happened to it, or would."""
    if isinstance(done, UploadResult):
        return [
            {
                "destination": o.source.dest,
                "bytes": o.source.size,
                "status": o.status,
                "error": o.error or None,
                "seconds": round(o.seconds, 4),
            }
            for o in done.outcomes
        ]
    if done is not None:
        return [
            {"destination": s.dest, "bytes": s.size, "status": status, "reason": why}
            for s, status, why in done
        ]
    return [
        {"destination": s.dest, "bytes": s.size, "status": CANCELLED, "error": None}
        for s in ([] if dry_run else selected)
    ]


def totals(
    files: list[dict[str, Any]], found: int, left_out: Sequence[SourceFile]
) -> dict[str, int]:
    """The report's counts and sizes, by status."""

    def count(status: str) -> int:
        return sum(f["status"] == status for f in files)

    def size(status: str) -> int:
        return sum(f["bytes"] for f in files if f["status"] == status)

    return {
        "found_files": found,
        "selected_files": len(files),
        "selected_bytes": sum(f["bytes"] for f in files),
        "left_out_files": len(left_out),
        "left_out_bytes": sum(f.size for f in left_out),
        "uploaded_files": count(UPLOADED),
        "uploaded_bytes": size(UPLOADED),
        "unchanged_files": count(SKIPPED),
        "failed_files": count(FAILED),
        "cancelled_files": count(CANCELLED),
        "would_upload_files": count(WOULD_UPLOAD),
        "would_upload_bytes": size(WOULD_UPLOAD),
    }


def check_writable(path: Path) -> None:
    """Refuse a report path that cannot be written, before anything is uploaded."""
    folder = path.parent
    if path.is_dir():
        raise ReportError(f"--report-json {path} is a folder; give a file name.")
    if not folder.is_dir():
        raise ReportError(
            f"--report-json {path}: the folder '{folder}' does not exist. Create it first."
        )
    if not os.access(folder, os.W_OK):
        raise ReportError(f"--report-json {path}: the folder '{folder}' is not writable.")


def question(deployment: Deployment) -> str:
    """What will be overwritten or deleted where; the run goes on only on 'yes'."""
    if deployment.clearing is None:
        warning = "Existing files with the same names will be overwritten.\n"
    elif deployment.clearing.everything:
        warning = "This will DELETE ALL FILES in this location!\n"
    else:
        warning = (
            f"This will DELETE the files profile '{deployment.plan.profile.name}' "
            "selects in this location (the files it leaves out stay)!\n"
        )
    return (
        f"\nYou have requested to upload static files to '{deployment.destination}'.\n"
        f"{warning}"
        "Are you sure you want to do this?\n\nType 'yes' to continue, or 'no' to cancel: "
    )


def profile_entries(catalog: Catalog, plans: Mapping[str, Plan]) -> Iterator[str]:
    """One entry per profile, two lines each: its name, origin and selection (its plan),
    then its description (or why it cannot be used)."""
    for name in catalog.names:
        if name in catalog.problems:
            yield f"{name}  [cannot be used]\n    {catalog.problems[name]}"
            continue
        plan = plans[name]
        profile = plan.profile
        yield (
            f"{name}  [{profile.origin}]  {len(plan.files)} files, "
            f"{format_size(plan.bytes)}\n    {profile.description}"
        )


class LivePrinter:
    """Which failures to print as they happen: each at -v 2, at -v 1 the first of a cause."""

    def __init__(self, verbosity: int) -> None:
        self.verbosity = verbosity
        self.seen: set[str] = set()

    def line(self, outcome: Outcome) -> str | None:
        """The line to print for this failure now, or None to stay quiet."""
        text = f"Failed to upload '{outcome.source.dest}': {one_line(outcome.error)}"
        if self.verbosity >= 2:
            return text
        if self.verbosity < 1:
            return None
        key = cause_of(outcome)
        if key in self.seen or len(self.seen) >= SHOWN_CAUSES:
            return None
        self.seen.add(key)
        return text + " (further files failing alike are counted, not printed)"


def closing_message(
    result: UploadResult, total: int, verbosity: int = 1, report: Path | None = None
) -> str:
    """The closing error: every cause once, with a count, an example and what to do."""
    causes = group(result.failed)
    head = f"{len(result.failed)} of {total} files failed to upload"
    if len(causes) == 1 and len(causes[0].outcomes) > LISTED_FILES:
        only = causes[0]
        names = ", ".join(o.source.dest for o in only.outcomes[:5])
        lines = [f"{head}, all with {only.example}", f"  among them: {names}, ..."]
    else:
        shown = causes if verbosity >= 2 else causes[:SHOWN_CAUSES]
        lines = [f"{head}:"] + [line for cause in shown for line in cause.lines()]
        hidden = len(causes) - len(shown)
        if hidden:
            where = (
                f"every file is listed in the report {report}"
                if report
                else "run with -v 2 to list every one"
            )
            lines.append(f"  ... and {hidden} other cause{'s' if hidden != 1 else ''} ({where}).")
    advice = list(dict.fromkeys(a for c in causes if (a := c.advice) is not None))
    lines += advice
    wrote, uploaded = sum(o.wrote for o in result.failed), result.count(UPLOADED)
    if not uploaded and wrote:
        # Nothing landed as planned, but these replaced what was online.
        rest = (
            f"{wrote} of the failed files replaced what was online before failing; "
            "nothing else was uploaded"
        )
    elif not uploaded:
        rest = "Nothing was uploaded"
    elif result.cancelled:
        rest = (
            f"{uploaded} file{'s' if uploaded != 1 else ''} "
            f"uploaded; {len(result.cancelled)} held back until the others land"
        )
    else:
        rest = "The other files were uploaded"
    retryable = any(c.advice is None for c in causes)
    lines.append(f"{rest}; {RETRY}." if retryable else f"{rest}.")
    return "\n".join(lines)


def report_extra(
    deployment: Deployment, cleared: ClearResult | None = None, recorded: Recorded | None = None
) -> dict[str, Any]:
    """The JSON report's sections for smart mode, --clear and --abort-uploads, when the
    run has them."""
    extra: dict[str, Any] = {}
    if deployment.smart:
        extra["smart"] = deployment.smart.report() | (recorded.report() if recorded else {})
        extra["smart"]["manifest_stored_as"] = deployment.manifest_listed
    if deployment.clearing:
        extra["clear"] = clear_report(deployment.clearing, cleared)
    if deployment.left_open:
        extra["abort_uploads"] = deployment.left_open.report()
    return extra


def exit_status(signum: int) -> int:
    """The shell's status for a process a signal ended: 130 for SIGINT, 143 for SIGTERM."""
    return 128 + signum


def closing_error(deployment: Deployment, executed: Executed, verbosity: int = 1) -> str | None:
    """The one error the run ends with, most urgent first; None when it succeeded.

    An interruption says how to finish; failed files come next, with their
    reasons, then failed deletes; a manifest that could not be written last,
    because the files themselves did land (a JSON report that could not be
    written is closing.py's to say).
    """
    result = executed.result
    if executed.aborted:
        abandoned = sum(o.error == ABANDONED for o in result.failed)
        clauses = [f"{result.count(UPLOADED)} files were uploaded"]
        if abandoned:
            clauses.append(f"{abandoned} abandoned while being written")
        if result.cancelled:
            clauses.append(f"{len(result.cancelled)} not started")
        text = f"Aborted: {', '.join(clauses)}. Run the command again to finish."
        return text + leftovers_note(executed.leftovers)
    if executed.interrupted:
        return (
            f"Interrupted: {cleared_first(executed.cleared)}{result.count(UPLOADED)} files were "
            f"uploaded, {len(result.cancelled)} were not started. Run the command again "
            "to finish."
        )
    if result.failed:
        return closing_message(
            result, len(deployment.plan.all_files), verbosity, deployment.report_json
        )
    if executed.cleared and executed.cleared.failed:
        return clear_failures(executed.cleared)
    pruned = executed.pruned
    if pruned and pruned.failed:
        return prune_failures(pruned.failed)
    if pruned and pruned.refused:
        return pruned.refused
    return executed.manifest_error or (pruned.manifest_error if pruned else None)


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


def conflict_warning(run: Read | None, recorded: Recorded | None) -> str | None:
    """The terminal's word on entries dropped because another run wrote the same paths."""
    published = recorded.published if recorded else None
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


def cleared_first(cleared: ClearResult | None) -> str:
    """The clause naming what --clear deleted before the run stopped, if anything."""
    if not cleared or not cleared.deleted:
        return ""
    return f"--clear deleted {plural(len(cleared.deleted), 'file')} first; "


def interrupted_message(cleared: ClearResult | None) -> str:
    """The closing error of a run a signal ended before its uploads (``cleared``: what
    --clear deleted first)."""
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


def smart_dry_run(
    dry: DryRun, plan: Plan, destination: str
) -> tuple[list[str], list[str], Summary]:
    """A smart dry run's lines for each file to upload and each unchanged one, and its summary."""
    verdicts = dry.verdicts or ()  # a smart dry run gives each file's
    upload = [
        (s, why)
        for s, status, why in verdicts
        if status == WOULD_UPLOAD and s.dest not in dry.refused
    ]
    unchanged = [s for s, status, _ in verdicts if status == SKIPPED]
    would = [f"Would upload '{s.dest}' ({why}, {format_size(s.size)})" for s, why in upload]
    skip = [f"Unchanged, would skip '{s.dest}'" for s in unchanged]
    reasons = tuple(
        (r, n)
        for r in (NEW, CHANGED, PARAMETERS, FORCED)
        if (n := sum(why == r for _, why in upload))
    )
    summary = dry_run_summary(
        plan, destination, [s for s, _ in upload], unchanged=len(unchanged), reasons=reasons
    )
    return would, skip, summary


def clear_failures(result: ClearResult, listed: int = 3) -> str:
    failed = sorted(result.failed.items())
    lines = "\n".join(f"  {name}: {error}" for name, error in failed[:listed])
    if len(failed) > listed:
        lines += f"\n  ... and {len(failed) - listed} more (-v 2 and --report-json list each)."
    advice = dict.fromkeys(verdict(error) for _, error in failed)
    return f"--clear: {len(failed)} files could not be deleted:\n{lines}\n" + "\n".join(advice)


def clear_report(plan: ClearPlan, result: ClearResult | None) -> dict[str, object]:
    """The ``clear`` section of the JSON report."""
    data: dict[str, object] = {
        "selected": sorted(plan.names),
        "refused": plan.refused,
        "folder_markers": plan.markers,
    }
    if result is not None:
        data["deleted"] = sorted(result.deleted)
        data["failed"] = [{"destination": n, "error": e} for n, e in sorted(result.failed.items())]
    return data


def prune_failures(failed: dict[str, str], shown: int = 3) -> str:
    """The error a run ends with when some deletes failed: each path and its reason."""
    lines = [f"  {path}: {why}" for path, why in list(failed.items())[:shown]]
    if len(failed) > shown:
        lines.append(f"  ... and {len(failed) - shown} more (-v 2 and --report-json list each)")
    count = len(failed)
    advice = " ".join(dict.fromkeys(verdict(why) for why in failed.values()))
    return (
        f"{count} stale file{'' if count == 1 else 's'} could not be pruned:\n"
        + "\n".join(lines)
        + "\nThe deploy itself landed; they stay recorded in the deploy manifest for the "
        f"next --prune run. {advice}"
    )


# The level of a dry run's line said as a warning, at any verbosity.
WARNING = -1


def dry_run_lines(deployment: Deployment, dry: DryRun) -> tuple[Iterator[tuple[str, int]], Summary]:
    """A dry run's lines, each with the verbosity it shows from, and its summary. The
    lines are made as they are read: one per file, never all at once."""
    plan, run = deployment.plan, deployment.smart
    lines: list[Iterable[tuple[str, int]]] = []
    if run:
        upload, unchanged, summary = smart_dry_run(dry, plan, deployment.destination)
        lines += [[(text, 1) for text in upload], [(text, 2) for text in unchanged]]
        if dry.prune_refused:
            stop = f"--prune would stop before deleting anything: {dry.prune_refused}"
            lines.append([(stop, WARNING)])
        if dry.doomed is not None:
            lines.append([(f"Would prune '{path}'", 1) for path in dry.doomed])
            summary = replace(summary, pruned=len(dry.doomed))
        kept = dry.prune_kept or {}
        lines.append([(f"Would not prune '{path}': {why}", 2) for path, why in kept.items()])
    else:
        sendable = [s for s in plan.all_files if s.dest not in dry.refused]
        summary = dry_run_summary(plan, deployment.destination, sendable)
        lines.append((f"Would upload '{s.dest}' ({format_size(s.size)})", 1) for s in sendable)
    lines.append((f"Left out by the profile: '{s.dest}'", 2) for s in plan.left_out)
    if deployment.left_open:
        uploads = deployment.left_open.uploads
        lines.append([(f"Would abort an upload left open: '{name}'", 1) for name, _ in uploads])
    if deployment.clearing:
        lines.append([(f"Would delete '{name}'", 1) for name in deployment.clearing.names])
        summary = replace(summary, deleted=len(deployment.clearing.names))
    if dry.invalidation:
        lines.append(would_invalidate_lines(dry.invalidation))
    return chain.from_iterable(lines), summary


def would_invalidate_lines(would: WouldInvalidate) -> list[tuple[str, int]]:
    """Each changed path at -v 2, then what the CDN would be asked."""
    lines = [(f"Would invalidate '{path}'", 2) for path in would.changed]
    paths = would.paths
    if not paths:
        return [*lines, (f"Nothing to invalidate on {would.cdn}.", 1)]
    what = f"'{paths[0]}'" if len(paths) == 1 and paths[0].endswith("*") else None
    text = (
        f"Would invalidate {what or plural(len(paths), 'path')} on {would.cdn}"
        + (f" ({len(would.changed)} changed paths)" if what else "")
        + "."
    )
    return [*lines, (text, 1)]


def dry_run_report(deployment: Deployment, dry: DryRun) -> dict[str, Any]:
    """A dry run's JSON report."""
    run = deployment.smart
    extra: dict[str, Any] = {"smart": run.report()} if run else {}
    if dry.doomed is not None:
        extra["would_prune"] = list(dry.doomed)
    if dry.prune_kept is not None:
        extra["prune_kept"] = dict(dry.prune_kept)
    if (would := dry.invalidation) is not None:
        changed = len(would.changed)
        extra["invalidation"] = {
            "cdn": would.cdn,
            "paths": list(would.paths),
            "changed_paths": changed,
        }
    extra |= report_extra(deployment)
    plan, verdicts = deployment.plan, dry.verdicts
    if verdicts is None:
        verdicts = tuple((s, WOULD_UPLOAD, None) for s in plan.all_files)
    return report_data(plan, verdicts, deployment.destination, True) | extra


def would_fail(refused: Mapping[str, str]) -> str | None:
    """A dry run's closing error: the files the real run would fail, as it would."""
    if not refused:
        return None
    listed = "\n".join(f"  {dest}: {why}" for dest, why in sorted(refused.items())[:20])
    return (
        f"{plural(len(refused), 'file')} would fail to upload:\n{listed}\n"
        "The others would be uploaded."
    )
