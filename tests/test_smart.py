"""Smart mode: the hashing writer, and what deploys and reruns cost.

The first part deploys to FileSystemStorage; the second runs against the real
S3 server and counts every botocore call.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.files.storage import FileSystemStorage, storages
from django.core.management import call_command
from django.core.management.base import CommandError

from collectstupid import manifest, smart
from collectstupid.collect import SourceFile
from collectstupid.errors import SourceChanged
from collectstupid.manifest import Entry, Snapshot
from collectstupid.manifest.entries import FORMAT
from collectstupid.outcomes import SKIPPED, UPLOADED
from collectstupid.s3.manifest import S3ManifestStore
from collectstupid.smart_values import Decided
from s3local import FaultPlan
from tests.conftest import write_tree
from tests.helpers import (
    ASSETS,
    MANIFEST,
    assert_truthful,
    bucket_manifest,
    counted,
    entry,
    run,
    run_split,
    tree,
)
from tests.s3_fixtures import before_send

# The S3 deploys here take the path s3_path picks (tests/s3_fixtures.py).
pytestmark = pytest.mark.usefixtures("s3_path")

MEDIA = {"media/intro.mp4", "media/theme.mp3"}


def touch_all(root: Path) -> None:
    """Give every file a new mtime, as a fresh CI checkout does."""
    later = time.time() + 3600
    for path in root.rglob("*"):
        if path.is_file():
            os.utime(path, (later, later))


def read_manifest(root: Path) -> dict[str, Entry]:
    return manifest.loads((root / MANIFEST).read_bytes()).entries


# --- the writer wrapper ----------------------------------------------------


def source_for(tmp_path: Path, dest: str, content: bytes) -> SourceFile:
    path = tmp_path / dest
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return SourceFile(dest, FileSystemStorage(location=str(tmp_path)), dest, len(content))


def writer_for(
    files: list[SourceFile], known: dict[str, Entry], inner: Callable[[SourceFile], Any]
) -> smart.SmartWriter:
    changes = (smart.assess(source, known) for source in files)
    decided = Decided({c.source.dest: c for c in changes if c is not None})
    return smart.SmartWriter(decided).wrap(inner)


def test_smart_writer_skips_known_content_without_calling_the_writer(tmp_path):
    calls: list[str] = []
    unchanged = source_for(tmp_path, "a.css", b"same")
    changed = source_for(tmp_path, "b.css", b"new bytes")
    writer = writer_for(
        [unchanged, changed],
        {"a.css": entry(b"same"), "b.css": entry(b"old bytes")},
        lambda s: calls.append(s.dest),
    )
    assert writer(unchanged) == SKIPPED
    assert writer(changed) == UPLOADED
    assert calls == ["b.css"]
    assert writer.uploaded == {"b.css": entry(b"new bytes")}
    assert writer.reasons == {"b.css": smart.CHANGED}


def test_smart_writer_records_nothing_for_a_failed_write(tmp_path):
    def fail(source: SourceFile) -> None:
        raise OSError("disk on fire")

    source = source_for(tmp_path, "a.css", b"new")
    writer = writer_for([source], {"a.css": entry(b"old")}, fail)
    with pytest.raises(OSError):
        writer(source)
    assert writer.uploaded == {}


def test_a_file_rewritten_during_its_upload_fails_and_is_not_recorded(tmp_path):
    source = source_for(tmp_path, "a.css", b"v1")

    def rewrite_meanwhile(source: SourceFile) -> None:
        # Same bytes, written again: only the modification time and the inode can tell.
        path = tmp_path / "a.css"
        path.unlink()
        path.write_bytes(b"v1")

    writer = writer_for([source], {}, rewrite_meanwhile)
    with pytest.raises(SourceChanged, match="changed while uploading"):
        writer(source)
    assert writer.uploaded == {}


def test_an_unreadable_file_fails_at_upload_without_calling_the_writer(tmp_path):
    gone = source_for(tmp_path, "a.css", b"x")
    (tmp_path / "a.css").unlink()
    writer = writer_for([gone], {}, lambda s: pytest.fail("the writer was called"))
    with pytest.raises(FileNotFoundError):
        writer(gone)


def test_smart_writer_hashes_big_files_in_chunks(tmp_path):
    big = bytes(range(256)) * (smart.CHUNK // 256 * 3 + 7)
    source = source_for(tmp_path, "media/big.mp4", big)
    writer = writer_for([source], {}, lambda s: None)
    writer(source)
    assert writer.uploaded["media/big.mp4"] == entry(big)


@pytest.mark.parametrize(
    ("option", "force", "profile", "setting", "expected"),
    [
        (None, False, None, False, False),
        (None, False, None, True, True),
        (None, False, True, False, True),
        (None, False, False, True, False),
        (True, False, False, False, True),
        (False, False, True, True, False),
        (None, True, None, False, True),
    ],
)
def test_smart_mode_precedence(option, force, profile, setting, expected):
    assert smart.enabled(option, force, profile, setting) is expected


def test_force_with_no_smart_is_refused():
    with pytest.raises(smart.CollectStupidError, match="--no-smart"):
        smart.enabled(False, True, None, False)


# --- settings and profiles -------------------------------------------------


# --- FileSystemStorage deploys ---------------------------------------------


def test_filesystem_smart_rerun_uploads_only_what_changed(static_files, static_root):
    src = static_files(ASSETS)
    out = run("--smart", "--profile", "full")
    assert "5 static files copied" in out and ", 0 unmodified" in out
    assert read_manifest(static_root) == {k: entry(v) for k, v in ASSETS.items()}

    touch_all(src)
    stamp = (static_root / MANIFEST).stat().st_mtime_ns
    out = run("--smart", "--profile", "full")
    assert "0 static files copied" in out and ", 5 unmodified" in out
    assert (static_root / MANIFEST).stat().st_mtime_ns == stamp  # not rewritten

    (src / "css/site.css").write_text("body { color: blue }")
    out = run("--smart", "--profile", "full", verbosity=2)
    assert "Copying 'css/site.css'" in out and ", 4 unmodified" in out
    assert tree(static_root)["css/site.css"] == b"body { color: blue }"
    assert read_manifest(static_root)["css/site.css"] == entry("body { color: blue }")


def test_blind_mode_never_touches_the_manifest(static_files, static_root):
    static_files(ASSETS)
    run("--profile", "full")
    assert MANIFEST not in tree(static_root)


def test_setting_and_profile_opt_in(static_files, static_root, settings, tmp_path):
    static_files(ASSETS)
    settings.COLLECTSTUPID = {"SMART": True}
    run("--profile", "full")
    assert MANIFEST in tree(static_root)
    assert ", 5 unmodified" in run("--profile", "full")
    assert "5 static files copied" in run("--profile", "full", "--no-smart")

    (tmp_path / "profiles").mkdir()
    (tmp_path / "profiles" / "quick.yaml").write_text("smart: false\n")
    settings.COLLECTSTUPID = {"SMART": True, "PROFILES": [str(tmp_path / "profiles")]}
    assert "5 static files copied" in run("--profile", "quick")


def test_force_uploads_everything_and_keeps_other_entries(static_files, static_root):
    static_files(ASSETS)
    run("--smart", "--profile", "full")
    out = run("--force", "--profile", "no-media")
    assert "3 static files copied" in out and ", 0 unmodified" in out
    assert set(read_manifest(static_root)) == set(ASSETS)


def test_profile_switch_keeps_media_entries(static_files, static_root):
    src = static_files(ASSETS)
    run("--smart", "--profile", "full")
    (src / "media/intro.mp4").write_bytes(b"\x02" * 4096)  # changed, but not deployed now
    (src / "js/app.js").write_text("console.log(2)")
    out = run("--smart", "--profile", "no-media")
    assert "1 static file copied" in out and ", 2 unmodified" in out
    recorded = read_manifest(static_root)
    # The media entries still describe what is in the storage: the old intro.mp4.
    assert recorded["media/intro.mp4"] == entry(ASSETS["media/intro.mp4"])
    assert recorded["media/theme.mp3"] == entry(ASSETS["media/theme.mp3"])
    assert recorded["js/app.js"] == entry("console.log(2)")
    out = run("--smart", "--profile", "media-only")
    assert "1 static file copied" in out and ", 1 unmodified" in out


def test_failed_upload_is_not_recorded_and_retried_next_run(static_files, static_root, settings):
    src = static_files(ASSETS)
    run("--smart")
    (src / "js/app.js").write_text("console.log(2)")
    (src / "css/site.css").write_text("body { color: blue }")
    good = settings.STORAGES["staticfiles"]
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {
            "BACKEND": "tests.storages.FailingStorage",
            "OPTIONS": {"location": str(static_root), "fail": ["js/app.js"]},
        },
    }
    with pytest.raises(CommandError, match="1 of 3 files failed"):
        run("--smart")
    recorded = read_manifest(static_root)
    assert "js/app.js" not in recorded  # neither the new content nor the old
    assert recorded["css/site.css"] == entry("body { color: blue }")

    settings.STORAGES = {**settings.STORAGES, "staticfiles": good}
    storages._storages = {}
    out = run("--smart", verbosity=2)
    assert "Copying 'js/app.js'" in out and "1 static file copied" in out
    assert read_manifest(static_root)["js/app.js"] == entry("console.log(2)")


@pytest.mark.parametrize(
    "content",
    [
        b"{definitely not json",
        b'{"format": "someone-else", "files": {}}',
        json.dumps({"format": FORMAT, "version": 99, "files": {}}).encode(),
    ],
)
def test_unusable_manifest_warns_once_and_everything_uploads(static_files, static_root, content):
    static_files(ASSETS)
    (static_root / ".collectstupid").mkdir(parents=True)
    (static_root / MANIFEST).write_bytes(content)
    out, err = run_split("--smart", "--profile", "full")
    assert err.count("was ignored") == 1
    assert "5 static files copied" in out
    assert read_manifest(static_root) == {k: entry(v) for k, v in ASSETS.items()}
    out, err = run_split("--smart", "--profile", "full")
    assert err == "" and ", 5 unmodified" in out


def test_a_truncated_compressed_manifest_is_named_once_and_everything_uploads(
    static_files, static_root
):
    static_files(ASSETS)
    run("--smart", "--profile", "full")
    whole = (static_root / MANIFEST).read_bytes()
    (static_root / MANIFEST).write_bytes(whole[: len(whole) // 2])
    out, err = run_split("--smart", "--profile", "full")
    assert err.count("\n") == 1 and err.startswith(
        f"The deploy manifest '{MANIFEST}' was ignored: its compressed data ends early "
        "(the object is truncated). Every selected file will be uploaded"
    )
    assert "5 static files copied" in out
    assert (static_root / MANIFEST).read_bytes() == whole


class UnreadableManifestStorage(FileSystemStorage):
    """A storage where the manifest exists but cannot be opened."""

    def _open(self, name: str, mode: str = "rb") -> Any:
        if name == MANIFEST:
            raise PermissionError(13, "Permission denied")
        return super()._open(name, mode)


def test_unreadable_manifest_warns_once_and_everything_uploads(static_files, static_root, settings):
    static_files(ASSETS)
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {
            "BACKEND": f"{__name__}.UnreadableManifestStorage",
            "OPTIONS": {"location": str(static_root)},
        },
    }
    run("--smart")
    out, err = run_split("--smart")
    assert err.count("was ignored") == 1 and "could not be read" in err
    assert "3 static files copied" in out


def test_dry_run_lists_what_and_why_and_writes_nothing(static_files, static_root, tmp_path):
    src = static_files(ASSETS)
    run("--smart", "--profile", "no-media")
    (src / "css/site.css").write_text("changed")
    before = tree(static_root)
    report_path = tmp_path / "report.json"
    out = run("--smart", "--profile", "full", "--dry-run", "--report-json", str(report_path))
    assert tree(static_root) == before
    assert "Would upload 'css/site.css' (changed, 7 B)" in out
    assert "Would upload 'media/intro.mp4' (new, 2.0 KB)" in out
    assert "Would upload 'js/app.js'" not in out
    assert (
        "3 static files (3.1 KB) would be uploaded to" in out
        and "(2 new, 1 changed); 2 unchanged would be skipped" in out
    )
    data = json.loads(report_path.read_text())
    assert data["dry_run"] is True
    # The same schema as a real run: every selected file, each with its status.
    assert {f["destination"]: (f["status"], f["reason"]) for f in data["files"]} == {
        "css/site.css": ("would_upload", "changed"),
        "media/intro.mp4": ("would_upload", "new"),
        "media/theme.mp3": ("would_upload", "new"),
        "js/app.js": ("skipped", None),
        "img/logo.png": ("skipped", None),
    }
    assert data["totals"]["unchanged_files"] == 2 and data["totals"]["would_upload_files"] == 3


def test_json_report_marks_skipped_files(static_files, static_root, tmp_path):
    static_files(ASSETS)
    run("--smart")
    report_path = tmp_path / "report.json"
    run("--smart", "--report-json", str(report_path))
    data = json.loads(report_path.read_text())
    assert {f["status"] for f in data["files"]} == {"skipped"}
    assert data["smart"]["manifest_written"] is False
    assert data["smart"]["manifest"] == MANIFEST


def test_a_static_file_named_like_the_manifest_is_refused(static_files, static_root):
    static_files({**ASSETS, MANIFEST: "{}"})
    with pytest.raises(CommandError, match="same name as the deploy manifest"):
        run("--smart", "--no-default-ignore")


def test_manifest_name_setting(static_files, static_root, settings):
    static_files(ASSETS)
    settings.COLLECTSTUPID = {"MANIFEST_NAME": "state/deploy.json"}
    run("--smart")
    assert "state/deploy.json" in tree(static_root)


def deploy_at_once(*profiles: str) -> list[BaseException]:
    """Run one smart deploy per profile, all at once; return what they raised."""
    errors: list[BaseException] = []

    def deploy(profile: str) -> None:
        try:
            run("--smart", "--profile", profile)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=deploy, args=(p,)) for p in profiles]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


def test_concurrent_filesystem_runs_keep_both_profiles_entries(static_files, static_root):
    static_files(ASSETS)
    assert deploy_at_once("no-media", "media-only") == []
    recorded = read_manifest(static_root)
    landed = tree(static_root)
    # Both profiles' files are recorded: neither run's write lost the other's entries.
    assert set(recorded) == set(ASSETS)
    for path, recorded_entry in recorded.items():
        assert recorded_entry == entry(landed[path])


# --- against the real S3 server, counting every botocore call ----------------


def many_assets(count: int) -> dict[str, str]:
    return {f"css/file{i:03}.css": f"/* file {i} */ body {{ order: {i} }}" for i in range(count)}


def test_s3_call_counts_first_run_rerun_and_one_percent(
    static_files, s3_storage_settings, botocore_calls
):
    files = many_assets(100)
    src = static_files(files)
    ops, out = counted(botocore_calls, "--smart")
    # The files, and the manifest twice: written ahead, then with what landed.
    assert ops == {"GetObject": 1, "PutObject": 100 + 2}
    assert botocore_calls.failures == {"GetObject": 1}  # the 404 of the missing manifest
    assert "100 static files copied" in out
    assert assert_truthful(s3_storage_settings) == {k: entry(v) for k, v in files.items()}
    assert s3_storage_settings.head(MANIFEST)["ContentType"] == "application/gzip"

    touch_all(src)
    ops, out = counted(botocore_calls, "--smart")
    assert ops == {"GetObject": 1}
    assert "0 static files copied" in out and ", 100 unmodified" in out

    (src / "css/file042.css").write_text("changed")
    ops, out = counted(botocore_calls, "--smart")
    assert ops == {"GetObject": 1, "PutObject": 1 + 2}
    assert "1 static file copied" in out and ", 99 unmodified" in out
    assert assert_truthful(s3_storage_settings)["css/file042.css"] == entry("changed")


def test_s3_blind_mode_costs_no_manifest_call(static_files, s3_storage_settings, botocore_calls):
    static_files(ASSETS)
    for _ in range(2):
        ops, _ = counted(botocore_calls)
        assert ops == {"PutObject": 3}
    assert MANIFEST not in s3_storage_settings.names()


def test_s3_dry_run_reads_once_and_writes_nothing(
    static_files, s3_storage_settings, botocore_calls
):
    src = static_files(ASSETS)
    run("--smart", "--profile", "full")
    (src / "js/app.js").write_text("console.log(2)")
    ops, out = counted(botocore_calls, "--smart", "--dry-run")
    assert ops == {"GetObject": 1}
    assert "Would upload 'js/app.js' (changed, 14 B)" in out
    assert "1 static file (14 B) would be uploaded" in out
    assert bucket_manifest(s3_storage_settings)["js/app.js"] == entry(ASSETS["js/app.js"])


def test_s3_profile_switch_keeps_media_entries(static_files, s3_storage_settings, botocore_calls):
    src = static_files(ASSETS)
    run("--smart", "--profile", "full")
    touch_all(src)
    ops, _ = counted(botocore_calls, "--smart", "--profile", "no-media")
    # Nothing to upload; the manifest learns once what this profile ships (for --prune).
    assert ops == {"GetObject": 1, "PutObject": 1}
    assert set(bucket_manifest(s3_storage_settings)) == set(ASSETS)
    ops, _ = counted(botocore_calls, "--smart", "--profile", "no-media")
    assert ops == {"GetObject": 1}

    (src / "media/intro.mp4").write_bytes(b"\x07" * 4096)  # changed, but not shipped by no-media
    (src / "css/site.css").write_text("body { color: blue }")
    ops, _ = counted(botocore_calls, "--smart", "--profile", "no-media")
    assert ops == {"GetObject": 1, "PutObject": 1 + 2}
    recorded = assert_truthful(s3_storage_settings)
    assert set(recorded) == set(ASSETS)
    assert recorded["media/intro.mp4"] == entry(ASSETS["media/intro.mp4"])

    ops, _ = counted(botocore_calls, "--smart", "--profile", "full")
    assert ops == {"GetObject": 1, "PutObject": 1 + 2}  # only the changed video
    assert assert_truthful(s3_storage_settings)["media/intro.mp4"] == entry(b"\x07" * 4096)


def test_s3_failed_upload_stays_unrecorded_and_next_run_uploads_it(
    static_files, s3_storage_settings_factory, s3_proxy, botocore_calls
):
    target = s3_storage_settings_factory(endpoint_url=s3_proxy.endpoint_url)
    src = static_files(ASSETS)
    run("--smart")
    (src / "js/app.js").write_text("console.log(2)")
    (src / "css/site.css").write_text("body { color: blue }")
    s3_proxy.faults = FaultPlan(deny_prefix=target.key("js/app.js"))
    with pytest.raises(CommandError, match="1 of 3 files failed"):
        counted(botocore_calls, "--smart")
    assert dict(botocore_calls.operations) == {"GetObject": 1, "PutObject": 2 + 2}
    assert botocore_calls.failures == {"PutObject": 1}
    recorded = assert_truthful(target)
    assert "js/app.js" not in recorded  # neither the new content nor the old
    assert recorded["css/site.css"] == entry("body { color: blue }")

    s3_proxy.faults = None
    ops, out = counted(botocore_calls, "--smart", verbosity=2)
    assert ops == {"GetObject": 1, "PutObject": 1 + 2}
    assert "Copying 'js/app.js'" in out
    assert assert_truthful(target)["js/app.js"] == entry("console.log(2)")


def test_s3_corrupt_manifest_warns_once_uploads_all_and_is_rewritten(
    static_files, s3_storage_settings, botocore_calls
):
    target = s3_storage_settings
    static_files(ASSETS)
    target.client.put_object(Bucket=target.bucket, Key=target.key(MANIFEST), Body=b"\0garbage{")
    botocore_calls.reset()
    out, err = run_split("--smart", "--profile", "full")
    assert dict(botocore_calls.operations) == {"GetObject": 1, "PutObject": 5 + 2}
    assert err.count("was ignored") == 1 and "not valid JSON" in err
    assert "5 static files copied" in out
    assert assert_truthful(target) == {k: entry(v) for k, v in ASSETS.items()}


def test_s3_unreadable_manifest_is_merged_with_not_overwritten(
    static_files, s3_storage_settings_factory, s3_proxy, botocore_calls
):
    target = s3_storage_settings_factory(endpoint_url=s3_proxy.endpoint_url)
    src = static_files(ASSETS)
    run("--smart", "--profile", "media-only")
    (src / "css/site.css").write_text("body { color: blue }")
    # The one read fails: every file uploads, and the write-ahead, made "only if
    # absent", is refused because a manifest exists; the run reads it again and merges.
    s3_proxy.faults = FaultPlan(
        error_ratio=1, error_statuses=(403,), only_operations={"GetObject"}, max_faults=1
    )
    botocore_calls.reset()
    out, err = run_split("--smart", "--profile", "no-media")
    assert err.count("was ignored") == 1 and "AccessDenied" in err
    assert "3 static files copied" in out
    assert dict(botocore_calls.operations) == {"GetObject": 2, "PutObject": 3 + 3}
    assert assert_truthful(target) == {
        k: entry(v) for k, v in ASSETS.items() if k != "css/site.css"
    } | {"css/site.css": entry("body { color: blue }")}


def test_s3_force_uploads_all_and_rewrites(static_files, s3_storage_settings, botocore_calls):
    target = s3_storage_settings
    static_files(ASSETS)
    run("--smart", "--profile", "full")
    ops, out = counted(botocore_calls, "--force", "--profile", "no-media")
    # Every file is announced, so the manifest is written ahead and after.
    assert ops == {"GetObject": 1, "PutObject": 3 + 2}
    assert "3 static files copied" in out
    target.client.put_object(
        Bucket=target.bucket,
        Key=target.key(MANIFEST),
        Body=manifest.dumps(manifest.Contents({"css/site.css": entry("stale")})),
    )
    ops, _ = counted(botocore_calls, "--force", "--profile", "no-media")
    assert ops == {"GetObject": 1, "PutObject": 3 + 2}
    assert set(assert_truthful(target)) == set(ASSETS) - MEDIA


def test_s3_multipart_file_unchanged_is_not_uploaded_again(
    static_files, s3_storage_settings, botocore_calls
):
    # Above boto3's default 8 MB threshold, so it is uploaded in parts and its
    # ETag is not its MD5: a hash of our own is what makes it skippable.
    big = os.urandom(9 * 1024 * 1024)
    src = static_files({"media/film.mp4": big, "css/site.css": "x"})
    ops, _ = counted(botocore_calls, "--smart", "--profile", "full")
    assert ops["CreateMultipartUpload"] == 1 and ops["CompleteMultipartUpload"] == 1
    assert "-" in s3_storage_settings.head("media/film.mp4")["ETag"]
    touch_all(src)
    ops, _ = counted(botocore_calls, "--smart", "--profile", "full")
    assert ops == {"GetObject": 1}
    assert assert_truthful(s3_storage_settings)["media/film.mp4"] == entry(big)


def test_s3_concurrent_runs_of_two_profiles_merge(
    static_files, s3_storage_settings, monkeypatch, botocore_calls
):
    static_files(ASSETS)
    # Hold each run after its first manifest read until both have read, so both
    # start from "no manifest" and the second writer must hit PreconditionFailed.
    both_read = threading.Barrier(2, timeout=30)
    original_read = S3ManifestStore.read
    first_reads: set[int] = set()

    def read(self: S3ManifestStore) -> Snapshot:
        snapshot = original_read(self)
        if threading.get_ident() not in first_reads:
            first_reads.add(threading.get_ident())
            both_read.wait()
        return snapshot

    monkeypatch.setattr(S3ManifestStore, "read", read)
    botocore_calls.reset()
    assert deploy_at_once("no-media", "media-only") == []
    ops = botocore_calls.operations
    # Both write ahead at once from "no manifest": S3 refuses one (PreconditionFailed),
    # which reads again and merges. The final writes may race too; every refused
    # write costs one more read. Five files, two write-aheads and two final writes.
    refused = botocore_calls.failures["PutObject"]
    assert refused >= 1
    assert ops["GetObject"] == 2 + refused
    assert ops["PutObject"] == 5 + 4 + refused
    assert assert_truthful(s3_storage_settings) == {k: entry(v) for k, v in ASSETS.items()}


# --- hostile manifests ------------------------------------------------------------


def test_s3_a_manifest_copied_from_another_location_is_not_trusted_nor_pruned_from(
    tmp_path, settings, s3_storage_settings_factory, botocore_calls
):
    first = s3_storage_settings_factory()
    shared = {f"css/{n}.css": f"/* {n} */" for n in range(10)} | {"js/shared.js": "// shared"}
    write_tree(tmp_path / "one", shared)
    settings.STATICFILES_DIRS = [str(tmp_path / "one")]
    run("--smart", "--profile", "no-media")
    # static2 holds objects of its own, then receives a copy of static's manifest.
    second = s3_storage_settings_factory(location="static2")
    own = {f"css/own{n}.css" for n in range(5)}
    for name in own:
        second.client.put_object(Bucket=second.bucket, Key=second.key(name), Body=b"own")
    second.client.put_object(
        Bucket=second.bucket, Key=second.key(MANIFEST), Body=first.read(MANIFEST)
    )
    write_tree(tmp_path / "two", {"css/0.css": "/* 0 */", "js/shared.js": "// shared"})
    settings.STATICFILES_DIRS = [str(tmp_path / "two")]

    botocore_calls.reset()
    out, err = run_split("--smart", "--prune", "--profile", "no-media", verbosity=2)
    # Read, write-ahead, two uploads, record: nothing deleted, nothing vouched for unseen.
    assert dict(botocore_calls.operations) == {"GetObject": 1, "PutObject": 4}
    assert err.count("was ignored") == 1
    assert f"it describes another location ('s3://{first.bucket}/static')" in err
    assert "Copying 'js/shared.js'" in out and "; 0 pruned." in out
    assert second.names() == own | {"css/0.css", "js/shared.js", MANIFEST}
    written = manifest.loads(second.read(MANIFEST))
    assert written.location == f"s3://{second.bucket}/static2"
    assert set(written.entries) == {"css/0.css", "js/shared.js"}
    assert_truthful(second)
    # The next run trusts what it wrote itself.
    out, err = run_split("--smart", "--prune", "--profile", "no-media")
    assert err == "" and ", 2 unmodified" in out


@pytest.mark.parametrize("args", [("--smart",), ("--smart", "--force"), ("--prune",)])
def test_s3_a_deeply_nested_manifest_warns_once_and_the_run_goes_on(
    static_files, s3_storage_settings, botocore_calls, args
):
    target = s3_storage_settings
    static_files(ASSETS)
    target.client.put_object(
        Bucket=target.bucket, Key=target.key(MANIFEST), Body=b"[" * 100_000 + b"]" * 100_000
    )
    botocore_calls.reset()
    out, err = run_split(*args, "--profile", "full")
    assert dict(botocore_calls.operations) == {"GetObject": 1, "PutObject": 5 + 2}
    assert err.count("was ignored") == 1 and "nests too deeply" in err
    assert "Traceback" not in out + err and "5 static files copied" in out
    assert assert_truthful(target) == {k: entry(v) for k, v in ASSETS.items()}


def test_s3_a_file_name_that_is_not_utf8_fails_alone_and_the_dry_run_agrees(
    static_files, s3_storage_settings, botocore_calls
):
    target = s3_storage_settings
    files = {f"css/{n}.css": f"/* {n} */" for n in range(20)}
    src = static_files(files)
    # A name written by a system using another encoding: bytes that are not UTF-8.
    bad = os.path.join(os.fsencode(src), b"css", b"bad\xff\xfe.css")
    with open(bad, "wb") as handle:
        handle.write(b"x")
    # Escaped in the closing error itself, as on the terminal and in the docs.
    shown = (
        "css/bad\\udcff\\udcfe.css: its name is not valid UTF-8, which storage keys must "
        "be, so it is never sent; rename the file"
    )
    docs = (Path(__file__).parent.parent / "docs/failure-modes.md").read_text()
    assert f"\n{shown}\n" in docs

    for args in (("--smart", "--dry-run"), ("--dry-run",)):
        botocore_calls.reset()
        out = StringIO()
        with pytest.raises(CommandError, match=r"1 file would fail to upload:\n") as failed:
            call_command("collectstupid", *args, interactive=False, stdout=out, stderr=out)
        assert shown in str(failed.value)
        assert "20 static files (" in out.getvalue() and "bad" not in out.getvalue()
        assert dict(botocore_calls.operations) == ({"GetObject": 1} if "--smart" in args else {})

    botocore_calls.reset()
    with pytest.raises(CommandError, match=r"1 of 21 files failed to upload:\n") as failed:
        run("--smart", verbosity=2)
    assert shown in str(failed.value)
    # The read, the write-ahead, 20 uploads, the record: the bad name is never sent.
    assert dict(botocore_calls.operations) == {"GetObject": 1, "PutObject": 20 + 2}
    assert set(assert_truthful(target)) == set(files)
    assert manifest.loads(target.read(MANIFEST)).pending == {}
    with pytest.raises(CommandError, match=r"1 of 21 files failed") as failed:
        run(verbosity=2)
    assert shown in str(failed.value)


def test_s3_a_file_rewritten_during_its_upload_is_not_called_not_uploaded(
    static_files, s3_storage_settings, monkeypatch
):
    target = s3_storage_settings
    src = static_files(ASSETS)
    run("--smart")
    site = src / "css/site.css"
    site.write_text("body { color: blue }")

    def touch(request, **_):
        # The bytes as read are sent; the file changes in place while they go.
        if request.url.endswith("/css/site.css"):
            stat = site.stat()
            os.utime(site, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))

    before_send(monkeypatch, touch)
    with pytest.raises(CommandError) as failed:
        run("--smart")
    message = str(failed.value)
    assert "css/site.css" in message and "changed while uploading" in message
    assert "Nothing was uploaded" not in message
    assert "1 of the failed files replaced what was online before failing" in message
    assert target.read("css/site.css") == b"body { color: blue }"
    assert "css/site.css" not in assert_truthful(target)


def test_s3_a_killed_runs_marks_are_named_with_how_long_they_last_and_force_clears_them(
    static_files, s3_storage_settings, botocore_calls
):
    target = s3_storage_settings
    src = static_files(ASSETS)
    run("--smart")
    (src / "css/site.css").write_text("body { color: blue }")
    # What a run killed after its write-ahead leaves: its mark on the path it was changing.
    left = manifest.announce(
        manifest.loads(target.read(MANIFEST)), manifest.Run("dead"), ["css/site.css"]
    )
    target.client.put_object(
        Bucket=target.bucket,
        Key=target.key(MANIFEST),
        Body=manifest.dumps(manifest.Contents(left.entries, left.pending)),
    )
    warning = (
        "1 path dropped from the deploy manifest '.collectstupid/manifest.json': another run "
        "marked it as being written at the same time, so which write landed last is unknown "
        "(css/site.css). The next smart run uploads it again. A run that was killed keeps "
        "its marks for 60 minutes after it started; if no other deploy is running, one run "
        "with --force clears them now."
    )
    docs = (Path(__file__).parent.parent / "docs/failure-modes.md").read_text()
    assert f"\n{warning}\n" in docs
    for _ in range(2):  # every run until the mark ages out
        out, err = run_split("--smart")
        assert warning in err and "1 static file copied" in out
    out, err = run_split("--force")
    assert err == ""
    assert manifest.loads(target.read(MANIFEST)).pending == {}
    ops, out = counted(botocore_calls, "--smart")
    assert ops == {"GetObject": 1} and ", 3 unmodified" in out
    assert_truthful(target)
