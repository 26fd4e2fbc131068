"""Hashed file names without remote reads: Django's post-processing run in a local staging
folder through the target's own class, its result the upload plan (``staticfiles.json`` in
``Plan.last``), and ``adopt_manifest`` for the staticfiles storages this process loaded.
See docs/hashed-names.md.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shutil
import stat
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from django.conf import STATICFILES_STORAGE_ALIAS
from django.contrib.staticfiles.storage import HashedFilesMixin, staticfiles_storage
from django.core.files.base import ContentFile, File
from django.core.files.storage import FileSystemStorage, Storage, storages
from django.utils.functional import empty

from collectstupid.collect import SourceFile
from collectstupid.errors import PostProcessError
from collectstupid.profiles import Plan
from collectstupid.storage import configured


class StagingFolder(FileSystemStorage):
    """The folder a run stages in, removed when it ends.

    Its files are the run's own, except the project files it links in (the
    originals, and hashed copies Django made from them unchanged): their
    identities are kept in ``project_files``, so that a local target copies
    those and never shares their inode.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.project_files: set[tuple[int, int]] = set()
        self._paths: dict[str, str] = {}
        self._folders: set[str] = set()  # made by link_in

    def path(self, name: str) -> str:
        # Asked about six times per file (post-processing, the walk, the upload);
        # Django's safe_join is the costly part, and its answer never changes.
        path = self._paths.get(name)
        if path is None:
            path = self._paths[name] = super().path(name)
        return path

    def link_in(self, source: str, name: str) -> bool:
        """Show the project file ``source`` as ``name`` without copying it, if the system
        allows: a hard link, else (another file system, or a file another user owns)
        a symlink. False means the caller must copy."""
        try:
            info = os.stat(source)
        except OSError:
            return False
        if not stat.S_ISREG(info.st_mode):
            return False  # a storage's path() may name no real file (InMemoryStorage)
        dest = self.path(name)
        folder = os.path.dirname(dest)
        if folder not in self._folders:
            os.makedirs(folder, exist_ok=True)
            self._folders.add(folder)
        for link in (os.link, os.symlink):
            try:
                link(source, dest)
            except OSError:
                continue
            self.project_files.add((info.st_dev, info.st_ino))
            return True
        return False


class MissingFile(ValueError):
    """A reference post-processing follows names a file that is not there (the name)."""


def missing_references(missing: dict[tuple[str, int, str], str]) -> str:
    """One error for every missing reference, each where it is written, and what to do."""
    listed = "\n".join(
        f"  {name}, line {line}: '{reference}' ({wanted} is not among the static files)"
        for (name, line, reference), wanted in sorted(missing.items())
    )
    count = len(missing)
    return (
        f"Post-processing found {count} reference{'s' if count != 1 else ''} to "
        f"missing files, so nothing was uploaded:\n{listed}\n"
        "Add each missing file, correct the reference, or leave the referring file out "
        "of the static files with --ignore (post-processing covers every file found, "
        "whatever the profile ships)."
    )


def hashes_names(storage: Storage) -> bool:
    """Whether collectstatic would post-process this storage (any ``HashedFilesMixin``)."""
    return callable(getattr(storage, "post_process", None))


class StagedFiles:
    """Put in front of a storage class: its file operations use a local folder.

    Only the operations post-processing performs are redirected (open,
    save, exists, delete, path, size, listdir); everything that decides
    names stays the target's. The remote base's ``url()`` stays too, and on
    purpose: ``HashedFilesMixin`` writes the last path segment of that URL
    into CSS and JS references, exactly as collectstatic does on the target.
    S3's ``url()`` is computed locally (an unsigned presigned URL for
    ``S3StaticStorage``), so this makes no request.
    """

    def __init__(self, *args: Any, staging: StagingFolder, **kwargs: Any) -> None:
        self.staging = staging
        # Which original each staged file was made from, for profile selection.
        self.made_from: dict[str, str] = {}
        # Every name written during staging, originals overwritten included.
        self.saved: set[str] = set()
        self._unclaimed: list[str] = []
        # Names Django deleted during a post-processing step, still on disk
        # until the step ends: the step may save the same bytes again.
        self._doomed: set[str] = set()
        self._deferring = False
        # References to files that do not exist, by (referring file, line, reference):
        # the name it resolved to. All are reported at once when post-processing ends.
        self.missing: dict[tuple[str, int, str], str] = {}
        # Every original, and those the profile ships (None: all of them).
        self.originals: set[str] = set()
        self.shipped: set[str] | None = None
        super().__init__(*args, **kwargs)
        if hasattr(self, "manifest_storage"):
            # The manifest is built here and uploaded with everything else.
            self.manifest_storage = self

    def __repr__(self) -> str:
        # Django's error messages include the storage's repr.
        mro = type(self).__mro__
        return f"<{mro[mro.index(StagedFiles) + 1].__name__}, staged locally>"

    def load_manifest(self) -> tuple[dict[str, str], str]:
        # post_process() starts from an empty manifest anyway; loading one would
        # read the deployed manifest through a manifest_storage option.
        return {}, ""

    def _open(self, name: str, mode: str = "rb") -> File:
        if name in self._doomed:
            raise FileNotFoundError(f"{name} was deleted")
        return self.staging._open(name, mode)

    def _save(self, name: str, content: File) -> str:
        path = self.staging.path(name)
        if name in self._doomed:
            self._doomed.discard(name)
            if _holds(path, content):
                # Each pass after the first deletes and saves every CSS and JS
                # file again, mostly with the bytes it already has: keeping the
                # file spares creating it anew (a new inode, its bytes written).
                self._unclaimed.append(name)
                return name
        # A staged original may be a hard link or symlink to the project's own
        # file: replace it, never write through it.
        with contextlib.suppress(FileNotFoundError):
            os.remove(path)
        source = _whole_local_file(content)
        if source is not None and self.staging.link_in(source, name):
            name = name.replace("\\", "/")
        else:
            name = self.staging._save(name, content)
        self.saved.add(name)
        self._unclaimed.append(name)
        return name

    def _post_process(self, *args: Any, **kwargs: Any) -> Iterator[tuple[Any, ...]]:
        # Django's _post_process handles one file per yield: the names saved
        # before a yield were made from the file it yields. A file it deleted
        # on the way and did not save again is deleted before the yield.
        steps = super()._post_process(*args, **kwargs)  # type: ignore[misc]
        while True:
            self._deferring = True
            try:
                item = next(steps)
            except StopIteration:
                return
            finally:
                self._deferring = False
                for name in self._doomed:
                    self.staging.delete(name)
                self._doomed.clear()
            for name in self._unclaimed:
                self.made_from[name] = item[0]
            self._unclaimed.clear()
            yield item

    def get_available_name(self, name: str, max_length: int | None = None) -> str:
        return name  # _save replaces; a renamed copy would break the manifest

    def hashed_name(self, name: str, content: Any = None, filename: str | None = None) -> str:
        try:
            return super().hashed_name(name, content, filename)  # type: ignore[misc]
        except ValueError as exc:
            wanted = urlsplit(unquote(filename or name)).path.strip()
            if content is None and not self.exists(wanted):
                raise MissingFile(wanted) from exc
            raise

    def url_converter(self, name: str, hashed_files: Any, *args: Any, **kwargs: Any) -> Any:
        # Django's converter stops at the first missing file of a run; this one notes
        # each and leaves its reference as written, so one run finds every one. The
        # rest of the arguments pass through: Django 6.0 added ignored_blocks.
        convert = super().url_converter(name, hashed_files, *args, **kwargs)  # type: ignore[misc]

        def noting(match: re.Match[str]) -> str:
            try:
                return str(convert(match))
            except MissingFile as exc:
                line = match.string.count("\n", 0, match.start()) + 1
                self.missing.setdefault((name, line, match["url"].strip()), str(exc))
                return match["matched"]

        return noting

    def ships(self) -> Callable[[str], bool]:
        """Whether a staged name is made from an original the profile ships, as of now."""
        if self.shipped is None:
            return lambda name: True
        shipped = self.shipped
        known = {name: name for name in self.originals} | self.made_from
        return lambda name: (origin := _origin(name, known)) is None or origin in shipped

    def exists(self, name: str) -> bool:
        return name not in self._doomed and self.staging.exists(name)

    def delete(self, name: str) -> None:
        if self._deferring and name in self.saved:
            self._doomed.add(name)
        else:
            self.staging.delete(name)

    def path(self, name: str) -> str:
        return self.staging.path(name)

    def size(self, name: str) -> int:
        return self.staging.size(name)

    def listdir(self, path: str) -> tuple[list[str], list[str]]:
        return self.staging.listdir(path)


_staged_classes: dict[type[Storage], type[StagedFiles]] = {}


def staged_class(cls: type[Storage]) -> type[StagedFiles]:
    """``cls`` with its file operations moved to a staging folder, made once per class."""
    from collectstupid.compression import SharedCompression, compresses

    if cls not in _staged_classes:
        bases = (SharedCompression, StagedFiles, cls) if compresses(cls) else (StagedFiles, cls)
        _staged_classes[cls] = type(f"Staged{cls.__name__}", bases, {"__module__": __name__})
    return _staged_classes[cls]


def _holds(path: str, content: File) -> bool:
    """Whether the file at ``path`` holds exactly the bytes of in-memory ``content``."""
    if not isinstance(content, ContentFile):
        return False  # a file on disk or a stream: written anew, as Django does
    try:
        if os.path.getsize(path) != content.size:
            return False
        with open(path, "rb") as f:
            held = f.read()
    except OSError:
        return False
    content.seek(0)
    data = content.read()
    content.seek(0)
    return held == (data.encode() if isinstance(data, str) else data)


def _whole_local_file(content: Any) -> str | None:
    """The path of the plain local file ``content`` reads from start to end, if any.

    ``FileSystemStorage.open()`` returns such files; linking one instead of
    copying it keeps staging cheap for large images, fonts and media.
    """
    if isinstance(content, ContentFile) or not isinstance(content, File):
        return None
    raw = content.file
    if not isinstance(raw, io.BufferedReader | io.FileIO):
        return None
    path = raw.name
    # Whether it is a regular file is link_in's to check.
    if not isinstance(path, str) or not os.path.isabs(path):
        return None
    try:
        if raw.tell() != 0:
            return None
    except OSError:
        return None
    return path


def _stage_original(source: SourceFile, staging: StagingFolder) -> None:
    try:
        local = source.storage.path(source.path)
    except NotImplementedError:
        local = None  # a remote source storage: copy it through open()
    if local is not None and staging.link_in(os.path.abspath(local), source.dest):
        return
    with source.storage.open(source.path) as content:
        staging._save(source.dest, content)


@dataclass
class Staged:
    """A post-processed plan and what post-processing did."""

    plan: Plan
    # (original, hashed name) for every file post-processing handled, in
    # Django's order, selected by the profile or not.
    post_processed: list[tuple[str, str]] = field(default_factory=list)
    # Every name post-processing wrote besides the originals and the manifest:
    # the hashed copies (intermediate and compressed ones included).
    copies: frozenset[str] = frozenset()
    # What the manifest holds, for a ManifestFilesMixin storage (None otherwise).
    hashed_files: dict[str, str] | None = None
    manifest_hash: str = ""
    # Every found file's destination: the originals, as opposed to what was made from them.
    originals: frozenset[str] = frozenset()
    # The copies Django saved under a hashed name (see hashed_copies).
    hashed: frozenset[str] = frozenset()
    # Originals the profile selects that post-processing removed (WhiteNoise's
    # WHITENOISE_KEEP_ONLY_HASHED_FILES): not shipped, as collectstatic leaves none.
    removed: frozenset[str] = frozenset()


ProcessedCallback = Callable[[str, str], None]


@contextlib.contextmanager
def staged_plan(
    plan: Plan,
    found: Iterable[SourceFile],
    alias: str = "staticfiles",
    on_processed: ProcessedCallback | None = None,
    parent: str | None = None,
) -> Iterator[Staged]:
    """Post-process every found file locally and yield the plan to upload.

    ``found`` is every file found, in finder order (collectstatic's order,
    which fixes the manifest's byte order); ``plan`` says which of them the
    profile selects. The staging folder lives until the block ends, however
    it ends, because the upload reads the hashed copies from it. It is made
    in ``parent`` (a local target's file system, see local.py), else in the
    system's temporary folder.
    """
    folder = Path(
        tempfile.mkdtemp(
            prefix=".collectstupid-stage-" if parent else "collectstupid-stage-", dir=parent
        )
    )
    try:
        yield _stage(plan, list(found), folder, alias, on_processed)
    finally:
        # Staged originals are links: removing them leaves the sources alone.
        shutil.rmtree(folder, ignore_errors=True)


def _staging_storage(alias: str, staging: StagingFolder) -> StagedFiles:
    cls, options = configured(alias)
    if options.get("manifest_storage") is not None:
        raise PostProcessError(
            f"The '{alias}' storage writes its manifest to a separate manifest_storage, "
            "which collectstupid does not support: it uploads the manifest to the "
            "staticfiles storage. Remove the manifest_storage option, or deploy with "
            "collectstatic."
        )
    return staged_class(cls)(staging=staging, **options)


def _run_post_process(
    storage: StagedFiles,
    paths: dict[str, tuple[Storage, str]],
    on_processed: ProcessedCallback | None,
) -> list[tuple[str, str]]:
    processed: list[tuple[str, str]] = []
    current = ""
    try:
        for original, hashed, result in storage.post_process(paths, dry_run=False):  # type: ignore[attr-defined]
            current = original
            if isinstance(result, Exception):
                raise PostProcessError(
                    f"Post-processing '{original}' failed, so nothing was uploaded: {result}"
                ) from result
            if result:
                processed.append((original, hashed))
                if on_processed:
                    on_processed(original, hashed)
    except PostProcessError:
        raise
    except Exception as exc:
        # Some failures are raised rather than yielded (a storage subclass,
        # an unreadable file); they stop the run the same way.
        after = f" after '{current}'" if current else ""
        raise PostProcessError(
            f"Post-processing failed{after}, so nothing was uploaded: {type(exc).__name__}: {exc}"
        ) from exc
    return processed


def _walk(folder: Path) -> list[str]:
    # Plain strings: a Path per staged file costs more than the walk itself.
    skip = len(str(folder)) + 1
    return sorted(
        os.path.join(dirpath, name)[skip:].replace(os.sep, "/")
        for dirpath, _, names in os.walk(folder)
        for name in names
    )


def _origin(name: str, known: dict[str, str]) -> str | None:
    """The original a staged name was made from.

    Names written outside ``_save`` (say ``app.3f2a1c.css.gz`` from a
    compressing subclass) belong to the longest known name they extend.
    """
    if name in known:
        return known[name]
    base = name
    while "." in base.rsplit("/", 1)[-1]:
        base = base.rsplit(".", 1)[0]
        if base in known:
            return known[base]
    return None


def _stage(
    plan: Plan,
    found: list[SourceFile],
    folder: Path,
    alias: str,
    on_processed: ProcessedCallback | None,
) -> Staged:
    storage = _staging_storage(alias, StagingFolder(location=str(folder)))
    processed = _post_process(storage, plan, found, on_processed)
    originals = frozenset(source.dest for source in found)
    manifest_name = getattr(storage, "manifest_name", None)
    walked = _walk_staged(folder, storage, originals, manifest_name)
    selected = {source.dest for source in plan.files}
    # An original the storage removed while post-processing (WhiteNoise's
    # WHITENOISE_KEEP_ONLY_HASHED_FILES) is left out, as collectstatic leaves it.
    kept = originals.intersection(walked.names)
    result = _plan_of(plan, found, walked, kept - storage.saved - {manifest_name})
    made = {s.dest for group in walked.made.values() for s in group}
    manifest = walked.manifest
    if manifest is not None:
        result.last.append(manifest)
    return Staged(
        result,
        processed,
        copies=frozenset(made | {s.dest for s in walked.loose}) - originals,
        hashed_files=dict(getattr(storage, "hashed_files", {})) if manifest else None,
        manifest_hash=getattr(storage, "manifest_hash", "") if manifest else "",
        originals=originals,
        hashed=hashed_copies(storage, originals, manifest_name),
        removed=frozenset(selected - kept - {manifest_name}),
    )


def _post_process(
    storage: StagedFiles,
    plan: Plan,
    found: list[SourceFile],
    on_processed: ProcessedCallback | None,
) -> list[tuple[str, str]]:
    """Stage every found file, then post-process them as collectstatic would in the target:
    (original, hashed name) for each file handled."""
    staging = storage.staging
    if isinstance(storage, FileSystemStorage):
        # Staged files get the modes collectstatic would give them in the target.
        staging.file_permissions_mode = storage.file_permissions_mode
        staging.directory_permissions_mode = storage.directory_permissions_mode
    storage.originals = {source.dest for source in found}
    storage.shipped = {source.dest for source in plan.files}
    for source in found:
        _stage_original(source, staging)
    # Django reads each original from its finder's storage, as in collectstatic.
    paths = {source.dest: (source.storage, source.path) for source in found}
    processed = _run_post_process(storage, paths, on_processed)
    if storage.missing:
        raise PostProcessError(missing_references(storage.missing))
    return processed


@dataclass(frozen=True)
class _Walked:
    """What post-processing left in the staging folder, by the original it was made from."""

    names: list[str]
    made: dict[str, list[SourceFile]]
    loose: list[SourceFile]  # made from no known original
    manifest: SourceFile | None


def _walk_staged(
    folder: Path, storage: StagedFiles, originals: frozenset[str], manifest_name: str | None
) -> _Walked:
    staging, names = storage.staging, _walk(folder)
    known = {name: name for name in originals} | storage.made_from
    made: dict[str, list[SourceFile]] = {}
    loose: list[SourceFile] = []
    manifest = None
    for name in names:
        if name in originals and name not in storage.saved:
            continue  # an untouched original: uploaded from its source
        staged = SourceFile(name, staging, name, staging.size(name))
        if name == manifest_name:
            manifest = staged
        elif (origin := _origin(name, known)) is None:
            loose.append(staged)
        else:
            made.setdefault(origin, []).append(staged)
    return _Walked(names, made, loose, manifest)


def _plan_of(plan: Plan, found: list[SourceFile], walked: _Walked, as_is: frozenset[str]) -> Plan:
    """The plan to upload: each original shipped ``as_is`` and what was made from it, in
    finder order, selected as the original is; a file made from none by its own name."""
    selected = {source.dest for source in plan.files}
    result = Plan(plan.profile, last=list(plan.last))
    for source in found:
        into = result.files if source.dest in selected else result.left_out
        if source.dest in as_is:
            into.append(source)
        into.extend(walked.made.get(source.dest, []))
    for staged in walked.loose:
        (result.files if plan.profile.select(staged.dest) else result.left_out).append(staged)
    return result


def hashed_copies(
    storage: StagedFiles, originals: frozenset[str], manifest_name: str | None
) -> frozenset[str]:
    """The names Django's HashedFilesMixin gave copies of the originals.

    Known, not guessed from the names: the final names are the values of its
    ``hashed_files``, and every name it saved during post-processing is a
    hashed name (the intermediate ones too, with ``keep_intermediate_files``).
    Files a subclass writes otherwise (WhiteNoise's compressed siblings) are
    not among them.
    """
    if not isinstance(storage, HashedFilesMixin):
        return frozenset()
    final = {h for o, h in getattr(storage, "hashed_files", {}).items() if h != o}
    return frozenset((final | storage.saved) - originals - {manifest_name})


def loaded_staticfiles_storages() -> list[Storage]:
    """The instances this process already made of the staticfiles storage.

    One not made yet is left alone: made later, it reads the manifest the
    deploy wrote, and making it now would cost a remote read on S3.
    """
    found: list[Storage] = []
    for candidate in (
        storages._storages.get(STATICFILES_STORAGE_ALIAS),
        staticfiles_storage._wrapped,
    ):
        if (
            candidate is not None
            and candidate is not empty
            and not any(candidate is seen for seen in found)
        ):
            found.append(candidate)
    return found


def adopt_manifest(hashed_files: dict[str, str], manifest_hash: str) -> None:
    """Give every loaded hashed-name staticfiles storage the manifest that was deployed."""
    for storage in loaded_staticfiles_storages():
        if hasattr(storage, "hashed_files") and hasattr(storage, "manifest_hash"):
            storage.hashed_files = dict(hashed_files)
            storage.manifest_hash = manifest_hash
