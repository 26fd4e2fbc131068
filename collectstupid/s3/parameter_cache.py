"""The object parameters django-storages' ``S3Storage.save()`` would send, asked of the
storage's own helpers rather than copied, so that a subclass overriding one is honoured
(tested against ``save()`` in tests/test_s3_writer.py); and worked out once per kind of
file: with django-storages' own ``get_object_parameters`` and ``_get_write_parameters``,
they depend on a key only through its extension (``mimetypes`` and
collectstupid/media_types.py read nothing else), so files sharing the extension and the
profile's parameters share them. See docs/speed.md.
"""

from __future__ import annotations

import mimetypes
import posixpath
from collections.abc import Callable, Mapping
from typing import IO, Any

from storages.backends.s3 import S3Storage

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
