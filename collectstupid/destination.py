"""Where a deploy writes, named as a path or URL and checked before anything is written."""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured
from django.core.files.storage import Storage

from collectstupid.errors import SettingsError
from collectstupid.storage import describe


def destination(storage: Storage) -> str:
    """The folder a local storage writes to, or the remote place (``s3://bucket/location``).

    A local storage that cannot say where it writes (StaticFilesStorage without
    STATIC_ROOT) raises SettingsError in Django's own words, before any
    post-processing or upload would fail on every file.
    """
    try:
        return storage.path("")
    except NotImplementedError:
        return describe(storage)  # remote storages have no local path
    except ImproperlyConfigured as exc:
        raise SettingsError(
            f"{exc} Nothing was written. Set STATIC_ROOT (or the storage's location), "
            "or point STORAGES['staticfiles'] at the storage you deploy to."
        ) from exc
