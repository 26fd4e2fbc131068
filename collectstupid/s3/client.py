"""The deploy's one S3 client, shared by every worker (botocore clients are thread-safe) and
made from the storage's own session and client config, with a connection per worker, no
``Expect: 100-continue``, and DEPLOY_ATTEMPTS where nothing sets the number of attempts.
See docs/speed.md.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Any
from weakref import WeakKeyDictionary

from botocore.client import BaseClient
from botocore.config import Config
from botocore.handlers import add_expect_header

from collectstupid.conf import DEFAULTS
from collectstupid.errors import CollectStupidError

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
            _sessions[storage] = storage._create_session()  # its keys, token or profile
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
    on_request: Callable[..., None] | None,
    fewer_attempts: BaseClient | None = None,
) -> BaseClient:
    """An S3 client for ``storage``'s bucket, shared by ``threads`` workers.

    ``on_request`` is called on each request it makes, each attempt (sender.py counts
    retries so). With ``fewer_attempts``, the client makes one attempt fewer than
    that client, in the same retry mode.
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
    if on_request is not None:
        client.meta.events.register("request-created.s3", on_request)
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
    it. ``on_request`` is called on every request it makes, each attempt.
    """

    def __init__(self, storage: Any, on_request: Callable[..., None] | None = None) -> None:
        self.storage = storage
        self.threads = 0
        self.on_request = on_request
        self._client: BaseClient | None = None
        self._lock = threading.Lock()

    def size_for(self, threads: int) -> None:
        """Hold a connection per worker: remade if it was made for fewer."""
        with self._lock:
            if threads > self.threads:
                self.threads = threads
                self._client = None

    def get(self) -> BaseClient:
        client = self._client
        if client is None:
            with self._lock:
                if self._client is None:
                    self.threads = self.threads or DEFAULTS["THREADS"]
                    self._client = self._made(
                        make_client(self.storage, self.threads, self.on_request)
                    )
                client = self._client
        return client

    def _made(self, client: BaseClient) -> BaseClient:
        """What a subclass does with each client it makes, under the lock."""
        return client
