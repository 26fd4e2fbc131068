"""What a deploy needs from a storage, and the fastest way to get it for each storage.

A backend writes one file as ``storage.save()`` would, deletes many, lists what is under
the storage's location, and keeps the deploy manifest. The generic backend does it all
through Django's Storage API; ``FAST_BACKENDS`` names the storages a backend of ours
(``s3``, ``azure``, ``gcs``, ``local``) does with fewer, faster requests. See docs/storages.md.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import posixpath
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from django.core.exceptions import ImproperlyConfigured
from django.core.files.storage import Storage

from collectstupid.collect import SourceFile
from collectstupid.errors import LinkError, SettingsError
from collectstupid.manifest.store import ManifestStore, StorageManifestStore
from collectstupid.media_types import media_type
from collectstupid.object_parameters import Carries
from collectstupid.output import describe_error
from collectstupid.storage import saves_like

if TYPE_CHECKING:
    from collectstupid.outcomes import UploadResult
    from collectstupid.profiles import Plan
    from collectstupid.stage import Staged


@dataclass(frozen=True)
class Listed:
    """One object as a listing of the location shows it, for ``--verify``.

    ``md5``: the hex MD5 of its bytes where the listing gives one (a single-part S3
    ETag, Azure's Content-MD5, GCS's md5Hash), else None. ``path``: where a local
    storage keeps it, so its bytes can be compared without a request.
    """

    name: str
    size: int
    md5: str | None = None
    path: str | None = None


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
    if len(batches) == 1:
        # In the calling thread: no pool for one request.
        return dict(send(batches[0]))
    if batches:
        with ThreadPoolExecutor(min(threads, len(batches)), "collectstupid") as pool:
            for result in pool.map(send, batches):
                failed.update(result)
    return failed


def local_path(storage: Storage) -> str | None:
    """The folder a storage keeps its files in on this machine, or None for a remote one.

    A local storage that cannot say where it writes (StaticFilesStorage without
    STATIC_ROOT) raises SettingsError in Django's own words, before any
    post-processing or upload would fail on every file.
    """
    try:
        return str(storage.path(""))
    except NotImplementedError:
        return None  # collectstatic's own test for a remote storage
    except ImproperlyConfigured as exc:
        raise SettingsError(
            f"{exc} Nothing was written. Set STATIC_ROOT (or the storage's location), "
            "or point STORAGES['staticfiles'] at the storage you deploy to."
        ) from exc


class Backend(Protocol):
    storage: Storage

    def destination(self) -> str:
        """Where the deploy writes, for people: a local folder or ``s3://bucket/location``,
        never with credentials."""
        ...

    def writer_count(self, requested: int) -> int:
        """How many files to write at once, given the threads the settings ask for."""
        ...

    @property
    def inline_writes(self) -> bool:
        """Whether files are written in the calling thread, one after another."""
        ...

    def staging_parent(self) -> str | None:
        """Where the post-processing staging folder should go (None: the system's temp)."""
        ...

    def check_linkable(self) -> None:
        """Raise LinkError unless ``--link`` can make symlinks in this storage."""
        ...

    def collectstatic_counts(
        self, plan: Plan, result: UploadResult, staged: Staged, smart: bool = False
    ) -> tuple[int, int] | None:
        """(copied, post-processed) counted as collectstatic counts them, where the
        summary should use its numbers (local targets); None elsewhere."""
        ...

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
    def carries(self) -> Carries | None:
        """What ``write`` can send of a file's ``parameters`` (a profile's object
        parameters); None when it sends none of them."""
        ...

    def parameters(self, source: SourceFile) -> Mapping[str, Any] | None:
        """What ``write`` would send with ``source`` besides its bytes, asking nothing
        remote; None when the backend cannot tell. Smart mode records a hash of it."""
        ...

    def abort_writes(self) -> list[str]:
        """Undo what writes still in flight leave behind (S3: open multipart uploads),
        for a run that gave up on them; return what could not be undone, as reasons."""
        ...

    def left_uploads(self) -> list[tuple[str, str]] | None:
        """The writes runs that were killed left open under the location (S3: multipart
        uploads), as (name under the location, id); None where the storage keeps none
        open. A failure to list them is raised."""
        ...

    def abort_left_uploads(self, uploads: list[tuple[str, str]]) -> tuple[list[str], list[str]]:
        """Abort ``uploads`` (from :meth:`left_uploads`): the names aborted, the problems met."""
        ...

    def delete_many(self, names: Sequence[str], threads: int) -> dict[str, str]:
        """Delete ``names``; return the reason for each that could not be deleted."""
        ...

    def list_names(self) -> Iterator[str]:
        """Every name under the storage's location, with ``/`` separators."""
        ...

    def list_objects(self) -> Iterator[Listed]:
        """Every object under the storage's location with its size and what the listing
        says of its bytes (``--verify``); one listing where the storage allows it."""
        ...

    def listed_name(self, name: str) -> str:
        """The name ``list_names`` shows for what ``write`` stores at ``name``: Azure's
        blob names lose a leading dot at the container's root, for one."""
        ...

    def delete_listed(self, names: Sequence[str], threads: int) -> dict[str, str]:
        """Delete names exactly as ``list_names`` gave them; as ``delete_many`` otherwise."""
        ...

    def manifest_store(self, name: str) -> ManifestStore: ...

    def describe_error(self, exc: BaseException) -> str: ...

    def notes(self) -> list[str]:
        """Lines for -v 2 about how the writes were sent (S3: which request path), once each."""
        ...


class StorageBackend:
    """Any Django storage, through its own ``save``, ``delete`` and ``listdir``."""

    # How a remote storage with a ``bucket_name`` is named in messages.
    scheme = "s3"
    bucket_attribute = "bucket_name"

    def __init__(self, storage: Storage) -> None:
        self.storage = storage

    def destination(self) -> str:
        path = local_path(self.storage)
        if path is not None:
            return path
        bucket = getattr(self.storage, self.bucket_attribute, None)
        location = getattr(self.storage, "location", "") or ""
        if bucket:
            return f"{self.scheme}://{bucket}/{location}".rstrip("/")
        return str(location) if location else type(self.storage).__name__

    def writer_count(self, requested: int) -> int:
        return requested

    @property
    def inline_writes(self) -> bool:
        return False

    def staging_parent(self) -> str | None:
        return None

    def check_linkable(self) -> None:
        if local_path(self.storage) is None:
            raise LinkError(
                f"Can't symlink to a remote destination. The staticfiles storage "
                f"({self.destination()}) has no local paths, so --link cannot be used "
                "with it; run without --link to upload copies."
            )

    def collectstatic_counts(
        self, plan: Plan, result: UploadResult, staged: Staged, smart: bool = False
    ) -> tuple[int, int] | None:
        return None

    def prepare(self, threads: int) -> None:
        pass  # each save() makes its own connections, if any

    def notes(self) -> list[str]:
        return []

    @property
    def retries(self) -> int:
        return 0

    def write(self, source: SourceFile) -> None:
        with source.storage.open(source.path) as content:
            typed = media_type(source.dest)
            if typed:
                # S3Storage's and AzureStorage's save() take a type the file carries
                # over their mimetypes guess (their own object parameters still win).
                with contextlib.suppress(AttributeError):
                    content.content_type = typed
            self.storage.save(source.dest, content)

    @property
    def carries(self) -> Carries | None:
        return None  # save() has no way to take them

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

    def left_uploads(self) -> list[tuple[str, str]] | None:
        return None  # the Storage API leaves nothing open that it could list

    def abort_left_uploads(self, uploads: list[tuple[str, str]]) -> tuple[list[str], list[str]]:
        return [], []

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

    def list_objects(self) -> Iterator[Listed]:
        # The Storage API lists names only: each size is one more call (a stat locally).
        for name in self.list_names():
            try:
                path: str | None = self.storage.path(name)
            except NotImplementedError:
                path = None
            try:
                size = self.storage.size(name)
            except FileNotFoundError:
                continue  # a broken link serves nothing: as good as missing
            yield Listed(name, size, path=path)

    def listed_name(self, name: str) -> str:
        return name

    def delete_listed(self, names: Sequence[str], threads: int) -> dict[str, str]:
        return self.delete_many(names, threads)

    def manifest_store(self, name: str) -> ManifestStore:
        return StorageManifestStore(self.storage, name)

    def describe_error(self, exc: BaseException) -> str:
        return describe_error(exc)


class WriterBackend(StorageBackend):
    """A storage whose files a writer of ours sends as its ``save()`` would, object
    parameters included, unless the storage's class saves in a way of its own."""

    # What the writer can carry of a profile's object parameters.
    CARRIES: Carries
    # Whether files go through the writer rather than ``storage.save()``.
    fast: bool = False

    def send(self, source: SourceFile) -> None:
        """The writer's request for ``source``."""
        raise NotImplementedError

    def write(self, source: SourceFile) -> None:
        if self.fast:
            self.send(source)
        else:
            super().write(source)

    @property
    def carries(self) -> Carries | None:
        return self.CARRIES if self.fast else None


@dataclass(frozen=True)
class FastBackend:
    """A storage class (and its subclasses) that a backend of ours writes to.

    The class is looked up in ``sys.modules`` only: a storage instance implies its
    module is loaded, so asking costs nothing and never imports a cloud SDK for
    another storage. Only the backend that claims the storage is imported.
    """

    storage_module: str
    storage_name: str
    backend_module: str
    backend_name: str
    # Claim only a storage whose save() is exactly the class's, so that a subclass that
    # saves in a way of its own goes to the generic backend. Otherwise every subclass is
    # claimed, and the backend writes such a one through its save() (``saves_like``).
    same_save_only: bool = False

    def storage_class(self) -> type[Storage] | None:
        """The storage class, if something already imported it."""
        return getattr(sys.modules.get(self.storage_module), self.storage_name, None)

    def saves_like(self, storage: Storage) -> bool:
        """True if ``storage.save()`` is exactly the storage class's, bar our mixin."""
        return saves_like(storage, self.storage_class())

    def claims(self, storage: Storage) -> bool:
        """True if this backend is the one for ``storage``."""
        if self.same_save_only:
            return self.saves_like(storage)
        base = self.storage_class()
        return base is not None and isinstance(storage, base)

    def make(self, storage: Storage) -> Backend:
        backend_class = getattr(importlib.import_module(self.backend_module), self.backend_name)
        return backend_class(storage)


S3 = FastBackend("storages.backends.s3", "S3Storage", "collectstupid.s3.backend", "S3Backend")
AZURE = FastBackend(
    "storages.backends.azure_storage",
    "AzureStorage",
    "collectstupid.azure.backend",
    "AzureBackend",
)
GCS = FastBackend(
    "storages.backends.gcloud",
    "GoogleCloudStorage",
    "collectstupid.gcs.backend",
    "GcsBackend",
)
# A save on a local storage only puts bytes at path(name); a subclass that does more
# is written through its own save(), by the generic backend.
LOCAL = FastBackend(
    "django.core.files.storage",
    "FileSystemStorage",
    "collectstupid.local",
    "LocalBackend",
    same_save_only=True,
)
# Asked in order.
FAST_BACKENDS = (S3, AZURE, GCS, LOCAL)


def backend_for(storage: Storage) -> Backend:
    """The fastest backend that honours every setting of ``storage``."""
    for fast in FAST_BACKENDS:
        if fast.claims(storage):
            return fast.make(storage)
    return StorageBackend(storage)
