"""The object parameters ``save()`` would send, worked out once per kind of file: with
django-storages' own ``get_object_parameters`` and ``_get_write_parameters``, they depend on
a key only through its extension (``mimetypes`` and collectstupid/media_types.py read
nothing else), so files sharing the extension and the profile's parameters share them.
See docs/speed.md.
"""

from __future__ import annotations

import mimetypes
import posixpath
from collections.abc import Callable, Mapping
from typing import Any

from storages.backends.s3 import S3Storage

# The key and the profile's parameters of a file, to the parameters it is written with.
Compute = Callable[[str, Mapping[str, Any] | None], dict[str, Any]]


def by_extension(storage: Any) -> bool:
    """Whether the storage works out parameters as django-storages does: a subclass
    overriding either method may look at the whole key, so it is asked for every file."""
    cls = type(storage)
    return (
        cls.get_object_parameters is S3Storage.get_object_parameters
        and cls._get_write_parameters is S3Storage._get_write_parameters
        and ":" not in (storage.location or "")
    )


def extension(dest: str) -> str | None:
    """The part of ``dest`` its key's parameters depend on, None where more of it may count.

    Only a plain path is the end of its key unchanged (no normalising step drops or
    turns a segment), never looks like a URL scheme to ``mimetypes``, and has an
    extension ``mimetypes`` reads alone (not a compression or alias suffix, after which
    it reads the one before).
    """
    if "\\" in dest or ":" in dest or dest.endswith("/"):
        return None
    if any(part in ("", ".", "..") for part in dest.split("/")):
        return None
    ext = posixpath.splitext(dest)[1]
    lower = ext.lower()
    if not mimetypes.inited:
        mimetypes.init()
    if lower in mimetypes.suffix_map or lower in mimetypes.encodings_map:
        return None
    return ext


class ParameterCache:
    """One result per (extension, profile parameters) for a storage that allows it.

    Results are shared, so callers only read them. Safe from many threads: two
    threads missing at once compute the same value.
    """

    def __init__(self, storage: Any) -> None:
        self.enabled = by_extension(storage)
        # (extension, id of the profile's parameters) -> (those parameters, result);
        # keeping the parameters keeps their id from being reused.
        self._known: dict[tuple[str, int], tuple[Any, dict[str, Any]]] = {}

    def get(
        self, dest: str, extra: Mapping[str, Any] | None, compute: Callable[[], dict[str, Any]]
    ) -> dict[str, Any]:
        ext = extension(dest) if self.enabled else None
        if ext is None:
            return compute()
        slot = (ext, id(extra))
        known = self._known.get(slot)
        if known is not None and known[0] is extra:
            return known[1]
        result = compute()
        self._known[slot] = (extra, result)
        return result
