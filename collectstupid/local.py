"""Local targets (``FileSystemStorage``): each file placed in STATIC_ROOT with collectstatic's
names, bytes and modes, hard-linked when this run made it, copied when it is a project file,
and renamed over the old one so that a reader never sees half a file.
See docs/local-targets.md.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import stat
import threading
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from django.core.files.storage import FileSystemStorage, Storage

from collectstupid.backends import LOCAL, StorageBackend
from collectstupid.collect import SourceFile
from collectstupid.outcomes import UploadResult
from collectstupid.profiles import Plan
from collectstupid.stage import Staged, StagingFolder

# Threads for a local target's writes and deletes, whatever THREADS or --threads
# ask: each is a few system calls on local disk, and every one of them hands
# Python's lock to another thread, so more threads only add switches between
# them (measured: about 10% more CPU with 16 threads than with one, for the
# same wall time). No thread waits on a network here.
THREADS = 1


def staging_parent(storage: Storage) -> str | None:
    """A folder beside the target's root, on its file system, for the staging folder.

    None (the system's temporary folder, files then copied) when the target's
    parent cannot be written.
    """
    if not LOCAL.claims(storage):
        return None
    parent = Path(storage.location).resolve().parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    if not os.access(parent, os.W_OK | os.X_OK):
        return None
    return str(parent)


def _made_by_this_run(source: SourceFile) -> tuple[str, os.stat_result] | None:
    """The staged file's path and status if this run wrote its bytes itself, so they
    may be linked.

    A staged project file (an original, or a hashed copy of one made by
    linking) must be copied.
    """
    if not isinstance(source.storage, StagingFolder):
        return None
    path = source.storage.path(source.path)
    try:
        info = os.lstat(path)
    except OSError:
        return None
    # lstat: a symlink is not a regular file here, so it is copied too.
    if not stat.S_ISREG(info.st_mode):
        return None
    return None if (info.st_dev, info.st_ino) in source.storage.project_files else (path, info)


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
        self._file_mode = _chmod_to(storage)
        # The first target file copied from each project file, once it is in place.
        self._placed: dict[tuple[int, int], str] = {}
        self._placed_lock = threading.Lock()

    def writer_count(self, requested: int) -> int:
        return THREADS

    @property
    def inline_writes(self) -> bool:
        return True

    def staging_parent(self) -> str | None:
        return staging_parent(self.storage)

    def collectstatic_counts(
        self, plan: Plan, result: UploadResult, staged: Staged, smart: bool = False
    ) -> tuple[int, int] | None:
        return collectstatic_counts(plan, result, staged, smart)

    def write(self, source: SourceFile) -> None:
        dest = self.storage.path(source.dest)
        self._makedirs(os.path.dirname(dest))
        made = _made_by_this_run(source)
        if made is not None:
            self._put(dest, lambda tmp: _link_or_copy(*made, tmp))
            return
        local = _local_path(source)
        if local is None:
            self._put(dest, lambda tmp: self._stream(source, tmp))
            return
        self._copy(local, dest)

    def _copy(self, local: str, dest: str) -> None:
        """Copy a project file to ``dest``, or link ``dest`` to the target file copied from it.

        A hashed copy that Django made from its original unchanged is the
        same project file (staging links it): its bytes are those of the
        original's copy, which it then shares instead of holding a second
        copy. Both are this run's files in STATIC_ROOT; neither shares its
        inode with the project.
        """
        with open(local, "rb", buffering=0) as src:
            info = os.fstat(src.fileno())
            key = (info.st_dev, info.st_ino)
            with self._placed_lock:
                placed = self._placed.get(key)
                first = placed is None and stat.S_ISREG(info.st_mode)
                if first:
                    self._placed[key] = ""  # being copied: another writer copies too
            if not placed:
                self._put(dest, lambda tmp: _write_new(src, tmp, self._file_mode))
                if first:
                    self._placed[key] = dest
                return
        try:
            self._put(dest, lambda tmp: _link(placed, tmp))
        except OSError:
            # Say a file system without hard links, or the first copy replaced meanwhile.
            self._put(dest, lambda tmp: _new_copy(local, tmp, self._file_mode))

    def _put(self, dest: str, make: Callable[[str], None]) -> None:
        """``make`` the file under a temporary name beside ``dest``, then rename it over."""
        # Unique to this process and thread; hidden, and named for the file it becomes.
        tmp = os.path.join(
            os.path.dirname(dest), f".{os.path.basename(dest)}.{self._tag()}.collectstupid"
        )
        try:
            make(tmp)
            os.replace(tmp, dest)
        except BaseException:
            with contextlib.suppress(OSError):
                os.remove(tmp)
            raise

    @staticmethod
    def _tag() -> str:
        return f"{os.getpid()}-{threading.get_ident()}"

    def _stream(self, source: SourceFile, tmp: str) -> None:
        # A remote source storage: read it through its own open().
        with source.storage.open(source.path) as content:
            fd = _create(tmp)
            try:
                with os.fdopen(fd, "wb", closefd=False) as out:
                    for chunk in content.chunks():
                        out.write(chunk)
                if self._file_mode is not None:
                    os.fchmod(fd, self._file_mode)
            finally:
                os.close(fd)

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


def _chmod_to(storage: FileSystemStorage) -> int | None:
    """The mode to give new files after creating them 0666 less the umask, if another.

    FileSystemStorage creates files that way, then applies its
    ``file_permissions_mode`` if set.
    """
    created = 0o666 & ~_umask()
    mode = storage.file_permissions_mode
    return None if mode is None or mode == created else mode


def _new_copy(source: str, path: str, mode: int | None) -> None:
    with open(source, "rb", buffering=0) as src:
        _write_new(src, path, mode)


def _write_new(src: BinaryIO, path: str, mode: int | None) -> None:
    """A new file at ``path`` with every byte of ``src``, then ``mode`` if given."""
    fd = _create(path)
    try:
        copy_bytes(src, fd)
        if mode is not None:
            os.fchmod(fd, mode)
    finally:
        os.close(fd)


def _local_path(source: SourceFile) -> str | None:
    try:
        return source.storage.path(source.path)
    except NotImplementedError:
        return None


def _create(tmp: str) -> int:
    """A new file at ``tmp``, with FileSystemStorage's creation mode; a leftover is replaced."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    try:
        return os.open(tmp, flags, 0o666)
    except FileExistsError:
        os.remove(tmp)  # left by a killed run that had this pid and thread
        return os.open(tmp, flags, 0o666)


def _link(existing: str, tmp: str) -> None:
    try:
        os.link(existing, tmp)
    except FileExistsError:
        os.remove(tmp)  # left by a killed run that had this pid and thread
        os.link(existing, tmp)


# A hard link cannot be made: another file system, or one without hard links.
_CANNOT_LINK = {errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP, errno.EOPNOTSUPP}


def _link_or_copy(made: str, info: os.stat_result, tmp: str) -> None:
    """Link a file this run made; when the staging folder is on another file system
    (see staging_parent), copy it with the mode and times it was given."""
    try:
        _link(made, tmp)
        return
    except OSError as exc:
        if exc.errno not in _CANNOT_LINK:
            raise
    _new_copy(made, tmp, stat.S_IMODE(info.st_mode))
    os.utime(tmp, ns=(info.st_atime_ns, info.st_mtime_ns))


def copy_bytes(src: BinaryIO, fd: int) -> None:
    """Every byte of ``src`` into the file open as ``fd``, in the kernel where it can."""
    offset = 0
    if hasattr(os, "sendfile"):
        try:
            while sent := os.sendfile(fd, src.fileno(), offset, 1 << 30):
                offset += sent
            return
        except OSError as exc:
            # Some systems send only to sockets; nothing was written yet then.
            if offset or exc.errno not in (errno.EINVAL, errno.ENOTSOCK, errno.ENOSYS):
                raise
    with os.fdopen(fd, "wb", closefd=False) as out:
        shutil.copyfileobj(src, out, 1 << 20)


def _umask() -> int:
    # Reading the umask means setting it: done before the writing threads start.
    current = os.umask(0o022)
    os.umask(current)
    return current


def collectstatic_counts(
    plan: Plan, result: UploadResult, staged: Staged, smart: bool = False
) -> tuple[int, int]:
    """(files copied, post-processed) as collectstatic counts them, for what the profile ships.

    collectstatic counts the originals it copied, then each post-processing
    result; hashed copies, compressed siblings and the manifest are in the
    second number, not the first. Originals post-processing removed
    (``WHITENOISE_KEEP_ONLY_HASHED_FILES``) it copied first: a full run counts them
    too, a smart run only what it wrote.
    """
    copied = sum(1 for o in result.uploaded if o.source.dest in staged.originals)
    if not smart:
        copied += len(staged.removed)
    shipped = {s.dest for s in plan.files} | staged.removed
    return copied, sum(1 for original, _ in staged.post_processed if original in shipped)
