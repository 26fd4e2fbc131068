"""Deploys to Azure Blob Storage (Azurite) and Google Cloud Storage (gcp-storage-emulator)
through django-storages, each request counted at a proxy in front of the emulator.

Every test runs once per storage (the ``remote`` fixture); what is particular
to one of them is in test_azure.py and test_gcs.py.
"""

from __future__ import annotations

import pytest
from django.core.management.base import CommandError

from collectstupid.backends import backend_for
from collectstupid.storage import target_storage
from tests.helpers import ASSETS, MANIFEST, assert_truthful, run, run_split

NO_MEDIA = {"css/site.css", "js/app.js", "img/logo.png"}
MEDIA = {"media/intro.mp4", "media/theme.mp3"}


def content(name: str) -> bytes:
    data = ASSETS[name]
    return data.encode() if isinstance(data, str) else data


def test_each_profile_deploys_its_files_with_one_write_each(static_files, remote):
    static_files(ASSETS)
    counts, _ = remote.counted("--profile", "no-media")
    assert counts == {remote.write: 3}
    assert remote.target.names() == NO_MEDIA
    counts, _ = remote.counted("--profile", "media-only")
    assert counts == {remote.write: 2}
    assert remote.target.names() == NO_MEDIA | MEDIA
    for name in NO_MEDIA | MEDIA:
        assert remote.target.read(name) == content(name)
    assert remote.target.head("css/site.css")["ContentType"] == "text/css"


def test_a_second_deploy_overwrites_without_asking(static_files, remote):
    # AzureStorage sends If-None-Match: * unless overwrite_files is set: without
    # its backend, every file of this second deploy failed with BlobAlreadyExists.
    root = static_files(ASSETS)
    run("--profile", "no-media")
    (root / "css/site.css").write_text("body { color: blue }")
    counts, _ = remote.counted("--profile", "no-media")
    assert counts == {remote.write: 3}
    assert remote.target.read("css/site.css") == b"body { color: blue }"


def test_parallel_workers_write_every_file_once(static_files, remote):
    files = {f"js/chunk{n:03}.js": f"chunk({n})" for n in range(60)}
    static_files(files)
    counts, _ = remote.counted("--profile", "full", "--threads", "8")
    assert counts == {remote.write: 60}
    assert remote.target.names() == set(files)
    assert remote.target.read("js/chunk042.js") == b"chunk(42)"
    assert remote.proxy.connections > 1  # the workers did not queue on one connection


def test_a_missing_container_or_bucket_is_one_clear_error(static_files, remote):
    static_files({f"css/{n}.css": "a{}" for n in range(8)})
    remote.configure(**{remote.missing_option: "no-such-place"})
    with pytest.raises(CommandError) as raised:
        remote.counted("--profile", "full")
    lines = str(raised.value).splitlines()
    assert lines[0].startswith(f"8 of 8 files failed to upload, all with {remote.missing_reason}")
    # A retry cannot create the bucket: what to do instead, and no offer to retry.
    assert lines[-2].startswith("Check the bucket (Azure: container) name")
    assert lines[-1] == "Nothing was uploaded."
    assert dict(remote.proxy.counts) == {remote.write: 8}


def test_a_missing_container_or_bucket_stops_a_smart_deploy_before_any_file(static_files, remote):
    static_files({f"css/{n}.css": "a{}" for n in range(8)})
    remote.configure(**{remote.missing_option: "no-such-place"})
    with pytest.raises(CommandError) as raised:
        remote.counted("--profile", "full", "--smart")
    message = str(raised.value)
    assert message.startswith("The deploy manifest '.collectstupid/manifest.json' could not be ")
    assert remote.missing_manifest_reason in message
    assert message.endswith(
        "so nothing was uploaded. Check the bucket (Azure: container) name in the "
        "storage's settings, or create it: a retry cannot fix this."
    )
    assert "\n" not in message
    # Azure says at the manifest read that the container is missing, GCS when asked
    # for the bucket after the manifest's 404: no write either way.
    assert dict(remote.proxy.counts) == {remote.read: 1, **remote.no_manifest_reads}


def test_a_stopped_emulator_is_one_clear_error(static_files, remote):
    static_files({f"css/{n}.css": "a{}" for n in range(6)})
    remote.proxy.stop()  # nothing listens on the storage's address any more
    with pytest.raises(CommandError) as raised:
        run("--profile", "full")
    first_line = str(raised.value).splitlines()[0]
    assert first_line.startswith("6 of 6 files failed to upload, all with ")
    assert "Connection refused" in first_line


def test_smart_rerun_costs_one_read_of_the_manifest(static_files, remote):
    root = static_files(ASSETS)
    counts, _ = remote.counted("--profile", "no-media", "--smart")
    # The manifest read finds nothing; the manifest written ahead (nothing to
    # vouch for yet), three files, then the manifest that records them.
    assert counts == {remote.read: 1, remote.write: 5, **remote.no_manifest_reads}
    assert set(assert_truthful(remote.target)) == NO_MEDIA
    counts, out = remote.counted("--profile", "no-media", "--smart")
    assert counts == {remote.read: 1}
    assert f"copied to '{remote.scheme}://{remote.target.container}/static', 3 unmodified" in out
    (root / "js/app.js").write_text("console.log(2)")
    counts, _ = remote.counted("--profile", "no-media", "--smart")
    # Ahead of the one changed file, the manifest stops vouching for it.
    assert counts == {remote.read: 1 + remote.reads_before_manifest_write, remote.write: 3}
    assert assert_truthful(remote.target)["js/app.js"].size == len("console.log(2)")
    assert remote.target.names() == NO_MEDIA | {MANIFEST}


def test_the_manifest_write_is_refused_when_another_run_wrote_first(remote):
    store = backend_for(target_storage()).manifest_store(MANIFEST)
    empty = store.read()
    assert not empty.found
    assert store.write(b'{"version": 1, "files": {}}', empty)
    seen = store.read()
    assert seen.found
    assert store.write(b'{"version": 1, "files": {"a": 1}}', seen)
    assert not store.write(b"{}", seen)  # another write came in between
    assert store.read().token != seen.token


def test_listing_stays_under_the_location_and_deletes_are_counted(static_files, remote):
    static_files(ASSETS)
    run("--profile", "full")
    backend = backend_for(target_storage())
    remote.proxy.reset_counts()
    assert set(backend.list_names()) == set(ASSETS)
    assert set(backend.list_names("media/")) == MEDIA
    assert backend.delete_many([*sorted(MEDIA), "media/never.mp4"], threads=4) == {}
    assert dict(remote.proxy.counts) == {remote.listing: 2, **remote.deletes}
    assert remote.target.names() == NO_MEDIA


def test_abort_uploads_says_it_does_nothing_where_no_upload_stays_open(static_files, remote):
    static_files({"css/site.css": "a{}", "js/app.js": "b()"})
    remote.proxy.reset_counts()
    out, err = run_split("--profile", "full", "--abort-uploads")
    # Warned once, no listing asked for, and the deploy as without the option.
    assert err.count("--abort-uploads does nothing on") == 1, err
    assert "only S3 keeps uploads open" in err
    assert dict(remote.proxy.counts) == {remote.write: 2}
    assert "2 static files copied" in out
    assert "left open aborted" not in out


@pytest.mark.parametrize(
    "flags", [("--smart",), ("--clear",), ("--smart", "--prune")], ids=" ".join
)
def test_a_location_the_storage_refuses_is_one_error_before_any_request(
    static_files, remote, flags
):
    static_files(ASSETS)
    remote.configure(location="./static")
    remote.proxy.reset_counts()
    with pytest.raises(CommandError) as caught:
        run("--profile", "full", *flags)
    assert str(caught.value) == (
        "The storage's location './static' is not in normal form, so the storage refuses "
        "every file under it (it joins a name under the location and finds the result "
        "outside it). Set it to 'static'. Nothing was written."
    )
    assert remote.proxy.http_requests == 0


def test_a_storage_object_parameter_that_cannot_be_a_header_is_refused_before_any_request(
    static_files, remote
):
    static_files(ASSETS)
    remote.configure(object_parameters={"cache_control": "max-age=60\r\nX-Injected: 1"})
    remote.proxy.reset_counts()
    with pytest.raises(CommandError) as caught:
        run("--profile", "full", "--smart")
    assert str(caught.value) == (
        "The storage's object_parameters: 'cache_control' holds a control character, and a "
        "header is one line of text. Fix it in the storage's OPTIONS (or the setting they "
        "default to, such as AWS_S3_OBJECT_PARAMETERS). Nothing was written."
    )
    assert remote.proxy.http_requests == 0
