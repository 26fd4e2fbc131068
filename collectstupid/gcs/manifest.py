"""The deploy manifest in a GCS bucket: one download to read, one upload to write.

Google Cloud Storage answers a download with the object's generation, and the
write is then conditional on it (``ifGenerationMatch``; 0 when there was no
manifest), so concurrent runs merge as on S3. Where the server sends no
generation (``gcp-storage-emulator`` does not), the token is a digest of the
bytes and the write re-reads and compares first, as ``StorageManifestStore``.
"""

from __future__ import annotations

import hashlib
from typing import Any

from collectstupid.gcs import writer
from collectstupid.manifest.entries import CONTENT_TYPE
from collectstupid.manifest.store import NamedObjectStore, Snapshot, parsed

# Marks a token that is a generation number rather than a digest of the bytes.
GENERATION = "generation:"


class GcsManifestStore(NamedObjectStore):
    def read(self) -> Snapshot:
        from google.api_core.exceptions import GoogleAPIError, NotFound

        blob = self.storage.bucket.blob(self.blob)
        try:
            data = blob.download_as_bytes(retry=writer.retry())
        except NotFound:
            # A download answers 404 alike for a missing object and a missing bucket;
            # a first smart run asks once more, rather than plan every file as new.
            try:
                exists = self.storage.bucket.exists(retry=writer.retry())
            except (GoogleAPIError, OSError) as exc:
                return Snapshot(problem=f"it could not be read ({exc})")
            if not exists:
                name = self.storage.bucket.name
                return Snapshot(
                    problem=f"it could not be read (NotFound: the bucket '{name}' does not exist)"
                )
            return Snapshot()
        except (GoogleAPIError, OSError) as exc:
            return Snapshot(problem=f"it could not be read ({exc})")
        if blob.generation:
            return parsed(data, f"{GENERATION}{blob.generation}")
        return parsed(data, hashlib.sha256(data).hexdigest())

    def write(self, data: bytes, expected: Snapshot) -> str | None:
        from google.api_core.exceptions import PreconditionFailed

        token = expected.token
        if token is None:
            condition: dict[str, Any] = {"if_generation_match": 0}
        elif token.startswith(GENERATION):
            condition = {"if_generation_match": int(token.removeprefix(GENERATION))}
        else:
            # No generation to hold the server to: compare what is there now.
            if self.read().token != token:
                return None
            condition = {}
        blob = self.storage.bucket.blob(self.blob)
        try:
            blob.upload_from_string(
                data, content_type=CONTENT_TYPE, retry=writer.retry(), **condition
            )
        except PreconditionFailed:
            return None
        if blob.generation:  # the answer describes the object written
            return f"{GENERATION}{blob.generation}"
        return hashlib.sha256(data).hexdigest()
