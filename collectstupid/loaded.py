"""After a deploy, the process's own ``staticfiles_storage`` holds the manifest just written.

collectstatic post-processes through that very storage, so code that runs it
and then renders ``{% static %}`` in the same process sees the new hashed
names. collectstupid post-processes a staging copy (see stage.py) and
uploads through a fresh instance, so the result is handed over here.
"""

from __future__ import annotations

from django.conf import STATICFILES_STORAGE_ALIAS
from django.contrib.staticfiles.storage import staticfiles_storage
from django.core.files.storage import Storage, storages
from django.utils.functional import empty


def loaded_staticfiles_storages() -> list[Storage]:
    """The instances this process already made of the staticfiles storage.

    One not made yet is left alone: made later, it reads the manifest the
    deploy wrote, and making it now would cost a remote read on S3.
    """
    found: list[Storage] = []
    for candidate in (
        storages._storages.get(STATICFILES_STORAGE_ALIAS),
        staticfiles_storage._wrapped,
    ):
        if (
            candidate is not None
            and candidate is not empty
            and not any(candidate is seen for seen in found)
        ):
            found.append(candidate)
    return found


def adopt_manifest(hashed_files: dict[str, str], manifest_hash: str) -> None:
    """Give every loaded hashed-name staticfiles storage the manifest that was deployed."""
    for storage in loaded_staticfiles_storages():
        if hasattr(storage, "hashed_files") and hasattr(storage, "manifest_hash"):
            storage.hashed_files = dict(hashed_files)
            storage.manifest_hash = manifest_hash
