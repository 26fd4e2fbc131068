"""The deploy manifest in an Azure container: one Get Blob, one conditional Put Blob.

The write carries ``If-Match`` the ETag read, or ``If-None-Match: *`` when
there was no manifest, so concurrent runs merge instead of losing each
other's entries, as on S3.
"""

from __future__ import annotations

from typing import Any

from collectstupid.azure.errors import describe
from collectstupid.errors import ManifestError
from collectstupid.manifest.entries import CONTENT_TYPE
from collectstupid.manifest.store import NamedObjectStore, Snapshot, parsed


class AzureManifestStore(NamedObjectStore):
    def read(self) -> Snapshot:
        from azure.core.exceptions import AzureError, ResourceNotFoundError

        try:
            downloader = self.storage.client.download_blob(self.blob, timeout=self.storage.timeout)
            data = downloader.readall()
        except ResourceNotFoundError as exc:
            if getattr(exc, "error_code", None) == "ContainerNotFound":
                return Snapshot(problem=f"it could not be read ({describe(exc)})")
            return Snapshot()
        except AzureError as exc:
            return Snapshot(problem=f"it could not be read ({describe(exc)})")
        return parsed(data, downloader.properties.etag)

    def write(self, data: bytes, expected: Snapshot) -> str | None:
        from azure.core import MatchConditions
        from azure.core.exceptions import AzureError, ResourceExistsError, ResourceModifiedError
        from azure.storage.blob import ContentSettings

        if expected.token:
            condition: dict[str, Any] = {
                "overwrite": True,
                "etag": expected.token,
                "match_condition": MatchConditions.IfNotModified,
            }
        else:
            condition = {"overwrite": False}  # If-None-Match: *
        try:
            answer = self.storage.client.get_blob_client(self.blob).upload_blob(
                data,
                content_settings=ContentSettings(content_type=CONTENT_TYPE),
                timeout=self.storage.timeout,
                **condition,
            )
        except (ResourceExistsError, ResourceModifiedError):
            return None
        except AzureError as exc:
            # The SDK's own text runs over many lines (request id, time, XML body).
            raise ManifestError(describe(exc)) from exc
        return str(answer["etag"])  # Put Blob always answers with the new ETag
