"""Name the Azure Blob or Google Cloud Storage operation of a request, from its head.

``s3local.S3Proxy(port, classify=...)`` counts requests by these names, so a
test can assert, say, one ``PutBlob`` per file and nothing else.
"""

from __future__ import annotations

from urllib.parse import parse_qs, unquote, urlsplit

from s3local.http1 import Head


def _split(head: Head) -> tuple[list[str], dict[str, list[str]]]:
    parts = urlsplit(head.target)
    segments = [unquote(s) for s in parts.path.split("/") if s]
    return segments, parse_qs(parts.query, keep_blank_values=True)


def azure_operation(head: Head) -> str:
    """The Blob service REST operation of a path-style request (``/account/container/blob``)."""
    segments, query = _split(head)
    method = head.method
    comp = query.get("comp", [""])[0]
    if len(segments) >= 3:  # a blob
        if method == "PUT":
            return {
                "": "PutBlob",
                "block": "PutBlock",
                "blocklist": "PutBlockList",
                "properties": "SetBlobProperties",
                "metadata": "SetBlobMetadata",
            }.get(comp, "Other")
        if method == "GET":
            return "GetBlob" if not comp else "Other"
        if method == "HEAD":
            return "GetBlobProperties" if not comp else "Other"
        if method == "DELETE":
            return "DeleteBlob"
        return "Other"
    if len(segments) == 2 and query.get("restype") == ["container"]:
        if method == "GET" and comp == "list":
            return "ListBlobs"
        if method in ("GET", "HEAD") and not comp:
            return "GetContainerProperties"
        if method == "PUT" and not comp:
            return "CreateContainer"
        if method == "DELETE":
            return "DeleteContainer"
    if method == "POST" and comp == "batch":
        return "BlobBatch"
    return "Other"


def gcs_operation(head: Head) -> str:
    """The JSON API method of a request (``/storage/v1/b/bucket/o/name`` and friends)."""
    segments, query = _split(head)
    method = head.method
    kind = query.get("uploadType", [""])[0]
    if segments[:3] == ["upload", "storage", "v1"]:
        if kind == "resumable":
            return "ResumableUpload" if "upload_id" in query else "StartResumableUpload"
        return "InsertObject" if method == "POST" else "Other"
    if segments[:3] == ["download", "storage", "v1"]:
        return "DownloadObject"
    if segments[:3] == ["batch", "storage", "v1"]:
        return "Batch"
    if segments[:2] != ["storage", "v1"]:
        return "Other"
    rest = segments[2:]
    if len(rest) >= 4 and rest[0] == "b" and rest[2] == "o":  # an object
        if method == "GET":
            return "DownloadObject" if query.get("alt") == ["media"] else "GetObject"
        return {"DELETE": "DeleteObject", "PATCH": "PatchObject"}.get(method, "Other")
    if len(rest) == 3 and rest[0] == "b" and rest[2] == "o" and method == "GET":
        return "ListObjects"
    if len(rest) == 2 and rest[0] == "b" and method == "GET":
        return "GetBucket"
    if rest == ["b"] and method == "POST":
        return "InsertBucket"
    return "Other"
