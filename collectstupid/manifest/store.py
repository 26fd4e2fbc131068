"""Where the manifest lives: one read, one conditional write.

A backend with a conditional write of its own (S3's ``If-Match``) brings its
own store; every other storage gets ``StorageManifestStore``.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

from django.core.files.base import ContentFile
from django.core.files.storage import Storage

from collectstupid.errors import ManifestFormatError
from collectstupid.manifest.entries import Contents, Entry, Pending, Record, loads
from collectstupid.storage import StupidStorageMixin


@dataclass(frozen=True)
class Snapshot:
    """One read of the manifest.

    ``token`` makes the next write conditional: the ETag on S3, a digest of
    the bytes elsewhere, None when no object was found. ``problem`` says why a
    found object was treated as empty.
    """

    entries: Mapping[str, Entry] = field(default_factory=dict)
    pending: Mapping[str, Pending] = field(default_factory=dict)
    token: str | None = None
    found: bool = False
    problem: str = ""
    profiles: Mapping[str, Record] = field(default_factory=dict)
    projects: Mapping[str, Mapping[str, Record]] = field(default_factory=dict)
    location: str | None = None
    owed: Mapping[str, frozenset[str]] = field(default_factory=dict)

    @property
    def contents(self) -> Contents:
        """A copy of what was read, to change."""
        return Contents(
            dict(self.entries),
            dict(self.pending),
            dict(self.profiles),
            {project: dict(records) for project, records in self.projects.items()},
            self.location,
            dict(self.owed),
        )


def snapshot(contents: Contents, token: str | None) -> Snapshot:
    """A snapshot of ``contents``, found in the storage with ``token``."""
    return Snapshot(
        contents.entries,
        contents.pending,
        token,
        found=True,
        profiles=contents.profiles,
        projects=contents.projects,
        location=contents.location,
        owed=contents.owed,
    )


def placed(found: Snapshot, location: str | None) -> Snapshot:
    """``found`` as a run deploying to ``location`` may use it.

    A manifest recording another location was copied or moved here: it says
    nothing true of this one, so it is read as empty (with the reason, which
    the run warns of) and the next write replaces it. One recording no
    location (version 3 and older) is taken as this location's.
    """
    if location is None:
        return found
    if found.location in (None, location):
        return replace(found, location=location)
    return Snapshot(
        token=found.token,
        found=True,
        problem=(
            f"it describes another location ('{found.location}'), not this one "
            f"('{location}'), so it was copied or moved here and nothing in it is trusted "
            "or pruned"
        ),
        location=location,
    )


def parsed(data: bytes, token: str | None) -> Snapshot:
    """A snapshot of bytes that were found: their entries, or why they cannot be used."""
    try:
        contents = loads(data)
    except ManifestFormatError as exc:
        return Snapshot({}, {}, token, found=True, problem=str(exc))
    return snapshot(contents, token)


class ManifestStore(Protocol):
    name: str

    def read(self) -> Snapshot: ...

    def write(self, data: bytes, expected: Snapshot) -> str | None:
        """Write ``data`` unless the object changed since ``expected`` was read.

        Returns the token of what was written (for the next conditional write),
        None on such a conflict; raises on any other failure.
        """
        ...


@dataclass
class NamedObjectStore:
    """A store that reads and writes the manifest through the storage's own client."""

    storage: Any
    name: str
    blob: str  # the manifest's name as the storage's client knows it


class StorageManifestStore:
    """Any Django storage: ``open`` to read, ``save`` to write.

    There is no conditional write in the Storage API. The token is a digest
    of the bytes read, and ``write`` re-reads and compares just before saving:
    a concurrent run that wrote in between is merged with. On local disk the
    compare and the write happen under a lock on the manifest's folder; on a
    remote storage without conditional writes, a run that writes in the
    instant between that check and our save is overwritten, and its files are
    left described by their older entries.
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

    def write(self, data: bytes, expected: Snapshot) -> str | None:
        try:
            path = Path(self.storage.path(self.name))
        except NotImplementedError:
            if self.read().token != expected.token:
                return None
            self.storage.save(self.name, ContentFile(data))
            return hashlib.sha256(data).hexdigest()
        path.parent.mkdir(parents=True, exist_ok=True)
        # On local disk the check and the replace are one step for every run on
        # this machine: without the lock, two runs could both pass the check and
        # the second replace would drop the first run's entries.
        with locked(path.parent):
            if self.read().token != expected.token:
                return None
            # A reader must see the old bytes or the new, never half.
            with tempfile.NamedTemporaryFile(
                dir=path.parent, prefix=".manifest-", delete=False
            ) as tmp:
                tmp.write(data)
            mode = getattr(self.storage, "file_permissions_mode", None)
            if mode is not None:
                os.chmod(tmp.name, mode)
            os.replace(tmp.name, path)
        return hashlib.sha256(data).hexdigest()


@contextlib.contextmanager
def locked(folder: Path) -> Iterator[None]:
    """An exclusive ``flock`` on ``folder`` while the block runs, where the system has one."""
    try:
        import fcntl
    except ImportError:  # Windows: the check and the replace stay two steps
        yield
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock
