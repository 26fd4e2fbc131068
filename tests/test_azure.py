"""What is particular to Azure Blob Storage; the shared deploy tests are in test_storages.py."""

from __future__ import annotations

import gzip

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


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"cache_control": "public, max-age=60"},
        {"object_parameters": {"content_disposition": "inline", "content_language": "de"}},
        {"default_content_type": "application/x-unknown"},
    ],
)
def test_the_writer_lands_what_save_lands(static_files, azure_settings_factory, options):
    from tests.helpers import assert_lands_as_saved

    names = ["css/site.css", "js/app.js", "img/logo.png", "data/map.json.gz", "notes.unknownext"]
    files = {name: "body{}" * 50 for name in names}
    files["data/map.json.gz"] = gzip.compress(b"{}" * 50, mtime=0)
    root = static_files(files)
    target = azure_settings_factory(**options)
    assert backend_for(target_storage()).fast  # the deploy below goes through the writer
    storage = target_storage()
    storage.overwrite_files = True
    assert_lands_as_saved(target, storage, root, names)


def test_a_storage_that_saves_its_own_way_refuses_rules_before_any_request(
    tmp_path, settings, static_files, azure_settings_factory, azure_proxy
):
    from django.core.management.base import CommandError

    from tests.helpers import run

    static_files({"css/a.css": "a{}"})
    folder = tmp_path / "profiles"
    folder.mkdir()
    (folder / "cdn.yaml").write_text(
        "extends: full\nobject_parameters:\n  - parameters: {CacheControl: no-cache}\n"
    )
    settings.COLLECTSTUPID = {"PROFILES": [str(folder)]}
    azure_settings_factory(backend="tests.manifest_storages.OwnSaveAzureStorage")
    azure_proxy.reset_counts()
    with pytest.raises(CommandError, match="OwnSaveAzureStorage has no way to take them"):
        run("--profile", "cdn")
    assert dict(azure_proxy.counts) == {}
    run("--profile", "full")  # without rules, through its own save()
    assert dict(azure_proxy.counts) == {"PutBlob": 1}
