"""django-storages' Google Cloud storage: one upload request per file."""

from __future__ import annotations

import base64
from collections.abc import Iterator, Sequence
from typing import Any

from collectstupid.backends import GCS, Listed, WriterBackend, in_batches
from collectstupid.collect import SourceFile
from collectstupid.gcs import writer
from collectstupid.gcs.manifest import GcsManifestStore
from collectstupid.object_parameters import PORTABLE, Carries
from collectstupid.storage import location_prefix, plain_key

# Blob properties by S3's names; metadata goes in the upload's JSON, so any text.
CARRIES = Carries("Google Cloud Storage", frozenset(PORTABLE), ascii_metadata=False)


class GcsBackend(WriterBackend):
    """Writes with the fast writer unless the storage's class saves in a way of its own."""

    CARRIES = CARRIES
    storage: Any
    scheme = "gs"

    def __init__(self, storage: Any) -> None:
        super().__init__(storage)
        self.fast = GCS.saves_like(storage)
        client = storage.client
        if getattr(client, "_bucket_metadata_cache", None) is not None:
            # google-cloud-storage 3.17+ fetches the bucket's metadata in a background
            # thread on a client's first request, only to label tracing spans: one more
            # request per run, at an unpredictable moment, whose answer a deploy never
            # uses. (DISABLE_GCS_PYTHON_CLIENT_OTEL_BUCKET_METADATA=true does the same.)
            client._bucket_metadata_cache = None

    def prepare(self, threads: int) -> None:
        """One pooled connection per worker, as the S3 backend keeps.

        The client's session comes with requests' default pool of 10 connections
        per host: with more workers, each request beyond ten opens a connection
        (a TLS handshake on GCS) and throws it away after the answer.
        """
        from requests.adapters import HTTPAdapter

        session = self.storage.client._http
        for prefix in ("https://", "http://"):
            adapter = session.adapters.get(prefix)
            # Only requests' own adapter: an mTLS or custom one is the user's to size.
            if type(adapter) is HTTPAdapter:
                session.mount(
                    prefix,
                    HTTPAdapter(pool_maxsize=max(threads, 10), max_retries=adapter.max_retries),
                )

    def send(self, source: SourceFile) -> None:
        writer.write(self.storage, source)

    def parameters(self, source: SourceFile) -> dict[str, Any] | None:
        if not self.fast:
            return None
        # The name as written, without get_available_name(), which may ask the bucket.
        name = plain_key(self.storage, source.dest)
        props, upload, gzip = writer.properties(self.storage, name, source.parameters)
        return {**props, **upload, "gzip": gzip}

    def delete_many(self, names: Sequence[str], threads: int) -> dict[str, str]:
        from google.api_core.exceptions import NotFound

        def delete(one: list[str]) -> dict[str, str]:
            # The JSON API's batch requests are multipart bodies this backend
            # does not build: one request per name, many at a time.
            try:
                self.storage.bucket.delete_blob(
                    writer.blob_name(self.storage, one[0]), retry=writer.retry()
                )
            except NotFound:
                pass  # already gone, as a deploy wants it
            except Exception as exc:
                return {one[0]: self.describe_error(exc)}
            return {}

        return in_batches(names, 1, threads, delete)

    def list_names(self, path: str = "") -> Iterator[str]:
        prefix = location_prefix(self.storage)
        for blob in self.storage.bucket.list_blobs(prefix=prefix + path, retry=writer.retry()):
            yield blob.name[len(prefix) :]

    def list_objects(self) -> Iterator[Listed]:
        prefix = location_prefix(self.storage)
        for blob in self.storage.bucket.list_blobs(prefix=prefix, retry=writer.retry()):
            # A composite object has no MD5, only a CRC32C: compared by the manifest.
            md5 = base64.b64decode(blob.md5_hash).hex() if blob.md5_hash else None
            yield Listed(blob.name[len(prefix) :], blob.size or 0, md5)

    def listed_name(self, name: str) -> str:
        return plain_key(self.storage, name)[len(location_prefix(self.storage)) :]

    def manifest_store(self, name: str) -> GcsManifestStore:
        return GcsManifestStore(self.storage, name, writer.blob_name(self.storage, name))
