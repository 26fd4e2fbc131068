"""A GoogleCloudStorage subclass with a save of its own, for the GCS tests."""

from __future__ import annotations

from typing import Any

from django.core.files.base import ContentFile
from storages.backends.gcloud import GoogleCloudStorage


class StampedGoogleCloudStorage(GoogleCloudStorage):
    """Adds a comment to every file it saves: a write only ``save()`` can honour."""

    def _save(self, name: str, content: Any) -> str:
        return super()._save(name, ContentFile(b"/* stamped */" + content.read()))
