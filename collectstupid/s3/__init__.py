"""The backend for django-storages' S3 storage: direct, pooled S3 requests.

``claims`` is asked of every target storage, so it imports nothing heavy:
boto3 loads only once an S3 storage is in use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.core.files.storage import Storage

from collectstupid.s3.storage import s3_storage_class

if TYPE_CHECKING:
    from collectstupid.s3.backend import S3Backend


def claims(storage: Storage) -> bool:
    """True for django-storages' ``S3Storage`` and its subclasses."""
    base = s3_storage_class()
    return base is not None and isinstance(storage, base)


def make_backend(storage: Storage) -> S3Backend:
    from collectstupid.s3.backend import S3Backend

    return S3Backend(storage)
