"""The upload pool: every file once, failures kept, the manifest last, stops honoured."""

from __future__ import annotations

import threading

from collectstupid.collect import SourceFile
from collectstupid.outcomes import CANCELLED, FAILED, SKIPPED, UPLOADED
from collectstupid.upload import Pool, upload, upload_in_order
from tests.helpers import planned


def test_every_failure_is_kept_and_the_others_still_upload():
    def write(source):
        if source.dest.startswith("bad"):
            raise OSError("disk on fire")
        return SKIPPED if source.dest == "same" else None

    result = upload(planned("a", "bad1", "b", "same", "bad2"), write, Pool(3))
    by_dest = {o.source.dest: o for o in result.outcomes}
    assert {d for d, o in by_dest.items() if o.status == FAILED} == {"bad1", "bad2"}
    assert by_dest["bad1"].error == "OSError: disk on fire"
    assert by_dest["a"].status == UPLOADED
    assert by_dest["same"].status == SKIPPED


def test_a_writer_that_raises_beyond_exception_still_has_an_outcome():
    def write(source):
        if source.dest == "exits":
            raise SystemExit("a library gave up")
        return None

    result = upload(planned("a", "exits", "b"), write, Pool(2))
    by_dest = {o.source.dest: o for o in result.outcomes}
    assert len(result.outcomes) == 3
    assert by_dest["exits"].status == FAILED
    assert by_dest["exits"].error == "SystemExit: a library gave up"
    assert by_dest["a"].status == by_dest["b"].status == UPLOADED


def test_a_stop_leaves_the_rest_unstarted():
    stop = threading.Event()

    def write(source):
        stop.set()

    result = upload(planned(*"abcdefghij"), write, Pool(1, stop=stop))
    assert len(result.cancelled) >= 7
    assert all(o.status in (UPLOADED, CANCELLED) for o in result.outcomes)


def test_the_largest_files_start_first_and_the_manifest_last():
    sizes = {"small": 10, "big": 5000, "mid": 300, "also-small": 10}
    plan = [SourceFile(name, None, name, size) for name, size in sizes.items()]
    started = []

    def write(source):
        started.append(source.dest)

    upload_in_order(plan, planned("manifest.json"), write, Pool(1))
    # Largest first; files of one size keep the plan's order.
    assert started == ["big", "mid", "small", "also-small", "manifest.json"]


def test_outcomes_reach_on_done_in_the_calling_thread():
    seen = []

    def on_done(outcome):
        seen.append((outcome.source.dest, threading.current_thread()))

    def write(source):
        assert threading.current_thread() is not threading.main_thread()

    result = upload(planned(*"abcdefgh"), write, Pool(4, on_done=on_done))
    assert sorted(d for d, _ in seen) == list("abcdefgh")
    assert {thread for _, thread in seen} == {threading.current_thread()}
    assert len(result.uploaded) == 8


def test_manifest_waits_for_every_other_file():
    def write(source):
        if source.dest == "a":
            raise OSError("no")

    result = upload_in_order(planned("a", "b"), planned("manifest.json"), write, Pool(2))
    manifest = [o for o in result.outcomes if o.source.dest == "manifest.json"]
    assert manifest[0].status == CANCELLED


def test_inline_writes_in_the_calling_thread_keeps_failures_and_honours_a_stop():
    stop = threading.Event()
    seen = []

    def write(source):
        assert threading.current_thread() is threading.main_thread()
        if source.dest == "bad":
            raise SystemExit("a library gave up")
        if source.dest == "c":
            stop.set()
        return SKIPPED if source.dest == "same" else None

    pool = Pool(4, on_done=lambda o: seen.append(o.source.dest), stop=stop, inline=True)
    result = upload(planned("a", "bad", "same", "c", "d", "e"), write, pool)
    by_dest = {o.source.dest: o for o in result.outcomes}
    assert seen == ["a", "bad", "same", "c", "d", "e"]
    assert by_dest["a"].status == by_dest["c"].status == UPLOADED
    assert by_dest["bad"].status == FAILED
    assert by_dest["bad"].error == "SystemExit: a library gave up"
    assert by_dest["same"].status == SKIPPED
    # Nothing after the stop is started.
    assert [o.source.dest for o in result.cancelled] == ["d", "e"]


def test_without_keep_done_only_failures_and_unstarted_files_are_kept_the_rest_counted():
    def write(source):
        if source.dest.startswith("bad"):
            raise OSError("disk on fire")
        return SKIPPED if source.dest == "same" else None

    files = planned("a", "bad1", "b", "same", "index.html")
    result = upload_in_order(files[:4], files[4:], write, Pool(2, keep_done=False))
    assert sorted((o.source.dest, o.status) for o in result.outcomes) == [
        ("bad1", FAILED),
        ("index.html", CANCELLED),
    ]
    counts = {status: result.count(status) for status in (UPLOADED, SKIPPED, FAILED, CANCELLED)}
    assert counts == {UPLOADED: 2, SKIPPED: 1, FAILED: 1, CANCELLED: 1}
    assert result.uploaded_bytes == sum(s.size for s in files if s.dest in ("a", "b"))


def test_the_counts_add_up_over_the_manifests_sent_last():
    files = planned("a", "b", "manifest.json")
    result = upload_in_order(files[:2], files[2:], lambda source: None, Pool(2, keep_done=False))
    assert result.outcomes == []
    assert result.count(UPLOADED) == 3
    assert result.uploaded_bytes == sum(s.size for s in files)
