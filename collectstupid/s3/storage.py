"""What django-storages' ``S3Storage.save()`` would send, asked of the storage's own helpers
rather than copied, so that a subclass overriding one is honoured; object keys come from
collectstupid/storage.py. Tested against ``save()`` in tests/test_s3_writer.py.
See docs/speed.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import IO, Any

from collectstupid.media_types import chosen


def write_parameters(
    storage: Any, key: str, content: IO[bytes] | None, extra: Mapping[str, Any] | None = None
) -> tuple[dict[str, Any], bool]:
    """The PutObject parameters ``save()`` would pass, and whether it gzips the body.

    ``extra`` (a profile's object parameters) goes over the storage's own. The
    Content-Type comes from collectstupid/media_types.py unless the storage's own
    object parameters set one.
    Same gzip rule as ``S3Storage._save``, applied after it: gzip when the
    storage has it on, the content type is one of its ``gzip_content_types``
    and nothing has set a content encoding already.
    """
    params = storage._get_write_parameters(key, content)
    if "ContentType" not in storage.get_object_parameters(key):
        # save() guessed it from the host's mimetypes: the package's table comes first.
        params["ContentType"] = chosen(key, params.get("ContentType"))
    if extra:
        params.update(extra)
    gzip = bool(
        storage.gzip
        and params.get("ContentType") in storage.gzip_content_types
        and "ContentEncoding" not in params
    )
    if gzip:
        params["ContentEncoding"] = "gzip"
    return params, gzip


def compressed(storage: Any, content: IO[bytes]) -> IO[bytes]:
    """The storage's own gzip stream over ``content`` (read as it is consumed)."""
    return storage._compress_content(content)


def make_session(storage: Any) -> Any:
    """The boto3 session the storage would use: its keys, token or profile."""
    return storage._create_session()
