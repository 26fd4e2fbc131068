"""The deploy manifest in an S3 bucket: one GetObject, one conditional PutObject.

The write is conditional (``If-Match`` the ETag read, or ``If-None-Match: *``
when there was none), so concurrent runs merge instead of losing each other's
entries.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from collectstupid.manifest.entries import CONTENT_TYPE
from collectstupid.manifest.store import Snapshot, parsed
from collectstupid.s3.client import S3Client
from collectstupid.s3.errors import describe, error_code
from collectstupid.storage import object_key

# Conflicts a conditional PutObject answers with: the object changed (412), a
# concurrent conditional write is in progress (409 on AWS), or it was deleted.
_CONFLICT_CODES = frozenset(
    {"PreconditionFailed", "ConditionalRequestConflict", "OperationAborted", "NoSuchKey"}
)
# PutObject parameters that also belong on a GetObject of an SSE-C object.
_READ_PARAMS = (
    "SSECustomerAlgorithm",
    "SSECustomerKey",
    "SSECustomerKeyMD5",
    "RequestPayer",
    "ExpectedBucketOwner",
)


class S3ManifestStore:
    """The storage's object parameters (SSE, ACL, ...) apply to the manifest too,
    so bucket policies that demand them are met."""

    def __init__(self, storage: Any, name: str, client: S3Client) -> None:
        self.storage = storage
        self.name = name
        self.key: str = object_key(storage, name)
        self.bucket: str = storage.bucket_name
        self._client = client

    def _params(self) -> dict[str, Any]:
        params = dict(self.storage.get_object_parameters(self.key))
        # The body is our own gzip whatever the storage's gzip or type settings say:
        # labelled as an encoding, clients would unpack it on the way.
        params.pop("ContentEncoding", None)
        params["ContentType"] = CONTENT_TYPE
        acl = getattr(self.storage, "default_acl", None)
        if acl and "ACL" not in params:
            params["ACL"] = acl
        return params

    def read(self) -> Snapshot:
        try:
            data, etag = self._get()
        except (ClientError, BotoCoreError) as exc:
            if error_code(exc) in ("NoSuchKey", "404"):
                return Snapshot()
            return Snapshot(problem=f"it could not be read ({describe(exc)})")
        return parsed(data, etag)

    def _get(self) -> tuple[bytes, str | None]:
        """The object's bytes and ETag."""
        params = self._params()
        read_params = {k: params[k] for k in _READ_PARAMS if k in params}
        response = self._client.get().get_object(Bucket=self.bucket, Key=self.key, **read_params)
        return response["Body"].read(), response.get("ETag")

    def write(self, data: bytes, expected: Snapshot) -> str | None:
        condition = {"IfMatch": expected.token} if expected.token else {"IfNoneMatch": "*"}
        try:
            response = self._client.get().put_object(
                Bucket=self.bucket, Key=self.key, Body=data, **condition, **self._params()
            )
        except Exception as exc:
            if error_code(exc) in _CONFLICT_CODES:
                return None
            landed = self._landed(data)
            if landed is not None:
                # Every answer was lost (stalled past the read timeout, say), but
                # the write itself landed: report what the bucket holds.
                return landed
            raise
        # An answer without an ETag still wrote: the next conditional write re-reads.
        return str(response.get("ETag") or "")

    def _landed(self, data: bytes) -> str | None:
        """The token of the manifest in the bucket if it is ``data``, else None."""
        try:
            found, etag = self._get()
        except Exception:
            return None
        return (etag or "") if found == data else None
