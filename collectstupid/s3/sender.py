"""Which client sends a PutObject, in one place: a replayed request (replay.py) where the
fast path's guards allow it (fast_path.py), else botocore; the breaker that hands the rest
of the run to botocore after a replay fails without an answer; and the count of requests
sent again, whichever client sent them. Every file gets the attempts the storage's
settings give, no more, whichever way it went. See docs/cpu.md.
"""

from __future__ import annotations

import threading
from typing import IO, Any

from botocore.client import BaseClient

from collectstupid.conf import get_settings
from collectstupid.s3 import client as clients
from collectstupid.s3 import fast_path
from collectstupid.s3.client import S3Client, attempts
from collectstupid.s3.file_slice import FileSlice
from collectstupid.s3.replay import LOST, MAX_SIZE, SENT, UNTRIED, Replay, Replayed


class RetryCounter:
    """Counts HTTP attempts after the first of each file or API call, in every thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._count = 0

    @property
    def count(self) -> int:
        with self._lock:
            return self._count

    def add(self) -> None:
        with self._lock:
            self._count += 1

    def __call__(self, request: Any, **kwargs: Any) -> None:
        # botocore numbers each attempt of a call in the request's context
        # before it emits request-created, once per attempt.
        attempt = getattr(request, "context", {}).get("retries", {}).get("attempt", 1)
        if attempt > 1:
            self.add()


class S3Sender(S3Client):
    """The deploy's one client, and the way each of the writer's PutObjects goes.

    Whether replay may be used is decided as each client is made; what was
    decided, and a replay that broke, are kept as notes for the run's output.
    """

    def __init__(self, storage: Any) -> None:
        self.retries = RetryCounter()
        super().__init__(storage, self.retries)
        self.bucket: str = storage.bucket_name
        self._replay: Replay | None = None
        self._after_replay: BaseClient | None = None
        # A replay failed without an answer from the server: none for the rest of the run.
        self._broken = False
        self._notes: list[str] = []

    def _made(self, client: BaseClient) -> BaseClient:
        self._after_replay = None
        decision = fast_path.decide(client, get_settings().fast_path)
        self._note(decision.note)
        on = decision.on and attempts(client) > 1 and not self._broken
        self._replay = Replay.for_client(client) if on else None
        return client

    def put(self, key: str, body: IO[bytes], size: int, params: dict[str, Any]) -> None:
        """One PutObject of ``body``'s ``size`` bytes (from its start) to ``key``."""
        client = self.get()
        replay = self._replay
        if replay is None or size > MAX_SIZE:
            # Sized: a file cut short after botocore took its length fails at once,
            # not after the server waited a read timeout for the missing bytes.
            sized = FileSlice(body, 0, size) if size else body
            client.put_object(Bucket=self.bucket, Key=key, Body=sized, **params)
            return
        # Read whole (and so checked whole) before a byte is sent.
        data = FileSlice(body, 0, size).read() if size else body.read()
        try:
            outcome = replay.put(key, data, params)
        except Exception as exc:  # botocore sends it again, and reports what fails
            client = self._break(exc)
        else:
            if outcome is SENT:
                return
            if outcome is UNTRIED:
                with replay.learning(key, data, params):
                    client.put_object(Bucket=self.bucket, Key=key, Body=data, **params)
                return
            # A refusal (403, 400) is not a retry: botocore's own attempt is the one
            # whose answer is reported, and it is not retried.
            client = self._after_attempt(retried=outcome is Replayed.RETRYABLE)
        client.put_object(Bucket=self.bucket, Key=key, Body=data, **params)

    def _break(self, exc: BaseException) -> BaseClient:
        """No replay for the rest of the run; the client that sends the file instead."""
        with self._lock:
            if not self._broken:
                self._broken = True
                self._replay = None
                self._note(fast_path.breaker_note(exc))
        if isinstance(exc, LOST):
            # An attempt as botocore counts one (a reset, a refused connection, a
            # timeout): the file's first, so the next is a retry.
            return self._after_attempt(retried=True)
        return self.get()  # never sent, so not an attempt: botocore makes all of them

    def _after_attempt(self, retried: bool) -> BaseClient:
        """The client that sends a file again after its replayed request was its first
        attempt: it makes one attempt fewer than the deploy's client."""
        if retried:
            self.retries.add()
        client = self.get()
        with self._lock:
            if self._after_replay is None:
                # Made as the deploy's client is (tests instrument clients there).
                self._after_replay = clients.make_client(
                    self.storage, self.threads, self.retries, fewer_attempts=client
                )
            return self._after_replay

    def _note(self, text: str) -> None:
        if text not in self._notes:
            self._notes.append(text)

    def notes(self) -> list[str]:
        """What the output says at -v 2 about the path the requests took, each line once."""
        with self._lock:
            return list(self._notes)
