"""What a deploy needs from a storage, and the fastest way to get it for each storage.

A backend writes one file as ``storage.save()`` would, deletes many, lists
what is under the storage's location, and keeps the deploy manifest. The
generic backend does all of it through Django's Storage API, so it works for
any storage; a package under ``collectstupid/`` (``s3``, ``azure``, ``gcs``) may
claim the storages it knows and do the same work with fewer, faster requests.
"""

from __future__ import annotations

import importlib
import os
import posixpath
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol, cast

from django.core.files.storage import Storage

from collectstupid.collect import SourceFile
from collectstupid.errors import CollectStupidError
from collectstupid.manifest.store import ManifestStore, StorageManifestStore
from collectstupid.redact import redact

# Asked in order; each package has ``claims(storage)``, cheap and importing
# nothing heavy, and ``make_backend(storage)``.
FAST_BACKENDS = (
    "collectstupid.s3",
    "collectstupid.azure",
    "collectstupid.gcs",
    "collectstupid.local",
)


def describe_error(exc: BaseException) -> str:
    """A one-line reason for a failed request or write, without credentials."""
    text = str(exc) or type(exc).__name__
    if not isinstance(exc, CollectStupidError) and type(exc).__name__ not in text:
        # Our own errors are written for people; a library's needs its type to be read.
        text = f"{type(exc).__name__}: {text}"
    return redact(text)


def in_batches(
    items: Sequence[str],
    size: int,
    threads: int,
    send: Callable[[list[str]], dict[str, str]],
) -> dict[str, str]:
    """Call ``send`` on ``items`` in batches of ``size``, up to ``threads`` at once;
    merge the reasons each returns, by item."""
    batches = [list(items[i : i + size]) for i in range(0, len(items), size)]
    failed: dict[str, str] = {}
    if batches:
        with ThreadPoolExecutor(min(threads, len(batches)), "collectstupid") as pool:
            for result in pool.map(send, batches):
                failed.update(result)
    return failed


class Backend(Protocol):
    storage: Storage

    def prepare(self, threads: int) -> None:
        """Get ready for ``threads`` workers calling ``write`` at once."""
        ...

    @property
    def retries(self) -> int:
        """Requests sent again after a transient error so far (0 when unknown)."""
        ...

    def write(self, source: SourceFile) -> None:
        """Store ``source`` at ``source.dest``, as ``storage.save()`` would."""
        ...

    @property
    def takes_parameters(self) -> bool:
        """Whether ``write`` sends a file's ``parameters`` (a profile's object parameters)."""
        ...

    def parameters(self, source: SourceFile) -> Mapping[str, Any] | None:
        """What ``write`` would send with ``source`` besides its bytes, asking nothing
        remote; None when the backend cannot tell. Smart mode records a hash of it."""
        ...

    def abort_writes(self) -> list[str]:
        """Undo what writes still in flight leave behind (S3: open multipart uploads),
        for a run that gave up on them; return what could not be undone, as reasons."""
        ...

    def delete_many(self, names: Sequence[str], threads: int) -> dict[str, str]:
        """Delete ``names``; return the reason for each that could not be deleted."""
        ...

    def list_names(self) -> Iterator[str]:
        """Every name under the storage's location, with ``/`` separators."""
        ...

    def manifest_store(self, name: str) -> ManifestStore: ...

    def describe_error(self, exc: BaseException) -> str: ...

    def notes(self) -> list[str]:
        """Lines for -v 2 about how the writes were sent (S3: which request path), once each."""
        ...


class StorageBackend:
    """Any Django storage, through its own ``save``, ``delete`` and ``listdir``."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage

    def prepare(self, threads: int) -> None:
        pass  # each save() makes its own connections, if any

    def notes(self) -> list[str]:
        return []

    @property
    def retries(self) -> int:
        return 0

    def write(self, source: SourceFile) -> None:
        with source.storage.open(source.path) as content:
            self.storage.save(source.dest, content)

    @property
    def takes_parameters(self) -> bool:
        return False  # save() has no way to take them

    def parameters(self, source: SourceFile) -> Mapping[str, Any] | None:
        return None

    def _link(self, name: str) -> str | None:
        """The local path of ``name`` if it is a symlink (--link makes them), else None."""
        try:
            path = self.storage.path(name)
        except NotImplementedError:
            return None
        return path if os.path.islink(path) else None

    def abort_writes(self) -> list[str]:
        return []  # a save() in flight leaves nothing the Storage API could undo

    def delete_many(self, names: Sequence[str], threads: int) -> dict[str, str]:
        failed = {}
        for name in names:
            try:
                link = self._link(name)
                if link:
                    os.unlink(link)  # the link itself, even broken, never what it points to
                else:
                    self.storage.delete(name)
            except Exception as exc:
                failed[name] = self.describe_error(exc)
        return failed

    def list_names(self, path: str = "") -> Iterator[str]:
        try:
            folders, files = self.storage.listdir(path)
        except FileNotFoundError:
            return  # a local location not made yet holds nothing
        for name in files:
            yield posixpath.join(path, name)
        for folder in folders:
            name = posixpath.join(path, folder)
            if self._link(name):
                # Listed as itself, not walked into: it may point outside the location.
                yield name
            else:
                yield from self.list_names(name)

    def manifest_store(self, name: str) -> ManifestStore:
        return StorageManifestStore(self.storage, name)

    def describe_error(self, exc: BaseException) -> str:
        return describe_error(exc)


class BackendPackage(Protocol):
    def claims(self, storage: Storage) -> bool: ...

    def make_backend(self, storage: Storage) -> Backend: ...


def backend_for(storage: Storage) -> Backend:
    """The fastest backend that honours every setting of ``storage``."""
    for name in FAST_BACKENDS:
        package = cast(BackendPackage, importlib.import_module(name))
        if package.claims(storage):
            return package.make_backend(storage)
    return StorageBackend(storage)
