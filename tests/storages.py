"""Storages with faults, for tests of how the command reports them and survives them."""

from __future__ import annotations

import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

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
