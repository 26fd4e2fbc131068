"""What is particular to Azure Blob Storage; the shared deploy tests are in test_storages.py."""

from __future__ import annotations

import pytest
from django.core.files.base import ContentFile

from collectstupid.azure.backend import AzureBackend
from collectstupid.backends import backend_for
from collectstupid.storage import target_storage


def test_save_alone_refuses_to_replace_a_blob(azure_settings, azure_proxy):
    # Why the backend sets overwrite_files: AzureStorage's default writes with
    # If-None-Match: *, and StupidStorageMixin picks no new name.
    from azure.core.exceptions import ResourceExistsError

    storage = target_storage()
    storage.save("css/a.css", ContentFile(b"a{}"))
    with pytest.raises(ResourceExistsError):
        storage.save("css/a.css", ContentFile(b"b{}"))
    backend = backend_for(target_storage())
    assert isinstance(backend, AzureBackend)
    azure_proxy.reset_counts()
    backend.storage.save("css/a.css", ContentFile(b"b{}"))
    assert dict(azure_proxy.counts) == {"PutBlob": 1}
    assert azure_settings.read("css/a.css") == b"b{}"


def test_object_parameters_reach_every_blob(static_files, azure_settings_factory):
    static_files({"css/site.css": "a{}", "js/app.js": "1"})
    target = azure_settings_factory(cache_control="public, max-age=600")
    from tests.helpers import run

    run("--profile", "full")
    assert target.head("css/site.css") == {
        "ContentType": "text/css",
        "CacheControl": "public, max-age=600",
        "ContentEncoding": None,
        "ContentDisposition": None,
        "ContentLanguage": None,
        "Metadata": {},
    }
    assert target.head("js/app.js")["ContentType"] in ("text/javascript", "application/javascript")
