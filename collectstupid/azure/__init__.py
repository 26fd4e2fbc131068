"""The backend for django-storages' ``AzureStorage``: overwriting writes, a listing
without the location, and a manifest written with ETag conditions.

``claims`` is asked of every target storage, so it imports nothing heavy: the
Azure SDK is loaded only once an Azure storage is in use.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from django.core.files.storage import Storage

if TYPE_CHECKING:
    from collectstupid.azure.backend import AzureBackend

AZURE_MODULE = "storages.backends.azure_storage"


def claims(storage: Storage) -> bool:
    """True for ``AzureStorage`` and its subclasses (its module is loaded if one exists)."""
    base = getattr(sys.modules.get(AZURE_MODULE), "AzureStorage", None)
    return base is not None and isinstance(storage, base)


def make_backend(storage: Storage) -> AzureBackend:
    from collectstupid.azure.backend import AzureBackend

    return AzureBackend(storage)
