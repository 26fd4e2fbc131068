"""The writes of a deploy, in their order: --abort-uploads and --clear's deletions first,
then every file (--link makes symlinks), the manifests that name them last, the deploy
manifest, --prune's deletions; then the finish: the CDN, the report and the summary
(report.py renders them). SIGINT and SIGTERM stop the run where it is safe to stop.
See docs/lifecycle.md and docs/failure-modes.md.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from django.core.files.storage import Storage

from collectstupid import clear, closing, output, overlap, prune, report, smart
from collectstupid.backends import Backend
from collectstupid.cdn import invalidate
from collectstupid.collect import SourceFile
from collectstupid.deployment import Deployment, Executed, LeftOpen
from collectstupid.errors import CollectStupidError, Interrupted, ManifestError
from collectstupid.interruptible import offloaded
from collectstupid.outcomes import CANCELLED, FAILED, UPLOADED, ClearResult, Outcome, UploadResult
from collectstupid.output import Output, ProgressBar
from collectstupid.report import manifest_cut_short, report_extra
from collectstupid.smart_values import Read, Recorded
from collectstupid.stage import adopt_manifest
from collectstupid.upload import Pool, Writer, not_started, upload_in_order


def abort_and_clear(deployment: Deployment, cleared: ClearResult | None, out: Output) -> None:
    """--abort-uploads, then --clear: abort and delete before the upload; ``cleared`` is
    filled as deletes land, so a run a signal stops there can still say them."""
    if deployment.left_open:
        abort_left_uploads(deployment.left_open, deployment.backend, out)
    clearing, run = deployment.clearing, deployment.smart
    if clearing is None or cleared is None:
        return

    def on_deleted(name: str, error: str) -> None:
        if error:
            # Each at -v 2; the closing error names the first few and the cause once.
            if out.verbosity >= 2:
                out.error(f"Failed to delete '{name}': {error}")
        else:
            out.say(f"Deleting '{name}'", level=2)

    deleter = clear.Deleter(deployment.backend, deployment.threads, on_deleted)
    clear.clear(deleter, clearing, cleared, run.store if run else None, run.base if run else None)


def abort_left_uploads(left: LeftOpen, backend: Backend, out: Output) -> None:
    """--abort-uploads: before this run opens any, abort the uploads left open."""
    left.aborted, left.problems = backend.abort_left_uploads(left.uploads)
    for name in left.aborted:
        out.say(f"Aborted an upload left open: '{name}'", level=2)
    out.say(f"{report.plural(len(left.aborted), 'upload')} left open aborted.", level=1)
    for problem in left.problems:
        out.warn(f"Could not abort an upload left open: {problem}")


def write_files(
    deployment: Deployment, cleared: ClearResult | None, signals: Signals, out: Output
) -> Executed:
    """Every file once, the manifests that name them last, then the deploy manifest;
    ``cleared``: what --clear deleted first."""
    plan, backend = deployment.plan, deployment.backend
    with out.progress(plan.bytes, len(plan.all_files)) as bar:
        on_done = file_reporter(deployment, bar, out)
        backend.prepare(deployment.threads)
        retried_before = backend.retries
        prepared, refused = smart_prepared(deployment, cleared, signals, out)
        if refused is not None:
            # The manifest could not stop vouching for the old files: send none.
            unsent = not_started(plan.all_files, "the manifest could not be updated first")
            unsent.retries = backend.retries - retried_before
            stopped = Executed(unsent, manifest_error=refused, cleared=cleared)
            return counted(deployment, stopped)
        writer = smart.SmartWriter(prepared.decided) if prepared else None
        result, leftovers = sent(deployment, signals, on_done, bar, writer)
    for note in backend.notes():
        out.say(note, level=2)
    complete = not (result.failed or result.cancelled)
    written = smart.Written(prepared, writer, complete) if prepared and writer else None
    smart_record = recorded(deployment, written, signals)
    run = prepared.run if prepared else None
    pruned = pruned_after(deployment, run, smart_record, signals, out)
    result.retries = backend.retries - retried_before
    staged = deployment.staged
    if staged and staged.hashed_files is not None and not (result.failed or result.cancelled):
        adopt_manifest(staged.hashed_files, staged.manifest_hash)
    return counted(
        deployment,
        Executed(
            result,
            signals.stop.is_set(),
            smart_record.error if smart_record else None,
            pruned=pruned,
            aborted=signals.abort.is_set(),
            leftovers=leftovers,
            signum=signals.last if signals.received else None,
            cleared=cleared,
            smart=smart_record,
        ),
    )


def file_reporter(
    deployment: Deployment, bar: ProgressBar, out: Output
) -> Callable[[Outcome], None]:
    """What to do as each file is done: move the bar, say the file's line or failure."""
    failed = report.LivePrinter(out.verbosity)
    linked = deployment.link is not None

    def on_done(outcome: Outcome) -> None:
        bar.update(outcome.source.size)
        if outcome.status == FAILED:
            if (line := failed.line(outcome)) is not None:
                out.error(line)
        elif outcome.status != CANCELLED:
            # Only what was sent (or skipped as unchanged): a file never started,
            # such as a manifest held back, gets no "Copying" line.
            out.say(report.file_line(outcome, linked), level=2)

    return on_done


def smart_prepared(
    deployment: Deployment, cleared: ClearResult | None, signals: Signals, out: Output
) -> tuple[smart.Prepared | None, str | None]:
    """Smart mode: hash the files and mark them as being written in the manifest, against
    the manifest as --clear left it (``cleared``); or why the manifest could not be marked."""
    run = deployment.smart
    if run is None:
        return None, None
    if cleared is not None and cleared.manifest is not None:
        run = smart.cleared(run, cleared.manifest)
    try:
        # Hashing, then a manifest write: a first signal lets them finish (and no
        # upload starts after), a second stops the run; any marker the write left
        # is one the next run takes over, as from a run that died.
        with signals.raising(after=1):
            prepared = smart.prepare(run, deployment.plan, deployment.threads, deployment.backend)
    except ManifestError as exc:
        return None, str(exc)
    warning = overlap.warning(run, prepared.decided, deployment.plan.profile.name)
    if warning is not None:
        out.warn(warning)
    return prepared, None


def sent(
    deployment: Deployment,
    signals: Signals,
    on_done: Callable[[Outcome], None],
    bar: ProgressBar,
    writer: smart.SmartWriter | None,
) -> tuple[UploadResult, list[str]]:
    """Every file through the pool, the manifests that name them last; and what of the
    writes a signal gave up on could not be undone."""
    backend, plan = deployment.backend, deployment.plan
    returned = False
    leftovers: list[str] = []
    try:
        write: Writer = backend.write
        if deployment.link is not None:
            write = link_writer(backend.storage, deployment.link, write)
        write = writer.wrap(write) if writer else write
        pool = Pool(
            deployment.threads,
            on_done,
            signals.stop,
            backend.describe_error,
            signals.abort,
            inline=backend.inline_writes,
            keep_done=reads_files_sent(deployment),
        )
        result = upload_in_order(plan.files, plan.last, write, pool)
        returned = True
    finally:
        bar.close()
        if not returned or signals.abort.is_set():
            # Workers may still be sending: what they started must not stay open.
            leftovers = backend.abort_writes()
    return result, leftovers


def reads_files_sent(deployment: Deployment) -> bool:
    """Whether the finish reads which files were sent, not only how many: the JSON
    report's rows, the CDN's paths, collectstatic's counts of a staged run. Without
    them a run keeps no outcome per file that landed, so its memory does not grow
    with the site."""
    return bool(deployment.report_json or deployment.invalidation or deployment.staged)


def recorded(
    deployment: Deployment, written: smart.Written | None, signals: Signals
) -> Recorded | None:
    """Smart mode: the deploy manifest records what landed; why it could not, if so.

    Last of all writes, after plan.last: the manifest records only what landed (an
    aborted run's files in flight count as failed). A signal that the run has not had
    yet waits for it: cut short, it would leave the old manifest describing files this
    run replaced. One more cuts it short.
    """
    if written is None:
        return None
    run = written.prepared.run
    try:
        with signals.raising(after=2 if signals.abort.is_set() else 1):
            return smart.record(run, written, deployment.backend.describe_error)
    except Interrupted:
        reasons = dict(written.writer.reasons)
        cut_short = manifest_cut_short(run.store.name)
        return Recorded(written.prepared.current, reasons=reasons, error=cut_short)


def pruned_after(
    deployment: Deployment,
    run: Read | None,
    recorded: Recorded | None,
    signals: Signals,
    out: Output,
) -> prune.Pruned | None:
    """--prune's deletions, after everything, and not once a signal asked to stop: the
    manifest keeps the doomed paths, so the next --prune run deletes them."""
    if not (run and run.prune and recorded) or signals.stop.is_set():
        return None
    pruned = prune.prune(
        run,
        recorded,
        deployment.backend,
        deployment.threads,
        on_deleted=lambda path: out.say(f"Pruned '{path}'", level=2),
    )
    for path, why in pruned.kept.items():
        out.say(f"Not pruning '{path}': {why}", level=2)
    if pruned.held:
        out.warn(pruned.held)
    # Each at -v 2; the closing error names the first few and the cause once.
    for path, why in pruned.failed.items() if out.verbosity >= 2 else ():
        out.error(f"Could not prune '{path}': {why}")
    return pruned


def counted(deployment: Deployment, executed: Executed) -> Executed:
    """``executed`` with the counts collectstatic gives, where the target uses them."""
    staged, run = deployment.staged, deployment.smart
    if staged is None:
        return executed
    counts = deployment.backend.collectstatic_counts(
        deployment.plan, executed.result, staged, smart=run is not None
    )
    return replace(executed, counts=counts)


def link_writer(storage: Storage, originals: Iterable[SourceFile], copy: Writer) -> Writer:
    """Link each of ``originals`` into ``storage``; hand any other file to ``copy``."""
    linkable = {id(source) for source in originals}

    def write(source: SourceFile) -> str | None:
        if id(source) not in linkable:
            return copy(source)
        try:
            target = source.storage.path(source.path)
        except NotImplementedError:
            return copy(source)  # a finder with remote files: nothing local to link to
        full_path = storage.path(source.dest)
        os.makedirs(os.path.dirname(full_path), exist_ok=True)
        # A file, or a link from an earlier run, is replaced, never written through.
        if os.path.lexists(full_path):
            os.unlink(full_path)
        os.symlink(os.path.abspath(target), full_path)
        return UPLOADED

    return write


def finish(deployment: Deployment, executed: Executed, out: Output) -> None:
    """The CDN, then the report, the summary line, and the error the run ends with."""
    invalidated = invalidate.after_deploy(deployment, executed, out)
    closing.end_run(out, deployment, executed, invalidated)


def report_failure(
    path: Path | None,
    deployment: Deployment | None,
    cleared: ClearResult | None,
    ending: report.Ending,
    dry_run: bool,
) -> None:
    """The JSON report of a run that ended before its own report was written
    (``cleared``: what --clear deleted first).

    Best effort: the closing error stands whether or not this can be written.
    """
    if path is None:
        return
    data = report.report_data(
        deployment.plan if deployment else None,
        None,
        deployment.destination if deployment else "",
        dry_run,
        ending,
    )
    if deployment:
        data |= report_extra(deployment, cleared)
    with contextlib.suppress(CollectStupidError):
        output.write_json(path, data)


# SIGINT and SIGTERM for the whole run. Before the first write the first signal stops it;
# during the uploads the first starts nothing new and the second gives up on those in
# flight; a deploy manifest write is cut short only by the second signal (the third, if
# the second came during the uploads). Cleanup is never cut short.

SIGNALS = (signal.SIGINT, signal.SIGTERM)


STOPPING = (
    "Stopping: nothing new starts, what is in flight finishes. Send the signal again to abort.\n"
)
ABORTING = "Aborting: undoing the uploads in flight, then exiting.\n"


def tell_stderr(text: str) -> None:
    # Straight to the file descriptor: the handler may run while the main thread
    # is inside a write to sys.stderr, and buffered streams refuse re-entry.
    with contextlib.suppress(OSError):
        os.write(2, text.encode())


class Signals:
    """What the run has been told so far, and when a signal must raise.

    A signal that does not raise says on stderr what it did (``tell``), so the
    person who sent it knows whether to send another.
    """

    def __init__(self, tell: Callable[[str], None] = tell_stderr) -> None:
        self.stop = threading.Event()  # start no new upload
        self.abort = threading.Event()  # give up on the uploads in flight
        self.received: list[int] = []
        self._raise_after: int | None = None  # raise on the signal past this count
        self._tell = tell

    @property
    def last(self) -> int:
        """The number of the signal that ended the run (0 if none came)."""
        return self.received[-1] if self.received else 0

    def handle(self, signum: int, frame: object = None) -> None:
        self.received.append(signum)
        self.stop.set()
        if len(self.received) >= 2:
            self.abort.set()
        self._maybe_raise()
        self._tell(STOPPING if len(self.received) == 1 else ABORTING)

    def _maybe_raise(self) -> None:
        if self._raise_after is not None and len(self.received) > self._raise_after:
            # Once only: the cleanup the exception sets off must run to its end.
            self._raise_after = None
            raise Interrupted(self.last)

    @contextmanager
    def raising(self, after: int) -> Iterator[None]:
        """Within the block, the signal that makes more than ``after`` raises
        :class:`Interrupted`; one that already came raises on entry."""
        previous, self._raise_after = self._raise_after, after
        try:
            self._maybe_raise()
            yield
        finally:
            self._raise_after = previous


@contextmanager
def signals_handled() -> Iterator[Signals]:
    """Route SIGINT and SIGTERM to a :class:`Signals` for the block's duration.

    Meanwhile the main thread's calls that wait on the network wait in a way a
    signal cuts short (see interruptible.py); nothing else of the process's signal
    state changes.
    """
    signals = Signals()
    if threading.current_thread() is not threading.main_thread():
        yield signals  # signals only reach the main thread; nothing to install
        return
    previous = {sig: signal.signal(sig, signals.handle) for sig in SIGNALS}
    try:
        with offloaded():
            yield signals
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
