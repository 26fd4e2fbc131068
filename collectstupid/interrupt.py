"""SIGINT and SIGTERM for the whole run. Before the first write the first signal stops it;
during the uploads the first starts nothing new and the second gives up on those in flight;
a deploy manifest write is cut short only by the second signal (the third, if the second came
during the uploads). Cleanup is never cut short. See docs/failure-modes.md.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from collectstupid.errors import Interrupted

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
    """Route SIGINT and SIGTERM to a :class:`Signals` for the block's duration."""
    signals = Signals()
    if threading.current_thread() is not threading.main_thread():
        yield signals  # signals only reach the main thread; nothing to install
        return
    previous = {sig: signal.signal(sig, signals.handle) for sig in SIGNALS}
    try:
        yield signals
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
