"""One S3 client for a whole deploy, built from the storage's own settings.

django-storages gives each thread its own boto3 resource. We build a single
client instead (botocore clients are thread-safe) from the same session,
region, endpoint, TLS and client config (addressing style, signature version,
proxies, retries, checksums), with two changes:

- its connection pool holds one connection per worker, so no worker waits for
  a connection and none is opened only to be thrown away;
- botocore's ``Expect: 100-continue`` is off. botocore adds it to every PUT
  whose body is a file object, whatever its size, and the client then waits a
  full round trip for the server's go-ahead before sending a 2 KB stylesheet:
  two round trips per file instead of one. The header only pays off when a
  large body would be refused, which a deploy to its own bucket does not
  expect; a refusal still arrives, after the body.

Retries stay botocore's own: the retry mode and maximum attempts come from the
storage's client config (``AWS_S3_CLIENT_CONFIG``) or the usual AWS settings
(``AWS_RETRY_MODE``, ``AWS_MAX_ATTEMPTS``, the config file), standard mode by
default. We only count them, for the report.
"""

from __future__ import annotations

import threading
from typing import Any

from botocore.client import BaseClient
from botocore.config import Config
from botocore.handlers import add_expect_header

from collectstupid.s3storage import make_session


class RetryCounter:
    """Counts HTTP attempts after the first of each API call, in every thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._count = 0

    @property
    def count(self) -> int:
        with self._lock:
            return self._count

    def __call__(self, request: Any, **kwargs: Any) -> None:
        # botocore numbers each attempt of a call in the request's context
        # before it emits request-created, once per attempt.
        attempt = getattr(request, "context", {}).get("retries", {}).get("attempt", 1)
        if attempt > 1:
            with self._lock:
                self._count += 1


def client_config(storage: Any, threads: int) -> Config:
    """The storage's client config with a connection pool for ``threads`` workers."""
    config: Config = storage.client_config
    pool = max(threads, config.max_pool_connections or 0)
    return config.merge(Config(max_pool_connections=pool))


def make_client(storage: Any, threads: int, retries: RetryCounter) -> BaseClient:
    """An S3 client for ``storage``'s bucket, shared by ``threads`` workers.

    ``retries`` counts the requests it sends again.
    """
    client = make_session(storage).client(
        "s3",
        region_name=storage.region_name,
        use_ssl=storage.use_ssl,
        endpoint_url=storage.endpoint_url,
        config=client_config(storage, threads),
        verify=storage.verify,
    )
    # Each client has its own copy of the session's handlers: this changes no
    # other client, including the storage's own.
    client.meta.events.unregister("before-call.s3", add_expect_header)
    client.meta.events.register("request-created.s3", retries)
    return client
