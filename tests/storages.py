"""Storages with faults, for tests of how the command reports them."""

from __future__ import annotations

from collections.abc import Iterable
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
