"""Where the manifest lives: one read, one conditional write.

A backend with a conditional write of its own (S3's ``If-Match``) brings its
own store; every other storage gets ``StorageManifestStore``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from django.core.files.base import ContentFile
from django.core.files.storage import Storage

from collectstupid.errors import ManifestFormatError
from collectstupid.manifest.entries import Entry, loads
from collectstupid.storage import StupidStorageMixin


@dataclass(frozen=True)
class Snapshot:
    """One read of the manifest.

    ``token`` makes the next write conditional: the ETag on S3, a digest of
    the bytes elsewhere, None when no object was found. ``problem`` says why a
    found object was treated as empty.
    """

    entries: Mapping[str, Entry] = field(default_factory=dict)
    token: str | None = None
    found: bool = False
    problem: str = ""


def parsed(data: bytes, token: str | None) -> Snapshot:
    """A snapshot of bytes that were found: their entries, or why they cannot be used."""
    try:
        return Snapshot(loads(data), token, found=True)
    except ManifestFormatError as exc:
        return Snapshot({}, token, found=True, problem=str(exc))


class ManifestStore(Protocol):
    name: str

    def read(self) -> Snapshot: ...

    def write(self, data: bytes, expected: Snapshot) -> bool:
        """Write ``data`` unless the object changed since ``expected`` was read.

        Returns False on such a conflict; raises on any other failure.
        """
        ...


class StorageManifestStore:
    """Any Django storage: ``open`` to read, ``save`` to write.

    There is no conditional write in the Storage API. The token is a digest
    of the bytes read, and ``write`` re-reads and compares just before saving:
    a concurrent run that wrote in between is merged with, but one that writes
    in the instant between that check and our save is overwritten, and its
    files are left described by their older entries.
    """

    def __init__(self, storage: Storage, name: str) -> None:
        if not isinstance(storage, StupidStorageMixin):
            # Without the mixin, save() would pick a new name next to the old manifest.
            raise TypeError("the manifest needs a storage with StupidStorageMixin")
        self.storage: Storage = storage
        self.name = name

    def read(self) -> Snapshot:
        try:
            with self.storage.open(self.name, "rb") as handle:
                data = handle.read()
        except FileNotFoundError:
            return Snapshot()
        except OSError as exc:
            return Snapshot(problem=f"it could not be read ({exc})")
        return parsed(data, hashlib.sha256(data).hexdigest())

    def write(self, data: bytes, expected: Snapshot) -> bool:
        if self.read().token != expected.token:
            return False
        self.storage.save(self.name, ContentFile(data))
        return True
