"""--verify: what the storage holds against what this build ships, from one listing, with no
writes, on every storage (local, S3 on SeaweedFS, Azure on Azurite, GCS on its emulator)."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.core.management import call_command
from django.core.management.base import CommandError

from tests.helpers import ASSETS, MANIFEST, counted, run, tree
from tests.test_hashed import use_storage

LOCAL = "django.core.files.storage.FileSystemStorage"
HASHED = "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"
# What the hand edits below leave: one changed, one deleted, one added.
CHANGED, DELETED, ADDED = "css/site.css", "js/app.js", "css/added.css"


def verify_fails(*args: str, **options: Any) -> str:
    """The closing error of a --verify run that must fail."""
    return verify_failing(*args, **options)[1]


def verify_failing(*args: str, **options: Any) -> tuple[str, str]:
    """What a --verify run that must fail printed, and its closing error."""
    out = StringIO()
    with pytest.raises(CommandError) as failed:
        call_command(
            "collectstupid",
            "--verify",
            *args,
            interactive=False,
            stdout=out,
            stderr=out,
            **options,
        )
    assert failed.value.returncode == 1
    return out.getvalue(), str(failed.value)


def assert_names_the_three(out: str, error: str) -> None:
    """The failure names exactly the changed and the deleted file; the added one is
    information only."""
    table = [line.split() for line in error.splitlines() if line.startswith("  ")]
    assert [row[:2] for row in table] == [["different", CHANGED], ["missing", DELETED]]
    assert error.startswith(f"--verify: 2 of the {len(ASSETS)} files this build ships are ")
    assert [line for line in out.splitlines() if line.startswith("Extra")] == [
        f"Extra: '{ADDED}' (not shipped by this build)"
    ]
    assert f"{len(ASSETS) - 2} match, 1 missing, 1 different, 0 unchecked; 1 extra" in out


@pytest.fixture
def local_root(settings, tmp_path: Path) -> Path:
    root = tmp_path / "target"
    use_storage(settings, LOCAL, location=str(root))
    return root


def test_local_clean_deploy_verifies(static_files, local_root):
    static_files(ASSETS)
    run("--profile", "full")
    before = tree(local_root)
    out = run("--verify", "--profile", "full")
    assert out == (
        f"Verified {len(ASSETS)} files against '{local_root}' ({len(ASSETS)} objects listed): "
        f"{len(ASSETS)} match, 0 missing, 0 different, 0 unchecked; "
        "0 extra (under the location, not shipped by this build).\n"
    )
    assert tree(local_root) == before


def test_local_changed_deleted_and_added_by_hand(static_files, local_root, tmp_path):
    static_files(ASSETS)
    run("--profile", "full")
    # The same size, other bytes: only a comparison of the bytes can tell.
    changed = bytes(b ^ 1 for b in ASSETS[CHANGED].encode())
    (local_root / CHANGED).write_bytes(changed)
    (local_root / DELETED).unlink()
    (local_root / ADDED).write_text("added")
    report = tmp_path / "report.json"
    out, error = verify_failing("--profile", "full", "--report-json", str(report))
    assert_names_the_three(out, error)
    assert f"  different  {CHANGED}  other bytes" in error
    data = json.loads(report.read_text())
    assert data["exit_status"] == 1
    assert [f["destination"] for f in data["verify"]["different"]] == [CHANGED]
    assert [f["destination"] for f in data["verify"]["missing"]] == [DELETED]
    assert [f["destination"] for f in data["verify"]["extra"]] == [ADDED]
    assert data["verify"]["matched_files"] == len(ASSETS) - 2
    statuses = {f["destination"]: f["status"] for f in data["files"]}
    assert statuses[CHANGED] == "different" and statuses[DELETED] == "missing"
    assert (local_root / CHANGED).read_bytes() == changed  # nothing written
    assert not (local_root / DELETED).exists()


def test_local_added_file_out_of_the_profile_is_not_listed(static_files, local_root):
    static_files(ASSETS)
    run("--profile", "no-media")
    (local_root / "media").mkdir(exist_ok=True)
    (local_root / "media/old.mp4").write_bytes(b"old")
    out = run("--verify", "--profile", "no-media")
    assert "media/old.mp4" not in out
    assert "0 extra" in out


def test_names_with_control_characters_are_escaped(static_files, local_root):
    static_files({**ASSETS, "css/odd\x1b[31m.css": "odd"})
    run("--profile", "full")
    (local_root / "evil\x1b[31m\nname.css").write_text("x")
    (local_root / "css/odd\x1b[31m.css").unlink()
    out, error = verify_failing("--profile", "full")
    assert "Extra: 'evil\\x1b[31m\\nname.css' (not shipped by this build)" in out
    assert "  missing    css/odd\\x1b[31m.css  not in the storage" in error
    assert "\x1b" not in out and "\x1b" not in error


def test_size_difference_is_named(static_files, local_root):
    static_files(ASSETS)
    run("--profile", "full")
    (local_root / CHANGED).write_text("longer than it was, by far")
    error = verify_fails("--profile", "full")
    size = len(ASSETS[CHANGED].encode())
    assert f"  different  {CHANGED}  26 bytes, this build's has {size}" in error


def test_hashed_copies_are_verified(static_files, settings, tmp_path):
    root = tmp_path / "hashed"
    use_storage(settings, HASHED, location=str(root))
    static_files(ASSETS)
    run("--profile", "full")
    shipped = tree(root)
    hashed = [name for name in shipped if name.startswith("css/site.") and name != CHANGED]
    assert len(hashed) == 1
    out = run("--verify", "--profile", "full")
    assert f"Verified {len(shipped)} files" in out and f"{len(shipped)} match" in out
    (root / hashed[0]).unlink()
    error = verify_fails("--profile", "full")
    assert f"  missing    {hashed[0]}  not in the storage" in error


@pytest.mark.parametrize("option", ["--clear", "--prune", "--force", "--abort-uploads", "--link"])
def test_verify_refuses_what_writes(static_files, local_root, option):
    static_files(ASSETS)
    error = verify_fails(option)
    assert error == (
        f"--verify writes and deletes nothing, so it cannot be combined with {option}. "
        "Run the deploy, then --verify on its own."
    )
    assert not local_root.exists()


# S3 ----------------------------------------------------------------------------------------


def test_s3_clean_deploy_is_one_listing(static_files, s3_storage_settings, botocore_calls):
    static_files(ASSETS)
    run("--profile", "full")
    ops, out = counted(botocore_calls, "--verify", "--profile", "full")
    assert ops == {"ListObjectsV2": 1}
    assert f"{len(ASSETS)} match, 0 missing, 0 different, 0 unchecked; 0 extra" in out


def test_s3_changed_deleted_and_added_by_hand(static_files, s3_storage_settings, botocore_calls):
    s3 = s3_storage_settings
    static_files(ASSETS)
    run("--smart", "--profile", "full")
    changed = bytes(b ^ 1 for b in ASSETS[CHANGED].encode())
    s3.client.put_object(Bucket=s3.bucket, Key=s3.key(CHANGED), Body=changed)
    s3.client.delete_object(Bucket=s3.bucket, Key=s3.key(DELETED))
    s3.client.put_object(Bucket=s3.bucket, Key=s3.key(ADDED), Body=b"added")
    botocore_calls.reset()
    assert_names_the_three(*verify_failing("--profile", "full"))
    assert dict(botocore_calls.operations) == {"ListObjectsV2": 1}
    assert s3.read(CHANGED) == changed and MANIFEST in s3.names()


def test_s3_multipart_objects_are_checked_by_the_manifest(
    static_files, s3_storage_settings_factory, botocore_calls
):
    from boto3.s3.transfer import TransferConfig

    small = TransferConfig(multipart_threshold=1024, multipart_chunksize=5 * 1024 * 1024)
    s3_storage_settings_factory(transfer_config=small)
    src = static_files(ASSETS)
    run("--smart", "--profile", "full")
    ops, out = counted(botocore_calls, "--verify", "--profile", "full")
    # The media are multipart uploads (ETag md5-N): the manifest is read once for them.
    assert ops == {"ListObjectsV2": 1, "GetObject": 1}
    assert f"{len(ASSETS)} match" in out
    # A new build with the same size: only the manifest's SHA-256 can tell.
    (src / "media/intro.mp4").write_bytes(b"\x02" * 2048)
    botocore_calls.reset()
    error = verify_fails("--profile", "full")
    assert dict(botocore_calls.operations) == {"ListObjectsV2": 1, "GetObject": 1}
    assert (
        "  different  media/intro.mp4  the deploy manifest records other bytes than this build's"
        in error
    )


def test_s3_multipart_without_manifest_is_unchecked(
    static_files, s3_storage_settings_factory, botocore_calls
):
    from boto3.s3.transfer import TransferConfig

    small = TransferConfig(multipart_threshold=1024, multipart_chunksize=5 * 1024 * 1024)
    s3_storage_settings_factory(transfer_config=small)
    static_files(ASSETS)
    run("--profile", "full")
    ops, out = counted(botocore_calls, "--verify", "--profile", "full")
    assert ops == {"ListObjectsV2": 1, "GetObject": 1}
    assert (
        "Unchecked: 'media/intro.mp4' (the storage gives no MD5 and the deploy manifest "
        "records none)" in out
    )
    assert f"{len(ASSETS) - 2} match, 0 missing, 0 different, 2 unchecked" in out


def test_s3_hashed_copies_are_one_listing(
    static_files, s3_storage_settings_factory, botocore_calls
):
    s3 = s3_storage_settings_factory(backend="storages.backends.s3.S3ManifestStaticStorage")
    static_files(ASSETS)
    run("--profile", "full")
    shipped = s3.names()
    ops, out = counted(botocore_calls, "--verify", "--profile", "full")
    assert ops == {"ListObjectsV2": 1}
    assert f"Verified {len(shipped)} files" in out and f"{len(shipped)} match" in out


def test_s3_gzipped_objects_are_checked_by_the_manifest(
    static_files, s3_storage_settings_factory, botocore_calls
):
    s3 = s3_storage_settings_factory(gzip=True)
    src = static_files(ASSETS)
    run("--smart", "--profile", "full")
    assert s3.head(CHANGED)["ContentEncoding"] == "gzip"
    ops, out = counted(botocore_calls, "--verify", "--profile", "full")
    # The storage stored other bytes than the file's: the manifest vouches for them.
    assert ops == {"ListObjectsV2": 1, "GetObject": 1}
    assert f"{len(ASSETS)} match, 0 missing, 0 different, 0 unchecked" in out
    (src / CHANGED).write_text("body { color: green }")
    error = verify_fails("--profile", "full")
    assert error.splitlines()[1:-1] == [
        f"  different  {CHANGED}  the deploy manifest records other bytes than this build's"
    ]


# Azure and GCS -----------------------------------------------------------------------------


def test_remote_clean_deploy_is_one_listing(static_files, remote):
    static_files(ASSETS)
    run("--profile", "full")
    counts, out = remote.counted("--verify", "--profile", "full")
    assert counts == {remote.listing: 1}
    assert f"{len(ASSETS)} match, 0 missing, 0 different, 0 unchecked; 0 extra" in out


def test_remote_changed_deleted_and_added_by_hand(static_files, remote):
    static_files(ASSETS)
    run("--profile", "full")
    storage = storages["staticfiles"]
    changed = bytes(b ^ 1 for b in ASSETS[CHANGED].encode())
    for name in (CHANGED, DELETED):
        storage.delete(name)
    storage.save(CHANGED, ContentFile(changed))
    storage.save(ADDED, ContentFile(b"added"))
    remote.proxy.reset_counts()
    assert_names_the_three(*verify_failing("--profile", "full"))
    assert dict(remote.proxy.counts) == {remote.listing: 1}
    assert remote.target.read(CHANGED) == changed


def test_job_summary_and_annotations(static_files, local_root, monkeypatch, tmp_path):
    summary = tmp_path / "step_summary.md"
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    static_files(ASSETS)
    run("--profile", "full")
    summary.unlink()
    run("--verify", "--profile", "full")
    assert summary.read_text().endswith("| Extra (information) | 0 |\n\n")
    assert summary.read_text().startswith("### \u2705 collectstupid --verify: profile `full`\n")
    (local_root / CHANGED).write_text("changed by hand")
    (local_root / DELETED).unlink()
    (local_root / ADDED).write_text("added")
    summary.unlink()
    out, error = verify_failing("--profile", "full")
    assert error.count("\n  ") == 2
    assert summary.read_text() == (
        "### \u274c collectstupid --verify: profile `full`\n\n"
        "| Check | Result |\n|---|---|\n"
        f"| Destination | `{local_root}` |\n"
        f"| Match | {len(ASSETS) - 2} of {len(ASSETS)} |\n"
        "| Missing | 1 |\n| Different | 1 |\n| Extra (information) | 1 |\n\n"
        f"- different: `{CHANGED}` 15 bytes, this build's has {len(ASSETS[CHANGED])}\n"
        f"- missing: `{DELETED}` not in the storage\n"
        f"- extra: `{ADDED}` not shipped by this build\n\n"
    )
    annotations = [line for line in out.splitlines() if line.startswith("::")]
    assert annotations == [
        f"::error title=collectstupid::different: {CHANGED}",
        f"::error title=collectstupid::missing: {DELETED}",
    ]


def test_a_location_never_deployed_to_holds_every_file_missing(static_files, local_root):
    static_files(ASSETS)
    error = verify_fails("--profile", "full")
    assert error.startswith(
        f"--verify: {len(ASSETS)} of the {len(ASSETS)} files this build ships are missing"
    )
    assert error.count("  not in the storage") == len(ASSETS)
    assert not local_root.exists()


def test_a_broken_link_in_the_location_counts_as_missing(static_files, local_root):
    static_files(ASSETS)
    run("--profile", "full")
    (local_root / DELETED).unlink()
    (local_root / DELETED).symlink_to(local_root / "nowhere.js")
    error = verify_fails("--profile", "full")
    assert error.splitlines()[1:-1] == [f"  missing    {DELETED}  not in the storage"]
