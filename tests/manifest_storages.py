"""Hashed-name storages for Azure and Google Cloud, as a project would declare them."""

from __future__ import annotations

from django.contrib.staticfiles.storage import ManifestFilesMixin
from storages.backends.azure_storage import AzureStorage
from storages.backends.gcloud import GoogleCloudStorage


class ManifestAzureStorage(ManifestFilesMixin, AzureStorage):
    pass


class ManifestGoogleCloudStorage(ManifestFilesMixin, GoogleCloudStorage):
    pass


class OwnSaveAzureStorage(AzureStorage):
    """Saves in a way of its own: written through save(), which takes no profile rules."""

    def _save(self, name, content):  # type: ignore[no-untyped-def]
        return super()._save(name, content)
