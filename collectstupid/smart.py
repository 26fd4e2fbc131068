"""Smart mode: hash every planned file, skip those the deploy manifest already records
(``SmartRun.wrap``), write ahead before the uploads and record what landed after them, last
of all. See docs/smart-mode.md.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import IO, Any

from collectstupid.backends import Backend
from collectstupid.collect import SourceFile
from collectstupid.conf import DEFAULTS
from collectstupid.errors import (
    CollectStupidError,
    ManifestError,
    NameNotUTF8,
    SettingsError,
    SourceChanged,
)
from collectstupid.failures import verdict
from collectstupid.manifest import (
    Contents,
    Entry,
    ManifestStore,
    Published,
    Run,
    Shipped,
    Snapshot,
    announce,
    record_deploy,
    record_of,
    rewrite,
    settle,
)
from collectstupid.manifest.guard import Guard, decide
from collectstupid.manifest.store import placed
from collectstupid.object_parameters import digest as parameters_digest
from collectstupid.outcomes import SKIPPED, UPLOADED, UploadResult
from collectstupid.output import describe_error
from collectstupid.profiles import Plan
from collectstupid.upload import Writer, check_name

# Size, modification time and inode of a local file.
Fingerprint = tuple[int, int, int]

NEW = "new"
CHANGED = "changed"
UNCHANGED = "unchanged"
FORCED = "forced"
# The bytes are those recorded, the object parameters are not (or not known).
PARAMETERS = "new parameters"
# Large enough that hashlib releases the GIL for most of the work, small
# enough that sixteen threads hashing media stay far below a gigabyte.
CHUNK = 1 << 20
# Files one worker hashes per task, at most: a future per file costs the main
# thread more than reading a small file does. Smaller plans get smaller batches,
# so that every worker has some.
BATCH = 256
# Distinct parameter mappings whose digest a preview remembers (a site has a few kinds of file).
DIGESTS = 256


def file_entry(source: SourceFile, parameters: str | None = None) -> Entry:
    """SHA-256 and size of a source file, read in chunks (never whole into memory)."""
    with source.storage.open(source.path, "rb") as handle:
        return _entry_of(handle, parameters)


def _entry_of(handle: IO[bytes], parameters: str | None, first: int = CHUNK) -> Entry:
    digest = hashlib.sha256()
    size = 0
    # A first read no larger than the file spares a small file a megabyte's buffer.
    while chunk := handle.read(first):
        digest.update(chunk)
        size += len(chunk)
        first = CHUNK
    return Entry(digest.hexdigest(), size, parameters)


def hashed(source: SourceFile, parameters: str | None) -> tuple[Entry, Fingerprint | None]:
    """The entry of a source file and, for a local one, its fingerprint as it was opened.

    A local file is opened by its path, once: the storage's own file objects
    cost more than the read itself for a file of a few hundred bytes.
    """
    try:
        path = source.storage.path(source.path)
    except NotImplementedError:
        return file_entry(source, parameters), None
    with open(path, "rb", buffering=0) as handle:
        stat = os.fstat(handle.fileno())
        entry = _entry_of(handle, parameters, min(CHUNK, stat.st_size + 1))
    return entry, (stat.st_size, stat.st_mtime_ns, stat.st_ino)


def fingerprint(source: SourceFile) -> Fingerprint | None:
    """Size, modification time and inode of a local source file (None if not local).

    Taken before hashing and again after the upload: if they differ, the
    bytes sent may not be the bytes hashed.
    """
    try:
        path = source.storage.path(source.path)
    except NotImplementedError:
        return None
    stat = os.stat(path)
    return stat.st_size, stat.st_mtime_ns, stat.st_ino


def reason(entry: Entry, known: Entry | None) -> str:
    """Why a file would be uploaded (NEW, CHANGED, PARAMETERS), or UNCHANGED."""
    if known is None:
        return NEW
    if (known.sha256, known.size) != (entry.sha256, entry.size):
        return CHANGED
    return UNCHANGED if known.parameters == entry.parameters else PARAMETERS


def enabled(
    option: bool | None, force: bool, profile: bool | None, setting: bool, prune: bool = False
) -> bool:
    """Smart mode for this run: the command line, else the profile, else the setting.

    ``--prune`` turns it on: what to delete is known only from the manifest.
    """
    if prune:
        if option is False:
            raise SettingsError(
                "--prune deletes what the deploy manifest records this profile no longer "
                "ships, so it needs the manifest and cannot be combined with --no-smart. "
                "Drop one of them."
            )
        return True
    if force:
        if option is False:
            raise SettingsError(
                "--force rewrites the deploy manifest, so it cannot be combined with "
                "--no-smart. Drop one of them."
            )
        return True
    if option is not None:
        return option
    if profile is not None:
        return profile
    return setting


def check_one_off_selection(prune: bool, one_off: bool) -> None:
    """Refuse ``--prune`` with ``--include``/``--exclude``.

    --prune deletes what the profile no longer ships; a run that ships a
    one-off selection would take every path it leaves out for such a path.
    """
    if prune and one_off:
        raise SettingsError(
            "--prune deletes what the profile no longer ships, and --include/--exclude "
            "change what this one run ships, so every file they leave out would be "
            "deleted. Nothing was done. Drop --prune for this run (it then records "
            "nothing for the profile), or put the patterns in a profile of their own."
        )


@dataclass(frozen=True, slots=True)
class Change:
    """One planned file as hashed before the upload: whether it must be sent, and why.

    An unchanged file keeps neither its entry nor its fingerprint: nothing is
    sent or recorded for it, and a large site has many.
    """

    source: SourceFile
    reason: str
    entry: Entry | None = None
    fingerprint: Fingerprint | None = None
    # Why the file could not be read, or its name used; the upload then fails it
    # without a request.
    error: OSError | NameNotUTF8 | None = None

    @property
    def sent(self) -> bool:
        """Whether the run tries to write it (and so announces it)."""
        return self.reason != UNCHANGED and not isinstance(self.error, NameNotUTF8)


# What the backend sends with a file besides its bytes (Backend.parameters).
Parameters = Callable[[SourceFile], Mapping[str, Any] | None]


def failed_write(exc: Exception, describe: Callable[[BaseException], str]) -> str:
    """Why a manifest write failed, on one line, without credentials or our own preamble."""
    text = str(exc) if isinstance(exc, CollectStupidError) else describe(exc)
    # A ManifestError already names the manifest; its reason is what matters here.
    head = "could not be written: "
    return text.split(head, 1)[1].rstrip(".") if head in text else text


def no_parameters(source: SourceFile) -> None:
    return None


def assess(
    source: SourceFile,
    known: Mapping[str, Entry],
    force: bool = False,
    parameters: Parameters = no_parameters,
    digests: dict[int, tuple[Mapping[str, Any], str]] | None = None,
) -> Change:
    try:
        check_name(source.dest)
    except NameNotUTF8 as exc:
        # Never announced nor recorded: the manifest cannot name it either.
        return Change(source, NEW, error=exc)
    params = parameters(source)
    try:
        entry, before = hashed(source, _digest(params, digests))
    except OSError as exc:
        return Change(source, NEW, error=exc)
    why = reason(entry, known.get(source.dest))
    if why == UNCHANGED and not force:
        return Change(source, UNCHANGED)
    return Change(source, FORCED if why == UNCHANGED else why, entry, before)


def _digest(
    params: Mapping[str, Any] | None, digests: dict[int, tuple[Mapping[str, Any], str]] | None
) -> str | None:
    """The parameters' digest, once per mapping where the backend shares them between files.

    ``digests`` keeps each mapping it names, so an id is never reused for another;
    at most DIGESTS of them, so a backend that makes a mapping per file costs no memory.
    """
    if params is None:
        return None
    if digests is None:
        return parameters_digest(params)
    known = digests.get(id(params))
    if known is not None and known[0] is params:
        return known[1]
    value = parameters_digest(params)
    if len(digests) < DIGESTS:
        digests[id(params)] = (params, value)
    return value


def preview(
    files: Sequence[SourceFile],
    known: Mapping[str, Entry],
    threads: int,
    force: bool = False,
    parameters: Parameters = no_parameters,
) -> list[Change]:
    """What a smart run would upload and why, hashing on ``threads`` workers in batches."""
    size = max(1, min(BATCH, len(files) // (threads * 4)))
    batches = [files[start : start + size] for start in range(0, len(files), size)]

    # A backend shares one mapping between files of one kind: digested once each.
    digests: dict[int, tuple[Mapping[str, Any], str]] = {}

    def assess_all(batch: Sequence[SourceFile]) -> list[Change]:
        return [assess(source, known, force, parameters, digests) for source in batch]

    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="collectstupid") as pool:
        return [change for changes in pool.map(assess_all, batches) for change in changes]


class SmartWriter:
    """Wrap a writer: skip what the manifest records, remember what was written.

    Safe to call from many threads; the result maps are only filled under the lock.
    """

    def __init__(self, inner: Writer, changes: Iterable[Change]) -> None:
        self.inner = inner
        self.changes = {change.source.dest: change for change in changes}
        self.uploaded: dict[str, Entry] = {}
        self.reasons: dict[str, str] = {}
        self._lock = threading.Lock()

    def __call__(self, source: SourceFile) -> str:
        change = self.changes[source.dest]
        if change.error is not None:
            raise change.error  # unreadable: fails here, before any request
        if change.reason == UNCHANGED:
            return SKIPPED
        status = self.inner(source) or UPLOADED
        if fingerprint(source) != change.fingerprint:
            raise SourceChanged(
                f"changed while uploading ({source.storage.path(source.path)}): what landed is "
                "unknown, so it is not recorded and the next run uploads it",
                wrote=True,
            )
        with self._lock:
            self.reasons[source.dest] = change.reason
            if status == UPLOADED and change.entry is not None:
                self.uploaded[source.dest] = change.entry
        return status


def unvouched(contents: Contents, shipped: Shipped, announced: Iterable[str]) -> list[str]:
    """The paths ``shipped`` holds unchanged (not announced) that ``contents`` no longer
    vouches for: another run deleted them meanwhile, as only a delete drops such an entry.

    No marker protects a path a run ships without writing it.
    """
    sent = set(announced)
    return sorted(p for p in shipped.paths if p not in sent and p not in contents.entries)


@dataclass
class SmartRun:
    """One smart deploy: the manifest as read, the write-ahead, the final write."""

    store: ManifestStore
    base: Snapshot
    force: bool = False
    parameters: Parameters = no_parameters
    run: Run = field(default_factory=Run)
    changes: list[Change] = field(default_factory=list)
    # The paths this run announced it is about to write, and the manifest as then written.
    announced: list[str] = field(default_factory=list)
    current: Snapshot | None = None
    writer: SmartWriter | None = None
    published: Published | None = None
    # What this deploy ships, recorded for its profile once every file landed;
    # with ``prune``, the stale paths that record's write stopped vouching for.
    shipped: Shipped | None = None
    prune: bool = False
    doomed: list[str] = field(default_factory=list)
    # The percentage of the previous deploy's paths --prune may delete (manifest/guard.py),
    # and why this run deletes nothing: an error (refused) or a warning (held).
    max_share: int = DEFAULTS["PRUNE_MAX_SHARE"]
    refused: str | None = None
    held: str | None = None
    # What this deploy ships unchanged that another run's --prune deleted meanwhile.
    lost: list[str] = field(default_factory=list)
    # The backend's one-line reason for a failed request.
    describe: Callable[[BaseException], str] = describe_error

    @classmethod
    def start(
        cls,
        backend: Backend,
        plan: Plan,
        name: str,
        force: bool = False,
        location: str | None = None,
    ) -> SmartRun:
        """Read the manifest (one request); refuse a plan that would overwrite it.

        ``location`` names where the deploy writes: a manifest recording
        another one is not trusted, and every write records this one.
        """
        # Compared as stored: Azure drops a leading dot at the container's root.
        stored = backend.listed_name(name.lstrip("/"))
        # Cleaning a name drops segments and turns separators, never makes a segment:
        # only a path holding the manifest's last segment can clash, and asking the
        # storage to clean every path costs seconds on a large site.
        tail = stored.rsplit("/", 1)[-1]
        clash = [
            s.dest
            for s in plan.all_files
            if tail in s.dest and backend.listed_name(s.dest) == stored
        ]
        if clash:
            raise CollectStupidError(
                f"The static file '{clash[0]}' has the same name as the deploy manifest. "
                "Rename the file or set COLLECTSTUPID['MANIFEST_NAME'] to another name."
            )
        store = backend.manifest_store(name)
        run = cls(store, placed(store.read(), location), force, backend.parameters)
        run.describe = backend.describe_error
        return run

    @property
    def warning(self) -> str | None:
        """The one warning for a manifest that was found but cannot be used."""
        if not self.base.problem:
            return None
        if not self.base.found:
            # Not read at all: what it holds is unknown, so it is merged with, not replaced.
            return (
                f"The deploy manifest '{self.store.name}' was ignored: {self.base.problem}. "
                "Every selected file counts as changed; the manifest is updated before "
                "the upload, or nothing is uploaded."
            )
        return (
            f"The deploy manifest '{self.store.name}' was ignored: {self.base.problem}. "
            "Every selected file will be uploaded and the manifest rewritten."
        )

    def preview(self, plan: Plan, threads: int) -> list[Change]:
        self.changes = preview(
            plan.all_files, self.base.entries, threads, self.force, self.parameters
        )
        return self.changes

    def cleared(self, manifest: Snapshot) -> None:
        """Go on from the manifest as --clear left it: without the files it deleted."""
        self.base = manifest

    def prepare(self, plan: Plan, threads: int) -> None:
        """Hash every planned file, then write ahead that the changed ones are changing.

        Nothing is written when nothing changed. If the write-ahead fails,
        nothing is uploaded: the manifest would go on vouching for old content.
        """
        self.preview(plan, threads)
        self.announced = [c.source.dest for c in self.changes if c.sent]
        self.current = self.base
        if not self.announced:
            return
        try:
            _, self.current = rewrite(
                self.store,
                self.base,
                lambda contents: (announce(contents, self.run, self.announced, self.force), []),
            )
        except Exception as exc:
            reason = failed_write(exc, self.describe)
            raise ManifestError(
                f"The deploy manifest '{self.store.name}' could not be updated before the "
                f"upload ({reason}), so nothing was uploaded. {verdict(reason)}"
            ) from exc

    def wrap(self, inner: Writer) -> Writer:
        self.writer = SmartWriter(inner, self.changes)
        return self.writer

    def finish(self, result: UploadResult) -> str | None:
        """Record what landed, after every upload; return an error to report, if any.

        Interrupted runs record what did land, so the next run resumes there.
        """
        writer, current = self.writer, self.current
        assert writer is not None and current is not None, "prepare() and wrap() first"
        # A deploy that did not complete is not recorded: its staticfiles.json may
        # not have landed, so the hashed copies the live one names must all stay.
        shipped = self.shipped if not result.failed and not result.cancelled else None
        if not self.announced and shipped is None:
            self.published = Published(False, 0, len(self.base.entries))
            return None

        def change(contents: Contents) -> tuple[Contents, list[str]]:
            conflicts: list[str] = []
            if self.announced:
                contents, conflicts = settle(contents, self.run, self.announced, writer.uploaded)
            if shipped is not None:
                contents = self.record(contents, shipped)
                self.lost = unvouched(contents, shipped, self.announced) if self.prune else []
            return contents, conflicts

        try:
            self.published, self.current = rewrite(self.store, current, change)
        except Exception as exc:
            self.doomed, self.refused, self.held, self.lost = [], None, None, []
            reason = failed_write(exc, self.describe)
            if writer.uploaded:
                landed = (
                    "The files were uploaded; the manifest does not vouch for them yet, so "
                    "the next smart run uploads them again."
                )
            else:
                landed = "No file needed uploading; this deploy is not recorded yet."
            return (
                f"The deploy manifest '{self.store.name}' could not be written ({reason}). "
                f"{landed} {verdict(reason)}"
            )
        return None

    def record(self, contents: Contents, shipped: Shipped) -> Contents:
        """Record ``shipped`` in ``contents``; with --prune, doom what the guard allows.

        Run for each attempt of the conditional write, so the decision is
        always taken against the version it writes over.
        """
        if not self.prune:
            return record_deploy(contents, shipped, False, self.store.name)[0]
        found = record_of(self.base.contents, shipped.project, shipped.profile)
        decision = decide(contents, shipped, self.store.name, Guard(self.max_share, found))
        self.doomed, self.refused, self.held = decision.doomed, decision.refused, decision.held
        return decision.contents

    def would_prune(self) -> list[str]:
        """The stale paths a complete deploy of this plan would delete."""
        if self.shipped is None:
            return []
        self.record(self.base.contents, self.shipped)
        return self.doomed

    def report(self) -> dict[str, Any]:
        """The ``smart`` section of the JSON report."""
        data: dict[str, Any] = {
            "manifest": self.store.name,
            "manifest_found": self.base.found,
            "manifest_problem": self.base.problem or None,
            "force": self.force,
        }
        if self.writer is not None:
            data["reasons"] = dict(sorted(self.writer.reasons.items()))
        if self.published is not None:
            data["manifest_written"] = self.published.written
            data["manifest_entries"] = self.published.entries
            data["manifest_conflicts"] = list(self.published.conflicts)
        return data
