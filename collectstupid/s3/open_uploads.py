"""The multipart uploads this run started and has not finished, so that a run that gives up
aborts them (their parts are billed until somebody does); also the twin uploads of a resent
CreateMultipartUpload, and the uploads --abort-uploads finds left open under the location.
See docs/failure-modes.md.
"""

from __future__ import annotations

import contextlib
import datetime
import threading
from collections.abc import Callable, Iterator
from typing import Any

# How long a run that gives up waits for CreateMultipartUpload answers in flight.
CREATE_WAIT = 5.0


class RunAborted(Exception):
    """The run gave up: no new upload or part is sent."""

    def __init__(self) -> None:
        super().__init__("the run was aborted")


class OpenUploads:
    """Upload IDs by the bucket and key they write; safe to use from many threads."""

    def __init__(self) -> None:
        self._lock = threading.Condition()
        self._open: dict[str, dict[str, Any]] = {}
        self._creating = 0
        self._closed = False

    @contextlib.contextmanager
    def creating(self, where: dict[str, Any]) -> Iterator[Callable[[str], None]]:
        """Around a CreateMultipartUpload: call the yielded function with its UploadId."""
        with self._lock:
            if self._closed:
                raise RunAborted
            self._creating += 1
        created: list[str] = []
        try:
            yield created.append
        finally:
            with self._lock:
                self._creating -= 1
                if created:
                    self._open[created[0]] = where
                self._lock.notify_all()

    def check(self) -> None:
        """Raise :class:`RunAborted` once the run gave up (before each part)."""
        if self._closed:
            raise RunAborted

    def finished(self, upload_id: str) -> None:
        """The upload was completed or aborted by its worker."""
        with self._lock:
            self._open.pop(upload_id, None)

    def abort_all(
        self, abort: Callable[..., Any], describe: Callable[[BaseException], str]
    ) -> list[str]:
        """Close the register and abort every open upload; return the reasons of those
        that could not be aborted (each as ``key: reason``)."""
        with self._lock:
            self._closed = True
            self._lock.wait_for(lambda: self._creating == 0, CREATE_WAIT)
            uploads, self._open = self._open, {}
        problems = []
        for upload_id, where in uploads.items():
            try:
                abort(**where, UploadId=upload_id)
            except Exception as exc:
                reason = describe(exc)
                if not reason.startswith("NoSuchUpload"):  # its worker finished it meanwhile
                    problems.append(f"{where['Key']}: {reason}")
        return problems


# Leeway for the server's clock between two attempts of one CreateMultipartUpload.
TWIN_LEEWAY = datetime.timedelta(seconds=1)


def abort_twins(client: Any, where: dict[str, Any], upload_id: str, seconds: float) -> None:
    """Abort the uploads of ``where``'s key that attempts of our create made besides ours.

    They are the key's uploads initiated in the ``seconds`` the create took,
    up to ours. Best effort: a failure here leaves what botocore left.
    """
    with contextlib.suppress(Exception):
        uploads = [
            upload
            for upload in client.list_multipart_uploads(
                Bucket=where["Bucket"], Prefix=where["Key"]
            ).get("Uploads", [])
            if upload.get("Key") == where["Key"]
        ]
        ours = next((u["Initiated"] for u in uploads if u["UploadId"] == upload_id), None)
        if ours is None:
            return
        since = ours - datetime.timedelta(seconds=seconds) - TWIN_LEEWAY
        for upload in uploads:
            if upload["UploadId"] != upload_id and since <= upload["Initiated"] <= ours:
                client.abort_multipart_upload(**where, UploadId=upload["UploadId"])


def left_under(client: Any, bucket: str, prefix: str) -> list[tuple[str, str]]:
    """The multipart uploads open under ``prefix``, as (name under the prefix, upload ID):
    one ListMultipartUploads per thousand. A failure is raised: nothing was aborted."""
    paginator = client.get_paginator("list_multipart_uploads")
    return [
        (upload["Key"][len(prefix) :], upload["UploadId"])
        for page in paginator.paginate(Bucket=bucket, Prefix=prefix)
        for upload in page.get("Uploads", [])
        if upload["Key"].startswith(prefix)
    ]


def abort_each(
    client: Any,
    bucket: str,
    prefix: str,
    uploads: list[tuple[str, str]],
    describe: Callable[[BaseException], str],
) -> tuple[list[str], list[str]]:
    """Abort each listed upload (name under ``prefix``, upload ID), one request each:
    (names aborted, problems)."""
    aborted: list[str] = []
    problems: list[str] = []
    for name, upload_id in uploads:
        try:
            client.abort_multipart_upload(Bucket=bucket, Key=prefix + name, UploadId=upload_id)
        except Exception as exc:
            reason = describe(exc)
            if not reason.startswith("NoSuchUpload"):  # finished meanwhile
                problems.append(f"{name}: {reason}")
        else:
            aborted.append(name)
    return aborted, problems
