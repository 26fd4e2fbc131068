"""Local targets: put each file in STATIC_ROOT the cheapest way that keeps collectstatic's bytes.

For a ``FileSystemStorage`` target (``StaticFilesStorage``,
``ManifestStaticFilesStorage``, WhiteNoise's storages) the staging folder
sits next to STATIC_ROOT, on the same file system. A file post-processing
wrote there (a rewritten CSS or JS file, a compressed sibling, the
manifest) then reaches the target as a hard link: no byte is written twice.
Originals, and hashed copies that are links to the project's own files,
are copied, as collectstatic copies them: a target file must never share
its inode with a source, or an edit of one would change the other.

Every file lands under a temporary name in its final folder and is renamed
over the old one, so a web server reading STATIC_ROOT meanwhile sees the
old file or the new one, never half of one.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import threading
from pathlib import Path

from django.core.files.storage import FileSystemStorage, Storage

from collectstupid.backends import StorageBackend
from collectstupid.collect import SourceFile
from collectstupid.plan import Plan
from collectstupid.stage import Staged, StagingFolder
from collectstupid.storage import saves_like
from collectstupid.upload import UploadResult


def claims(storage: Storage) -> bool:
    """True when a save on ``storage`` only puts bytes at ``path(name)``, as FileSystemStorage's.

    A subclass that changes ``save`` or ``_save`` keeps them: it is written
    through its own ``save()``, by the generic backend.
    """
    return saves_like(storage, FileSystemStorage)


def make_backend(storage: Storage) -> LocalBackend:
    return LocalBackend(storage)


def staging_parent(storage: Storage) -> str | None:
    """A folder beside the target's root, on its file system, for the staging folder.

    None (the system's temporary folder, files then copied) when the target's
    parent cannot be written.
    """
    if not claims(storage):
        return None
    parent = Path(storage.location).resolve().parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    if not os.access(parent, os.W_OK | os.X_OK):
        return None
    return str(parent)


def _made_by_this_run(source: SourceFile) -> str | None:
    """The staged file's path if this run wrote its bytes itself, so they may be linked.

    A staged file with other links is one of the project's own files (an
    original, or a hashed copy of one made by linking): it must be copied.
    """
    if not isinstance(source.storage, StagingFolder):
        return None
    path = source.storage.path(source.path)
    try:
        info = os.lstat(path)
    except OSError:
        return None
    # lstat: a symlink is not a regular file here, so it is copied too.
    return path if stat.S_ISREG(info.st_mode) and info.st_nlink == 1 else None


class LocalBackend(StorageBackend):
    """Writes a planned file into a local target: linked when this run made it, else copied.

    Deleting, listing and the deploy manifest go through the Storage API, as
    for any storage.
    """

    storage: FileSystemStorage

    def __init__(self, storage: FileSystemStorage) -> None:
        super().__init__(storage)
        self._folders: set[str] = set()
        self._folders_lock = threading.Lock()
        mode = storage.file_permissions_mode
        # FileSystemStorage gives new files 0666 less the umask, then this mode if set.
        self._file_mode = mode if mode is not None else 0o666 & ~_umask()

    def write(self, source: SourceFile) -> None:
        dest = self.storage.path(source.dest)
        folder = os.path.dirname(dest)
        self._makedirs(folder)
        # Unique to this process and thread; hidden, and named for the file it becomes.
        tmp = os.path.join(folder, f".{os.path.basename(dest)}.{self._tag()}.collectstupid")
        try:
            made = _made_by_this_run(source)
            if made is not None:
                with contextlib.suppress(FileNotFoundError):
                    os.remove(tmp)  # left by a killed run that had this pid and thread
                os.link(made, tmp)
            else:
                self._copy(source, tmp)
                os.chmod(tmp, self._file_mode)
            os.replace(tmp, dest)
        except BaseException:
            with contextlib.suppress(OSError):
                os.remove(tmp)
            raise

    @staticmethod
    def _tag() -> str:
        return f"{os.getpid()}-{threading.get_ident()}"

    def _copy(self, source: SourceFile, tmp: str) -> None:
        try:
            local = source.storage.path(source.path)
        except NotImplementedError:
            local = None  # a remote source storage: stream it
        if local is not None:
            shutil.copyfile(local, tmp)
            return
        with source.storage.open(source.path) as content, open(tmp, "wb") as out:
            for chunk in content.chunks():
                out.write(chunk)

    def _makedirs(self, folder: str) -> None:
        if folder in self._folders:
            return
        with self._folders_lock:
            mode = self.storage.directory_permissions_mode
            missing = []
            path = folder
            while not os.path.isdir(path):
                missing.append(path)
                path = os.path.dirname(path)
            for path in reversed(missing):
                try:
                    os.mkdir(path)
                except FileExistsError:
                    if not os.path.isdir(path):
                        raise FileExistsError(f"{path} exists and is not a directory.") from None
                    continue
                if mode is not None:
                    # As FileSystemStorage does: the mode applies to every level it creates.
                    os.chmod(path, mode)
            self._folders.add(folder)


def _umask() -> int:
    # Reading the umask means setting it: done before the writing threads start.
    current = os.umask(0o022)
    os.umask(current)
    return current


def collectstatic_counts(plan: Plan, result: UploadResult, staged: Staged) -> tuple[int, int]:
    """(files copied, post-processed) as collectstatic counts them, for what the profile ships.

    collectstatic counts the originals it copied, then each post-processing
    result; hashed copies, compressed siblings and the manifest are in the
    second number, not the first.
    """
    copied = sum(1 for o in result.uploaded if o.source.dest in staged.originals)
    shipped = {s.dest for s in plan.files}
    return copied, sum(1 for original, _ in staged.post_processed if original in shipped)
