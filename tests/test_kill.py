"""A deploy killed (SIGKILL) at any instant: the next smart deploy, of any commit, is exact.

Each case holds one request of a real ``manage.py collectstupid --smart`` child
at the proxy, kills the child while it waits, then deploys the older commit
again with ``--smart`` (a rollback) and the newer one after it. Whatever the
instant, every object must end byte-identical to its source and the manifest
must never vouch for a hash the object in the bucket does not have.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Callable

import pytest

from collectstupid import manifest
from tests.conftest import write_tree
from tests.helpers import MANIFEST, MiB, assert_truthful, entry, run, tree
from tests.processes import command_process, deploy_process
from tests.s3_fixtures import S3Target
from tests.test_faults import assert_bucket_holds, small_files

# (operation held, storage name it is for, how many such requests go through first)
KILL_POINTS = {
    "reading the manifest": ("GetObject", MANIFEST, 0),
    "writing ahead": ("PutObject", MANIFEST, 0),
    "uploading a small file": ("PutObject", "css/f007.css", 0),
    "uploading a part": ("UploadPart", "media/film.mp4", 1),
    "writing the manifest last": ("PutObject", MANIFEST, 1),
}


def kill_when_reached(
    process: subprocess.Popen[str], wait: Callable[[subprocess.Popen[str]], None]
) -> None:
    """SIGKILL ``process`` once ``wait`` returns; it never outlives the test."""
    try:
        wait(process)
        process.kill()
        process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == -signal.SIGKILL


@pytest.mark.parametrize("point", KILL_POINTS)
def test_a_deploy_killed_at_any_instant_leaves_nothing_the_next_deploy_trusts_wrongly(
    point, static_files, s3_storage_settings_factory, s3_proxy
):
    # Above boto3's 8 MB threshold: a multipart upload of two parts.
    v1 = {**small_files(30), "media/film.mp4": os.urandom(9 * MiB)}
    v2 = {name: b"/* v2 */" + data for name, data in v1.items()}
    src = static_files(v1)
    target = s3_storage_settings_factory(endpoint_url=s3_proxy.endpoint_url)
    run("--smart", "--profile", "full")

    write_tree(src, v2)
    operation, name, skip = KILL_POINTS[point]
    hold = s3_proxy.hold(operation, key=target.key(name), skip=skip)
    try:
        kill_when_reached(deploy_process(target, src), lambda process: hold.wait_held(timeout=60))
    finally:
        # A request that was on its way when the process died may still land;
        # let it, before anything else writes.
        hold.release()
        time.sleep(1)
    assert_truthful(target)

    write_tree(src, v1)  # roll back
    run("--smart", "--profile", "full")
    assert_bucket_holds(target, v1)
    assert_truthful(target)

    write_tree(src, v2)  # and forward again
    run("--smart", "--profile", "full")
    assert_bucket_holds(target, v2)
    assert_truthful(target)
    # What the killed run was writing stays unvouched until a forced run takes it over.
    run("--force", "--profile", "full")
    assert assert_truthful(target) == {k: entry(v) for k, v in v2.items()}


# On local disk there is no proxy to hold a request: the storage itself stops at
# the chosen call. The manifest store reads the manifest again just before each
# of its writes (local storages have no conditional write): the second open is
# the write-ahead about to land, the third the final write.
LOCAL_KILL_POINTS = {
    "writing ahead": (MANIFEST, 2),
    "saving a file": ("css/f007.css", 1),
    "writing the manifest last": (MANIFEST, 3),
}


@pytest.mark.parametrize("point", LOCAL_KILL_POINTS)
def test_a_local_deploy_killed_at_any_instant_is_made_exact_by_the_next(
    point, static_files, static_root, tmp_path
):
    v1 = small_files(30)
    v2 = {name: b"/* v2 */" + data for name, data in v1.items()}
    src = static_files(v1)
    run("--smart", "--profile", "full")

    write_tree(src, v2)
    name, nth = LOCAL_KILL_POINTS[point]
    reached = tmp_path / "reached"
    options = {"location": str(static_root), "name": name, "nth": nth, "reached": str(reached)}

    def wait(process: subprocess.Popen[str]) -> None:
        deadline = time.monotonic() + 60
        while not reached.exists():
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "the deploy never reached the point"
            time.sleep(0.02)

    kill_when_reached(local_deploy_process(src, options), wait)
    assert_local_truthful(static_root)

    write_tree(src, v1)  # roll back
    run("--smart", "--profile", "full")
    assert tree(static_root) == {**v1, MANIFEST: (static_root / MANIFEST).read_bytes()}
    assert_local_truthful(static_root)
    # What the killed run was writing stays unvouched until a forced run takes it over.
    run("--force", "--profile", "full")
    assert assert_local_truthful(static_root) == {k: entry(v) for k, v in v1.items()}


def local_deploy_process(static_dir, options) -> subprocess.Popen[str]:
    return command_process("tests.deploy_fs_settings", static_dir, options)


def assert_local_truthful(root) -> dict:
    recorded = manifest.loads((root / MANIFEST).read_bytes()).entries
    for path, recorded_entry in recorded.items():
        assert entry((root / path).read_bytes()) == recorded_entry, path
    return recorded


def test_a_reader_that_goes_away_is_quiet_and_the_deploy_finishes(s3_storage_settings, tmp_path):
    """``collectstupid --smart -v 2 | head -3``: the pipe closes mid-deploy."""
    target = s3_storage_settings
    files = {f"css/{n:03}.css": f"/* {n} */" for n in range(400)}
    src = write_tree(tmp_path / "src", files)
    process = deploy_process(target, src, "-v", "2")
    assert process.stdout is not None
    head = [process.stdout.readline() for _ in range(3)]
    process.stdout.close()  # as head does after its lines
    _, err = process.communicate(timeout=120)
    assert all(line.startswith("Copying ") for line in head), head
    assert process.returncode == 0, err
    assert err == ""  # no traceback, no "Exception ignored" at exit
    recorded = assert_truthful(target)
    assert set(recorded) == set(files)
    assert manifest.loads(target.read(MANIFEST)).pending == {}


def open_keys(target: S3Target) -> list[str]:
    """The keys of the multipart uploads open in the bucket, anywhere in it."""
    uploads = target.client.list_multipart_uploads(Bucket=target.bucket).get("Uploads", [])
    return sorted(upload["Key"] for upload in uploads)


def test_uploads_a_killed_run_left_open_are_aborted_by_a_run_asked_to(
    static_files, s3_storage_settings_factory, s3_proxy, tmp_path
):
    files = {**small_files(3), "media/film.mp4": os.urandom(9 * MiB)}
    src = static_files(files)
    target = s3_storage_settings_factory(endpoint_url=s3_proxy.endpoint_url)
    hold = s3_proxy.hold("UploadPart", key=target.key("media/film.mp4"))
    try:
        kill_when_reached(deploy_process(target, src), lambda process: hold.wait_held(timeout=60))
    finally:
        hold.release()
        time.sleep(1)
    # Another tool's upload outside the location is none of ours.
    theirs = target.client.create_multipart_upload(Bucket=target.bucket, Key="elsewhere/x")
    film = "media/film.mp4"
    assert open_keys(target) == ["elsewhere/x", target.key(film)]
    run("--smart", "--profile", "full")  # a plain run leaves them: it cannot tell dead from slow
    assert open_keys(target) == ["elsewhere/x", target.key(film)]
    # A dry run lists what it would abort, and aborts nothing.
    s3_proxy.reset_counts()
    report = tmp_path / "dry.json"
    out = run("--smart", "--profile", "full", "--abort-uploads", "--dry-run", report_json=report)
    assert f"Would abort an upload left open: '{film}'" in out
    assert json.loads(report.read_text())["abort_uploads"] == {
        "listed": [film],
        "aborted": [],
        "failed": [],
        "left": [],
    }
    assert s3_proxy.counts == {"GetObject": 1, "ListMultipartUploads": 1}
    assert open_keys(target) == ["elsewhere/x", target.key(film)]
    report = tmp_path / "real.json"
    out = run("--smart", "--profile", "full", "--abort-uploads", verbosity=2, report_json=report)
    assert f"Aborted an upload left open: '{film}'" in out
    assert "1 upload left open aborted." in out
    assert json.loads(report.read_text())["abort_uploads"] == {
        "listed": [film],
        "aborted": [film],
        "failed": [],
        "left": [],
    }
    assert open_keys(target) == ["elsewhere/x"]
    target.client.abort_multipart_upload(
        Bucket=target.bucket, Key="elsewhere/x", UploadId=theirs["UploadId"]
    )
    assert_bucket_holds(target, files)


def test_abort_uploads_at_the_buckets_root_aborts_only_the_uploads_the_run_owns(
    static_files, s3_storage_settings_factory, s3_proxy, tmp_path
):
    """An empty location shares the bucket with what else writes there: a user's upload
    to media/ in progress is not the deploy's, whichever profile selects what."""
    src = static_files({"css/site.css": "a", "css/old.css": "b", "media/intro.mp4": "c"})
    target = s3_storage_settings_factory(endpoint_url=s3_proxy.endpoint_url, location="")
    run("--smart")
    (src / "css/old.css").unlink()  # recorded by the last deploy, no longer shipped
    (src / "js").mkdir()
    (src / "js/app.js").write_text("d")
    for key in ("css/old.css", "js/app.js", "media/intro.mp4", "media/uploads/photo.jpg"):
        target.client.create_multipart_upload(Bucket=target.bucket, Key=key)
    s3_proxy.reset_counts()
    report = tmp_path / "report.json"
    out = run("--smart", "--abort-uploads", verbosity=2, report_json=report)
    assert s3_proxy.counts == {
        "GetObject": 1,
        "ListMultipartUploads": 1,
        "AbortMultipartUpload": 2,
        "PutObject": 3,  # js/app.js, and the deploy manifest ahead and last
    }
    assert open_keys(target) == ["media/intro.mp4", "media/uploads/photo.jpg"]
    assert "Aborted an upload left open: 'css/old.css'" in out
    assert "Aborted an upload left open: 'js/app.js'" in out
    assert "2 uploads left open aborted." in out
    assert (
        "--abort-uploads: leaving the upload of 'media/intro.mp4' open: profile "
        "'no-media' does not select it" in out
    )
    assert (
        "--abort-uploads: leaving the upload of 'media/uploads/photo.jpg' open: no file of "
        "this deploy or of the deploy manifest has its name" in out
    )
    assert json.loads(report.read_text())["abort_uploads"] == {
        "listed": ["css/old.css", "js/app.js"],
        "aborted": ["css/old.css", "js/app.js"],
        "failed": [],
        "left": [
            {"name": "media/intro.mp4", "why": "profile 'no-media' does not select it"},
            {
                "name": "media/uploads/photo.jpg",
                "why": "no file of this deploy or of the deploy manifest has its name",
            },
        ],
    }
    # At -v 1 the uploads left are not listed; the count of those aborted is.
    for key in ("css/site.css", "media/uploads/photo.jpg"):
        target.client.create_multipart_upload(Bucket=target.bucket, Key=key)
    out = run("--smart", "--abort-uploads")
    assert "1 upload left open aborted." in out
    assert "leaving the upload" not in out
    assert open_keys(target) == [
        "media/intro.mp4",
        "media/uploads/photo.jpg",
        "media/uploads/photo.jpg",
    ]
