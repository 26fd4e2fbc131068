"""Write each planned file once through the target storage, many at a time.

Every failure is kept with its file; nothing is swallowed and nothing is
retried here (the storage's client does its own retries, which a writer may
count in a ``retries`` attribute).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field

from django.core.files.storage import Storage

from collectstupid.collect import SourceFile

UPLOADED = "uploaded"
SKIPPED = "skipped"
FAILED = "failed"
CANCELLED = "cancelled"


@dataclass(frozen=True)
class Outcome:
    source: SourceFile
    status: str
    error: str = ""
    seconds: float = 0.0


@dataclass
class UploadResult:
    outcomes: list[Outcome] = field(default_factory=list)
    seconds: float = 0.0
    # Requests the storage's client sent again after a transient error.
    retries: int = 0

    def with_status(self, status: str) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == status]

    @property
    def uploaded(self) -> list[Outcome]:
        return self.with_status(UPLOADED)

    @property
    def skipped(self) -> list[Outcome]:
        return self.with_status(SKIPPED)

    @property
    def failed(self) -> list[Outcome]:
        return self.with_status(FAILED)

    @property
    def cancelled(self) -> list[Outcome]:
        return self.with_status(CANCELLED)


# A writer sends one file and says what it did: UPLOADED (None means the same),
# or SKIPPED when it decided the file need not be sent.
Writer = Callable[[SourceFile], str | None]
Progress = Callable[[Outcome], None]


def describe_error(exc: BaseException) -> str:
    """A one-line reason; S3 errors keep their code, as S3 gave it."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict) and "Error" in response:
        error = response["Error"]
        return f"{error.get('Code', 'Error')}: {error.get('Message', '')}".strip().rstrip(":")
    text = str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {text}" if type(exc).__name__ not in text else text


def storage_writer(storage: Storage) -> Writer:
    """Write through ``storage.save()``: works for any Django storage."""

    def write(source: SourceFile) -> str:
        with source.storage.open(source.path) as content:
            storage.save(source.dest, content)
        return UPLOADED

    return write


def writer_for(storage: Storage, threads: int | None = None) -> Writer:
    """The fastest writer that honours every setting of this storage.

    django-storages' ``S3Storage`` (and subclasses that keep its ``save``) get
    the direct S3 writer; any other storage is written through its own
    ``save()``. ``threads`` sizes the S3 connection pool now; without it,
    ``upload()`` sizes it for its pool before the first file.
    """
    from collectstupid.s3storage import saves_like_s3storage

    if saves_like_s3storage(storage):
        from collectstupid.s3 import S3Writer

        return S3Writer(storage, threads)
    return storage_writer(storage)


def innermost(write: Writer) -> Writer:
    """The writer that does the writing: a wrapper exposes the one it wraps as ``inner``."""
    while hasattr(write, "inner"):
        write = write.inner
    return write


def retries_of(write: Writer) -> int:
    """How many requests the writer's client has retried so far (0 if it does not say)."""
    return int(getattr(innermost(write), "retries", 0))


def size_for(write: Writer, threads: int) -> None:
    """Let a writer that keeps connections open one per worker (see s3.py)."""
    sizer = getattr(innermost(write), "size_for", None)
    if sizer is not None:
        sizer(threads)


def upload(
    files: Iterable[SourceFile],
    write: Writer,
    threads: int,
    on_done: Progress | None = None,
    stop: threading.Event | None = None,
) -> UploadResult:
    """Run ``write`` for every file on a pool of ``threads`` workers.

    Files are handed to the pool a few at a time so that a stop request
    (SIGINT, SIGTERM) leaves the rest unstarted rather than queued.
    """
    stop = stop or threading.Event()
    result = UploadResult()
    started = time.monotonic()
    size_for(write, threads)
    retried_before = retries_of(write)
    pending: dict[Future[tuple[str, float]], SourceFile] = {}
    queue = iter(files)
    window = threads * 2

    def timed(source: SourceFile) -> tuple[str, float]:
        began = time.monotonic()
        status = write(source) or UPLOADED
        return status, time.monotonic() - began

    def finish(outcome: Outcome) -> None:
        result.outcomes.append(outcome)
        if on_done:
            on_done(outcome)

    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="collectstupid") as pool:
        exhausted = False
        while pending or not exhausted:
            while not exhausted and not stop.is_set() and len(pending) < window:
                source = next(queue, None)
                if source is None:
                    exhausted = True
                    break
                pending[pool.submit(timed, source)] = source
            if stop.is_set() and not exhausted:
                for source in queue:
                    finish(Outcome(source, CANCELLED, "not started: the run was interrupted"))
                exhausted = True
            if not pending:
                break
            done, _ = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
            for future in done:
                source = pending.pop(future)
                try:
                    status, seconds = future.result()
                except Exception as exc:
                    finish(Outcome(source, FAILED, describe_error(exc)))
                else:
                    finish(Outcome(source, status, seconds=seconds))
    result.seconds = time.monotonic() - started
    result.retries = retries_of(write) - retried_before
    return result


def upload_in_order(
    files: list[SourceFile],
    last: list[SourceFile],
    write: Writer,
    threads: int,
    on_done: Progress | None = None,
    stop: threading.Event | None = None,
) -> UploadResult:
    """Upload ``files``, then ``last`` only if every one of them landed.

    ``last`` holds manifests that name the other files: publishing one before
    its content is in place would serve missing files.
    """
    stop = stop or threading.Event()
    result = upload(files, write, threads, on_done, stop)
    if not last:
        return result
    if result.failed or result.cancelled or stop.is_set():
        for source in last:
            outcome = Outcome(source, CANCELLED, "not uploaded: other files did not land")
            result.outcomes.append(outcome)
            if on_done:
                on_done(outcome)
        return result
    tail = upload(last, write, threads, on_done, stop)
    result.outcomes += tail.outcomes
    result.seconds += tail.seconds
    result.retries += tail.retries
    return result
