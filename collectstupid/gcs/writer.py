"""Write a file as ``GoogleCloudStorage.save()`` does, less the metadata read its
``GoogleCloudFile`` makes first: one upload, the blob's name and properties asked of the
storage itself, a profile's object parameters over its own. See docs/storages.md.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Mapping
from typing import Any

from collectstupid.collect import SourceFile
from collectstupid.media_types import chosen
from collectstupid.object_parameters import storage_names
from collectstupid.storage import object_key


def retry() -> Any:
    """The retry policy ``save()`` uses for its upload."""
    from google.cloud.storage.retry import DEFAULT_RETRY

    return DEFAULT_RETRY


def blob_name(storage: Any, name: str) -> str:
    """The object name ``storage.save(name)`` writes: the name as stored, under the location.

    django-storages cleans and joins names the same way for S3 and GCS.
    """
    return object_key(storage, name)


def properties(
    storage: Any, name: str, extra: Mapping[str, Any] | None = None
) -> tuple[dict[str, Any], dict[str, Any], bool]:
    """The blob properties ``save()`` would set, the upload's own arguments (ACL and
    content type), and whether it gzips the body; asks nothing remote.

    ``extra`` (a profile's object parameters, by S3's names) goes over the
    storage's own, before the gzip decision, as on S3.
    """
    guessed, mime_encoding = mimetypes.guess_type(name)
    # The package's table before the host's mimetypes, which save() asks alone.
    mime_type = chosen(name, guessed)
    props = storage.get_object_parameters(name)
    if extra:
        props.update(storage_names(extra))
    if mime_encoding and "content_encoding" not in props:
        props["content_encoding"] = mime_encoding
    upload = {
        "predefined_acl": props.pop("acl", storage.default_acl),
        "content_type": props.pop("content_type", mime_type),
    }
    gzip = bool(
        storage.gzip
        and upload["content_type"] in storage.gzip_content_types
        and "content_encoding" not in props
    )
    if gzip:
        props["content_encoding"] = "gzip"
    return props, upload, gzip


def write(storage: Any, source: SourceFile) -> None:
    """One upload request for ``source``, as ``storage.save(source.dest, ...)`` would land it."""
    name = blob_name(storage, source.dest)
    blob = storage.bucket.blob(name, chunk_size=storage.blob_chunk_size)
    props, upload, gzip = properties(storage, name, source.parameters)
    with source.storage.open(source.path, "rb") as content:
        size: int | None = source.size
        body = content
        # _compress_content is private to django-storages, as is the _normalize_name behind
        # object_key: asked rather than copied, and tests/test_gcs.py compares with save().
        if gzip:
            body, size = storage._compress_content(content), None  # gzip: length unknown
        for prop, value in props.items():
            setattr(blob, prop, value)
        blob.upload_from_file(body, rewind=True, retry=retry(), size=size, **upload)
