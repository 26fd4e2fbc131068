"""Write each planned file once through the target storage, many at a time.

Every failure is kept with its file; nothing is swallowed and nothing is
retried here (the storage's client does its own retries). Nothing here knows
which storage is written to: the writer and the reasons come from a backend.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from queue import Empty, SimpleQueue

from collectstupid.collect import SourceFile
from collectstupid.errors import NameNotUTF8
from collectstupid.outcomes import ABANDONED, CANCELLED, FAILED, UPLOADED, Outcome, UploadResult
from collectstupid.output import describe_error


def check_name(dest: str) -> None:
    """Refuse a destination path no storage key can hold: one that is not UTF-8.

    A file name in another encoding reaches Python with its undecodable bytes
    as lone surrogates; S3 keys, blob names and the deploy manifest are UTF-8.
    """
    try:
        dest.encode("utf-8")
    except UnicodeEncodeError:
        raise NameNotUTF8(
            "its name is not valid UTF-8, which storage keys must be, so it is never "
            "sent; rename the file"
        ) from None


def why_unnamed(dest: str) -> str:
    """Why no storage key can hold ``dest``, or ''."""
    try:
        check_name(dest)
    except NameNotUTF8 as exc:
        return str(exc)
    return ""


# A writer sends one file and says what it did: UPLOADED (None means the same),
# or SKIPPED when it decided the file need not be sent.
Writer = Callable[[SourceFile], str | None]
Progress = Callable[[Outcome], None]
Describe = Callable[[BaseException], str]


@dataclass(frozen=True)
class Pool:
    """How files are written: ``threads`` workers until ``stop`` is set; the calling
    thread runs ``on_done`` for every outcome, and ``describe`` turns a failure
    into its one-line reason."""

    threads: int
    on_done: Progress | None = None
    stop: threading.Event = field(default_factory=threading.Event)
    describe: Describe = describe_error
    # Set (after ``stop``) to stop waiting for the writes in flight: each gets a
    # FAILED outcome at once, and whatever it leaves open is the caller's to undo.
    abort: threading.Event = field(default_factory=threading.Event)
    # Write in the calling thread, one file after another (``threads`` unused): for
    # writes that never wait on a network, which a worker would only slow down
    # with switches between threads.
    inline: bool = False
    # Keep the outcome of every file, not only of those that failed or were not started
    # (see UploadResult): what reads the files sent afterwards asks for it.
    keep_done: bool = True


def upload(files: Iterable[SourceFile], write: Writer, pool: Pool) -> UploadResult:
    """Run ``write`` for every file on the pool's workers (in the calling thread, inline).

    Each worker takes the next file itself when it is free, so a stop request
    (SIGINT, SIGTERM) leaves the rest unstarted rather than queued, and the
    calling thread only collects outcomes: no future or wait per file. An
    abort request returns without waiting for the workers (a write may hang on
    the network); their files are ABANDONED failures.
    """
    result, started = UploadResult(keep_done=pool.keep_done), time.monotonic()
    queue = _Queue(files, pool.stop)

    def finish(outcome: Outcome) -> None:
        result.add(outcome)
        if pool.on_done:
            pool.on_done(outcome)

    if pool.inline:
        while (source := queue.take()) is not None:
            queue.hand_over(written(source, write, pool), finish)
    else:
        _on_workers(queue, write, pool, result, finish)
    with queue.lock:
        for outcome in not_started(queue.files, "the run was interrupted").outcomes:
            finish(outcome)
    result.seconds = time.monotonic() - started
    return result


def _on_workers(
    queue: _Queue, write: Writer, pool: Pool, result: UploadResult, finish: Progress
) -> None:
    """Write the queue's files on ``pool.threads`` workers, each outcome to ``finish``."""
    outcomes: SimpleQueue[Outcome | None] = SimpleQueue()

    def work() -> None:
        try:
            while (source := queue.take()) is not None:
                queue.hand_over(written(source, write, pool), outcomes.put)
        finally:
            outcomes.put(None)  # this worker is done

    workers = [
        threading.Thread(target=work, name=f"collectstupid_{n}", daemon=True)
        for n in range(pool.threads)
    ]
    try:
        for worker in workers:
            worker.start()
        collect(outcomes, len(workers), pool.abort, finish)
    finally:
        queue.halt.set()
    if pool.abort.is_set():
        with queue.lock:
            abandon(list(queue.writing.values()), outcomes, finish)
    else:
        for worker in workers:
            worker.join()


class _Queue:
    """The files left to write, each taken by the first worker free."""

    def __init__(self, files: Iterable[SourceFile], stop: threading.Event) -> None:
        self.files, self.stop = iter(files), stop
        self.lock = threading.Lock()
        self.halt = threading.Event()  # the calling thread gave up: workers take nothing more
        # The files taken whose outcome is not handed over yet, by id: only those in
        # flight, never a second list of the files.
        self.writing: dict[int, SourceFile] = {}

    def take(self) -> SourceFile | None:
        with self.lock:
            if self.stop.is_set() or self.halt.is_set():
                return None
            source = next(self.files, None)
            if source is not None:
                self.writing[id(source)] = source
            return source

    def hand_over(self, outcome: Outcome, to: Callable[[Outcome], None]) -> None:
        """Pass ``outcome`` on, its file no longer in flight: under the lock, so an
        abort sees each file either in flight or with its outcome passed on."""
        with self.lock:
            del self.writing[id(outcome.source)]
            to(outcome)


def collect(
    outcomes: SimpleQueue[Outcome | None], running: int, abort: threading.Event, finish: Progress
) -> None:
    """Hand each outcome to ``finish`` until ``running`` workers are done, or an abort."""
    while running and not abort.is_set():
        try:
            # A timeout keeps the calling thread responsive to signals and aborts.
            outcome = outcomes.get(timeout=0.2)
        except Empty:
            continue
        if outcome is None:
            running -= 1
        else:
            finish(outcome)


def written(source: SourceFile, write: Writer, pool: Pool) -> Outcome:
    """``write`` one file, timed; whatever it raises is that file's outcome."""
    began = time.monotonic()
    try:
        check_name(source.dest)
        status = write(source) or UPLOADED
    except BaseException as exc:  # whatever it is, it is this file's outcome
        return failure(source, exc, pool)
    return Outcome(source, status, seconds=time.monotonic() - began)


def failure(source: SourceFile, exc: BaseException, pool: Pool) -> Outcome:
    return Outcome(source, FAILED, pool.describe(exc), wrote=getattr(exc, "wrote", False) is True)


def not_started(files: Iterable[SourceFile], why: str) -> UploadResult:
    """The result of a run that stopped before its first upload."""
    return UploadResult([Outcome(source, CANCELLED, f"not started: {why}") for source in files])


def abandon(
    writing: list[SourceFile], outcomes: SimpleQueue[Outcome | None], finish: Progress
) -> None:
    """Outcomes for an aborted pool: those already in, then ABANDONED for the files
    still ``writing``."""
    while True:
        try:
            outcome = outcomes.get_nowait()
        except Empty:
            break
        if outcome is not None:
            finish(outcome)
    for source in writing:
        finish(Outcome(source, FAILED, ABANDONED))


def largest_first(files: list[SourceFile]) -> list[SourceFile]:
    """``files`` by size, largest first; files of one size keep their order."""
    return sorted(files, key=lambda source: source.size, reverse=True)


def upload_in_order(
    files: list[SourceFile], last: list[SourceFile], write: Writer, pool: Pool
) -> UploadResult:
    """Upload ``files``, then ``last`` only if every one of them landed.

    ``last`` holds manifests that name the other files: publishing one before
    its content is in place would serve missing files.

    The largest files start first: a big file sent last would otherwise end the
    run alone, its parts going one after another while the other workers idle.
    """
    result = upload(largest_first(files), write, pool)
    if not last:
        return result
    if result.failed or result.cancelled or pool.stop.is_set():
        for source in last:
            outcome = Outcome(source, CANCELLED, "not uploaded: other files did not land")
            result.add(outcome)
            if pool.on_done:
                pool.on_done(outcome)
        return result
    result.absorb(upload(last, write, pool))
    return result
