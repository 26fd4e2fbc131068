"""django-storages' S3 storage, one request per file where ``save()`` makes several."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from collectstupid.backends import S3, Listed, WriterBackend, in_batches
from collectstupid.collect import SourceFile
from collectstupid.object_parameters import Carries
from collectstupid.s3.errors import describe
from collectstupid.s3.manifest import S3ManifestStore
from collectstupid.s3.open_uploads import abort_each, left_under
from collectstupid.s3.sender import S3Sender
from collectstupid.s3.writer import S3Writer
from collectstupid.storage import location_prefix, object_key, plain_key

# The most keys one DeleteObjects request takes.
DELETE_BATCH = 1000
# Every parameter a rule may set; metadata travels as x-amz-meta-* headers.
CARRIES = Carries("S3")


class S3Backend(WriterBackend):
    """Writes with the fast writer unless the storage's class saves in a way of its own."""

    CARRIES = CARRIES
    storage: Any

    def __init__(self, storage: Any) -> None:
        super().__init__(storage)
        self.client = S3Sender(storage)
        self.fast = S3.saves_like(storage)
        self._writer = S3Writer(storage, self.client)

    def prepare(self, threads: int) -> None:
        self.client.size_for(threads)

    @property
    def retries(self) -> int:
        return self.client.retries.count

    def send(self, source: SourceFile) -> None:
        self._writer(source)

    def parameters(self, source: SourceFile) -> dict[str, Any] | None:
        return self._writer.parameters(source) if self.fast else None

    def abort_writes(self) -> list[str]:
        if not self.fast:
            return []  # s3transfer's uploads inside storage.save() are out of our reach
        return self._writer.abort_open(self.describe_error)

    def left_uploads(self) -> list[tuple[str, str]] | None:
        prefix = location_prefix(self.storage)
        return left_under(self.client.get(), self.storage.bucket_name, prefix)

    def abort_left_uploads(self, uploads: list[tuple[str, str]]) -> tuple[list[str], list[str]]:
        return abort_each(
            self.client.get(),
            self.storage.bucket_name,
            location_prefix(self.storage),
            uploads,
            self.describe_error,
        )

    def delete_many(self, names: Sequence[str], threads: int) -> dict[str, str]:
        keys = {object_key(self.storage, name): name for name in names}

        def delete(batch: list[str]) -> dict[str, str]:
            try:
                response = self.client.get().delete_objects(
                    Bucket=self.storage.bucket_name,
                    Delete={"Objects": [{"Key": key} for key in batch], "Quiet": True},
                )
            except Exception as exc:
                reason = self.describe_error(exc)
                return {keys[key]: reason for key in batch}
            return {
                keys[error["Key"]]: f"{error.get('Code', 'Error')}: {error.get('Message', '')}"
                for error in response.get("Errors", [])
                if error.get("Key") in keys
            }

        batches = -(-len(keys) // DELETE_BATCH)
        if batches:
            self.client.size_for(min(threads, batches))
        return in_batches(list(keys), DELETE_BATCH, threads, delete)

    def list_names(self, path: str = "") -> Iterator[str]:
        prefix = location_prefix(self.storage)
        pages = (
            self.client.get()
            .get_paginator("list_objects_v2")
            .paginate(Bucket=self.storage.bucket_name, Prefix=prefix + path)
        )
        for page in pages:
            for item in page.get("Contents", []):
                yield item["Key"][len(prefix) :]

    def list_objects(self) -> Iterator[Listed]:
        prefix = location_prefix(self.storage)
        pages = (
            self.client.get()
            .get_paginator("list_objects_v2")
            .paginate(Bucket=self.storage.bucket_name, Prefix=prefix)
        )
        for page in pages:
            for item in page.get("Contents", []):
                yield Listed(item["Key"][len(prefix) :], item["Size"], etag_md5(item["ETag"]))

    def listed_name(self, name: str) -> str:
        return plain_key(self.storage, name)[len(location_prefix(self.storage)) :]

    def manifest_store(self, name: str) -> S3ManifestStore:
        return S3ManifestStore(self.storage, name, self.client)

    def describe_error(self, exc: BaseException) -> str:
        return describe(exc)

    def notes(self) -> list[str]:
        return self.client.notes() if self.fast else []


def etag_md5(etag: str) -> str | None:
    """The MD5 an ETag is, or None for a multipart upload's (``md5-N``: a hash of its
    parts' hashes). An object encrypted with SSE-KMS or SSE-C has an ETag of this shape
    that is no MD5 of its bytes: the listing does not say so, what the deploy sends does
    (verify.stored_as)."""
    value = etag.strip('"').lower()
    if len(value) != 32 or any(c not in "0123456789abcdef" for c in value):
        return None
    return value
