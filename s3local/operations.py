"""Name the S3 operation of a path-style request from its method, path, query and headers."""

from __future__ import annotations

from urllib.parse import parse_qs, unquote, urlsplit

from s3local.http1 import Head


def split_target(target: str) -> tuple[str, str, dict[str, list[str]]]:
    """``/bucket/some/key?x=1`` -> ``("bucket", "some/key", {"x": ["1"]})``."""
    parts = urlsplit(target)
    path = unquote(parts.path)
    bucket, _, key = path.removeprefix("/").partition("/")
    return bucket, key, parse_qs(parts.query, keep_blank_values=True)


def classify(method: str, target: str, copy_source: bool = False) -> str:
    """The S3 API name for a request, or ``Other``.

    ``copy_source`` says whether the request carries ``x-amz-copy-source``,
    the only header that changes the operation (PUT becomes a copy).
    """
    method = method.upper()
    bucket, key, query = split_target(target)
    if not bucket:
        return "ListBuckets" if method == "GET" else "Other"
    if key:
        return _object_operation(method, query, copy_source)
    return _bucket_operation(method, query)


def classify_head(head: Head) -> str:
    return classify(head.method, head.target, head.get("x-amz-copy-source") is not None)


def _object_operation(method: str, query: dict[str, list[str]], copy_source: bool) -> str:
    if method == "PUT":
        if "partNumber" in query and "uploadId" in query:
            return "UploadPartCopy" if copy_source else "UploadPart"
        if "acl" in query:
            return "PutObjectAcl"
        if "tagging" in query:
            return "PutObjectTagging"
        return "CopyObject" if copy_source else "PutObject"
    if method == "POST":
        if "uploads" in query:
            return "CreateMultipartUpload"
        if "uploadId" in query:
            return "CompleteMultipartUpload"
        return "Other"
    if method == "DELETE":
        return "AbortMultipartUpload" if "uploadId" in query else "DeleteObject"
    if method == "GET":
        if "uploadId" in query:
            return "ListParts"
        if "acl" in query:
            return "GetObjectAcl"
        if "tagging" in query:
            return "GetObjectTagging"
        return "GetObject"
    if method == "HEAD":
        return "HeadObject"
    return "Other"


# Bucket sub-resources we name; any other sub-resource query is "Other".
_BUCKET_GETS = {
    "location": "GetBucketLocation",
    "uploads": "ListMultipartUploads",
    "versions": "ListObjectVersions",
    "acl": "GetBucketAcl",
}
_LIST_PARAMS = {"prefix", "delimiter", "marker", "max-keys", "encoding-type"}


def _bucket_operation(method: str, query: dict[str, list[str]]) -> str:
    if method == "GET":
        if query.get("list-type") == ["2"]:
            return "ListObjectsV2"
        for name, operation in _BUCKET_GETS.items():
            if name in query:
                return operation
        return "ListObjects" if set(query) <= _LIST_PARAMS else "Other"
    if method == "HEAD":
        return "HeadBucket"
    if method == "POST" and "delete" in query:
        return "DeleteObjects"
    if method == "PUT" and not query:
        return "CreateBucket"
    if method == "DELETE" and not query:
        return "DeleteBucket"
    return "Other"
