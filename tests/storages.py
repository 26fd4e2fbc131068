"""Storages with faults, for tests of how the command reports them."""

from __future__ import annotations

from django.core.files.storage import FileSystemStorage


class FailingStorage(FileSystemStorage):
    def __init__(self, fail: list[str] = (), **kwargs) -> None:
        super().__init__(**kwargs)
        self.fail = set(fail)

    def _save(self, name, content):
        if name in self.fail:
            raise OSError("disk on fire")
        return super()._save(name, content)
