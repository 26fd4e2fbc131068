"""Pytest fixtures for a real S3 server (SeaweedFS), a proxy in front of it, and call counts.

Loaded as a plugin (``pytest_plugins = ["tests.s3_fixtures"]``). One server
runs for the whole session; every test gets its own bucket.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from s3local import BotocoreCalls, S3Proxy, SeaweedServer

STORAGE_BACKEND = "storages.backends.s3.S3Storage"
LOCATION = "static"


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedServer]:
    """A running SeaweedFS that enforces signatures; stopped at the end of the session."""
    server = SeaweedServer(Path(tmp_path_factory.mktemp("seaweedfs")))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def s3_client(s3_server: SeaweedServer) -> Any:
    """A boto3 S3 client talking straight to ``s3_server`` (path-style, standard retries)."""
    return s3_server.client()


def _bucket_name(test_name: str) -> str:
    # The test's name makes a leftover bucket easy to trace; the suffix makes it unique.
    slug = re.sub(r"[^a-z0-9]+", "-", test_name.lower()).strip("-")[:44].strip("-")
    return f"t-{slug}-{uuid.uuid4().hex[:8]}" if slug else f"t-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def s3_bucket(s3_server: SeaweedServer, request: pytest.FixtureRequest) -> str:
    """The name of a new, empty bucket for this test."""
    return s3_server.create_bucket(_bucket_name(request.node.name))


@pytest.fixture
def s3_proxy(s3_server: SeaweedServer) -> Iterator[S3Proxy]:
    """An :class:`S3Proxy` in front of ``s3_server`` (no latency, no faults until set)."""
    with S3Proxy(s3_server.port) as proxy:
        yield proxy


@pytest.fixture
def botocore_calls() -> Iterator[BotocoreCalls]:
    """Counts every S3 call and HTTP attempt sent while the test runs, at botocore's
    endpoint, replayed PutObjects included (s3local/calls.py says how)."""
    with BotocoreCalls() as calls:
        yield calls


# Set to 1, the S3 behaviour tests run a second time on botocore's public path.
PUBLIC_PATH_VARIABLE = "COLLECTSTUPID_TEST_PUBLIC_PATH"
DEFAULT_PATH, PUBLIC_PATH = "default-path", "public-path"
# Whether a test chose its path itself (COLLECTSTUPID["FAST_PATH"] set): see wire_check.py.
PINNED = pytest.StashKey[bool]()


def s3_paths() -> list[str]:
    """The paths the S3 behaviour tests run on in this session."""
    public = os.environ.get(PUBLIC_PATH_VARIABLE) == "1"
    return [DEFAULT_PATH, PUBLIC_PATH] if public else [DEFAULT_PATH]


@pytest.fixture(params=s3_paths())
def s3_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The S3 path a behaviour test deploys by: what a user gets without settings
    (``default-path``: FAST_PATH decided per run, replayed PutObjects), and with
    ``COLLECTSTUPID_TEST_PUBLIC_PATH=1`` also ``public-path`` (FAST_PATH False by
    default). A test that sets ``COLLECTSTUPID["FAST_PATH"]`` keeps its own choice.
    Used by a whole file: ``pytestmark = pytest.mark.usefixtures("s3_path")``.
    """
    from collectstupid import conf

    settings = request.getfixturevalue("settings")
    if request.param == PUBLIC_PATH:
        monkeypatch.setitem(conf.DEFAULTS, "FAST_PATH", False)
    yield request.param
    chosen = getattr(settings, "COLLECTSTUPID", {})
    request.node.stash[PINNED] = isinstance(chosen, dict) and "FAST_PATH" in chosen


@dataclass
class S3Target:
    """Where ``STORAGES["staticfiles"]`` now points, with helpers to look at the bucket."""

    bucket: str
    location: str
    endpoint_url: str
    options: dict[str, Any]
    client: Any = field(repr=False)

    def keys(self, prefix: str = "") -> set[str]:
        """Every key in the bucket (location included) that starts with ``prefix``."""
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=prefix
        )
        return {item["Key"] for page in pages for item in page.get("Contents", ())}

    def names(self) -> set[str]:
        """Storage names under the location: the keys with ``location/`` removed."""
        prefix = f"{self.location}/" if self.location else ""
        return {key.removeprefix(prefix) for key in self.keys(prefix)}

    def read(self, name: str) -> bytes:
        """Content of the object for storage name ``name``."""
        return self.client.get_object(Bucket=self.bucket, Key=self.key(name))["Body"].read()

    def head(self, name: str) -> dict[str, Any]:
        """HeadObject of storage name ``name`` (ContentType, CacheControl, Metadata...)."""
        return self.client.head_object(Bucket=self.bucket, Key=self.key(name))

    def key(self, name: str) -> str:
        return f"{self.location}/{name}" if self.location else name


def client_config(**overrides: Any) -> Any:
    """The botocore Config the test storages use, with ``overrides``.

    django-storages ignores ``addressing_style`` once ``client_config`` is given,
    so the Config repeats it.
    """
    from botocore.config import Config

    options: dict[str, Any] = {
        "s3": {"addressing_style": "path"},
        "request_checksum_calculation": "when_required",
        "response_checksum_validation": "when_required",
        "retries": {"mode": "standard"},
        **overrides,
    }
    return Config(**options)


@pytest.fixture
def no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """Retries stay real; only their waiting is skipped, to keep the tests fast."""
    from botocore.retries.standard import ExponentialBackoff

    monkeypatch.setattr(ExponentialBackoff, "delay_amount", lambda self, context: 0)


def storage_options(
    server: SeaweedServer, bucket: str, endpoint_url: str | None = None, **overrides: Any
) -> dict[str, Any]:
    """django-storages ``S3Storage`` OPTIONS for ``bucket`` on ``server`` (or via a proxy)."""
    options: dict[str, Any] = {
        "bucket_name": bucket,
        "endpoint_url": endpoint_url or server.endpoint_url,
        "access_key": server.access_key,
        "secret_key": server.secret_key,
        "region_name": server.region,
        "addressing_style": "path",
        "location": LOCATION,
        "default_acl": None,
        "querystring_auth": False,
        "client_config": client_config(),
    }
    options.update(overrides)
    return options


@pytest.fixture
def s3_storage_settings_factory(
    s3_server: SeaweedServer, s3_bucket: str, s3_client: Any, request: pytest.FixtureRequest
) -> Callable[..., S3Target]:
    """Point ``STORAGES["staticfiles"]`` at S3; call with ``endpoint_url=s3_proxy.endpoint_url``
    to go through the proxy, ``backend=`` for another storage class, or any OPTIONS to override.
    """
    settings = request.getfixturevalue("settings")  # pytest-django, only when used

    def configure(
        endpoint_url: str | None = None,
        backend: str = STORAGE_BACKEND,
        bucket: str | None = None,
        **overrides: Any,
    ) -> S3Target:
        options = storage_options(s3_server, bucket or s3_bucket, endpoint_url, **overrides)
        settings.STORAGES = {
            **settings.STORAGES,
            "staticfiles": {"BACKEND": backend, "OPTIONS": options},
        }
        return S3Target(
            bucket=options["bucket_name"],
            location=options["location"],
            endpoint_url=options["endpoint_url"],
            options=options,
            client=s3_client,
        )

    return configure


@pytest.fixture
def s3_storage_settings(s3_storage_settings_factory: Callable[..., S3Target]) -> S3Target:
    """``STORAGES["staticfiles"]`` is S3Storage on ``s3_bucket`` under location ``static``."""
    return s3_storage_settings_factory()


def before_send(monkeypatch: pytest.MonkeyPatch, handler: Callable[..., Any]) -> None:
    """Call ``handler`` on botocore's ``before-send`` for every client a deploy makes."""
    from collectstupid.s3 import client as s3client

    real = s3client.make_client

    def making(*args: Any, **kwargs: Any) -> Any:
        client = real(*args, **kwargs)
        client.meta.events.register("before-send.s3", handler)
        return client

    monkeypatch.setattr(s3client, "make_client", making)
