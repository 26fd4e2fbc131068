"""What a run tells the user: the summary line, the progress bar, the JSON report."""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from tqdm import tqdm

from collectstupid.errors import CollectStupidError
from collectstupid.plan import Plan
from collectstupid.upload import Outcome, UploadResult


def format_size(size: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    raise AssertionError("unreachable")


def plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def left_out(plan: Plan) -> str:
    """What the profile kept back, for the summary line."""
    if not plan.left_out:
        return f"nothing left out by profile '{plan.profile.name}'"
    return (
        f"{plural(len(plan.left_out), 'file')} ({format_size(plan.left_out_bytes)}) "
        f"left out by profile '{plan.profile.name}'"
    )


def summary(plan: Plan, result: UploadResult | None, destination: str, dry_run: bool) -> str:
    """One line in collectstatic's manner, naming the profile and what it left out."""
    kept_back = left_out(plan)
    if dry_run or result is None:
        return (
            f"{plural(len(plan.all_files), 'static file')} ({format_size(plan.bytes)}) would be "
            f"uploaded to '{destination}'; {kept_back}. Dry run: nothing was written."
        )
    uploaded = result.uploaded
    sent = sum(o.source.size for o in uploaded)
    line = (
        f"{plural(len(uploaded), 'static file')} uploaded to '{destination}' "
        f"({format_size(sent)} in {result.seconds:.1f}s); {kept_back}"
    )
    if result.failed:
        line += f"; {len(result.failed)} failed"
    if result.cancelled:
        line += f"; {len(result.cancelled)} not started"
    if result.retries:
        # Retries are normal under load, but many of them explain a slow run.
        line += f"; {plural(result.retries, 'request')} retried after transient errors"
    return line + "."


def failures(result: UploadResult, total: int, listed: int = 20) -> str:
    """The closing error: each failed file with its reason, or the one reason they share."""
    failed = result.failed
    head = f"{len(failed)} of {total} files failed to upload"
    reasons = {o.error for o in failed}
    if len(failed) > 5 and len(reasons) == 1:
        # A wrong bucket or key fails every file alike: one line says it better than twenty.
        names = ", ".join(o.source.dest for o in failed[:5])
        lines = f", all with {reasons.pop()}\n  among them: {names}, ..."
    else:
        lines = ":\n" + "\n".join(f"  {o.source.dest}: {o.error}" for o in failed[:listed])
        if len(failed) > listed:
            lines += f"\n  ... and {len(failed) - listed} more (see --report-json)."
    if not result.uploaded:
        rest = "Nothing was uploaded"
    elif result.cancelled:
        rest = (f"{plural(len(result.uploaded), 'file')} uploaded; {len(result.cancelled)} "
                "held back until the others land")
    else:
        rest = "The other files were uploaded"
    return f"{head}{lines}\n{rest}; run the command again to retry."


def terminal_width(stream: IO[str]) -> int:
    try:
        return os.get_terminal_size(stream.fileno()).columns
    except (AttributeError, OSError, ValueError):
        return 0


class ProgressBar:
    """A bar on stderr when it is a terminal: files, bytes, rate, time left."""

    def __init__(self, total_bytes: int, total_files: int, enabled: bool,
                 stream: IO[str] | None = None) -> None:
        stream = stream or sys.stderr
        self.enabled = enabled and stream.isatty()
        self.files = 0
        self.total_files = total_files
        self._bar = None
        if self.enabled:
            width = terminal_width(stream)
            self._bar = tqdm(
                total=total_bytes, unit="B", unit_scale=True, unit_divisor=1000,
                file=stream, leave=False, desc=f"0/{total_files} files",
                # Follow resizes, unless the terminal reports no size (a pty
                # nobody sized): tqdm would then draw nothing at all.
                dynamic_ncols=width > 0, ncols=None if width > 0 else 80,
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

    def update(self, outcome: Outcome) -> None:
        self.files += 1
        if self._bar is not None:
            self._bar.set_description_str(f"{self.files}/{self.total_files} files", refresh=False)
            self._bar.update(outcome.source.size)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


def report_data(plan: Plan, result: UploadResult | None, destination: str,
                dry_run: bool, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    outcomes = result.outcomes if result else []
    data: dict[str, Any] = {
        "profile": plan.profile.name,
        "destination": destination,
        "dry_run": dry_run,
        "seconds": round(result.seconds, 3) if result else 0.0,
        "retries": result.retries if result else 0,
        "totals": {
            "selected_files": len(plan.files),
            "selected_bytes": plan.bytes,
            "left_out_files": len(plan.left_out),
            "left_out_bytes": plan.left_out_bytes,
            "uploaded_files": len(result.uploaded) if result else 0,
            "uploaded_bytes": sum(o.source.size for o in result.uploaded) if result else 0,
            "failed_files": len(result.failed) if result else 0,
            "cancelled_files": len(result.cancelled) if result else 0,
        },
        "files": [
            {
                "destination": o.source.dest,
                "bytes": o.source.size,
                "status": o.status,
                "error": o.error or None,
                "seconds": round(o.seconds, 4),
            }
            for o in sorted(outcomes, key=lambda o: o.source.dest)
        ],
    }
    if extra:
        data.update(extra)
    return data


def check_writable(path: Path) -> None:
    """Refuse a report path that cannot be written, before anything is uploaded."""
    folder = path.parent
    if path.is_dir():
        raise CollectStupidError(f"--report-json {path} is a folder; give a file name.")
    if not folder.is_dir():
        raise CollectStupidError(
            f"--report-json {path}: the folder '{folder}' does not exist. Create it first."
        )
    if not os.access(folder, os.W_OK):
        raise CollectStupidError(f"--report-json {path}: the folder '{folder}' is not writable.")


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write the report whole, so a reader never sees half of it."""
    tmp = path.with_name(path.name + ".tmp")
    try:
        tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        tmp.replace(path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise CollectStupidError(f"The report could not be written to {path}: {exc}.") from exc
