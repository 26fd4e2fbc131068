"""--clear: delete what the profile selects before uploading, never anything else."""

from __future__ import annotations

import json
import os

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from collectstupid import manifest
from collectstupid.management.commands.collectstupid import Command
from tests.helpers import ASSETS, MANIFEST, counted, run, run_split, tree
from tests.storages import FailingStorage
from tests.test_hashed import use_storage

# The S3 deploys here take the path s3_path picks (tests/s3_fixtures.py).
pytestmark = pytest.mark.usefixtures("s3_path")

LOCAL = "django.core.files.storage.FileSystemStorage"
MEDIA = {"media/intro.mp4", "media/theme.mp3"}
KEPT = {name for name in ASSETS if name not in MEDIA}
# ASSETS with a folder of many stylesheets, as a site has: on the default path, most
# of them go out as replayed PutObjects.
PARTS = {f"css/parts/p{i:02}.css": f".p{i} {{ order: {i} }}" for i in range(30)}
S3_ASSETS = {**ASSETS, **PARTS}


@pytest.fixture
def local_root(settings, tmp_path):
    root = tmp_path / "target"
    use_storage(settings, LOCAL, location=str(root))
    return root


def put(s3, name: str, body: bytes = b"old") -> None:
    s3.client.put_object(Bucket=s3.bucket, Key=name, Body=body)


def test_full_clear_empties_the_location_like_collectstatic(static_files, local_root, tmp_path):
    static_files(ASSETS)
    run("--profile", "full")
    (local_root / "stale").mkdir()
    (local_root / "stale/old.css").write_text("old")
    os.symlink(local_root / "nowhere.txt", local_root / "broken.txt")
    out = run("--profile", "full", "--clear", verbosity=2)
    assert set(tree(local_root)) == set(ASSETS)
    assert not os.path.lexists(local_root / "broken.txt")
    assert "Deleting 'stale/old.css'" in out and "Deleting 'broken.txt'" in out
    assert f"; {len(ASSETS) + 2} deleted by --clear." in out


def test_clear_keeps_what_the_profile_leaves_out(static_files, local_root):
    static_files(ASSETS)
    run("--profile", "full")
    (local_root / "media/old.webm").write_bytes(b"old video")
    (local_root / "old.css").write_text("old")
    run("--profile", "no-media", "--clear")
    assert set(tree(local_root)) == set(ASSETS) | {"media/old.webm"}


def test_clear_never_walks_into_a_linked_folder(static_files, local_root, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "precious.css").write_text("keep me")
    static_files(ASSETS)
    local_root.mkdir()
    os.symlink(outside, local_root / "linked")
    run("--profile", "full", "--clear")
    assert (outside / "precious.css").read_text() == "keep me"
    assert not os.path.lexists(local_root / "linked")
    assert set(tree(local_root)) == set(ASSETS)


def test_clear_of_a_missing_location_just_uploads(static_files, local_root):
    static_files(ASSETS)
    out = run("--profile", "full", "--clear")
    assert set(tree(local_root)) == set(ASSETS)
    assert "; 0 deleted by --clear." in out


def test_dry_run_clear_lists_and_deletes_nothing(static_files, local_root, tmp_path):
    static_files(ASSETS)
    run("--profile", "full")
    (local_root / "old.css").write_text("old")
    before = tree(local_root)
    report = tmp_path / "report.json"
    out = run("--profile", "no-media", "--clear", "--dry-run", "--report-json", str(report))
    assert tree(local_root) == before
    listed = {line.split("'")[1] for line in out.splitlines() if line.startswith("Would delete '")}
    assert listed == KEPT | {"old.css"}
    assert f"; {len(KEPT) + 1} would be deleted by --clear first. Dry run: nothing" in out
    assert json.loads(report.read_text())["clear"] == {
        "selected": sorted(KEPT | {"old.css"}),
        "refused": [],
        "folder_markers": [],
    }


def test_failed_delete_is_named_and_the_upload_still_happens(
    static_files, settings, tmp_path, monkeypatch
):
    static_files(ASSETS)
    root = tmp_path / "target"
    use_storage(settings, LOCAL, location=str(root))
    run("--profile", "full")
    (root / "old.css").write_text("old")
    use_storage(settings, "tests.storages.FailingStorage", location=str(root))

    def refuse(self, name):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(FailingStorage, "delete", refuse)
    with pytest.raises(
        CommandError,
        match=r"--clear: 6 files could not be deleted:\n"
        r"  css/site.css: PermissionError: \[Errno 13\] Permission denied",
    ):
        run("--profile", "full", "--clear")
    assert set(tree(root)) == set(ASSETS) | {"old.css"}


def test_help_warns_of_the_window_with_missing_files():
    parser = Command().create_parser("manage.py", "collectstupid")
    text = " ".join(parser.format_help().split())
    assert "Until the upload ends the site serves missing files" in text


def test_confirmation_says_what_a_scoped_clear_deletes(static_files, local_root, monkeypatch):
    static_files(ASSETS)
    asked = []
    monkeypatch.setattr("builtins.input", lambda message: asked.append(message) or "no")
    with pytest.raises(CommandError, match="cancelled"):
        call_command("collectstupid", "--clear", "--profile", "no-media")
    with pytest.raises(CommandError, match="cancelled"):
        call_command("collectstupid", "--clear", "--profile", "full")
    assert "DELETE the files profile 'no-media' selects" in asked[0]
    assert "This will DELETE ALL FILES in this location!" in asked[1]
    assert not local_root.exists()


def test_s3_clear_is_scoped_to_the_profile_and_the_location(
    static_files, s3_storage_settings, botocore_calls
):
    s3 = s3_storage_settings
    static_files(S3_ASSETS)
    run("--profile", "full")
    for key in (
        "static/stale/old.css",
        "static/media/old.mp4",
        "other/keep.css",
        "staticx/keep.css",
        "keep.css",
    ):
        put(s3, key)
    ops, out = counted(botocore_calls, "--profile", "no-media", "--clear", verbosity=2)
    # One listing under the location, one batch deleting the selected files (the
    # 33 kept assets and stale/old.css), then the upload.
    assert ops == {"ListObjectsV2": 1, "DeleteObjects": 1, "PutObject": 33}
    assert s3.names() == set(S3_ASSETS) | {"media/old.mp4"}
    assert s3.keys() - s3.keys("static/") == {"other/keep.css", "staticx/keep.css", "keep.css"}
    assert "; 34 deleted by --clear." in out


def test_s3_smart_clear_keeps_the_manifest_truthful(
    static_files, s3_storage_settings, botocore_calls
):
    s3 = s3_storage_settings
    src = static_files(S3_ASSETS)
    run("--smart", "--profile", "full")
    put(s3, "static/old.css")
    (src / "js/app.js").unlink()
    ops, _ = counted(botocore_calls, "--smart", "--profile", "no-media", "--clear")
    # The manifest: read once, stripped of the files about to go (one write),
    # written ahead of the upload and once more with what landed; the 32 files
    # the source still has are uploaded again.
    assert ops == {"ListObjectsV2": 1, "GetObject": 1, "DeleteObjects": 1, "PutObject": 35}
    entries = manifest.loads(s3.read(MANIFEST)).entries
    assert set(entries) == set(S3_ASSETS) - {"js/app.js"}
    assert s3.names() == set(S3_ASSETS) - {"js/app.js"} | {MANIFEST}

    (src / "js/app.js").write_text(ASSETS["js/app.js"])
    ops, _ = counted(botocore_calls, "--smart", "--profile", "no-media")
    # js/app.js is uploaded, not skipped as known: the write-ahead, it, the record.
    assert ops == {"GetObject": 1, "PutObject": 3}
    assert "js/app.js" in s3.names()


def test_s3_full_clear_deletes_the_manifest_first(
    static_files, s3_storage_settings, botocore_calls
):
    s3 = s3_storage_settings
    static_files(ASSETS)
    run("--smart", "--profile", "full")
    out = run("--profile", "full", "--clear", "--threads", "1", verbosity=2)
    deleting = [line for line in out.splitlines() if line.startswith("Deleting '")]
    assert deleting[0] == f"Deleting '{MANIFEST}'"
    assert len(deleting) == len(ASSETS) + 1
    assert s3.names() == set(ASSETS)


def test_s3_scoped_clear_strips_the_manifest_before_deleting(
    static_files, s3_storage_settings, botocore_calls
):
    s3 = s3_storage_settings
    static_files(ASSETS)
    run("--smart", "--profile", "full")
    ops, _ = counted(botocore_calls, "--profile", "media-only", "--clear")
    assert ops == {"ListObjectsV2": 1, "GetObject": 1, "DeleteObjects": 1, "PutObject": 3}
    # Not a smart run: the media are uploaded again but not recorded.
    assert set(manifest.loads(s3.read(MANIFEST)).entries) == KEPT
    assert s3.names() == set(ASSETS) | {MANIFEST}


@pytest.mark.parametrize("location", ["", "static", "a/b"])
def test_azure_clear_never_selects_the_manifest_as_stored(
    static_files, azure_settings_factory, no_azure_backoff, location, tmp_path
):
    # At the container's root the storage stores '.collectstupid/manifest.json' as
    # 'collectstupid/manifest.json': --clear must still know it for the manifest.
    target = azure_settings_factory(location=location)
    static_files(ASSETS)
    run("--smart")
    stored = target.key(MANIFEST).lstrip(".") if not location else target.key(MANIFEST)
    assert stored in target.list_blobs()
    direct = azure_blob_client(target)
    direct.upload_blob(target.key(".x/y.txt"), b"by hand")
    # Not a smart run (the manifest is not this profile's to delete), then a smart one.
    out, err = run_split("--clear", verbosity=2)
    assert stored in target.list_blobs() and "manifest.json'" not in out, out
    # The blob listed as '.x/y.txt' is the one deleted, and said so.
    assert "Deleting '.x/y.txt'" in out and target.key(".x/y.txt") not in target.list_blobs()
    report = tmp_path / "report.json"
    out, err = run_split("--clear", "--smart", "--report-json", str(report), verbosity=2)
    blobs = target.list_blobs()
    stored_as = json.loads(report.read_text())["smart"]["manifest_stored_as"]
    assert target.key(stored_as) == stored
    assert stored in blobs, out
    assert "manifest.json'" not in "".join(
        line for line in out.splitlines() if line.startswith("Deleting")
    )
    assert err == ""
    # Kept, stripped of the deleted files, then recording them uploaded again.
    assert set(manifest.loads(target.read_blob(stored)).entries) == KEPT


def azure_blob_client(target):
    from azure.storage.blob import ContainerClient

    return ContainerClient.from_connection_string(
        target.options["connection_string"], target.container
    )


def test_s3_folder_markers_are_left_quietly(static_files, s3_storage_settings):
    s3 = s3_storage_settings
    static_files(ASSETS)
    run("--profile", "full")
    put(s3, "static/css/", b"")
    out, err = run_split("--profile", "full", "--clear", verbosity=2)
    assert "could reach outside" not in out + err and err == ""
    assert "leaving the folder marker 'css/'" in out
    assert "static/css/" in s3.keys(prefix="static/")
    assert s3.names() == set(ASSETS) | {"css/"}


def test_smart_clear_dry_run_predicts_what_the_real_run_does(static_files, local_root):
    static_files(ASSETS)
    run("--smart", "--profile", "no-media")
    out = run("--smart", "--profile", "no-media", "--clear", "--dry-run")
    assert "3 static files (" in out and "would be uploaded" in out, out
    assert "0 unchanged would be skipped" in out and "3 would be deleted by --clear" in out
    out = run("--smart", "--profile", "no-media", "--clear")
    assert "3 static files copied" in out and "3 deleted by --clear" in out


@pytest.mark.parametrize(
    "flags", [("--smart",), ("--clear",), ("--smart", "--prune")], ids=" ".join
)
@pytest.mark.parametrize("location", ["./static", "static//css"])
def test_s3_a_location_the_storage_refuses_is_one_error_before_any_request(
    flags, location, static_files, s3_storage_settings_factory, botocore_calls
):
    s3 = s3_storage_settings_factory(location=location)
    static_files(ASSETS)
    put(s3, "static/old.css")
    with pytest.raises(CommandError) as caught:
        counted(botocore_calls, "--profile", "full", *flags)
    normal = location.removeprefix("./").replace("//", "/")
    assert str(caught.value) == (
        f"The storage's location '{location}' is not in normal form, so the storage "
        "refuses every file under it (it joins a name under the location and finds the "
        f"result outside it). Set it to '{normal}'. Nothing was written."
    )
    assert botocore_calls.operations == {}
    assert s3.keys() == {"static/old.css"}
