"""django-storages' Azure storage as a deploy target: one Put Blob per file through writer.py
(through the storage's own ``save()`` if its class saves in a way of its own), with
``overwrite_files`` set so that a second deploy does not fail with ``BlobAlreadyExists``;
listing under the location, Blob Batch deletes and the deploy manifest's store.
See docs/storages.md.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import Any

from collectstupid.azure import writer
from collectstupid.azure.errors import describe
from collectstupid.azure.manifest import AzureManifestStore
from collectstupid.backends import AZURE, Listed, WriterBackend, in_batches
from collectstupid.collect import SourceFile
from collectstupid.object_parameters import PORTABLE, Carries
from collectstupid.storage import location_prefix

# The most blobs one Blob Batch request deletes.
DELETE_BATCH = 256
# Content settings by S3's names; metadata goes in x-ms-meta-* headers, named as
# C# identifiers (Azure's own rule).
CARRIES = Carries(
    "Azure Blob Storage",
    frozenset(PORTABLE),
    metadata_key=re.compile(r"[A-Za-z_][A-Za-z0-9_]*"),
    metadata_key_rule="letters, digits and underscores, not starting with a digit",
)


class AzureBackend(WriterBackend):
    CARRIES = CARRIES
    storage: Any
    scheme = "azure"
    bucket_attribute = "azure_container"

    def __init__(self, storage: Any) -> None:
        super().__init__(storage)
        # A deploy replaces what is there; this instance is the command's own.
        storage.overwrite_files = True
        self.fast = AZURE.saves_like(storage)

    def send(self, source: SourceFile) -> None:
        writer.write(self.storage, source)

    def parameters(self, source: SourceFile) -> dict[str, Any] | None:
        if not self.fast:
            return None
        blob = writer.blob_name(self.storage, source.dest, ask=False)
        settings, metadata = writer.properties(self.storage, blob, source.parameters)
        return {**settings, "metadata": metadata}

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

    def list_objects(self) -> Iterator[Listed]:
        prefix = location_prefix(self.storage)
        for blob in self.storage.client.list_blobs(
            name_starts_with=prefix, timeout=self.storage.timeout
        ):
            # Put Blob stores the MD5 the service computed; a blob committed from
            # blocks has none.
            md5 = blob.content_settings.content_md5
            yield Listed(blob.name[len(prefix) :], blob.size, bytes(md5).hex() if md5 else None)

    def manifest_store(self, name: str) -> AzureManifestStore:
        return AzureManifestStore(self.storage, name, self._blob(name))

    def describe_error(self, exc: BaseException) -> str:
        return describe(exc)
