"""Pytest fixtures for Azurite and the GCS emulator, each behind a counting proxy.

Loaded as a plugin (``pytest_plugins``). One emulator of each runs for the
whole session, started on first use; every test gets its own container or
bucket, and a proxy that names each request by the storage's operation.
Without Node.js or the Azurite package the Azure tests are skipped, except
under CI, where that is a failure.
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

from emulators import AzuriteNotFound, AzuriteServer, GcsServer, azure_operation, gcs_operation
from s3local import S3Proxy

LOCATION = "static"
AZURE_BACKEND = "storages.backends.azure_storage.AzureStorage"
GCS_BACKEND = "storages.backends.gcloud.GoogleCloudStorage"


def _name(test_name: str) -> str:
    # Container and bucket names: 3-63 of [a-z0-9-], starting with a letter or digit.
    slug = re.sub(r"[^a-z0-9]+", "-", test_name.lower()).strip("-")[:40].strip("-")
    return f"t-{slug}-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="session")
def azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AzuriteServer]:
    server = AzuriteServer(Path(tmp_path_factory.mktemp("azurite")))
    try:
        server.start()
    except AzuriteNotFound as exc:
        if os.environ.get("CI"):
            pytest.fail(str(exc))
        pytest.skip(str(exc))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def gcs_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GcsServer]:
    with GcsServer(Path(tmp_path_factory.mktemp("gcs"))) as server:
        yield server


@pytest.fixture
def azure_proxy(azurite: AzuriteServer) -> Iterator[S3Proxy]:
    with S3Proxy(azurite.port, classify=azure_operation) as proxy:
        yield proxy


@pytest.fixture
def gcs_proxy(gcs_server: GcsServer) -> Iterator[S3Proxy]:
    with S3Proxy(gcs_server.port, classify=gcs_operation) as proxy:
        yield proxy


@dataclass
class BlobTarget:
    """Where ``STORAGES["staticfiles"]`` now points, read directly (not through the proxy)."""

    container: str
    location: str
    options: dict[str, Any]
    read_blob: Callable[[str], bytes] = field(repr=False)
    list_blobs: Callable[[], set[str]] = field(repr=False)
    properties: Callable[[str], dict[str, Any]] = field(repr=False)

    def key(self, name: str) -> str:
        return f"{self.location}/{name}" if self.location else name

    def read(self, name: str) -> bytes:
        return self.read_blob(self.key(name))

    def head(self, name: str) -> dict[str, Any]:
        return self.properties(self.key(name))

    def names(self) -> set[str]:
        prefix = f"{self.location}/" if self.location else ""
        return {b.removeprefix(prefix) for b in self.list_blobs() if b.startswith(prefix)}


@pytest.fixture
def azure_settings_factory(
    azurite: AzuriteServer, azure_proxy: S3Proxy, request: pytest.FixtureRequest
) -> Callable[..., BlobTarget]:
    """Point ``STORAGES["staticfiles"]`` at a new container through ``azure_proxy``;
    call with ``port=`` to reach another address, or any OPTIONS to override."""
    settings = request.getfixturevalue("settings")
    container = azurite.create_container(_name(request.node.name))
    direct = azurite.client().get_container_client(container)

    def configure(
        port: int | None = None, backend: str = AZURE_BACKEND, **overrides: Any
    ) -> BlobTarget:
        options: dict[str, Any] = {
            "connection_string": azurite.connection_string(port or azure_proxy.port),
            "azure_container": container,
            "location": LOCATION,
            **overrides,
        }
        settings.STORAGES = {
            **settings.STORAGES,
            "staticfiles": {"BACKEND": backend, "OPTIONS": options},
        }

        def properties(blob: str) -> dict[str, Any]:
            props = direct.get_blob_client(blob).get_blob_properties()
            settings = props.content_settings
            return {
                "ContentType": settings.content_type,
                "CacheControl": settings.cache_control,
                "ContentEncoding": settings.content_encoding,
                "ContentDisposition": settings.content_disposition,
                "ContentLanguage": settings.content_language,
                "Metadata": dict(props.metadata),
            }

        return BlobTarget(
            container=options["azure_container"],
            location=options["location"],
            options=options,
            read_blob=lambda blob: direct.download_blob(blob).readall(),
            list_blobs=lambda: {b.name for b in direct.list_blobs()},
            properties=properties,
        )

    return configure


@pytest.fixture
def azure_settings(azure_settings_factory: Callable[..., BlobTarget]) -> BlobTarget:
    return azure_settings_factory()


@pytest.fixture
def no_azure_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """The SDK's retries stay real; only their waiting (15 s and up) is skipped."""
    from azure.storage.blob import ExponentialRetry, LinearRetry

    for policy in (ExponentialRetry, LinearRetry):
        monkeypatch.setattr(policy, "get_backoff_time", lambda self, settings: 0)


def gcs_client(endpoint_url: str) -> Any:
    from google.auth.credentials import AnonymousCredentials
    from google.cloud.storage import Client

    return Client(
        project="collectstupid-tests",
        credentials=AnonymousCredentials(),
        client_options={"api_endpoint": endpoint_url},
    )


@pytest.fixture
def gcs_settings_factory(
    gcs_server: GcsServer,
    gcs_proxy: S3Proxy,
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
) -> Callable[..., BlobTarget]:
    """Point ``STORAGES["staticfiles"]`` at a new bucket through ``gcs_proxy``
    (``STORAGE_EMULATOR_HOST``); ``endpoint_url=`` for another address."""
    from google.auth.credentials import AnonymousCredentials

    settings = request.getfixturevalue("settings")
    bucket = gcs_server.create_bucket(_name(request.node.name))
    direct = gcs_client(gcs_server.endpoint_url).bucket(bucket)

    def configure(
        endpoint_url: str | None = None, backend: str = GCS_BACKEND, **overrides: Any
    ) -> BlobTarget:
        monkeypatch.setenv("STORAGE_EMULATOR_HOST", endpoint_url or gcs_proxy.endpoint_url)
        options: dict[str, Any] = {
            "bucket_name": bucket,
            "project_id": "collectstupid-tests",
            "credentials": AnonymousCredentials(),
            "location": LOCATION,
            **overrides,
        }
        settings.STORAGES = {
            **settings.STORAGES,
            "staticfiles": {"BACKEND": backend, "OPTIONS": options},
        }

        def properties(name: str) -> dict[str, Any]:
            blob = direct.get_blob(name)
            return {
                "ContentType": blob.content_type,
                "CacheControl": blob.cache_control,
                "ContentEncoding": blob.content_encoding,
                "ContentDisposition": blob.content_disposition,
                "ContentLanguage": blob.content_language,
                "Metadata": dict(blob.metadata or {}),
            }

        return BlobTarget(
            container=options["bucket_name"],
            location=options["location"],
            options=options,
            read_blob=lambda name: direct.blob(name).download_as_bytes(raw_download=True),
            list_blobs=lambda: {b.name for b in direct.list_blobs()},
            properties=properties,
        )

    return configure


@pytest.fixture
def gcs_settings(gcs_settings_factory: Callable[..., BlobTarget]) -> BlobTarget:
    return gcs_settings_factory()


@pytest.fixture
def short_gcs_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """The client's retries stay real; their two-minute deadline becomes one second."""
    from google.cloud.storage.retry import DEFAULT_RETRY

    from collectstupid.gcs import writer

    quick = DEFAULT_RETRY.with_timeout(1.0).with_delay(initial=0.01, maximum=0.05)
    monkeypatch.setattr(writer, "retry", lambda: quick)


@dataclass
class Remote:
    """One emulated storage as the shared deploy tests see it: where the files land,
    the proxy that counts, and the names of the operations each step costs there."""

    scheme: str  # as the summary line names the storage
    target: BlobTarget
    proxy: S3Proxy
    configure: Callable[..., BlobTarget]
    write: str  # one file written
    read: str  # the manifest read
    missing_option: str  # the option that names the container or bucket
    missing_reason: str  # how a write to a missing one fails, as the command says it
    missing_manifest_reason: str  # how the manifest write to a missing one fails
    listing: str
    deletes: dict[str, int]  # deleting three names, one of them never written
    # Reads a manifest write makes first, where the server gives no version to hold it to.
    reads_before_manifest_write: int = 0
    # What a smart run asks besides the manifest read when there is no manifest yet.
    no_manifest_reads: dict[str, int] = field(default_factory=dict)

    def counted(self, *args: str, **options: Any) -> tuple[dict[str, int], str]:
        from tests.helpers import run

        self.proxy.reset_counts()
        out = run(*args, **options)
        return dict(self.proxy.counts), out


@pytest.fixture(params=["azure", "gcs"])
def remote(request: pytest.FixtureRequest) -> Remote:
    """Each emulated storage in turn, configured as ``STORAGES["staticfiles"]``."""
    if request.param == "azure":
        request.getfixturevalue("no_azure_backoff")
        configure = request.getfixturevalue("azure_settings_factory")
        return Remote(
            "azure",
            configure(),
            request.getfixturevalue("azure_proxy"),
            configure,
            write="PutBlob",
            read="GetBlob",
            missing_option="azure_container",
            missing_reason="ContainerNotFound: The specified container does not exist.",
            missing_manifest_reason="ContainerNotFound: The specified container does not exist.",
            listing="ListBlobs",
            deletes={"BlobBatch": 1},
        )
    request.getfixturevalue("short_gcs_retries")
    configure = request.getfixturevalue("gcs_settings_factory")
    return Remote(
        "gs",
        configure(),
        request.getfixturevalue("gcs_proxy"),
        configure,
        write="InsertObject",
        read="DownloadObject",
        missing_option="bucket_name",
        missing_reason="NotFound: 404 POST ",
        missing_manifest_reason="NotFound: the bucket ",
        listing="ListObjects",
        deletes={"DeleteObject": 3},
        reads_before_manifest_write=1,
        # A download answers 404 alike for a missing object and a missing bucket.
        no_manifest_reads={"GetBucket": 1},
    )
