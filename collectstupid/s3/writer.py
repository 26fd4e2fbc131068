"""The fast writer for django-storages' ``S3Storage``: one PutObject per file below the
storage's multipart threshold, one multipart upload read from disk part by part at or above
it, landing the objects ``save()`` would (see storage.py). See docs/speed.md.
"""

from __future__ import annotations

import contextlib
import io
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
from collectstupid.s3.client import S3Client
from collectstupid.s3.open_uploads import OpenUploads, abort_twins
from collectstupid.s3.parameter_cache import ParameterCache
from collectstupid.s3.replay import BROKEN, FAILED, MAX_SIZE, UNTRIED
from collectstupid.s3.storage import compressed, write_parameters
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


class FileSlice(io.RawIOBase):
    """``size`` bytes of a seekable file from ``start``, as a file of their own.

    botocore reads a body more than once (checksum, signature, send, and again
    on a retry after ``seek(0)``); positions here are relative to the part.
    """

    def __init__(self, file: IO[bytes], start: int, size: int, total: int = 0) -> None:
        super().__init__()
        self._file = file
        self._start = start
        self._size = size
        self._total = total or start + size  # the whole file's size, for the error
        self._pos = 0

    def __len__(self) -> int:
        return self._size

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        base = {os.SEEK_SET: 0, os.SEEK_CUR: self._pos, os.SEEK_END: self._size}[whence]
        self._pos = min(max(base + offset, 0), self._size)
        return self._pos

    def read(self, size: int | None = -1) -> bytes:
        left = self._size - self._pos
        if size is None or size < 0 or size > left:
            size = left
        if size == 0:
            return b""
        self._file.seek(self._start + self._pos)
        data = self._file.read(size)
        if len(data) < size:
            # The file shrank: the part can never be sent whole, and a body
            # shorter than its Content-Length would leave the server waiting.
            raise SourceChanged(
                f"changed while uploading: expected {self._total} bytes, "
                f"read {self._readable(self._start + self._pos + len(data))}"
            )
        self._pos += len(data)
        return data

    def _readable(self, reached: int) -> int:
        """How many bytes the file holds now, at most ``reached`` (where reading ended)."""
        try:
            return min(reached, os.fstat(self._file.fileno()).st_size)
        except (AttributeError, OSError, ValueError):
            return reached  # not a file on disk (io.UnsupportedOperation is an OSError)

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


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
    """Writes one file per call to an ``S3Storage``'s bucket; safe to call from many threads."""

    def __init__(self, storage: Any, client: S3Client) -> None:
        self.storage = storage
        self.bucket: str = storage.bucket_name
        self.threshold: int = storage.transfer_config.multipart_threshold
        self.chunksize: int = storage.transfer_config.multipart_chunksize
        self._client = client
        self.open_uploads = OpenUploads()
        self._parameters = ParameterCache(storage)

    @property
    def client(self) -> BaseClient:
        return self._client.get()

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
                body = spooled(compressed(self.storage, raw))
            elif getattr(raw, "seekable", lambda: False)():
                body = raw
            else:
                body = spooled(raw)
            try:
                self.send(key, body, length(body), params)
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

    def send(self, key: str, body: IO[bytes], size: int, params: dict[str, Any]) -> None:
        """One PutObject, or one multipart upload at or above the storage's threshold."""
        if size and size >= self.threshold:
            self.multipart(key, body, size, params)
        elif size <= MAX_SIZE and (replay := self._client.replay()) is not None:
            # Read whole (and so checked whole) before a byte is sent: hashed,
            # then sent from a template of botocore's own request (replay.py).
            data = FileSlice(body, 0, size).read() if size else body.read()
            put = without(params, PUT_OBJECT_BLOCKLIST)
            outcome = replay.put(key, data, put)
            if outcome == FAILED:
                self._client.after_replay().put_object(
                    Bucket=self.bucket, Key=key, Body=data, **put
                )
            elif outcome == UNTRIED:
                with replay.learning(key, data, put):
                    self.client.put_object(Bucket=self.bucket, Key=key, Body=data, **put)
            elif outcome == BROKEN:
                # Never sent, so not an attempt: botocore makes all of them.
                self.client.put_object(Bucket=self.bucket, Key=key, Body=data, **put)
        else:
            # Sized: a file cut short after botocore took its length fails at once,
            # not after the server waited a read timeout for the missing bytes.
            self.client.put_object(
                Bucket=self.bucket,
                Key=key,
                Body=FileSlice(body, 0, size) if size else body,
                **without(params, PUT_OBJECT_BLOCKLIST),
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
        chunk = ChunksizeAdjuster().adjust_chunksize(self.chunksize, size)
        where = {"Bucket": self.bucket, "Key": key}
        with self.open_uploads.creating(where) as created:
            began = time.monotonic()
            response = self.client.create_multipart_upload(
                **where, **without(params, CREATE_MULTIPART_BLOCKLIST)
            )
            upload_id = response["UploadId"]
            created(upload_id)
        if response.get("ResponseMetadata", {}).get("RetryAttempts"):
            # An attempt whose answer was lost may have made an upload of its own.
            abort_twins(self.client, where, upload_id, time.monotonic() - began)
        try:
            part_args = only(params, UPLOAD_PART_ARGS)
            parts = []
            for number, start in enumerate(range(0, size, chunk), start=1):
                self.open_uploads.check()
                response = self.client.upload_part(
                    **where,
                    UploadId=upload_id,
                    PartNumber=number,
                    Body=FileSlice(body, start, min(chunk, size - start), size),
                    **part_args,
                )
                part = {"ETag": response["ETag"], "PartNumber": number}
                algorithm = part_args.get("ChecksumAlgorithm")
                if algorithm and f"Checksum{algorithm.upper()}" in response:
                    member = f"Checksum{algorithm.upper()}"
                    part[member] = response[member]
                parts.append(part)
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

    def abort_open(self, describe: Any) -> list[str]:
        """Abort every multipart upload still open; no new one or part starts after."""
        return self.open_uploads.abort_all(self.client.abort_multipart_upload, describe)
