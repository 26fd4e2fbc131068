"""Under GitHub Actions: a Markdown section of the job summary per run, and an annotation
for each failure cause and each warning, so they show at the top of the run's page.

``GITHUB_STEP_SUMMARY`` names the file the section is appended to; with
``GITHUB_ACTIONS=true`` failures and warnings become ``::error::`` and
``::warning::`` workflow commands. Outside GitHub Actions nothing changes.
Everything written passes redaction and ``output.printable``, then the escaping of its
place: a command's data, a table cell. See docs/ci.md.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from collectstupid import failures
from collectstupid.outcomes import Outcome
from collectstupid.output import Output, printable, redact
from collectstupid.report import Summary, format_size, plural

# Causes named in the summary, and files named per cause; the rest are counted.
SHOWN_CAUSES = 5
NAMED_FILES = 3
TITLE = "collectstupid"


@dataclass
class Run:
    """What the section and the annotations say about one run."""

    summary: Summary
    invalidation: str | None = None
    failed: list[Outcome] = field(default_factory=list)
    # The error the run ends with, when it is not the failed uploads themselves.
    error: str | None = None
    warnings: list[str] = field(default_factory=list)
    # The run's names that need escaping, raw to shown (Output.names).
    names: Mapping[str, str] = field(default_factory=dict)


def causes(run: Run) -> list[str]:
    """Each failure cause on one line: the error, how many files, the first few named."""
    lines = []
    for cause in failures.group(run.failed):
        names = ", ".join(o.source.dest for o in cause.outcomes[:NAMED_FILES])
        more = ", ..." if len(cause.outcomes) > NAMED_FILES else ""
        lines.append(
            f"{plural(len(cause.outcomes), 'file')} failed to upload: {cause.example} "
            f"({names}{more})"
        )
    if run.error:
        lines.append(failures.one_line(run.error))
    return lines


def _code(text: str) -> str:
    return "`" + printable(text).replace("`", "'").replace("|", "\\|") + "`"


def _cell(text: str, names: Mapping[str, str]) -> str:
    """``text`` in one table cell or list item: escaped, its own line breaks as spaces,
    so that nothing in it starts a row, a heading or a command."""
    return printable(text, names).replace("|", "\\|").replace("\n", " ")


def section(run: Run) -> str:
    """The job summary's Markdown section for one run."""
    s = run.summary
    lines = [_heading(run), "", *_table(run)]
    found = causes(run)
    if found or s.failed or s.cancelled:
        lines += ["", "**Failed**", ""]
        if s.failed and not run.failed:
            lines.append(f"- {plural(s.failed, 'file')} failed to upload")
        lines += [f"- {_cell(line, run.names)}" for line in found[:SHOWN_CAUSES]]
        if len(found) > SHOWN_CAUSES:
            lines.append(f"- ... and {len(found) - SHOWN_CAUSES} more causes")
        if s.cancelled:
            lines.append(f"- {plural(s.cancelled, 'file')} not started")
    if run.warnings:
        # Apart from the failures: a warning never failed the run.
        lines += ["", "**Warnings**", ""]
        lines += [f"- :warning: {_cell(failures.one_line(w), run.names)}" for w in run.warnings]
    return redact("\n".join(lines)) + "\n\n"


def _heading(run: Run) -> str:
    s = run.summary
    failed = bool(run.error or run.failed or s.failed or s.cancelled)
    dry = " (dry run)" if s.dry_run else ""
    return f"### {'❌' if failed else '✅'} collectstupid: profile {_code(s.profile)}{dry}"


def _table(run: Run) -> list[str]:
    """The run's figures as a two-column table; its first row is the header row."""
    s = run.summary
    verb = "Would copy" if s.dry_run else s.action.capitalize()
    files = f"{plural(s.files, 'file')} ({format_size(s.bytes)})"
    rows = [("Destination", _code(s.destination))]
    rows.append((verb, files if s.dry_run else f"{files} in {s.seconds:.1f}s"))
    if s.unchanged is not None:
        rows.append(("Unmodified", str(s.unchanged)))
    if s.post_processed:
        rows.append(("Post-processed", str(s.post_processed)))
    if s.pruned is not None:
        failed = f", {s.prune_failed} could not be" if s.prune_failed else ""
        rows.append(("Would prune" if s.dry_run else "Pruned", f"{s.pruned}{failed}"))
    if s.deleted is not None:
        rows.append(("Deleted by --clear", str(s.deleted)))
    left_out = f"{plural(s.left_out_files, 'file')} ({format_size(s.left_out_bytes)})"
    rows.append(("Left out", left_out))
    if run.invalidation:
        rows.append(("Invalidation", _cell(run.invalidation, run.names)))
    table = [f"| {name} | {value} |" for name, value in rows]
    return [table[0], "|---|---|", *table[1:]]


def escape_data(text: str) -> str:
    """A workflow command's message, escaped as the runner unescapes it."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def annotation(
    kind: str, text: str, file: str | None = None, names: Mapping[str, str] | None = None
) -> str:
    """A workflow command; ``file`` (relative to the workspace) places it on that file.
    Its message is shown as the terminal shows it (``names`` escaped), then escaped as
    the runner unescapes it, so it stays on its line."""
    where = f"file={escape_property(file)}," if file else ""
    data = escape_data(printable(redact(text), names))
    return f"::{kind} {where}title={escape_property(TITLE)}::{data}"


def annotation_lines(run: Run) -> list[str]:
    groups = failures.group(run.failed)
    files = [workspace_file(cause.outcomes[0]) for cause in groups]
    lines = [
        annotation("error", cause, files[i] if i < len(files) else None, run.names)
        for i, cause in enumerate(causes(run))
    ]
    return lines + [annotation("warning", w, names=run.names) for w in run.warnings]


def workspace_file(outcome: Outcome) -> str | None:
    """The source file of ``outcome`` relative to the checkout (``GITHUB_WORKSPACE``), for
    an annotation GitHub shows on that file; None for a file outside it (a hashed copy
    made in the staging folder) or without a local path."""
    try:
        path = Path(outcome.source.storage.path(outcome.source.path)).resolve()
    except (NotImplementedError, OSError, ValueError):
        return None
    root = Path(os.environ.get("GITHUB_WORKSPACE") or os.getcwd()).resolve()
    return path.relative_to(root).as_posix() if path.is_relative_to(root) else None


def publish(
    out: Output,
    summary: Summary,
    failed: Iterable[Outcome] = (),
    error: str | None = None,
    invalidation: str | None = None,
) -> None:
    """Append the run's section to the job summary and print its annotations; nothing
    outside GitHub Actions. A summary that cannot be written is a warning, not a failure."""
    run = Run(summary, invalidation, list(failed), error, list(out.warnings), out.names)
    _publish(out, annotation_lines(run), section(run))


def publish_section(out: Output, errors: list[str], markdown: str) -> None:
    """Append a section built elsewhere (--verify's) and annotate ``errors`` and the
    run's warnings; nothing outside GitHub Actions."""
    lines = [annotation("error", error, names=out.names) for error in errors]
    lines += [annotation("warning", warning, names=out.names) for warning in out.warnings]
    _publish(out, lines, redact(markdown))


def stopped(out: Output, error: str) -> None:
    """For a run that ends in an error before its summary (a wrong setting, a broken
    profile, a failed --clear): the error and the warnings, once."""
    if out.ci_reported:
        return
    names = out.names
    lines = [annotation("error", error, names=names)]
    lines += [annotation("warning", warning, names=names) for warning in out.warnings]
    text = [
        "### ❌ collectstupid: stopped",
        "",
        f"- {_cell(failures.one_line(error), names)}",
        *(f"- :warning: {_cell(failures.one_line(w), names)}" for w in out.warnings),
    ]
    _publish(out, lines, redact("\n".join(text)) + "\n\n")


def _publish(out: Output, lines: list[str], markdown: str) -> None:
    out.ci_reported = True
    if os.environ.get("GITHUB_ACTIONS") == "true":
        for line in lines:
            out.command(line)
    target = os.environ.get("GITHUB_STEP_SUMMARY")
    if target:
        try:
            with Path(target).open("a", encoding="utf-8") as handle:
                handle.write(markdown)
        except OSError as exc:
            out.warn(f"The job summary could not be written to {target}: {exc}.")
