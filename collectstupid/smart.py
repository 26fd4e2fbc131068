"""Smart mode: skip the files the deploy manifest already records, record the rest.

The hashing happens inside the upload pool: ``SmartRun.wrap`` turns any
writer into one that hashes the local file first (streamed), returns SKIPPED
without a request when the manifest holds the same hash and size, and
otherwise writes and remembers the new entry once the write has succeeded.
So a rerun costs one manifest read plus one write per changed file, and the
manifest write comes last, after ``plan.last`` too.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from collectstupid import report
from collectstupid.backends import Backend
from collectstupid.collect import SourceFile
from collectstupid.errors import CollectStupidError, ManifestError, SettingsError
from collectstupid.manifest import Entry, ManifestStore, Published, Snapshot, publish
from collectstupid.plan import Plan
from collectstupid.upload import SKIPPED, UPLOADED, UploadResult, Writer

NEW = "new"
CHANGED = "changed"
UNCHANGED = "unchanged"
FORCED = "forced"
# Large enough that hashlib releases the GIL for most of the work, small
# enough that sixteen threads hashing media stay far below a gigabyte.
CHUNK = 1 << 20


def file_entry(source: SourceFile) -> Entry:
    """SHA-256 and size of a source file, read in chunks (never whole into memory)."""
    digest = hashlib.sha256()
    size = 0
    with source.storage.open(source.path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return Entry(digest.hexdigest(), size)


def reason(entry: Entry, known: Entry | None) -> str:
    """Why a file would be uploaded (NEW, CHANGED), or UNCHANGED."""
    if known is None:
        return NEW
    return UNCHANGED if known == entry else CHANGED


def enabled(option: bool | None, force: bool, profile: bool | None, setting: bool) -> bool:
    """Smart mode for this run: the command line, else the profile, else the setting."""
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


class SmartWriter:
    """Wrap a writer: skip what the manifest records, remember what was written.

    Safe to call from many threads; the two result maps are only filled under
    the lock.
    """

    def __init__(self, inner: Writer, known: Mapping[str, Entry], force: bool = False) -> None:
        self.inner = inner
        self.known = known
        self.force = force
        self.uploaded: dict[str, Entry] = {}
        self.failed: set[str] = set()
        self.reasons: dict[str, str] = {}
        self._lock = threading.Lock()

    def __call__(self, source: SourceFile) -> str:
        # A read error here fails the file before any request: the bucket is untouched.
        entry = file_entry(source)
        why = reason(entry, self.known.get(source.dest))
        if why == UNCHANGED and not self.force:
            return SKIPPED
        try:
            status = self.inner(source) or UPLOADED
        except BaseException:
            # The write may have landed, or half-landed: forget what we knew.
            with self._lock:
                self.failed.add(source.dest)
            raise
        with self._lock:
            self.reasons[source.dest] = FORCED if why == UNCHANGED else why
            if status == UPLOADED:
                self.uploaded[source.dest] = entry
        return status


@dataclass(frozen=True)
class Change:
    source: SourceFile
    reason: str


def preview(files: Iterable[SourceFile], known: Mapping[str, Entry], threads: int,
            force: bool = False) -> list[Change]:
    """What a smart run would upload and why, hashing on ``threads`` workers."""
    files = list(files)

    def classify(source: SourceFile) -> Change:
        why = reason(file_entry(source), known.get(source.dest))
        return Change(source, FORCED if force and why == UNCHANGED else why)

    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="collectstupid") as pool:
        return list(pool.map(classify, files))


@dataclass
class SmartRun:
    """One smart deploy: the manifest as read, the wrapped writer, the final write."""

    store: ManifestStore
    base: Snapshot
    force: bool = False
    writer: SmartWriter | None = None
    published: Published | None = None
    changes: list[Change] = field(default_factory=list)

    @classmethod
    def start(cls, backend: Backend, plan: Plan, name: str, force: bool = False) -> SmartRun:
        """Read the manifest (one request); refuse a plan that would overwrite it."""
        clash = [s.dest for s in plan.all_files if s.dest == name.lstrip("/")]
        if clash:
            raise CollectStupidError(
                f"The static file '{clash[0]}' has the same name as the deploy manifest. "
                "Rename the file or set COLLECTSTUPID['MANIFEST_NAME'] to another name."
            )
        store = backend.manifest_store(name)
        return cls(store, store.read(), force)

    @property
    def warning(self) -> str | None:
        """The one warning for a manifest that was found but cannot be used."""
        if not self.base.problem:
            return None
        return (
            f"The deploy manifest '{self.store.name}' was ignored: {self.base.problem}. "
            "Every selected file will be uploaded and the manifest rewritten."
        )

    def wrap(self, inner: Writer) -> Writer:
        self.writer = SmartWriter(inner, self.base.entries, self.force)
        return self.writer

    def finish(self, result: UploadResult) -> str | None:
        """Write the manifest once, after every upload; return an error to report, if any.

        Interrupted runs record what did land, so the next run resumes there.
        """
        assert self.writer is not None, "wrap() a writer before finish()"
        try:
            self.published = publish(self.store, self.base, self.writer.uploaded,
                                      self.writer.failed)
        except ManifestError as exc:
            return str(exc)
        except Exception as exc:
            return (
                f"The deploy manifest '{self.store.name}' could not be written "
                f"({exc}). The files were uploaded, but until a smart run records them "
                "the manifest may describe older content for them: run the command "
                "again (or with --force) before deploying an older version."
            )
        return None

    def preview(self, plan: Plan, threads: int) -> list[Change]:
        self.changes = preview(plan.all_files, self.base.entries, threads, self.force)
        return self.changes

    def dry_run(self, plan: Plan, destination: str) -> tuple[list[str], list[str], report.Summary]:
        """Lines for each file to upload, each unchanged file, and the summary."""
        upload = [c for c in self.changes if c.reason != UNCHANGED]
        unchanged = [c for c in self.changes if c.reason == UNCHANGED]
        would = [f"Would upload '{c.source.dest}' ({c.reason}, "
                 f"{report.format_size(c.source.size)})" for c in upload]
        skip = [f"Unchanged, would skip '{c.source.dest}'" for c in unchanged]
        reasons = tuple(
            (r, n) for r in (NEW, CHANGED, FORCED)
            if (n := sum(c.reason == r for c in upload))
        )
        summary = report.dry_run_summary(plan, destination, [c.source for c in upload],
                                         unchanged=len(unchanged), reasons=reasons)
        return would, skip, summary

    def report(self) -> dict[str, Any]:
        """The ``smart`` section of the JSON report."""
        data: dict[str, Any] = {
            "manifest": self.store.name,
            "manifest_found": self.base.found,
            "manifest_problem": self.base.problem or None,
            "force": self.force,
        }
        if self.changes:
            data["would_upload"] = [
                {"destination": c.source.dest, "bytes": c.source.size, "reason": c.reason}
                for c in self.changes if c.reason != UNCHANGED
            ]
            data["unchanged_files"] = sum(c.reason == UNCHANGED for c in self.changes)
        if self.writer is not None:
            data["reasons"] = dict(sorted(self.writer.reasons.items()))
        if self.published is not None:
            data["manifest_written"] = self.published.written
            data["manifest_entries"] = self.published.entries
            data["manifest_conflicts"] = list(self.published.conflicts)
        return data
