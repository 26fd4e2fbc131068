"""Write a file as ``GoogleCloudStorage.save()`` does, less its metadata read.

``save()`` builds a ``GoogleCloudFile``, whose constructor fetches the
object's metadata (one GET per file, whose answer a write never needs) before
the upload. This writer makes the same blob with the same properties (object
parameters, ACL, content type and encoding, gzip) through the storage's own
helpers and sends only the upload. Two of those helpers are private to
django-storages (``_normalize_name``, ``_compress_content``); they are called
here and nowhere else, and tests/test_gcs.py checks the result against
``save()``.
"""

from __future__ import annotations

import mimetypes
from typing import Any

from django.core.files.storage import Storage

from collectstupid.collect import SourceFile
from collectstupid.gcs import storage_class
from collectstupid.storage import object_key, saves_like


def retry() -> Any:
    """The retry policy ``save()`` uses for its upload."""
    from google.cloud.storage.retry import DEFAULT_RETRY

    return DEFAULT_RETRY


def saves_like_gcs(storage: Storage) -> bool:
    """True if ``storage.save()`` is exactly ``GoogleCloudStorage``'s, bar our mixin."""
    return saves_like(storage, storage_class())


def blob_name(storage: Any, name: str) -> str:
    """The object name ``storage.save(name)`` writes: the name as stored, under the location.

    django-storages cleans and joins names the same way for S3 and GCS.
    """
    return object_key(storage, name)


def write(storage: Any, source: SourceFile) -> None:
    """One upload request for ``source``, as ``storage.save(source.dest, ...)`` would land it."""
    name = blob_name(storage, source.dest)
    blob = storage.bucket.blob(name, chunk_size=storage.blob_chunk_size)
    mime_type, mime_encoding = mimetypes.guess_type(name)
    properties = storage.get_object_parameters(name)
    if mime_encoding and "content_encoding" not in properties:
        properties["content_encoding"] = mime_encoding
    upload = {
        "predefined_acl": properties.pop("acl", storage.default_acl),
        "content_type": properties.pop("content_type", mime_type),
    }
    with source.storage.open(source.path, "rb") as content:
        size: int | None = source.size
        body = content
        if (
            storage.gzip
            and upload["content_type"] in storage.gzip_content_types
            and "content_encoding" not in properties
        ):
            body, size = storage._compress_content(content), None  # gzip: length unknown
            properties["content_encoding"] = "gzip"
        for prop, value in properties.items():
            setattr(blob, prop, value)
        blob.upload_from_file(body, rewind=True, retry=retry(), size=size, **upload)
