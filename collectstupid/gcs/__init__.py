"""The backend for django-storages' ``GoogleCloudStorage``: one upload request per file
where ``save()`` also fetches the object's metadata first.

``claims`` is asked of every target storage, so it imports nothing heavy: the
Google client loads only once a Google Cloud storage is in use.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from django.core.files.storage import Storage

if TYPE_CHECKING:
    from collectstupid.gcs.backend import GcsBackend

GCS_MODULE = "storages.backends.gcloud"


def storage_class() -> type[Storage] | None:
    """django-storages' ``GoogleCloudStorage``, if something already imported it."""
    return getattr(sys.modules.get(GCS_MODULE), "GoogleCloudStorage", None)


def claims(storage: Storage) -> bool:
    base = storage_class()
    return base is not None and isinstance(storage, base)


def make_backend(storage: Storage) -> GcsBackend:
    from collectstupid.gcs.backend import GcsBackend

    return GcsBackend(storage)
