"""The S3 client a deploy shares: session, pool, retries, no Expect header."""

from __future__ import annotations

import io

import pytest
from botocore.config import Config
from storages.backends.s3 import S3Storage

from collectstupid.outcomes import SKIPPED
from collectstupid.s3 import client as s3client
from collectstupid.s3.backend import S3Backend
from collectstupid.s3.client import S3Client, client_config
from collectstupid.s3.sender import RetryCounter
from collectstupid.upload import Pool, upload
from tests.helpers import OFFLINE_S3, planned


def test_clients_of_one_storage_share_its_session_and_loaded_model():
    storage = S3Storage(**OFFLINE_S3)
    first = s3client.make_client(storage, 1, RetryCounter())
    second = s3client.make_client(storage, 16, RetryCounter())
    other = s3client.make_client(S3Storage(**OFFLINE_S3), 1, RetryCounter())
    assert first is not second
    assert first._loader is second._loader
    assert other._loader is not first._loader
    assert second.meta.config.max_pool_connections == 16


@pytest.mark.parametrize(
    ("env", "client_retries", "expected"),
    [
        ({}, None, {"mode": "standard", "total_max_attempts": s3client.DEPLOY_ATTEMPTS}),
        (
            {"AWS_RETRY_MODE": "adaptive"},
            None,
            {"mode": "adaptive", "total_max_attempts": s3client.DEPLOY_ATTEMPTS},
        ),
        ({"AWS_MAX_ATTEMPTS": "5"}, None, {"mode": "standard", "total_max_attempts": 5}),
        ({}, {"mode": "legacy", "max_attempts": 1}, {"mode": "legacy", "total_max_attempts": 2}),
    ],
)
def test_a_deploy_retries_more_only_where_nobody_set_the_attempts(
    monkeypatch, env, client_retries, expected
):
    for name in ("AWS_RETRY_MODE", "AWS_MAX_ATTEMPTS", "AWS_CONFIG_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")  # no ~/.aws/config of the machine
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    options = dict(OFFLINE_S3)
    if client_retries:
        options["client_config"] = Config(retries=client_retries)
    client = s3client.make_client(S3Storage(**options), 4, RetryCounter())
    assert client.meta.config.retries == expected


def test_client_pool_follows_the_workers():
    storage = S3Storage(**OFFLINE_S3)
    session = s3client.session_for(storage)
    assert client_config(storage, 32, session).max_pool_connections == 32
    # The storage's other client settings are kept.
    assert (
        client_config(storage, 32, session).signature_version
        == storage.client_config.signature_version
    )
    client = S3Client(storage)
    client.size_for(24)
    assert client.get().meta.config.max_pool_connections == 24
    first = client.get()
    client.size_for(8)  # fewer workers than the pool has: keep it
    assert client.get() is first


def test_writer_client_has_no_expect_header_handler():
    client = S3Client(S3Storage(**OFFLINE_S3))
    client.size_for(2)
    request = {
        "body": io.BytesIO(b"x"),
        "headers": {},
        "url_path": "/b/k",
        "query_string": {},
        "method": "PUT",
        "context": {},
    }
    client.get().meta.events.emit(
        "before-call.s3.PutObject",
        model=client.get().meta.service_model.operation_model("PutObject"),
        params=request,
        request_signer=None,
        context={},
    )
    assert "Expect" not in request["headers"]
    # The storage's own client is left as botocore made it.
    storage = S3Storage(**OFFLINE_S3)
    request = {**request, "headers": {}}
    storage.connection.meta.client.meta.events.emit(
        "before-call.s3.PutObject",
        model=client.get().meta.service_model.operation_model("PutObject"),
        params=request,
        request_signer=None,
        context={},
    )
    assert request["headers"].get("Expect") == "100-continue"


def test_retry_counter_counts_attempts_after_the_first():
    counter = RetryCounter()

    class Request:
        def __init__(self, attempt):
            self.context = {"retries": {"attempt": attempt}}

    for attempt in (1, 2, 3, 1):
        counter(Request(attempt))
    assert counter.count == 2


def test_the_s3_client_is_made_only_when_a_request_needs_it(monkeypatch):
    made = []
    real = s3client.make_client

    def counting(*args, **kwargs):
        made.append(args[1])
        return real(*args, **kwargs)

    monkeypatch.setattr(s3client, "make_client", counting)
    backend = S3Backend(S3Storage(**OFFLINE_S3))
    backend.prepare(6)

    def skip_all(source):  # as smart mode does when nothing changed
        return SKIPPED

    result = upload(planned("a", "b"), skip_all, Pool(6))
    assert len(result.skipped) == 2
    assert made == []
    # Sized for the workers, made once, on first use, shared by the manifest store.
    assert backend.client.get() is backend.manifest_store("m.json")._client.get()
    assert made == [6]
