"""List static files the way collectstatic finds them.

Every finder is asked in order, the first file found for a destination path
wins, and the same ignore patterns apply. Nothing here touches the target
storage.
"""

from __future__ import annotations

import errno
import os
import posixpath
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.contrib.staticfiles.finders import get_finders
from django.core.files.storage import Storage

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


def _size(storage: Storage, path: str, dest: str) -> int:
    try:
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
    if os.path.islink(local) and not os.path.exists(local):
        return os.readlink(local)
    return None


def find_files(patterns: Iterable[str]) -> Found:
    """Every static file the finders list, first finder wins."""
    found = Found()
    seen: set[str] = set()
    patterns = list(patterns)
    for finder in get_finders():
        try:
            for path, storage in finder.list(patterns):
                prefix = getattr(storage, "prefix", None)
                dest = safe_dest(posixpath.join(prefix, path) if prefix else path)
                if dest in seen:
                    found.duplicates.append(dest)
                    continue
                seen.add(dest)
                found.files.append(SourceFile(dest, storage, path, _size(storage, path, dest)))
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
    for source in files:
        try:
            local = source.storage.path(source.path)
        except NotImplementedError:
            continue  # a remote source: its errors surface during the upload
        target = dangling(source.storage, source.path)
        if target is not None:
            problems.append((source, f"a symbolic link to '{target}', which does not exist"))
        elif not os.path.exists(local):
            problems.append((source, "not found"))
        elif not os.path.isfile(local):
            problems.append((source, "not a regular file"))
        elif not os.access(local, os.R_OK):
            problems.append((source, "permission denied"))
    return problems
