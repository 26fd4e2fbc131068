"""Deploys to Azure Blob Storage (Azurite) through django-storages' AzureStorage,
with every request counted at the proxy in front of the emulator."""

from __future__ import annotations

import pytest
from django.core.management.base import CommandError

from collectstupid.azure.backend import AzureBackend
from collectstupid.azure.manifest import AzureManifestStore
from collectstupid.backends import backend_for
from collectstupid.storage import target_storage
from tests.helpers import ASSETS, MANIFEST, assert_truthful, run

SELECTED = {"css/site.css", "js/app.js", "img/logo.png"}
MEDIA = {"media/intro.mp4", "media/theme.mp3"}


def counted(proxy, *args, **options) -> tuple[dict[str, int], str]:
    proxy.reset_counts()
    out = run(*args, **options)
    return dict(proxy.counts), out


def test_each_profile_deploys_its_files_with_one_put_blob_each(
    static_files, azure_settings, azure_proxy
):
    static_files(ASSETS)
    counts, _ = counted(azure_proxy, "--profile", "no-media")
    assert counts == {"PutBlob": 3}
    assert azure_settings.names() == SELECTED
    counts, _ = counted(azure_proxy, "--profile", "media-only")
    assert counts == {"PutBlob": 2}
    assert azure_settings.names() == SELECTED | MEDIA
    for name in SELECTED | MEDIA:
        content = ASSETS[name]
        assert azure_settings.read(name) == (content.encode() if isinstance(content, str)
                                             else content)
    assert azure_settings.head("css/site.css")["ContentType"] == "text/css"


def test_a_second_deploy_overwrites_without_asking(static_files, azure_settings, azure_proxy):
    # AzureStorage sends If-None-Match: * unless overwrite_files is set, which
    # would fail every file of the second deploy with BlobAlreadyExists.
    root = static_files(ASSETS)
    run("--profile", "no-media")
    (root / "css/site.css").write_text("body { color: blue }")
    counts, _ = counted(azure_proxy, "--profile", "no-media")
    assert counts == {"PutBlob": 3}
    assert azure_settings.read("css/site.css") == b"body { color: blue }"


def test_parallel_workers_write_every_file_once(static_files, azure_settings, azure_proxy):
    files = {f"js/chunk{n:03}.js": f"chunk({n})" for n in range(60)}
    static_files(files)
    counts, _ = counted(azure_proxy, "--profile", "full", "--threads", "8")
    assert counts == {"PutBlob": 60}
    assert azure_settings.names() == set(files)
    assert azure_settings.read("js/chunk042.js") == b"chunk(42)"
    assert azure_proxy.connections > 1  # the workers did not share one connection


def test_a_wrong_container_is_one_clear_error(static_files, azure_settings_factory,
                                              azure_proxy):
    static_files({f"css/{n}.css": "a{}" for n in range(8)})
    azure_settings_factory(azure_container="no-such-container")
    with pytest.raises(CommandError) as raised:
        run("--profile", "full")
    message = str(raised.value)
    assert "8 of 8 files failed to upload, all with ContainerNotFound: " in message
    assert "Nothing was uploaded" in message
    assert "RequestId" not in message
    assert dict(azure_proxy.counts) == {"PutBlob": 8}


def test_a_stopped_emulator_is_one_clear_error(static_files, azure_settings_factory,
                                               azure_proxy, no_azure_backoff):
    static_files({f"css/{n}.css": "a{}" for n in range(6)})
    port = azure_proxy.port
    azure_settings_factory(port=port)
    azure_proxy.stop()  # nothing listens on the port any more
    with pytest.raises(CommandError) as raised:
        run("--profile", "full")
    first_line = str(raised.value).splitlines()[0]
    assert first_line.startswith("6 of 6 files failed to upload, all with ServiceRequestError: ")
    assert "Connection refused" in first_line


def test_smart_rerun_costs_one_read_of_the_manifest(static_files, azure_settings,
                                                    azure_proxy):
    root = static_files(ASSETS)
    counts, _ = counted(azure_proxy, "--profile", "no-media", "--smart")
    # The manifest read finds nothing; three files, then the manifest.
    assert counts == {"GetBlob": 1, "PutBlob": 4}
    assert set(assert_truthful(azure_settings)) == SELECTED
    counts, out = counted(azure_proxy, "--profile", "no-media", "--smart")
    assert counts == {"GetBlob": 1}
    (root / "js/app.js").write_text("console.log(2)")
    counts, _ = counted(azure_proxy, "--profile", "no-media", "--smart")
    assert counts == {"GetBlob": 1, "PutBlob": 2}
    assert assert_truthful(azure_settings)["js/app.js"].size == len("console.log(2)")
    assert azure_settings.names() == SELECTED | {MANIFEST}


def test_the_manifest_write_is_refused_when_another_run_wrote_first(azure_settings):
    store = backend_for(target_storage()).manifest_store(MANIFEST)
    assert isinstance(store, AzureManifestStore)
    empty = store.read()
    assert not empty.found
    assert store.write(b'{"version": 1, "files": {}}', empty)
    assert not store.write(b"{}", empty)  # the manifest exists now
    first = store.read()
    assert store.write(b'{"version": 1, "files": {}}', first)
    assert not store.write(b"{}", first)  # its ETag changed


def test_listing_is_under_the_location_and_deletes_go_in_batches(
    static_files, azure_settings, azure_proxy
):
    static_files(ASSETS)
    run("--profile", "full")
    backend = backend_for(target_storage())
    assert isinstance(backend, AzureBackend)
    azure_proxy.reset_counts()
    assert set(backend.list_names()) == set(ASSETS)
    assert set(backend.list_names("media/")) == MEDIA
    assert backend.delete_many(sorted(MEDIA) + ["media/never.mp4"], threads=4) == {}
    assert dict(azure_proxy.counts) == {"ListBlobs": 2, "BlobBatch": 1}
    assert azure_settings.names() == SELECTED
