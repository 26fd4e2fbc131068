"""What a run tells the user: the summary line, the progress bar, the JSON report."""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from collectstupid.collect import SourceFile
from collectstupid.errors import ReportError
from collectstupid.plan import Plan
from collectstupid.redact import redact
from collectstupid.upload import CANCELLED, FAILED, SKIPPED, UPLOADED, Outcome, UploadResult


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


def run_summary(
    plan: Plan,
    result: UploadResult,
    destination: str,
    post_processed: int = 0,
    smart: bool = False,
    pruned: int | None = None,
    prune_failed: int = 0,
    copied: int | None = None,
) -> Summary:
    """The summary of a run that wrote."""
    uploaded = result.uploaded
    return Summary(
        destination=destination,
        profile=plan.profile.name,
        files=len(uploaded) if copied is None else copied,
        bytes=sum(o.source.size for o in uploaded),
        left_out_files=len(plan.left_out),
        left_out_bytes=plan.left_out_bytes,
        seconds=result.seconds,
        failed=len(result.failed),
        cancelled=len(result.cancelled),
        retries=result.retries,
        post_processed=post_processed,
        written=None if copied is None else len(uploaded),
        unchanged=len(result.skipped) if smart else None,
        pruned=pruned,
        prune_failed=prune_failed,
    )


def dry_run_summary(
    plan: Plan,
    destination: str,
    files: list[SourceFile] | None = None,
    unchanged: int | None = None,
    reasons: tuple[tuple[str, int], ...] = (),
    pruned: int | None = None,
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
        pruned=pruned,
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
    files = f"{plural(s.files, 'static file')} ({format_size(s.bytes)}"
    if s.dry_run:
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


def file_line(outcome: Outcome, linked: bool = False) -> str:
    """The -v 2 line for a file that landed or was skipped, in collectstatic's words."""
    dest = outcome.source.dest
    if outcome.status == SKIPPED:
        return f"Skipping '{dest}' (not modified)"
    return f"{'Linking' if linked else 'Copying'} '{dest}'"


def terminal_width(stream: IO[str]) -> int:
    try:
        return os.get_terminal_size(stream.fileno()).columns
    except (AttributeError, OSError, ValueError):
        return 0


class ProgressBar:
    """A bar on stderr when it is a terminal: files, bytes, rate, time left."""

    def __init__(
        self, total_bytes: int, total_files: int, enabled: bool, stream: IO[str] | None = None
    ) -> None:
        stream = stream or sys.stderr
        self.enabled = enabled and stream.isatty()
        self.files = 0
        self.total_files = total_files
        self._bar = None
        if self.enabled:
            # Imported only for a terminal: most deploys run without one (CI, scripts).
            from tqdm import tqdm

            width = terminal_width(stream)
            self._bar = tqdm(
                total=total_bytes,
                unit="B",
                unit_scale=True,
                unit_divisor=1000,
                file=stream,
                leave=False,
                desc=f"0/{total_files} files",
                # Follow resizes, unless the terminal reports no size (a pty
                # nobody sized): tqdm would then draw nothing at all.
                dynamic_ncols=width > 0,
                ncols=None if width > 0 else 80,
                nrows=None if width > 0 else 24,
            )

    @contextlib.contextmanager
    def hidden(self) -> Iterator[None]:
        """Clear the bar while the caller prints a line, then draw it again below."""
        if self._bar is None:
            yield
            return
        with self._bar.external_write_mode(file=self._bar.fp):
            yield

    def update(self, size: int) -> None:
        """One more file done, of ``size`` bytes."""
        self.files += 1
        if self._bar is not None:
            self._bar.set_description_str(f"{self.files}/{self.total_files} files", refresh=False)
            self._bar.update(size)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None  # lines written after it need no room made


# The JSON report's layout; raised when a key changes meaning or goes (docs/command.md).
SCHEMA = 2
WOULD_UPLOAD = "would_upload"
# A dry run's unchanged file: what a real run reports for it.
UNCHANGED = SKIPPED


@dataclass(frozen=True)
class Ending:
    """How the run ended, for the report: its exit status and closing error."""

    exit_status: int = 0
    error: str | None = None


def report_data(
    plan: Plan | None,
    result: UploadResult | None,
    destination: str,
    dry_run: bool,
    extra: dict[str, Any] | None = None,
    would: list[tuple[SourceFile, str, str | None]] | None = None,
    ending: Ending = Ending(),
) -> dict[str, Any]:
    """The JSON report, the same for a dry run and a real one (docs/command.md).

    ``would``: a dry run's verdict for each selected file (status and reason).
    Without a result or ``would``, a run that ended before its uploads lists each
    selected file as ``cancelled``: not started.
    """
    selected = plan.all_files if plan else []
    outcomes = result.outcomes if result else []
    files: list[dict[str, Any]]
    if result is not None:
        files = [
            {
                "destination": o.source.dest,
                "bytes": o.source.size,
                "status": o.status,
                "error": o.error or None,
                "seconds": round(o.seconds, 4),
            }
            for o in outcomes
        ]
    elif would is not None:
        files = [
            {"destination": s.dest, "bytes": s.size, "status": status, "reason": why}
            for s, status, why in would
        ]
    else:
        files = [
            {"destination": s.dest, "bytes": s.size, "status": CANCELLED, "error": None}
            for s in ([] if dry_run else selected)
        ]
    files.sort(key=lambda f: f["destination"])

    def count(status: str) -> int:
        return sum(f["status"] == status for f in files)

    def size(status: str) -> int:
        return sum(f["bytes"] for f in files if f["status"] == status)

    left_out = plan.left_out if plan else []
    totals = {
        "found_files": len(selected) + len(left_out),
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
    data: dict[str, Any] = {
        "schema": SCHEMA,
        "exit_status": ending.exit_status,
        "error": redact(ending.error) if ending.error else None,
        "profile": plan.profile.name if plan else None,
        "destination": destination,
        "dry_run": dry_run,
        "seconds": round(result.seconds, 3) if result else 0.0,
        "retries": result.retries if result else 0,
        "totals": totals,
        "files": files,
        "left_out": sorted(s.dest for s in left_out),
    }
    if extra:
        data.update(extra)
    return data


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


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write the report whole, so a reader never sees half of it."""
    tmp = path.with_name(path.name + ".tmp")
    try:
        tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        tmp.replace(path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise ReportError(f"The report could not be written to {path}: {exc}.") from exc
