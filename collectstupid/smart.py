"""Smart mode as steps that return values (smart_values.py): ``read`` the deploy manifest,
``decide`` what changed by hashing every planned file, ``announce_changes`` ahead of the
uploads (which ``SmartWriter`` skips for unchanged files), and ``record`` what landed after
them, last of all. See docs/smart-mode.md.
"""

from __future__ import annotations

import hashlib
import os
import sys
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import IO, Any

from collectstupid.backends import Backend
from collectstupid.collect import Folders, SourceFile, local_path
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
    Published,
    Shipped,
    Snapshot,
    announce,
    record_deploy,
    record_of,
    rewrite,
    settle,
)
from collectstupid.manifest.guard import Decision, Guard
from collectstupid.manifest.guard import decide as decide_prune
from collectstupid.manifest.store import placed
from collectstupid.object_parameters import digest as parameters_digest
from collectstupid.outcomes import SKIPPED, UPLOADED
from collectstupid.profiles import Plan
from collectstupid.smart_values import (
    CHANGED,
    FORCED,
    NEW,
    PARAMETERS,
    UNCHANGED,
    Change,
    Decided,
    Fingerprint,
    Pruning,
    Read,
    Recorded,
)
from collectstupid.upload import Describe, Writer, check_name

__all__ = ["CHANGED", "FORCED", "NEW", "PARAMETERS", "UNCHANGED", "Change", "Pruning"]

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


def hashed(
    source: SourceFile, parameters: str | None, folders: Folders | None = None
) -> tuple[Entry, Fingerprint | None]:
    """The entry of a source file and, for a local one, its fingerprint as it was opened.

    A local file is read by its descriptor: the storage's file objects, or even
    Python's, cost more than the read itself for a file of a few hundred bytes.
    """
    path = local_path(source.storage, source.path, folders)
    if path is None:
        return file_entry(source, parameters), None
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
    try:
        stat = os.fstat(fd)
        digest, size = hashlib.sha256(), 0
        # A first read one byte larger than the file spares a small file a megabyte's
        # buffer, and a second read: a read of a regular file stops short only at its end.
        want = min(CHUNK, stat.st_size + 1)
        while chunk := os.read(fd, want):
            digest.update(chunk)
            size += len(chunk)
            if len(chunk) < want:
                break
            want = CHUNK
    finally:
        os.close(fd)
    entry = Entry(digest.hexdigest(), size, parameters)
    return entry, (stat.st_size, stat.st_mtime_ns, stat.st_ino)


def fingerprint(source: SourceFile) -> Fingerprint | None:
    """Size, modification time and inode of a local source file (None if not local).

    Taken before hashing and again after the upload: if they differ, the
    bytes sent may not be the bytes hashed.
    """
    path = local_path(source.storage, source.path)
    if path is None:
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


@dataclass
class Memo:
    """What one preview works out once and reuses: a backend shares one parameters
    mapping between files of one kind (digested once each), and a folder holds many."""

    digests: dict[int, tuple[Mapping[str, Any], str]] = field(default_factory=dict)
    folders: Folders = field(default_factory=dict)


def assess(
    source: SourceFile,
    known: Mapping[str, Entry],
    force: bool = False,
    parameters: Parameters = no_parameters,
    memo: Memo | None = None,
) -> Change | None:
    """Why ``source`` is sent, or None when the manifest records it as it is."""
    try:
        check_name(source.dest)
    except NameNotUTF8 as exc:
        # Never announced nor recorded: the manifest cannot name it either.
        return Change(source, NEW, error=exc)
    params = parameters(source)
    try:
        digest = _digest(params, memo.digests if memo else None)
        entry, before = hashed(source, digest, memo.folders if memo else None)
    except OSError as exc:
        return Change(source, NEW, error=exc)
    why = reason(entry, known.get(source.dest))
    if why == UNCHANGED and not force:
        return None
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
) -> dict[str, Change]:
    """What a smart run would upload and why, by destination path, hashing in batches.

    Reading a small file costs less than handing the interpreter's lock between
    threads: more workers than cores only add switches.
    """
    threads = max(1, min(threads, os.cpu_count() or 1))
    size = max(1, min(BATCH, len(files) // (threads * 4)))
    batches = [files[start : start + size] for start in range(0, len(files), size)]

    memo = Memo()

    def assess_all(batch: Sequence[SourceFile]) -> list[Change]:
        changes = (assess(source, known, force, parameters, memo) for source in batch)
        return [change for change in changes if change is not None]

    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="collectstupid") as pool:
        return {c.source.dest: c for changes in pool.map(assess_all, batches) for c in changes}


def _unwrapped(source: SourceFile) -> str | None:
    raise AssertionError("SmartWriter.wrap() first")


class SmartWriter:
    """Wrap a writer: skip what the manifest records, remember what was written.

    Safe to call from many threads; the result maps are only filled under the lock.
    """

    def __init__(self, decided: Decided) -> None:
        self.inner: Writer = _unwrapped
        self.changes = decided.changes
        self.uploaded: dict[str, Entry] = {}
        self.reasons: dict[str, str] = {}
        self._lock = threading.Lock()

    def wrap(self, inner: Writer) -> SmartWriter:
        """This writer, sending what must be sent through ``inner``."""
        self.inner = inner
        return self

    def __call__(self, source: SourceFile) -> str:
        change = self.changes.get(source.dest)
        if change is None:
            return SKIPPED
        if change.error is not None:
            raise change.error  # unreadable: fails here, before any request
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


@dataclass(frozen=True)
class Wanted:
    """What the settings and the command line ask of smart mode for one run.

    ``one_off``: --include/--exclude change what this run ships, so it is not
    recorded as its profile's deploy. ``copies``: the hashed copies staging made.
    """

    manifest_name: str
    project: str
    keep: int
    force: bool = False
    pruning: Pruning | None = None
    one_off: bool = False
    copies: frozenset[str] = frozenset()
    # A dry run only compares: it needs a manifest it could read.
    dry_run: bool = False


def read(backend: Backend, plan: Plan, wanted: Wanted, location: str | None = None) -> Read:
    """Read the manifest (one request); refuse a plan that would overwrite it.

    ``location`` names where the deploy writes: a manifest recording
    another one is not trusted, and every write records this one.
    """
    # Compared as stored: Azure drops a leading dot at the container's root.
    stored = backend.listed_name(wanted.manifest_name.lstrip("/"))
    # Cleaning a name drops segments and turns separators, never makes a segment:
    # only a path holding the manifest's last segment can clash, and asking the
    # storage to clean every path costs seconds on a large site.
    tail = stored.rsplit("/", 1)[-1]
    clash = [
        s.dest for s in plan.all_files if tail in s.dest and backend.listed_name(s.dest) == stored
    ]
    if clash:
        raise CollectStupidError(
            f"The static file '{clash[0]}' has the same name as the deploy manifest. "
            "Rename the file or set COLLECTSTUPID['MANIFEST_NAME'] to another name."
        )
    store = backend.manifest_store(wanted.manifest_name)
    shipped = None
    if not wanted.one_off:
        # A one-off selection is not what the profile ships: recorded as its deploy,
        # every path it leaves out would become stale, and hashed copies age early.
        paths = frozenset(s.dest for s in plan.all_files)
        keep, project = wanted.keep, wanted.project
        shipped = Shipped(plan.profile.name, paths, wanted.copies & paths, keep, project)
    # The manifest's paths are interned as they are read: interned first, the plan's own
    # names are those its entries keep, so a site's names are held once, not twice.
    for source in plan.all_files:
        sys.intern(source.dest)
    base = placed(store.read(), location)
    return Read(store, base, wanted.force, shipped, wanted.pruning)


def cleared(run: Read, manifest: Snapshot) -> Read:
    """Go on from the manifest as --clear left it: without the files it deleted."""
    return replace(run, base=manifest)


def decide(
    run: Read, files: Sequence[SourceFile], threads: int, parameters: Parameters = no_parameters
) -> Decided:
    """Hash every planned file: those the manifest does not record as they are now."""
    return Decided(preview(files, run.base.entries, threads, run.force, parameters))


@dataclass(frozen=True)
class Prepared:
    """What changed against ``run``'s manifest, and the manifest as written ahead of
    the uploads."""

    run: Read
    decided: Decided
    current: Snapshot


def prepare(run: Read, plan: Plan, threads: int, backend: Backend) -> Prepared:
    """Hash every planned file, then write ahead that the changed ones are changing."""
    decided = decide(run, plan.all_files, threads, backend.parameters)
    return Prepared(run, decided, announce_changes(run, decided, backend.describe_error))


def announce_changes(run: Read, decided: Decided, describe: Describe) -> Snapshot:
    """Write ahead that the changed files are changing; the manifest as then written.

    Nothing is written when nothing changed. If the write-ahead fails,
    nothing is uploaded: the manifest would go on vouching for old content.
    """
    announced = decided.announced
    if not announced:
        return run.base
    try:
        return rewrite(
            run.store,
            run.base,
            lambda contents: (announce(contents, run.run, announced, run.force), []),
        )[1]
    except Exception as exc:
        reason = failed_write(exc, describe)
        raise ManifestError(
            f"The deploy manifest '{run.store.name}' could not be updated before the "
            f"upload ({reason}), so nothing was uploaded. {verdict(reason)}"
        ) from exc


@dataclass(frozen=True)
class Written:
    """What the uploads did: what the writer wrote, after ``prepared``, and whether
    every file landed (only a complete deploy is recorded)."""

    prepared: Prepared
    writer: SmartWriter
    complete: bool


def record(run: Read, written: Written, describe: Describe) -> Recorded:
    """Record what landed, after every upload; with the error to report, if any.

    Interrupted runs record what did land, so the next run resumes there.
    """
    # A deploy that did not complete is not recorded: its staticfiles.json may
    # not have landed, so the hashed copies the live one names must all stay.
    shipped = run.shipped if written.complete else None
    announced, writer = written.prepared.decided.announced, written.writer
    reasons, current = dict(writer.reasons), written.prepared.current
    if not announced and shipped is None:
        return Recorded(current, Published(False, 0, len(run.base.entries)), reasons)
    last = Recorded(current, reasons=reasons)

    def change(contents: Contents) -> tuple[Contents, list[str]]:
        nonlocal last
        conflicts: list[str] = []
        if announced:
            contents, conflicts = settle(contents, run.run, announced, writer.uploaded)
        if shipped is not None:
            contents, last = recorded_deploy(run, contents, shipped, last)
            if run.pruning is not None:
                last = replace(last, lost=tuple(unvouched(contents, shipped, announced)))
        return contents, conflicts

    try:
        published, current = rewrite(run.store, current, change)
    except Exception as exc:
        error = unrecorded(run, exc, bool(writer.uploaded), describe)
        return Recorded(current, reasons=reasons, error=error)
    return replace(last, current=current, published=published)


def recorded_deploy(
    run: Read, contents: Contents, shipped: Shipped, last: Recorded
) -> tuple[Contents, Recorded]:
    """Record ``shipped`` in ``contents``; with --prune, doom what the guard allows.

    Run for each attempt of the conditional write, so the decision is
    always taken against the version it writes over.
    """
    if run.pruning is None:
        return record_deploy(contents, shipped, False, run.store.name)[0], last
    decision = pruning_decision(run, contents, shipped, run.pruning)
    doomed = tuple(decision.doomed)
    return decision.contents, replace(
        last, doomed=doomed, refused=decision.refused, held=decision.held
    )


def pruning_decision(run: Read, contents: Contents, shipped: Shipped, pruning: Pruning) -> Decision:
    found = record_of(run.base.contents, shipped.project, shipped.profile)
    return decide_prune(contents, shipped, run.store.name, Guard(pruning.max_share, found))


def unrecorded(run: Read, exc: Exception, uploaded: bool, describe: Describe) -> str:
    """The error for a final manifest write that failed."""
    reason = failed_write(exc, describe)
    if uploaded:
        landed = (
            "The files were uploaded; the manifest does not vouch for them yet, so "
            "the next smart run uploads them again."
        )
    else:
        landed = "No file needed uploading; this deploy is not recorded yet."
    return (
        f"The deploy manifest '{run.store.name}' could not be written ({reason}). "
        f"{landed} {verdict(reason)}"
    )


def would_prune(run: Read) -> tuple[list[str], str | None]:
    """The stale paths a complete deploy of this plan would delete, or why none."""
    if run.shipped is None or run.pruning is None:
        return [], None
    decision = pruning_decision(run, run.base.contents, run.shipped, run.pruning)
    return decision.doomed, decision.refused
