"""Deploys to Google Cloud Storage (gcp-storage-emulator) through django-storages'
GoogleCloudStorage, with every request counted at the proxy in front of the emulator."""

from __future__ import annotations

import gzip

import pytest
from django.core.files.base import ContentFile
from django.core.management.base import CommandError

from collectstupid.backends import backend_for
from collectstupid.gcs.backend import GcsBackend
from collectstupid.gcs.manifest import GcsManifestStore
from collectstupid.storage import target_storage
from tests.helpers import ASSETS, MANIFEST, assert_truthful, run

SELECTED = {"css/site.css", "js/app.js", "img/logo.png"}
MEDIA = {"media/intro.mp4", "media/theme.mp3"}


def counted(proxy, *args, **options) -> tuple[dict[str, int], str]:
    proxy.reset_counts()
    out = run(*args, **options)
    return dict(proxy.counts), out


@pytest.fixture
def short_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """The client's retries stay real; their two-minute deadline becomes one second."""
    from google.cloud.storage.retry import DEFAULT_RETRY

    from collectstupid.gcs import writer

    quick = DEFAULT_RETRY.with_timeout(1.0).with_delay(initial=0.01, maximum=0.05)
    monkeypatch.setattr(writer, "retry", lambda: quick)


def test_each_profile_deploys_its_files_with_one_upload_each(static_files, gcs_settings,
                                                             gcs_proxy):
    static_files(ASSETS)
    counts, _ = counted(gcs_proxy, "--profile", "no-media")
    assert counts == {"InsertObject": 3}
    assert gcs_settings.names() == SELECTED
    counts, _ = counted(gcs_proxy, "--profile", "media-only")
    assert counts == {"InsertObject": 2}
    assert gcs_settings.names() == SELECTED | MEDIA
    for name in SELECTED | MEDIA:
        content = ASSETS[name]
        assert gcs_settings.read(name) == (content.encode() if isinstance(content, str)
                                           else content)


def test_save_itself_reads_metadata_before_each_upload(static_files, gcs_settings, gcs_proxy):
    # What the fast writer saves: GoogleCloudFile fetches the object first.
    storage = backend_for(target_storage()).storage  # no background bucket read
    gcs_proxy.reset_counts()
    for n in range(3):
        storage.save(f"css/{n}.css", ContentFile(b"a{}"))
    assert dict(gcs_proxy.counts) == {"GetObject": 3, "InsertObject": 3}


@pytest.mark.parametrize("options", [
    {},
    {"gzip": True},
    {"object_parameters": {"cache_control": "public, max-age=60", "content_type": "text/x"}},
    {"default_acl": "publicRead"},
])
def test_the_fast_writer_lands_what_save_lands(static_files, gcs_settings_factory, options):
    names = ["css/site.css", "js/app.js", "img/logo.png", "data/map.json.gz"]
    files = {name: (b"\x1f\x8b" + b"x" * 300) if name.endswith(".gz") else "body{}" * 50
             for name in names}
    root = static_files(files)
    target = gcs_settings_factory(**options)
    storage = target_storage()
    for name in names:
        storage.save(f"saved/{name}", ContentFile((root / name).read_bytes()))
    run("--profile", "full")
    for name in names:
        assert target.head(name) == target.head(f"saved/{name}"), name
        assert target.read(name) == target.read(f"saved/{name}"), name
    if options.get("gzip"):
        assert gzip.decompress(target.read("css/site.css")) == b"body{}" * 50


def test_a_storage_that_saves_its_own_way_keeps_its_save(static_files, gcs_settings_factory,
                                                         gcs_proxy):
    static_files({"css/a.css": "a{}", "css/b.css": "b{}"})
    target = gcs_settings_factory(backend="tests.gcs_storages.StampedGoogleCloudStorage")
    counts, _ = counted(gcs_proxy, "--profile", "full")
    assert counts == {"GetObject": 2, "InsertObject": 2}
    assert target.read("css/a.css") == b"/* stamped */a{}"


def test_parallel_workers_write_every_file_once(static_files, gcs_settings, gcs_proxy):
    files = {f"js/chunk{n:03}.js": f"chunk({n})" for n in range(60)}
    static_files(files)
    counts, _ = counted(gcs_proxy, "--profile", "full", "--threads", "8")
    assert counts == {"InsertObject": 60}
    assert gcs_settings.names() == set(files)
    assert gcs_settings.read("js/chunk042.js") == b"chunk(42)"


def test_a_wrong_bucket_is_one_clear_error(static_files, gcs_settings_factory, gcs_proxy):
    static_files({f"css/{n}.css": "a{}" for n in range(8)})
    gcs_settings_factory(bucket_name="no-such-bucket")
    with pytest.raises(CommandError) as raised:
        run("--profile", "full")
    lines = str(raised.value).splitlines()
    assert lines[0].startswith("8 of 8 files failed to upload, all with NotFound: 404 POST ")
    assert lines[-1] == "Nothing was uploaded; run the command again to retry."
    assert dict(gcs_proxy.counts) == {"InsertObject": 8}


def test_a_stopped_emulator_is_one_clear_error(static_files, gcs_settings_factory, gcs_proxy,
                                               short_retries):
    static_files({f"css/{n}.css": "a{}" for n in range(6)})
    gcs_settings_factory(endpoint_url=gcs_proxy.endpoint_url)
    gcs_proxy.stop()  # nothing listens on the port any more
    with pytest.raises(CommandError) as raised:
        run("--profile", "full")
    first_line = str(raised.value).splitlines()[0]
    assert first_line.startswith("6 of 6 files failed to upload, all with ")
    assert "Connection refused" in first_line


def test_smart_rerun_costs_one_read_of_the_manifest(static_files, gcs_settings, gcs_proxy):
    root = static_files(ASSETS)
    counts, _ = counted(gcs_proxy, "--profile", "no-media", "--smart")
    # The manifest read finds nothing; three files, then the manifest.
    assert counts == {"DownloadObject": 1, "InsertObject": 4}
    assert set(assert_truthful(gcs_settings)) == SELECTED
    counts, _ = counted(gcs_proxy, "--profile", "no-media", "--smart")
    assert counts == {"DownloadObject": 1}
    (root / "js/app.js").write_text("console.log(2)")
    counts, _ = counted(gcs_proxy, "--profile", "no-media", "--smart")
    # The emulator sends no generation: the write re-reads the manifest to compare.
    assert counts == {"DownloadObject": 2, "InsertObject": 2}
    assert assert_truthful(gcs_settings)["js/app.js"].size == len("console.log(2)")
    assert gcs_settings.names() == SELECTED | {MANIFEST}


def test_the_manifest_write_is_refused_when_another_run_wrote_first(gcs_settings):
    store = backend_for(target_storage()).manifest_store(MANIFEST)
    assert isinstance(store, GcsManifestStore)
    first = store.read()
    assert not first.found
    assert store.write(b'{"version": 1, "files": {}}', first)
    seen = store.read()
    assert store.write(b'{"version": 1, "files": {"a": 1}}', seen)
    assert not store.write(b"{}", seen)  # another write came in between


def test_listing_is_under_the_location_and_deletes_take_one_request_each(
    static_files, gcs_settings, gcs_proxy
):
    static_files(ASSETS)
    run("--profile", "full")
    backend = backend_for(target_storage())
    assert isinstance(backend, GcsBackend)
    gcs_proxy.reset_counts()
    assert set(backend.list_names()) == set(ASSETS)
    assert set(backend.list_names("media/")) == MEDIA
    assert backend.delete_many(sorted(MEDIA) + ["media/never.mp4"], threads=4) == {}
    assert dict(gcs_proxy.counts) == {"ListObjects": 2, "DeleteObject": 3}
    assert gcs_settings.names() == SELECTED
