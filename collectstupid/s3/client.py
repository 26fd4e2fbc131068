"""The deploy's one S3 client, shared by every worker (botocore clients are thread-safe) and
made from the storage's own session and client config, with a connection per worker, no
``Expect: 100-continue``, and DEPLOY_ATTEMPTS where nothing sets the number of attempts.
See docs/speed.md.
"""

from __future__ import annotations

import os
import threading
from typing import Any
from weakref import WeakKeyDictionary

from botocore.client import BaseClient
from botocore.config import Config
from botocore.handlers import add_expect_header

from collectstupid.conf import DEFAULTS, get_settings
from collectstupid.errors import CollectStupidError
from collectstupid.s3 import fast_path
from collectstupid.s3.replay import Replay
from collectstupid.s3.storage import make_session


class RetryCounter:
    """Counts HTTP attempts after the first of each API call, in every thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._count = 0

    @property
    def count(self) -> int:
        with self._lock:
            return self._count

    def add(self) -> None:
        """Count a request sent again outside botocore's own retries."""
        with self._lock:
            self._count += 1

    def __call__(self, request: Any, **kwargs: Any) -> None:
        # botocore numbers each attempt of a call in the request's context
        # before it emits request-created, once per attempt.
        attempt = getattr(request, "context", {}).get("retries", {}).get("attempt", 1)
        if attempt > 1:
            self.add()


# With 10% of requests failing, a file fails all 8 attempts once in 10^8.
DEPLOY_ATTEMPTS = 8


def retries_configured(storage: Any, session: Any) -> bool:
    """Whether somebody chose the retries: the storage's client config (any retry
    option), or a number of attempts in the AWS settings."""
    if storage.client_config.retries is not None:
        return True
    # retry_mode always has a value (botocore's default): only max_attempts tells.
    botocore_session = getattr(session, "_session", session)
    return botocore_session.get_config_variable("max_attempts") is not None


def mode_configured(storage: Any, session: Any) -> bool:
    """Whether somebody chose the retry mode: the storage's client config,
    ``AWS_RETRY_MODE`` or the AWS config file."""
    if "mode" in (storage.client_config.retries or {}) or os.environ.get("AWS_RETRY_MODE"):
        return True
    botocore_session = getattr(session, "_session", session)
    try:
        return botocore_session.get_scoped_config().get("retry_mode") is not None
    except Exception:  # a profile that does not exist: botocore says so when it signs
        return False


def client_config(storage: Any, threads: int, session: Any) -> Config:
    """The storage's client config with a connection pool for ``threads`` workers,
    and a deploy's retry budget where nobody set one."""
    config: Config = storage.client_config
    pool = max(threads, config.max_pool_connections or 0)
    ours = Config(max_pool_connections=pool)
    retries = dict(config.retries or {})
    if not retries_configured(storage, session):
        retries["total_max_attempts"] = DEPLOY_ATTEMPTS
    if not mode_configured(storage, session):
        # botocore's own default from 1.44 on; before, it was legacy mode, whose
        # retries have no quota and no jitter.
        retries["mode"] = "standard"
    if retries:
        ours = ours.merge(Config(retries=retries))
    return config.merge(ours)


# One boto3 session per storage: its clients (the manifest's, the writer's) share
# the S3 model the session loaded once, instead of loading it again (~60 ms each).
_sessions: WeakKeyDictionary[Any, Any] = WeakKeyDictionary()
# Sessions are not safe for making clients from two threads at once.
_making = threading.Lock()


def session_for(storage: Any) -> Any:
    """The boto3 session the storage would use, made once per storage."""
    with _making:
        if storage not in _sessions:
            _sessions[storage] = make_session(storage)
        return _sessions[storage]


# botocore's numbers of attempts where none is set, by retry mode.
DEFAULT_ATTEMPTS = {"legacy": 5, "standard": 3, "adaptive": 3}


def attempts(client: BaseClient) -> int:
    """How many times ``client`` tries a call, first attempt included."""
    retries = client.meta.config.retries or {}
    if "total_max_attempts" in retries:
        return int(retries["total_max_attempts"])
    return DEFAULT_ATTEMPTS.get(retries.get("mode", "legacy"), 3)


def make_client(
    storage: Any,
    threads: int,
    retries: RetryCounter,
    fewer_attempts: BaseClient | None = None,
) -> BaseClient:
    """An S3 client for ``storage``'s bucket, shared by ``threads`` workers.

    ``retries`` counts the requests it sends again. With ``fewer_attempts``, the
    client makes one attempt fewer than that client, in the same retry mode.
    """
    session = session_for(storage)
    config = client_config(storage, threads, session)
    if fewer_attempts is not None:
        mode = (fewer_attempts.meta.config.retries or {}).get("mode", "legacy")
        fewer = {"mode": mode, "total_max_attempts": attempts(fewer_attempts) - 1}
        config = config.merge(Config(retries=fewer))
    with _making:
        client = session.client(
            "s3",
            region_name=storage.region_name,
            use_ssl=storage.use_ssl,
            endpoint_url=storage.endpoint_url,
            config=config,
            verify=storage.verify,
        )
    # Each client has its own copy of the session's handlers: this changes no
    # other client, including the storage's own.
    # botocore asks for 100-continue on every PUT with a file body, whatever its size: a
    # round trip of waiting before a 2 KB stylesheet. It pays off only when a large body
    # would be refused, which a deploy to its own bucket does not expect; a refusal still
    # arrives, after the body.
    client.meta.events.unregister("before-call.s3", add_expect_header)
    client.meta.events.register("request-created.s3", retries)
    client.meta.events.register_first("needs-retry.s3", no_retry_for_local_errors)
    return client


def no_retry_for_local_errors(caught_exception: BaseException | None = None, **kwargs: Any) -> None:
    """Raise a source file's own error, or a header the HTTP client refuses, instead of
    letting botocore retry the request.

    An error raised while the request is being sent reaches botocore wrapped as an
    HTTP client error, which it retries like a dropped connection; a file that
    changed under the upload, or a header value with a line break, fails the same
    way on every attempt.
    """
    error = getattr(caught_exception, "kwargs", {}).get("error")
    if isinstance(error, CollectStupidError):
        raise error
    if local_header_error(error):
        # The request was never sent: each attempt would be refused alike, here.
        raise HeaderRefused(HEADER_REFUSED) from error


# Raised by the HTTP client before a byte is sent. The value is not repeated: it may be
# a secret the storage sends (an SSE-C key).
HEADER_REFUSED = (
    "InvalidHeaderValue: a header this file is sent with holds a line break or a "
    "character outside Latin-1, so it was not sent"
)


class HeaderRefused(CollectStupidError):
    """A request header the HTTP client refuses to send."""


def local_header_error(error: object) -> bool:
    """Whether ``error`` is the HTTP client refusing a header (http.client raises a
    ValueError on a line break in a value, UnicodeEncodeError beyond Latin-1)."""
    if isinstance(error, UnicodeEncodeError):
        return error.encoding == "latin-1"
    return isinstance(error, ValueError) and str(error).startswith("Invalid header")


class S3Client:
    """The deploy's one client, made on first use and sized for its workers.

    A run that sends nothing (smart mode, nothing changed, beyond the manifest
    read) pays for one client at most; the writer and the manifest store share
    it, and its retry counter.

    Whether it uses botocore's internals is decided once it is made
    (fast_path.py); what was decided, and a replay that broke, are kept as
    notes for the run's output.
    """

    def __init__(self, storage: Any) -> None:
        self.storage = storage
        self.threads = 0
        self.retries = RetryCounter()
        self._client: BaseClient | None = None
        self._replay: Replay | None = None
        self._after_replay: BaseClient | None = None
        # A replay failed without an answer from the server: none for the rest of the run.
        self._broken = False
        self._notes: list[str] = []
        self._lock = threading.Lock()

    def size_for(self, threads: int) -> None:
        """Hold a connection per worker: remade if it was made for fewer."""
        with self._lock:
            if threads > self.threads:
                self.threads = threads
                self._client = None
                self._replay = None
                self._after_replay = None

    def get(self) -> BaseClient:
        client = self._client
        if client is None:
            with self._lock:
                if self._client is None:
                    self._client = self._make()
                client = self._client
        return client

    def _make(self) -> BaseClient:
        self.threads = self.threads or DEFAULTS["THREADS"]
        client = make_client(self.storage, self.threads, self.retries)
        decision = fast_path.decide(client, get_settings().fast_path)
        self._note(decision.note)
        if decision.on and attempts(client) > 1 and not self._broken:
            self._replay = Replay.for_client(client, self.retries.add, self.broken)
        return client

    def _note(self, text: str) -> None:
        if text not in self._notes:
            self._notes.append(text)

    def notes(self) -> list[str]:
        """What the output says at -v 2 about the path the requests took, each line once."""
        with self._lock:
            return list(self._notes)

    def broken(self, exc: BaseException) -> None:
        """A replayed request failed without an answer: no replay for the rest of the run."""
        with self._lock:
            if not self._broken:
                self._broken = True
                self._replay = None
                self._note(fast_path.breaker_note(exc))

    def replay(self) -> Replay | None:
        """The PutObject templates of the current client (see replay.py)."""
        self.get()
        return self._replay

    def after_replay(self) -> BaseClient:
        """The client that sends a file again after its replayed request failed.

        That request was the file's first attempt: this client makes the rest,
        so a file gets the number of attempts the storage's settings give, no more.
        """
        client = self.get()
        with self._lock:
            if self._after_replay is None:
                self._after_replay = make_client(
                    self.storage, self.threads, self.retries, fewer_attempts=client
                )
            return self._after_replay
