"""List static files the way collectstatic finds them.

Every finder is asked in order, the first file found for a destination path
wins, and the same ignore patterns apply. Nothing here touches the target
storage.
"""

from __future__ import annotations

import errno
import os
import posixpath
import stat
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.contrib.staticfiles.finders import get_finders
from django.core.files.storage import FileSystemStorage, Storage

from collectstupid.conf import is_safe_relative
from collectstupid.errors import CollectError


@dataclass(frozen=True, slots=True)
class SourceFile:
    """One file to deploy: where it lands and where it is read from."""

    dest: str
    storage: Storage = field(compare=False, repr=False)
    path: str
    size: int
    # Object parameters a profile's rules set for this file, over the storage's own.
    parameters: Mapping[str, Any] | None = field(default=None, compare=False, repr=False)


@dataclass
class Found:
    files: list[SourceFile] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)


def ignore_patterns(extra: Iterable[str] = (), use_default: bool = True) -> list[str]:
    """collectstatic's ignore list: ``-i`` patterns plus the app's defaults."""
    patterns = list(extra)
    if use_default:
        patterns += apps.get_app_config("staticfiles").ignore_patterns
    return sorted({os.path.normpath(p) for p in patterns})


def safe_dest(path: str) -> str:
    """A destination path with ``/`` separators that cannot leave the storage's location."""
    if os.sep != "/":
        path = path.replace(os.sep, "/")
    if not is_safe_relative(path):
        raise CollectError(
            f"Refusing the destination path {path!r}: it is empty, absolute, or holds "
            "'..', '.', '//' or a backslash, so it could land outside the storage's "
            "location. Rename the file or fix the finder that lists it."
        )
    return path


# Where a folder of a local storage is, by the storage's id and the folder's name.
Folders = dict[tuple[int, str], str]
_FILE_SYSTEM_PATH = FileSystemStorage.path
_FILE_SYSTEM_SIZE = FileSystemStorage.size


def local_path(storage: Storage, path: str, folders: Folders | None = None) -> str | None:
    """Where ``path`` of ``storage`` is on disk, or None when the storage keeps files elsewhere.

    Django's FileSystemStorage checks every name it is asked for; with ``folders`` it
    is asked once per folder, whose checked path the file's own name is joined to. The
    ids stay those of the same storages while ``folders`` is in use: the files name them.
    """
    folder, _, name = path.rpartition(os.sep)
    if (
        folders is None
        or getattr(type(storage), "path", None) is not _FILE_SYSTEM_PATH
        or name in ("", ".", "..")
        or (os.altsep and os.altsep in path)
    ):
        try:
            return storage.path(path)
        except NotImplementedError:
            return None
    key = (id(storage), folder)
    if (prefix := folders.get(key)) is None:
        prefix = folders[key] = os.path.join(storage.path(folder), "")
    return prefix + name


def _size(storage: Storage, path: str, dest: str, folders: Folders) -> int:
    try:
        # A LazyObject (Django's default_storage) has neither on its class: it is asked.
        if getattr(type(storage), "size", None) is _FILE_SYSTEM_SIZE:
            local = local_path(storage, path, folders)
            return os.path.getsize(local) if local is not None else storage.size(path)
        return storage.size(path)
    except OSError as exc:
        if dangling(storage, path) is not None:
            return 0  # named with what to do before any upload (``unreadable``)
        raise CollectError(f"Cannot read the size of static file {dest!r}: {exc}.") from exc


def dangling(storage: Storage, path: str) -> str | None:
    """Where the symbolic link at ``path`` points, when nothing is there; else None."""
    try:
        local = storage.path(path)
    except NotImplementedError:
        return None  # a remote source has no links
    return _dangling_at(local)


def _dangling_at(local: str) -> str | None:
    if os.path.islink(local) and not os.path.exists(local):
        return os.readlink(local)
    return None


def find_files(patterns: Iterable[str]) -> Found:
    """Every static file the finders list, first finder wins."""
    found = Found()
    seen: set[str] = set()
    patterns = list(patterns)
    folders: Folders = {}
    for finder in get_finders():
        try:
            for path, storage in finder.list(patterns):
                prefix = getattr(storage, "prefix", None)
                dest = safe_dest(posixpath.join(prefix, path) if prefix else path)
                if dest in seen:
                    found.duplicates.append(dest)
                    continue
                seen.add(dest)
                size = _size(storage, path, dest, folders)
                found.files.append(SourceFile(dest, storage, path, size))
        except OSError as exc:
            raise CollectError(_listing_problem(exc)) from exc
    return found


def _listing_problem(exc: OSError) -> str:
    """What stopped the finders, naming the link to remove when it is a symlink loop."""
    where = exc.filename or "a static folder"
    if exc.errno == errno.ELOOP:
        link = loop_link(str(where)) or where
        return (
            f"Cannot list the static files: the symbolic link '{link}' leads back into a "
            "folder that contains it, so the folders never end. Remove the link, or point it "
            "somewhere outside that folder."
        )
    return f"Cannot list the static files: {exc.strerror or exc}: '{where}'."


def loop_link(path: str) -> str | None:
    """The first symlink along ``path`` that points at itself or at a folder above it."""
    prefix = ""
    for part in path.split(os.sep):
        prefix = os.path.join(prefix, part) if prefix else (part or os.sep)
        if not os.path.islink(prefix):
            continue
        target = os.path.realpath(prefix)
        folder = os.path.realpath(os.path.dirname(prefix))
        if (
            target == os.path.abspath(prefix)
            or folder == target
            or folder.startswith(target.rstrip(os.sep) + os.sep)
        ):
            return prefix
    return None


def unreadable(files: Iterable[SourceFile]) -> list[tuple[SourceFile, str]]:
    """Local files that cannot be read, found before anything is uploaded."""
    problems = []
    folders: Folders = {}
    for source in files:
        local = local_path(source.storage, source.path, folders)
        if local is None:
            continue  # a remote source: its errors surface during the upload
        if (problem := _unreadable(local)) is not None:
            problems.append((source, problem))
    return problems


def _unreadable(local: str) -> str | None:
    """Why the file at ``local`` cannot be read, or None: one stat for a readable file."""
    try:
        mode = os.stat(local).st_mode
    except OSError:
        if (target := _dangling_at(local)) is not None:
            return f"a symbolic link to '{target}', which does not exist"
        return "not found"
    if not stat.S_ISREG(mode):
        return "not a regular file"
    if not os.access(local, os.R_OK):
        return "permission denied"
    return None
