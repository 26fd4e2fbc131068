"""The main thread's waits on the network, made so a signal cuts them short, with no timer.

Python runs a signal handler only in the main thread, between two bytecodes. A signal
that lands as the main thread sleeps in a socket call, or that the kernel hands to
another thread, is handled only when the server answers, which a stalled server may
never do. So while a run handles signals (``offloaded``), every call of the main thread
that can wait on the network goes through ``call``: the call runs in a worker thread,
and the main thread waits for its answer in slices of ``TICK`` seconds. Each slice ends
back in Python, where any handler due runs; an exception it raises (``Interrupted``)
ends the wait there. The request given up on may still complete in its thread, which
then ends; no other call is made there.

The run's backend and its manifest stores (``InterruptibleBackend``) make every such
call this way. No handler, timer or wake-up fd is set for this: the process's signal
state stays its own.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from queue import Empty, SimpleQueue
from typing import Any, ParamSpec, TypeVar

from collectstupid.backends import Backend, Listed
from collectstupid.manifest import ManifestStore, Snapshot

# Seconds the main thread waits at most before it runs a handler due.
TICK = 0.1

P = ParamSpec("P")
T = TypeVar("T")
Answer = tuple[bool, Any]  # (True, the result) or (False, the exception raised)


class _Worker:
    """A daemon thread making the main thread's calls, one at a time.

    A daemon: one still waiting for a server never keeps the process from exiting.
    """

    def __init__(self) -> None:
        self.jobs: SimpleQueue[Callable[[], None] | None] = SimpleQueue()
        self.thread = threading.Thread(target=self._serve, name="collectstupid_wait", daemon=True)

    def _serve(self) -> None:
        while (job := self.jobs.get()) is not None:
            job()

    def stop(self) -> None:
        """End the thread once the call it is making, if any, returns."""
        self.jobs.put(None)


class _Offloader:
    """One run's worker, replaced when the main thread gives up on a call."""

    def __init__(self) -> None:
        self.worker: _Worker | None = None

    def call(self, fn: Callable[[], T]) -> T:
        answers: SimpleQueue[Answer] = SimpleQueue()
        worker, answered = self.worker, False
        try:
            if worker is None:
                # Started once it is known: a handler that raises as it starts stops it.
                worker = self.worker = _Worker()
                worker.thread.start()
            worker.jobs.put(functools.partial(_answer, fn, answers))
            ok, value = _wait(answers)
            answered = True
        finally:
            if not answered:
                # A handler raised: the call may go on waiting for its server there,
                # so the next call gets a thread of its own.
                if worker is not None:
                    worker.stop()
                self.worker = None
        if not ok:
            raise value
        return value

    def close(self) -> None:
        if self.worker is not None:
            self.worker.stop()
            self.worker = None


def _answer(fn: Callable[[], Any], answers: SimpleQueue[Answer]) -> None:
    try:
        answers.put((True, fn()))
    except BaseException as exc:  # the caller's to handle, raised in its own thread
        answers.put((False, exc))


def _wait(answers: SimpleQueue[Answer]) -> Answer:
    while True:
        try:
            return answers.get(timeout=TICK)
        except Empty:
            continue  # back in Python: a handler due has run, or raised


# The runs handling signals, innermost last; only the main thread reads or changes it.
_active: list[_Offloader] = []


@contextmanager
def offloaded() -> Iterator[None]:
    """While the block runs, :func:`call` from the main thread makes its call in a
    worker thread and waits for it in slices."""
    offloader = _Offloader()
    _active.append(offloader)
    try:
        yield
    finally:
        _active.remove(offloader)
        offloader.close()


def call(fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """``fn(*args, **kwargs)``; from the main thread within :func:`offloaded`, made
    so that a signal's handler runs, and may raise, while it waits."""
    if not _active or threading.current_thread() is not threading.main_thread():
        return fn(*args, **kwargs)
    return _active[-1].call(functools.partial(fn, *args, **kwargs))


class InterruptibleBackend:
    """``backend``, each of its calls that can wait on the network made with :func:`call`.

    Listings are read whole in the worker: a generator would wait on the network
    as the main thread iterates it.
    """

    def __init__(self, backend: Backend) -> None:
        self._backend = backend

    def __getattr__(self, name: str) -> Any:
        return getattr(self._backend, name)  # asks nothing remote, or is called by the workers

    def left_uploads(self) -> list[tuple[str, str]] | None:
        return call(self._backend.left_uploads)

    def abort_left_uploads(self, uploads: list[tuple[str, str]]) -> tuple[list[str], list[str]]:
        return call(self._backend.abort_left_uploads, uploads)

    def abort_writes(self) -> list[str]:
        return call(self._backend.abort_writes)

    def delete_many(self, names: Sequence[str], threads: int) -> dict[str, str]:
        return call(self._backend.delete_many, names, threads)

    def delete_listed(self, names: Sequence[str], threads: int) -> dict[str, str]:
        return call(self._backend.delete_listed, names, threads)

    def list_names(self) -> Iterator[str]:
        return iter(call(lambda: list(self._backend.list_names())))

    def list_objects(self) -> Iterator[Listed]:
        return iter(call(lambda: list(self._backend.list_objects())))

    def manifest_store(self, name: str) -> ManifestStore:
        return InterruptibleStore(self._backend.manifest_store(name))


class InterruptibleStore:
    """``store``, its reads and writes made with :func:`call`."""

    def __init__(self, store: ManifestStore) -> None:
        self._store = store
        self.name = store.name

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    def read(self) -> Snapshot:
        return call(self._store.read)

    def write(self, data: bytes, expected: Snapshot) -> str | None:
        return call(self._store.write, data, expected)
