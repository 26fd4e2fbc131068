"""The storage a deploy writes through: StupidStorageMixin (saving never asks whether a
file exists), the configured storage made blind, and how django-storages' storages name
what they store (location prefix, object key, a location they refuse), which every
remote backend needs.

See docs/storage-mixin.md.
"""

from __future__ import annotations

import contextlib
import os
import posixpath
from typing import TYPE_CHECKING, Any

from django.core.exceptions import SuspiciousFileOperation, SuspiciousOperation
from django.core.files.storage import FileSystemStorage, Storage, storages
from django.core.files.utils import validate_file_name
from django.utils.module_loading import import_string

if TYPE_CHECKING:
    # The mixin only ever goes in front of a Storage class.
    from django.core.files.storage import Storage as _MixedInto
else:
    _MixedInto = object


class StupidStorageMixin(_MixedInto):
    """Add to any storage class so a save is one write and nothing else.

    Django's ``Storage.save()`` asks ``get_available_name()`` for a free name,
    which calls ``exists()`` (one remote request per file on S3) and may
    rename the file. With the mixin the name is returned unchanged and the
    existing object is overwritten, which is what a deploy wants.
    """

    def get_available_name(self, name: str, max_length: int | None = None) -> str:
        name = str(name).replace("\\", "/")
        validate_file_name(name, allow_relative_path=True)
        if max_length is not None and len(name) > max_length:
            raise SuspiciousFileOperation(
                f"Storage can not store {name!r}: it is longer than {max_length} characters."
            )
        return name

    def _save(self, name: str, content: Any) -> str:
        if isinstance(self, FileSystemStorage):
            # FileSystemStorage opens files exclusively and, on a clash, asks
            # get_available_name() again, which would loop forever here.
            path = self.path(name)
            if os.path.islink(path) or not hasattr(self, "_allow_overwrite"):
                # Before Django 5.1 there is no overwriting; and a symlink (left by
                # --link) must go: writing through it would overwrite its source.
                with contextlib.suppress(FileNotFoundError):
                    os.remove(path)
            if hasattr(self, "_allow_overwrite"):  # Django 5.1+
                self._allow_overwrite = True
        return super()._save(name, content)


class _DeployOnly(_MixedInto):
    """For the instance a deploy writes through, never for one that serves the site."""

    def load_manifest(self) -> tuple[dict[str, str], str]:
        # ManifestFilesMixin reads the deployed staticfiles.json when the storage
        # is created: one or two remote requests on S3. A deploy only writes the
        # manifest (built locally by stage.py), so there is nothing to read. A
        # storage that serves {% static %} must load it: the public mixin keeps
        # Django's load_manifest.
        return {}, ""


_stupid_classes: dict[type[Storage], type[Storage]] = {}


def stupid_class(cls: type[Storage]) -> type[Storage]:
    """``cls`` as a deploy writes through it: StupidStorageMixin in front (unless the
    class has it already) and no manifest read when it is created. Made once per class."""
    if cls not in _stupid_classes:
        bases = (
            (_DeployOnly, cls)
            if issubclass(cls, StupidStorageMixin)
            else (_DeployOnly, StupidStorageMixin, cls)
        )
        _stupid_classes[cls] = type(
            f"Stupid{cls.__name__}",
            bases,
            {"__module__": __name__, "configured_class": cls},
        )
    return _stupid_classes[cls]


def saves_like(storage: Storage, base: type[Storage] | None) -> bool:
    """True if ``storage.save()`` is exactly ``base``'s, bar our mixin.

    A subclass that overrides ``save`` or ``_save`` does something of its own
    on each write; only ``storage.save()`` can honour that, so a fast writer
    that replaces ``base``'s save must not be used for it.
    """
    if base is None or not isinstance(storage, base):
        return False
    for cls in type(storage).__mro__:
        if cls is base:
            return True
        if cls is StupidStorageMixin:
            continue
        if "save" in vars(cls) or "_save" in vars(cls):
            return False
    return False


def class_name(storage: Storage) -> str:
    """The name of the class the settings configure, not the one made from it here."""
    cls = type(storage)
    return getattr(cls, "configured_class", cls).__name__


def configured(alias: str = "staticfiles") -> tuple[type[Storage], dict[str, Any]]:
    """The storage class and options that STORAGES configures under ``alias``."""
    config = storages.backends[alias]
    return import_string(config["BACKEND"]), dict(config.get("OPTIONS", {}))


def target_storage(alias: str = "staticfiles") -> Storage:
    """A fresh instance of the configured storage that writes blindly."""
    cls, options = configured(alias)
    return stupid_class(cls)(**options)


def object_key(storage: Any, name: str) -> str:
    """The key ``storage.save(name)`` writes: the name as stored, under the location."""
    validate_file_name(name, allow_relative_path=True)
    name = storage.get_available_name(name)
    validate_file_name(name, allow_relative_path=True)
    return plain_key(storage, name)


def plain_key(storage: Any, name: str) -> str:
    """``object_key`` without ``get_available_name``, which may ask the bucket.

    The same key whenever the storage overwrites (django-storages' default,
    and always with StupidStorageMixin); used where no request may be made.
    """
    from storages.utils import clean_name

    return storage._normalize_name(clean_name(name))


def location_prefix(storage: Any) -> str:
    """The key prefix of every object under the storage's location ('' at the root)."""
    from storages.utils import clean_name

    location = clean_name(storage.location or "").strip("/")
    return f"{location}/" if location else ""


def location_refusal(storage: Any) -> str | None:
    """Why a django-storages storage refuses every name under its location, as the run's
    error; None when it takes them (or is not such a storage).

    Its ``safe_join`` normalizes the joined path but compares it with the location as
    written, so ``./static`` or ``static//css`` puts every file "outside" the location:
    each save, url() and listing fails. Normalizing it here would write keys the storage
    serving the site cannot name, so the run refuses it instead.
    """
    location = getattr(storage, "location", None)
    if not isinstance(location, str) or not hasattr(storage, "_normalize_name"):
        return None
    try:
        storage._normalize_name("collectstupid-probe")
    except (SuspiciousOperation, ValueError):
        normal = posixpath.normpath(location.strip("/"))
        normal = "" if normal == "." else normal
        return (
            f"The storage's location {location!r} is not in normal form, so the storage "
            f"refuses every file under it (it joins a name under the location and finds "
            f"the result outside it). Set it to {normal!r}. Nothing was written."
        )
    return None
