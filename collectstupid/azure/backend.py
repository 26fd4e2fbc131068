"""django-storages' Azure storage: one Put Blob per file, through its own ``save()``.

``AzureStorage.save()`` already sends a single request for a file under the
SDK's single-put size (64 MiB); larger files go in blocks. What it gets wrong
for a deploy is the overwrite: unless ``overwrite_files`` is set it sends
``If-None-Match: *``, so with StupidStorageMixin (no ``exists()``, no new
name) a second deploy would fail on every file with ``BlobAlreadyExists``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from collectstupid.azure.errors import describe
from collectstupid.azure.manifest import AzureManifestStore
from collectstupid.backends import StorageBackend, in_batches
from collectstupid.s3.storage import location_prefix

# The most blobs one Blob Batch request deletes.
DELETE_BATCH = 256


class AzureBackend(StorageBackend):
    storage: Any

    def __init__(self, storage: Any) -> None:
        super().__init__(storage)
        # A deploy replaces what is there; this instance is the command's own.
        storage.overwrite_files = True

    def _blob(self, name: str) -> str:
        return str(self.storage._get_valid_path(name))

    def listed_name(self, name: str) -> str:
        return self._blob(name)[len(location_prefix(self.storage)) :]

    def delete_many(self, names: Sequence[str], threads: int) -> dict[str, str]:
        return self._delete({self._blob(name): name for name in names}, threads)

    def delete_listed(self, names: Sequence[str], threads: int) -> dict[str, str]:
        # As listed: the storage's own path cleaning would strip a leading dot at the
        # container's root, and delete another blob (or none) in its place.
        prefix = location_prefix(self.storage)
        return self._delete({prefix + name: name for name in names}, threads)

    def _delete(self, blobs: dict[str, str], threads: int) -> dict[str, str]:

        def delete(batch: list[str]) -> dict[str, str]:
            try:
                responses = self.storage.client.delete_blobs(
                    *batch, raise_on_any_failure=False, timeout=self.storage.timeout
                )
            except Exception as exc:
                reason = self.describe_error(exc)
                return {blobs[blob]: reason for blob in batch}
            # A blob that is already gone is deleted as far as a deploy cares.
            return {
                blobs[blob]: f"HTTP {response.status_code}: {response.reason}"
                for blob, response in zip(batch, responses, strict=True)
                if response.status_code >= 300 and response.status_code != 404
            }

        return in_batches(list(blobs), DELETE_BATCH, threads, delete)

    def list_names(self, path: str = "") -> Iterator[str]:
        # AzureStorage.listdir() answers whole blob names, location included.
        prefix = location_prefix(self.storage)
        for blob in self.storage.client.list_blobs(
            name_starts_with=prefix + path, timeout=self.storage.timeout
        ):
            yield blob.name[len(prefix) :]

    def manifest_store(self, name: str) -> AzureManifestStore:
        return AzureManifestStore(self.storage, name, self._blob(name))

    def describe_error(self, exc: BaseException) -> str:
        return describe(exc)
