"""Requests the proxy keeps from the server until a test lets them go.

A hold makes a race deterministic: the client has sent the request (its body
may still be on the way) and waits for an answer, while the test does what it
needs at exactly that moment (signals the process, rewrites a file), then
releases the request, which goes on to the server untouched.
"""

from __future__ import annotations

import threading


class Hold:
    """Keeps back matching requests: ``operation`` (an S3 API name), on ``key`` if
    given, after letting the first ``skip`` of them through, at most ``count`` of them.
    """

    def __init__(
        self, operation: str, key: str | None = None, skip: int = 0, count: int = 1
    ) -> None:
        self.operation = operation
        self.key = key
        self.skip = skip
        self.count = count
        self._lock = threading.Lock()
        self._seen = 0
        self._held = 0
        self._some_held = threading.Condition(self._lock)
        self._released = threading.Event()

    def takes(self, operation: str, key: str) -> bool:
        """Whether this request is one to hold (counted as held if so)."""
        if operation != self.operation or (self.key is not None and key != self.key):
            return False
        with self._lock:
            self._seen += 1
            if self._seen <= self.skip or self._held >= self.count:
                return False
            self._held += 1
            self._some_held.notify_all()
            return True

    @property
    def held(self) -> int:
        """Requests held so far (released ones included)."""
        with self._lock:
            return self._held

    def wait_held(self, count: int | None = None, timeout: float = 30.0) -> None:
        """Block until ``count`` requests (all it may hold, by default) are held."""
        wanted = self.count if count is None else count
        with self._some_held:
            if not self._some_held.wait_for(lambda: self._held >= wanted, timeout):
                raise TimeoutError(
                    f"{self._held} of {wanted} {self.operation} requests held after {timeout} s"
                )

    @property
    def released(self) -> bool:
        return self._released.is_set()

    def release(self) -> None:
        """Let every held request (and any later match) go on to the server."""
        self._released.set()
