"""The fast writer for django-storages' ``S3Storage``: one PutObject per file below the
storage's multipart threshold, one multipart upload read from disk part by part at or above
it, landing the objects ``save()`` would (see parameter_cache.py). See docs/speed.md.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from typing import IO, Any, cast

from botocore.client import BaseClient
from botocore.httpchecksum import DEFAULT_CHECKSUM_ALGORITHM
from s3transfer.constants import FULL_OBJECT_CHECKSUM_ARGS
from s3transfer.utils import ChunksizeAdjuster

from collectstupid.collect import SourceFile
from collectstupid.errors import SourceChanged
from collectstupid.s3.file_slice import FileSlice
from collectstupid.s3.open_uploads import OpenUploads, abort_twins
from collectstupid.s3.parameter_cache import ParameterCache, write_parameters
from collectstupid.s3.sender import S3Sender
from collectstupid.storage import object_key, plain_key

# Which of the object's parameters each multipart call takes, as s3transfer
# (and so ``save()``) splits them; tests compare these with s3transfer's lists.
PUT_OBJECT_BLOCKLIST = ("ChecksumType", "MpuObjectSize")
CREATE_MULTIPART_BLOCKLIST = (*FULL_OBJECT_CHECKSUM_ARGS, "MpuObjectSize")
UPLOAD_PART_ARGS = (
    "ChecksumAlgorithm",
    "SSECustomerKey",
    "SSECustomerAlgorithm",
    "SSECustomerKeyMD5",
    "RequestPayer",
    "ExpectedBucketOwner",
)
COMPLETE_MULTIPART_ARGS = (
    "SSECustomerKey",
    "SSECustomerAlgorithm",
    "SSECustomerKeyMD5",
    "RequestPayer",
    "ExpectedBucketOwner",
    "ChecksumType",
    "MpuObjectSize",
    *FULL_OBJECT_CHECKSUM_ARGS,
)
# A gzipped body is spooled so it can be measured and re-read on a retry; past
# this size it goes to a temporary file, so 16 workers hold at most 16 MB.
SPOOL_MAX = 1024 * 1024


@contextlib.contextmanager
def open_source(source: SourceFile) -> Iterator[IO[bytes]]:
    """The source file, opened directly when it is on local disk."""
    try:
        path = source.storage.path(source.path)
    except NotImplementedError:
        with source.storage.open(source.path, "rb") as content:
            yield content
        return
    with open(path, "rb") as file:
        yield file


def local_name(source: SourceFile) -> str:
    """The source file's own path where it has one, else its destination."""
    try:
        return f"'{source.storage.path(source.path)}'"
    except NotImplementedError:
        return f"'{source.dest}'"


def spooled(stream: IO[bytes]) -> IO[bytes]:
    """A seekable copy of ``stream``, in memory while small."""
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_MAX)  # noqa: SIM115 - caller closes
    shutil.copyfileobj(stream, spool, 64 * 1024)
    spool.seek(0)
    return cast(IO[bytes], spool)  # typeshed types it apart from the files it stands for


def length(file: IO[bytes]) -> int:
    file.seek(0, os.SEEK_END)
    size = file.tell()
    file.seek(0)
    return size


def without(params: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    return {k: v for k, v in params.items() if k not in keys}


def only(params: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    return {k: v for k, v in params.items() if k in keys}


class S3Writer:
    """Writes one file per call to an ``S3Storage``'s bucket; safe to call from many threads.

    Below the storage's multipart threshold a file is one PutObject, and which
    client sends it is the sender's choice (sender.py).
    """

    def __init__(self, storage: Any, sender: S3Sender) -> None:
        self.storage = storage
        self.bucket: str = storage.bucket_name
        self.threshold: int = storage.transfer_config.multipart_threshold
        self.chunksize: int = storage.transfer_config.multipart_chunksize
        self._sender = sender
        self.open_uploads = OpenUploads()
        self._parameters = ParameterCache(storage)

    @property
    def client(self) -> BaseClient:
        return self._sender.get()

    @property
    def default_checksum(self) -> bool:
        # s3transfer asks for a CRC32 of every upload when the client computes
        # checksums whenever S3 supports them (botocore's default); so do we.
        return self.client.meta.config.request_checksum_calculation == "when_supported"

    def __call__(self, source: SourceFile) -> None:
        key = object_key(self.storage, source.dest)
        with open_source(source) as raw:
            params, gzip = write_parameters(self.storage, key, raw, source.parameters)
            if self.default_checksum and not any(c in params for c in FULL_OBJECT_CHECKSUM_ARGS):
                params.setdefault("ChecksumAlgorithm", DEFAULT_CHECKSUM_ALGORITHM)
            if gzip:
                # The storage's own gzip stream, read as it is consumed.
                body = spooled(self.storage._compress_content(raw))
            elif getattr(raw, "seekable", lambda: False)():
                body = raw
            else:
                body = spooled(raw)
            try:
                size = length(body)
                if size and size >= self.threshold:
                    self.multipart(key, body, size, params)
                else:
                    self._sender.put(key, body, size, without(params, PUT_OBJECT_BLOCKLIST))
            except SourceChanged as exc:
                raise SourceChanged(f"{local_name(source)} {exc}") from None
            finally:
                if body is not raw:
                    body.close()

    def parameters(self, source: SourceFile) -> dict[str, Any]:
        """What ``__call__`` sends with ``source`` besides its bytes, without a request.

        Shared between files where it provably is the same (parameter_cache.py): read only.
        """
        return self._parameters.get(
            source.dest,
            source.parameters,
            lambda: write_parameters(
                self.storage, plain_key(self.storage, source.dest), None, source.parameters
            )[0],
        )

    def multipart(self, key: str, body: IO[bytes], size: int, params: dict[str, Any]) -> None:
        """Create, send the parts in order from ``body``, complete; abort on any failure.

        Parts go one after another on this worker's connection, while the other
        workers carry on with other files: memory stays one read buffer per worker.
        """
        params = dict(params)
        for checksum in FULL_OBJECT_CHECKSUM_ARGS:
            # A whole-object checksum, as s3transfer treats one for multipart.
            if checksum in params:
                params["ChecksumType"] = "FULL_OBJECT"
                params["ChecksumAlgorithm"] = checksum.removeprefix("Checksum")
        where = {"Bucket": self.bucket, "Key": key}
        upload_id = self._create(where, params)
        try:
            parts = self._send_parts(where, upload_id, body, size, only(params, UPLOAD_PART_ARGS))
            self.client.complete_multipart_upload(
                **where,
                UploadId=upload_id,
                MultipartUpload={"Parts": parts},
                **only(params, COMPLETE_MULTIPART_ARGS),
            )
        except BaseException:
            # Parts of an unfinished upload are stored (and billed) until aborted.
            with contextlib.suppress(Exception):
                self.client.abort_multipart_upload(**where, UploadId=upload_id)
            raise
        finally:
            self.open_uploads.finished(upload_id)

    def _create(self, where: dict[str, str], params: dict[str, Any]) -> str:
        """A new multipart upload's id, kept open until ``open_uploads.finished``."""
        with self.open_uploads.creating(where) as created:
            began = time.monotonic()
            response = self.client.create_multipart_upload(
                **where, **without(params, CREATE_MULTIPART_BLOCKLIST)
            )
            upload_id: str = response["UploadId"]
            created(upload_id)
        if response.get("ResponseMetadata", {}).get("RetryAttempts"):
            # An attempt whose answer was lost may have made an upload of its own.
            abort_twins(self.client, where, upload_id, time.monotonic() - began)
        return upload_id

    def _send_parts(
        self,
        where: dict[str, str],
        upload_id: str,
        body: IO[bytes],
        size: int,
        args: dict[str, Any],
    ) -> list[dict[str, Any]]:
        """Each part of ``body`` in order; what completing the upload names of each."""
        chunk = ChunksizeAdjuster().adjust_chunksize(self.chunksize, size)
        algorithm = args.get("ChecksumAlgorithm")
        member = f"Checksum{algorithm.upper()}" if algorithm else ""
        parts = []
        for number, start in enumerate(range(0, size, chunk), start=1):
            self.open_uploads.check()
            response = self.client.upload_part(
                **where,
                UploadId=upload_id,
                PartNumber=number,
                Body=FileSlice(body, start, min(chunk, size - start), size),
                **args,
            )
            part = {"ETag": response["ETag"], "PartNumber": number}
            if member and member in response:
                part[member] = response[member]
            parts.append(part)
        return parts

    def abort_open(self, describe: Any) -> list[str]:
        """Abort every multipart upload still open; no new one or part starts after."""
        return self.open_uploads.abort_all(self.client.abort_multipart_upload, describe)
