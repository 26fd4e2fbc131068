"""Storages with faults, for tests of how the command reports them and survives them."""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from django.contrib.staticfiles.storage import ManifestStaticFilesStorage
from django.core.files.storage import FileSystemStorage


class FailingMixin:
    """Saving any of the names in ``fail`` raises, as a full disk would."""

    def __init__(self, fail: Iterable[str] = (), **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.fail = set(fail)

    def _save(self, name: str, content: Any) -> str:
        if name in self.fail:
            raise OSError("disk on fire")
        return super()._save(name, content)


class FailingStorage(FailingMixin, FileSystemStorage):
    pass


class PausingStorage(FileSystemStorage):
    """Stops for good on the ``nth`` open or save of ``name``, after creating ``reached``.

    A test runs the command in a child process with this storage, waits for
    ``reached`` to appear, and kills the child at exactly that instant.
    """

    def __init__(self, name: str = "", nth: int = 1, reached: str = "", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.pause_name, self.pause_nth, self.reached = name, nth, reached
        self.seen = 0

    def _pause_at(self, name: str) -> None:
        if name == self.pause_name:
            self.seen += 1
            if self.seen == self.pause_nth:
                Path(self.reached).touch()
                time.sleep(3600)

    def _open(self, name: str, mode: str = "rb") -> Any:
        self._pause_at(name)
        return super()._open(name, mode)

    def _save(self, name: str, content: Any) -> str:
        self._pause_at(name)
        return super()._save(name, content)


def _s3_manifest_static_storage() -> type:
    from storages.backends.s3 import S3ManifestStaticStorage

    return S3ManifestStaticStorage


class PausingPostProcessStorage(_s3_manifest_static_storage()):  # type: ignore[misc]
    """Hashed names on S3 whose post-processing pauses before its first file: it
    touches ``$COLLECTSTUPID_TEST_PAUSED`` and waits up to a minute, so a test can
    signal the process at exactly that phase."""

    def post_process(self, *args: Any, **kwargs: Any) -> Any:
        Path(os.environ["COLLECTSTUPID_TEST_PAUSED"]).touch()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            time.sleep(0.05)
        yield from super().post_process(*args, **kwargs)


class FailingHashedStorage(FailingMixin, ManifestStaticFilesStorage):
    """Hashed names, and saving any of the names in ``fail`` raises."""
