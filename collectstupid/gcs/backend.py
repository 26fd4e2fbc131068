"""django-storages' Google Cloud storage: one upload request per file."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from collectstupid.backends import StorageBackend
from collectstupid.collect import SourceFile
from collectstupid.gcs import writer
from collectstupid.gcs.manifest import GcsManifestStore
from collectstupid.s3.storage import location_prefix


class GcsBackend(StorageBackend):
    """Writes with the fast writer unless the storage's class saves in a way of its own."""

    storage: Any

    def __init__(self, storage: Any) -> None:
        super().__init__(storage)
        self.fast = writer.saves_like_gcs(storage)
        client = storage.client
        if getattr(client, "_bucket_metadata_cache", None) is not None:
            # google-cloud-storage 3.17+ fetches the bucket's metadata in a background
            # thread on a client's first request, only to label tracing spans: one more
            # request per run, at an unpredictable moment, whose answer a deploy never
            # uses. (DISABLE_GCS_PYTHON_CLIENT_OTEL_BUCKET_METADATA=true does the same.)
            client._bucket_metadata_cache = None

    def write(self, source: SourceFile) -> None:
        if self.fast:
            writer.write(self.storage, source)
        else:
            super().write(source)

    def delete_many(self, names: Sequence[str], threads: int) -> dict[str, str]:
        from google.api_core.exceptions import NotFound

        def delete(name: str) -> str | None:
            try:
                self.storage.bucket.delete_blob(writer.blob_name(self.storage, name),
                                                retry=writer.retry())
            except NotFound:
                return None  # already gone, as a deploy wants it
            except Exception as exc:
                return self.describe_error(exc)
            return None

        if not names:
            return {}
        with ThreadPoolExecutor(min(threads, len(names)), "collectstupid") as pool:
            reasons = pool.map(delete, names)
            return {name: why for name, why in zip(names, reasons, strict=True) if why}

    def list_names(self, path: str = "") -> Iterator[str]:
        prefix = location_prefix(self.storage)
        for blob in self.storage.bucket.list_blobs(prefix=prefix + path, retry=writer.retry()):
            yield blob.name[len(prefix):]

    def manifest_store(self, name: str) -> GcsManifestStore:
        return GcsManifestStore(self.storage, name, writer.blob_name(self.storage, name))
