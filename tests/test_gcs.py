"""What is particular to Google Cloud Storage; the shared deploy tests are in
test_storages.py."""

from __future__ import annotations

import gzip

import pytest
from django.core.files.base import ContentFile

from collectstupid.backends import backend_for
from collectstupid.gcs.backend import GcsBackend
from collectstupid.storage import target_storage
from tests.helpers import assert_lands_as_saved, run


def test_save_itself_reads_metadata_before_each_upload(gcs_settings, gcs_proxy):
    # What the fast writer saves: GoogleCloudFile fetches the object first.
    backend = backend_for(target_storage())  # no background bucket read either
    assert isinstance(backend, GcsBackend) and backend.fast
    gcs_proxy.reset_counts()
    for n in range(3):
        backend.storage.save(f"css/{n}.css", ContentFile(b"a{}"))
    assert dict(gcs_proxy.counts) == {"GetObject": 3, "InsertObject": 3}


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"gzip": True},
        {"object_parameters": {"cache_control": "public, max-age=60", "content_type": "text/x"}},
        {"default_acl": "publicRead"},
    ],
)
def test_the_fast_writer_lands_what_save_lands(static_files, gcs_settings_factory, options):
    names = ["css/site.css", "js/app.js", "img/logo.png", "data/map.json.gz"]
    files = {
        name: (b"\x1f\x8b" + b"x" * 300) if name.endswith(".gz") else "body{}" * 50
        for name in names
    }
    root = static_files(files)
    target = gcs_settings_factory(**options)
    assert_lands_as_saved(target, target_storage(), root, names)
    if options.get("gzip"):
        assert gzip.decompress(target.read("css/site.css")) == b"body{}" * 50


def test_a_storage_that_saves_its_own_way_keeps_its_save(
    static_files, gcs_settings_factory, gcs_proxy
):
    static_files({"css/a.css": "a{}", "css/b.css": "b{}"})
    target = gcs_settings_factory(backend="tests.gcs_storages.StampedGoogleCloudStorage")
    gcs_proxy.reset_counts()
    run("--profile", "full")
    assert dict(gcs_proxy.counts) == {"GetObject": 2, "InsertObject": 2}
    assert target.read("css/a.css") == b"/* stamped */a{}"


def test_the_connection_pool_holds_one_connection_per_worker(gcs_settings):
    backend = backend_for(target_storage())
    session = backend.storage.client._http
    assert (
        session.get_adapter("https://storage.googleapis.com/").poolmanager.connection_pool_kw[
            "maxsize"
        ]
        == 10
    )  # requests' default
    backend.prepare(16)
    for url in ("https://storage.googleapis.com/", "http://127.0.0.1/"):
        assert session.get_adapter(url).poolmanager.connection_pool_kw["maxsize"] == 16
