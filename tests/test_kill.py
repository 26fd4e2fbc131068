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

    def open_keys() -> list[str]:
        uploads = target.client.list_multipart_uploads(Bucket=target.bucket).get("Uploads", [])
        return sorted(upload["Key"] for upload in uploads)

    assert open_keys() == ["elsewhere/x", target.key("media/film.mp4")]
    run("--smart", "--profile", "full")  # a plain run leaves them: it cannot tell dead from slow
    assert open_keys() == ["elsewhere/x", target.key("media/film.mp4")]
    film = target.key("media/film.mp4")
    # A dry run lists what it would abort, and aborts nothing.
    s3_proxy.reset_counts()
    report = tmp_path / "dry.json"
    out = run("--smart", "--profile", "full", "--abort-uploads", "--dry-run", report_json=report)
    assert f"Would abort an upload left open: '{film}'" in out
    assert json.loads(report.read_text())["abort_uploads"] == {
        "listed": [film],
        "aborted": [],
        "failed": [],
    }
    assert s3_proxy.counts == {"GetObject": 1, "ListMultipartUploads": 1}
    assert open_keys() == ["elsewhere/x", film]
    report = tmp_path / "real.json"
    out = run("--smart", "--profile", "full", "--abort-uploads", verbosity=2, report_json=report)
    assert f"Aborted an upload left open: '{film}'" in out
    assert "1 upload left open aborted." in out
    assert json.loads(report.read_text())["abort_uploads"] == {
        "listed": [film],
        "aborted": [film],
        "failed": [],
    }
    assert open_keys() == ["elsewhere/x"]
    target.client.abort_multipart_upload(
        Bucket=target.bucket, Key="elsewhere/x", UploadId=theirs["UploadId"]
    )
    assert_bucket_holds(target, files)
