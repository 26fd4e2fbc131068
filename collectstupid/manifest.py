"""The deploy manifest: one object in the target storage that says what a run uploaded.

For each destination path it records the SHA-256 and size of the source file
that was written there. Smart mode reads it once before uploading and skips
files whose content it already records; it writes it once, last, when the
run changed something.

The manifest must never claim content that is not in the bucket. Three rules
keep it truthful:

- an entry is recorded only after its file's write succeeded;
- a file whose write failed loses its entry: the failed write may have
  landed (a lost response) or, on storages without atomic writes, half-landed,
  so "old content" is no longer known to be true either;
- when two runs race and both wrote the same path with different content,
  neither knows whose write landed last, so the entry is dropped.

A missing entry is always safe: it costs one upload on the next run.

On S3 the write is conditional (``If-Match`` the ETag read, or
``If-None-Match: *`` when there was none), so concurrent runs merge instead
of losing each other's entries. Other storages have no conditional write: the
store re-reads the manifest just before writing and compares, which narrows
the race to a moment but cannot close it.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from django.core.files.base import ContentFile
from django.core.files.storage import Storage

from collectstupid.errors import CollectStupidError
from collectstupid.storage import StupidStorageMixin
from collectstupid.upload import describe_error

FORMAT = "collectstupid-deploy-manifest"
VERSION = 1
DEFAULT_NAME = ".collectstupid/manifest.json"
# Enough for a handful of jobs finishing at once; each retry costs one GET and one PUT.
WRITE_ATTEMPTS = 5

_SHA256 = re.compile(r"[0-9a-f]{64}")


class ManifestError(CollectStupidError):
    """The manifest could not be written; the uploads themselves did land."""


@dataclass(frozen=True)
class Entry:
    """What was written at one destination path: the source file's hash and size."""

    sha256: str
    size: int


Entries = dict[str, Entry]


class FormatError(ValueError):
    """The bytes are not a manifest this version can use; the message says why."""


def dumps(entries: Mapping[str, Entry]) -> bytes:
    """The manifest as bytes: sorted, so an unchanged manifest is byte-identical."""
    data = {
        "format": FORMAT,
        "version": VERSION,
        "files": {
            path: {"sha256": entry.sha256, "size": entry.size}
            for path, entry in sorted(entries.items())
        },
    }
    return (json.dumps(data, separators=(",", ":"), ensure_ascii=False) + "\n").encode()


def loads(data: bytes) -> Entries:
    """Parse a manifest; any doubt about any entry rejects the whole object.

    Trusting half of a manifest would mean trusting an object we know was not
    written the way we write it.
    """
    try:
        doc = json.loads(data)
    except (UnicodeDecodeError, ValueError) as exc:
        raise FormatError(f"it is not valid JSON ({exc})") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise FormatError("it was not written by collectstupid")
    if doc.get("version") != VERSION:
        raise FormatError(
            f"it has format version {doc.get('version')!r}; this collectstupid reads {VERSION}"
        )
    files = doc.get("files")
    if not isinstance(files, dict):
        raise FormatError("its 'files' is not a mapping")
    entries: Entries = {}
    for path, value in files.items():
        if not (
            isinstance(value, dict)
            and isinstance(value.get("sha256"), str)
            and _SHA256.fullmatch(value["sha256"])
            and type(value.get("size")) is int
            and value["size"] >= 0
        ):
            raise FormatError(f"its entry for {path!r} is malformed")
        entries[path] = Entry(value["sha256"], value["size"])
    return entries


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


class ManifestStore(Protocol):
    """Where the manifest lives: one read, one conditional write."""

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
        token = hashlib.sha256(data).hexdigest()
        try:
            return Snapshot(loads(data), token, found=True)
        except FormatError as exc:
            return Snapshot({}, token, found=True, problem=str(exc))

    def write(self, data: bytes, expected: Snapshot) -> bool:
        if self.read().token != expected.token:
            return False
        self.storage.save(self.name, ContentFile(data))
        return True


# Conflicts a conditional PutObject answers with: the object changed (412), a
# concurrent conditional write is in progress (409 on AWS), or it was deleted.
_CONFLICT_CODES = frozenset(
    {"PreconditionFailed", "ConditionalRequestConflict", "OperationAborted", "NoSuchKey"}
)
# PutObject parameters that also belong on a GetObject of an SSE-C object.
_READ_PARAMS = ("SSECustomerAlgorithm", "SSECustomerKey", "SSECustomerKeyMD5",
                "RequestPayer", "ExpectedBucketOwner")


def _error_code(exc: BaseException) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", ""))
    return ""


class S3ManifestStore:
    """A django-storages S3 storage: one GetObject, one conditional PutObject.

    The storage's object parameters (SSE, ACL, ...) apply to the manifest too,
    so bucket policies that demand them are met.
    """

    def __init__(self, storage: Any, name: str) -> None:
        from storages.utils import clean_name

        self.storage = storage
        self.name = name
        # The same key django-storages would use for this name under its location.
        self.key: str = storage._normalize_name(clean_name(name))
        self.bucket: str = storage.bucket_name
        self._client: Any = None

    @property
    def client(self) -> Any:
        # A plain client from the storage's own settings, as the fast writer's:
        # the storage's connection is a boto3 resource, which takes longer to
        # build than the manifest's one or two requests take to send.
        if self._client is None:
            from collectstupid.s3client import RetryCounter, make_client

            self._client = make_client(self.storage, 1, RetryCounter())
        return self._client

    def _params(self) -> dict[str, Any]:
        params = dict(self.storage.get_object_parameters(self.key))
        # The body is plain JSON whatever the storage's gzip or type settings say.
        params.pop("ContentEncoding", None)
        params["ContentType"] = "application/json"
        acl = getattr(self.storage, "default_acl", None)
        if acl and "ACL" not in params:
            params["ACL"] = acl
        return params

    def read(self) -> Snapshot:
        params = self._params()
        read_params = {k: params[k] for k in _READ_PARAMS if k in params}
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            response = self.client.get_object(Bucket=self.bucket, Key=self.key, **read_params)
            data = response["Body"].read()
        except (ClientError, BotoCoreError) as exc:
            if _error_code(exc) in ("NoSuchKey", "404"):
                return Snapshot()
            return Snapshot(problem=f"it could not be read ({describe_error(exc)})")
        token = response.get("ETag")
        try:
            return Snapshot(loads(data), token, found=True)
        except FormatError as exc:
            return Snapshot({}, token, found=True, problem=str(exc))

    def write(self, data: bytes, expected: Snapshot) -> bool:
        condition = {"IfMatch": expected.token} if expected.token else {"IfNoneMatch": "*"}
        try:
            self.client.put_object(
                Bucket=self.bucket, Key=self.key, Body=data, **condition, **self._params()
            )
        except Exception as exc:
            if _error_code(exc) in _CONFLICT_CODES:
                return False
            raise
        return True


def is_s3(storage: Storage) -> bool:
    """True for django-storages' S3 storage (and subclasses), whose client we can use."""
    try:
        from storages.backends.s3 import S3Storage
    except ImportError:
        return False
    return isinstance(storage, S3Storage)


def store_for(storage: Storage, name: str = DEFAULT_NAME) -> ManifestStore:
    """The store for ``name`` in ``storage``: S3 with conditional writes where possible."""
    if is_s3(storage):
        return S3ManifestStore(storage, name)
    return StorageManifestStore(storage, name)


def merge(
    fresh: Mapping[str, Entry],
    base: Mapping[str, Entry],
    uploaded: Mapping[str, Entry],
    failed: Iterable[str],
) -> tuple[Entries, list[str]]:
    """This run's changes applied to the manifest as it is now.

    ``base`` is what this run read at its start, ``fresh`` what the store holds
    now (the same object unless another run wrote meanwhile). Entries this run
    did not touch are kept, whichever profile recorded them. For a path this
    run uploaded, ``fresh`` holding neither the base's entry nor ours means
    another run wrote that path with other content while we did: which write
    landed last is unknown, so the entry is dropped. Returns the entries and
    the paths dropped that way.
    """
    merged = dict(fresh)
    conflicts = []
    for path, entry in uploaded.items():
        current = fresh.get(path)
        if current == entry or current == base.get(path):
            merged[path] = entry
        else:
            merged.pop(path, None)
            conflicts.append(path)
    for path in failed:
        merged.pop(path, None)
    return merged, sorted(conflicts)


@dataclass(frozen=True)
class Published:
    written: bool
    attempts: int = 0
    entries: int = 0
    conflicts: tuple[str, ...] = ()


def publish(
    store: ManifestStore,
    base: Snapshot,
    uploaded: Mapping[str, Entry],
    failed: Iterable[str] = (),
    attempts: int = WRITE_ATTEMPTS,
) -> Published:
    """Write the manifest once, merging with any run that wrote since ``base`` was read.

    Nothing is written when the merge leaves the manifest as it is (nothing
    uploaded, no entry to drop), so a run that changed nothing costs no write.
    """
    failed = list(failed)
    current = base
    conflicts: list[str] = []
    for attempt in range(1, attempts + 1):
        merged, conflicts = merge(current.entries, base.entries, uploaded, failed)
        if merged == current.entries:
            # After a refused write, finding our entries already there means a write
            # landed for this run: ours (a retry of a write that had landed) or a twin's.
            return Published(attempt > 1, attempt - 1, len(merged), tuple(conflicts))
        if store.write(dumps(merged), current):
            return Published(True, attempt, len(merged), tuple(conflicts))
        # Another run wrote first: back off a little so racing runs spread out.
        time.sleep(random.uniform(0.02, 0.1) * attempt)
        current = store.read()
    why = (f"it could not be read back after a refused write: {current.problem}"
           if current.problem and not current.found
           else f"other runs kept changing it ({attempts} attempts)")
    raise ManifestError(
        f"The deploy manifest '{store.name}' could not be written: {why}. The files were "
        "uploaded; run the command again to record them (with --force if you deploy "
        "older files next)."
    )
