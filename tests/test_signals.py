"""Signals at every phase of a real ``manage.py collectstupid`` process, against the
real S3 server: the exit status, the message, and what is left behind.

Each race is made deterministic by holding a request at the proxy (or pausing
post-processing) until the test has sent its signals.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from collectstupid.errors import Interrupted
from collectstupid.execute import signals_handled
from collectstupid.interruptible import call
from s3local import S3Proxy
from tests.helpers import MANIFEST, assert_truthful, entry, run
from tests.processes import Watched, deploy_process, wait_for_objects

SIGNALS = pytest.mark.parametrize(
    "signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"]
)
MiB = 1024 * 1024
HASHED = "storages.backends.s3.S3ManifestStaticStorage"
PAUSING = "tests.storages.PausingPostProcessStorage"


def small_files(count: int) -> dict[str, bytes]:
    return {f"css/f{i:03}.css": f".c{i} {{ order: {i} }}\n".encode() for i in range(count)}


def open_multipart_uploads(target: Any) -> list[str]:
    listed = target.client.list_multipart_uploads(Bucket=target.bucket)
    return [upload["Key"] for upload in listed.get("Uploads", [])]


def assert_clean_exit(process: Any, out: str, err: str, signum: int, message: str) -> None:
    """The shell's status for the signal, our message on stderr, no traceback."""
    assert process.returncode == 128 + signum, (out, err)
    assert f"CommandError: {message}" in err, err
    assert "Traceback" not in err + out, err


def stage_folders(tmp: Path) -> list[Path]:
    return list(tmp.glob("collectstupid-stage-*"))


# --- before any upload: the staging folder and the manifest read -----------------------


@SIGNALS
@pytest.mark.parametrize("phase", ["post-processing", "manifest-read"])
def test_a_signal_before_any_upload_stops_at_once_and_leaves_no_staging_folder(
    static_files, s3_storage_settings_factory, s3_proxy: S3Proxy, tmp_path, phase, signum
):
    src = static_files({**small_files(3), "img/logo.png": b"\x89PNG logo"})
    target = s3_storage_settings_factory(endpoint_url=s3_proxy.endpoint_url)
    temp, paused = tmp_path / "temp", tmp_path / "paused"
    temp.mkdir()
    env = {"TMPDIR": str(temp), "COLLECTSTUPID_TEST_PAUSED": str(paused)}
    if phase == "post-processing":
        process = Watched(deploy_process(target, src, backend=PAUSING, env=env))
        hold = None
        wait_until(lambda: paused.exists(), process)
    else:
        hold = s3_proxy.hold("GetObject", key=target.key(MANIFEST))
        process = Watched(deploy_process(target, src, backend=HASHED, env=env))
        hold.wait_held()
    try:
        # The staging folder is there, with the staged files in it.
        assert len(stage_folders(temp)) == 1 and any(stage_folders(temp)[0].rglob("*.css"))
        process.send_signal(signum)
        out, err = process.ended()
    finally:
        if hold is not None:
            hold.release()
    assert_clean_exit(
        process, out, err, signum, "Interrupted before any upload: nothing was uploaded."
    )
    assert stage_folders(temp) == []
    assert target.keys() == set()
    assert not {"PutObject", "CreateMultipartUpload"} & set(s3_proxy.counts)


def wait_until(condition: Any, process: Any) -> None:
    deadline = time.monotonic() + 30
    while not condition():
        assert process.returncode is None, process.ended()
        assert time.monotonic() < deadline, "the deploy never reached the phase"
        time.sleep(0.02)


# --- during the uploads: the second and third signals ----------------------------------


@pytest.mark.parametrize(
    ("signum", "count"),
    [
        (signal.SIGINT, 2),
        (signal.SIGTERM, 2),
        (signal.SIGINT, 3),
    ],
    ids=["SIGINT-twice", "SIGTERM-twice", "SIGINT-three-times"],
)
def test_a_second_signal_aborts_the_uploads_in_flight_and_records_what_landed(
    static_files, s3_storage_settings_factory, s3_proxy: S3Proxy, signum, count
):
    small = small_files(12)
    big = bytes(range(256)) * (12 * MiB // 256)  # three parts of 5 MiB at most
    src = static_files({**small, "media/film.mp4": big})
    target = s3_storage_settings_factory(endpoint_url=s3_proxy.endpoint_url)
    # The big file goes first (largest first); its second part is held at the proxy
    # while the other worker sends every small file.
    hold = s3_proxy.hold("UploadPart", skip=1)
    process = Watched(deploy_process(target, src, part_mb=5))
    try:
        hold.wait_held()
        wait_for_objects(target, process.process, len(small))
        assert open_multipart_uploads(target) == [target.key("media/film.mp4")]
        process.send_signal(signum)
        process.wait_for("Stopping: nothing new starts")
        process.send_signal(signum)
        if count == 3:
            process.wait_for("Aborting: undoing the uploads in flight")
            process.send_signal(signum)
        out, err = process.ended()
    finally:
        hold.release()
    message = (
        "Aborted: 12 files were uploaded, 1 abandoned while being written. "
        "Run the command again to finish."
    )
    assert_clean_exit(process, out, err, signum, message)
    assert open_multipart_uploads(target) == []
    assert s3_proxy.counts["AbortMultipartUpload"] >= 1
    assert "CompleteMultipartUpload" not in s3_proxy.counts
    assert target.names() - {MANIFEST} == set(small)
    if count == 2:
        # The manifest records exactly what landed; a third signal may cut its write short.
        assert assert_truthful(target) == {name: entry(data) for name, data in small.items()}


# --- during the manifest writes: the write-ahead before the uploads, the record after ---


@pytest.mark.parametrize(
    ("write", "signum", "count"),
    [
        ("write-ahead", signal.SIGTERM, 1),
        ("write-ahead", signal.SIGINT, 2),
        ("record", signal.SIGTERM, 1),
        ("record", signal.SIGINT, 2),
    ],
    ids=[
        "write-ahead-SIGTERM-once",
        "write-ahead-SIGINT-twice",
        "record-SIGTERM-once",
        "record-SIGINT-twice",
    ],
)
def test_a_manifest_write_waits_for_one_signal_and_is_cut_short_by_two(
    static_files, s3_storage_settings_factory, s3_proxy: S3Proxy, write, signum, count
):
    files = small_files(5)
    src = static_files(files)
    target = s3_storage_settings_factory(endpoint_url=s3_proxy.endpoint_url)
    hold = s3_proxy.hold("PutObject", key=target.key(MANIFEST), skip=int(write == "record"))
    process = Watched(deploy_process(target, src))
    try:
        hold.wait_held()
        process.send_signal(signum)
        process.wait_for("Stopping: nothing new starts")
        if count == 1:
            hold.release()  # the write the first signal waits for goes through
        else:
            process.send_signal(signum)
        out, err = process.ended()
        # Looked at before the hold lets the held write go on to the server.
        landed = target.names()
        recorded = assert_truthful(target) if MANIFEST in landed else None
    finally:
        hold.release()
    if write == "write-ahead" and count == 1:
        # The write-ahead finished, no upload started, and the run took its markers back.
        assert_clean_exit(
            process,
            out,
            err,
            signum,
            "Interrupted: 0 files were uploaded, "
            "5 were not started. Run the command again to finish.",
        )
        assert landed == {MANIFEST} and recorded == {}
    elif write == "write-ahead":
        assert_clean_exit(
            process, out, err, signum, "Interrupted before any upload: nothing was uploaded."
        )
        assert landed == set()  # the held write never reached the server
    elif count == 1:
        assert_clean_exit(
            process,
            out,
            err,
            signum,
            "Interrupted: 5 files were uploaded, "
            "0 were not started. Run the command again to finish.",
        )
        assert recorded == {name: entry(data) for name, data in files.items()}
    else:
        assert_clean_exit(
            process,
            out,
            err,
            signum,
            "Aborted: 5 files were uploaded. Run the command again to finish.",
        )
        assert f"The deploy manifest '{MANIFEST}' may not have been updated: a signal cut " in err
        # The held record never reached the server: the write-ahead still stands, and
        # vouches for none of the files.
        assert landed == set(files) | {MANIFEST} and recorded == {}


# --- two runs at once whose entries conflict ----------------------------------------------


def test_concurrent_runs_that_wrote_one_path_differently_say_so_on_the_terminal(
    static_files, s3_storage_settings_factory, s3_proxy: S3Proxy, tmp_path
):
    first = static_files({"css/site.css": b"body { color: red }", "css/a.css": b"a"})
    second = static_files(
        {"css/site.css": b"body { color: blue }", "css/b.css": b"b"}, name="other"
    )
    target = s3_storage_settings_factory(endpoint_url=s3_proxy.endpoint_url)
    # Both upload the path only after both wrote ahead that they are changing it.
    hold = s3_proxy.hold("PutObject", key=target.key("css/site.css"), count=2)
    reports = [tmp_path / "first.json", tmp_path / "second.json"]
    processes = [
        Watched(deploy_process(target, src, "--report-json", str(report)))
        for src, report in zip((first, second), reports, strict=True)
    ]
    try:
        hold.wait_held()
        hold.release()
        outputs = [process.ended() for process in processes]
    finally:
        hold.release()
    assert [p.returncode for p in processes] == [0, 0], outputs
    warning = (
        "1 path dropped from the deploy manifest '.collectstupid/manifest.json': another "
        "run marked it as being written at the same time, so which write landed last is "
        "unknown (css/site.css). The next smart run uploads it again. A run that was "
        "killed keeps its marks for 60 minutes after it started; if no other deploy is "
        "running, one run with --force clears them now."
    )
    # Each found the other's mark on the path, and says so.
    assert [warning in err for _, err in outputs] == [True, True], outputs
    conflicts = [json.loads(r.read_text())["smart"]["manifest_conflicts"] for r in reports]
    assert conflicts == [["css/site.css"], ["css/site.css"]]
    assert set(assert_truthful(target)) == {"css/a.css", "css/b.css"}


# --- --clear: the deletions a signal did not stop are said --------------------------


@pytest.mark.parametrize("count", [1, 2], ids=["once", "twice"])
def test_a_signal_during_clear_says_what_was_deleted(
    static_files, s3_storage_settings_factory, s3_proxy: S3Proxy, tmp_path, count
):
    files = small_files(5)
    src = static_files(files)
    target = s3_storage_settings_factory(endpoint_url=s3_proxy.endpoint_url)
    Watched(deploy_process(target, src)).ended()
    hold = s3_proxy.hold("DeleteObjects")
    report = tmp_path / "report.json"
    process = Watched(deploy_process(target, src, "--clear", "--report-json", str(report)))
    try:
        hold.wait_held()
        process.send_signal(signal.SIGINT)
        process.wait_for("Stopping: nothing new starts")
        if count == 1:
            hold.release()  # the deletes in flight finish; no upload starts after them
        else:
            process.send_signal(signal.SIGINT)
        out, err = process.ended()
    finally:
        hold.release()
    assert "Traceback" not in out + err and process.returncode == 130, err
    data = json.loads(report.read_text())
    assert data["exit_status"] == 130 and data["error"] in err
    if count == 1:
        assert target.names() == {MANIFEST}
        assert (
            "Interrupted: --clear deleted 5 files first; 0 files were uploaded, "
            "5 were not started. Run the command again to finish."
        ) in err
        assert "; 5 deleted by --clear." in out
        assert sorted(data["clear"]["deleted"]) == sorted(files)
    else:
        assert (
            "Interrupted during --clear after it deleted 0 files, and was deleting 5 more "
            "(they may be gone)"
        ) in err


# --- a signal that does not wake the main thread; the process's signal state --------------


def blocked(thread: threading.Thread) -> bool:
    """Whether ``thread`` sleeps in the kernel (Linux)."""
    try:
        stat = Path(f"/proc/self/task/{thread.native_id}/stat").read_text()
    except FileNotFoundError:
        return False  # not started yet, or ended
    return stat.rsplit(")", 1)[1].split()[0] == "S"


def waiting_threads(besides: set[threading.Thread]) -> list[threading.Thread]:
    """The threads the run made its network calls in, but those in ``besides``."""
    return [t for t in threading.enumerate() if t.name == "collectstupid_wait" and t not in besides]


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="reads /proc")
@pytest.mark.parametrize("count", [1, 2], ids=["first", "second"])
def test_a_signal_that_does_not_wake_the_main_thread_still_cuts_its_wait_short(count):
    """Python runs handlers in the main thread, between bytecodes: a signal that lands
    as the main thread waits for the network (as a second Ctrl-C right after "Stopping"
    can) must not wait for the server's answer. Sent here to another thread, which wakes
    the main thread just as little, it is handled when the main thread's slice of
    waiting ends. The call given up on goes on in its own thread until it returns."""
    waiting, peer = socket.socketpair()
    main = threading.main_thread()
    receiving = threading.Event()
    interrupted = threading.Event()
    woken_by_data: list[bool] = []
    earlier = set(threading.enumerate())

    def send_signal() -> None:
        try:
            receiving.wait(10)
            # The call is made (its thread asleep in recv) and the main thread waits for it.
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and not (
                any(blocked(t) for t in waiting_threads(earlier)) and blocked(main)
            ):
                time.sleep(0.01)
            # Runs Python's C-level handler in this thread: the main thread sleeps on.
            signal.pthread_kill(threading.get_ident(), signal.SIGINT)
            interrupted.wait(10)
        finally:
            if not interrupted.is_set():
                woken_by_data.append(True)
                peer.send(b"x")  # the answer the wait would otherwise have needed

    helper = threading.Thread(target=send_signal)
    try:
        with signals_handled() as signals, signals.raising(after=count - 1):
            if count == 2:
                os.kill(os.getpid(), signal.SIGINT)  # the first: no raise, "Stopping"
            helper.start()
            try:
                receiving.set()
                call(waiting.recv, 1)
            except Interrupted:
                interrupted.set()
            helper.join()
        assert signals.received == [signal.SIGINT] * count
        assert interrupted.is_set() and not woken_by_data
        [given_up] = waiting_threads(earlier)
        assert given_up.is_alive()  # still in recv, with no server to answer
        peer.close()  # now it answers: the end of the stream
        given_up.join(10)
        assert not given_up.is_alive()
    finally:
        peer.close()
        waiting.close()
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


def caught_by_the_kernel() -> set[int]:
    """The signals the kernel delivers to a handler (SigCgt, Linux), whoever set it."""
    status = Path("/proc/self/status").read_text()
    mask = int(next(line for line in status.splitlines() if line.startswith("SigCgt:"))[7:], 16)
    return {sig for sig in range(1, 65) if mask & (1 << (sig - 1))}


def signal_state() -> dict[str, Any]:
    """What of the process's signal state any thread can read: each handler, as Python
    and the kernel know them, and each interval timer."""
    return {
        "handlers": {sig: signal.getsignal(sig) for sig in signal.valid_signals()},
        "caught": caught_by_the_kernel(),
        "timers": [signal.getitimer(t) for t in (signal.ITIMER_REAL, signal.ITIMER_VIRTUAL)],
    }


def without(state: dict[str, Any], *signums: int) -> dict[str, Any]:
    handlers = {sig: h for sig, h in state["handlers"].items() if sig not in signums}
    return {**state, "handlers": handlers, "caught": state["caught"] - set(signums)}


@pytest.mark.skipif(not Path("/proc/self/status").is_file(), reason="reads /proc")
def test_a_run_sets_no_timer_and_no_signal_state_but_its_two_handlers_which_it_puts_back(
    static_files, s3_storage_settings_factory, s3_proxy: S3Proxy
):
    files = small_files(3)
    static_files(files)
    target = s3_storage_settings_factory(endpoint_url=s3_proxy.endpoint_url)
    # The program's own: a handler, and the wake-up fd that handler's signals are written to.
    told: list[int] = []
    programs = signal.signal(signal.SIGUSR1, lambda signum, frame: told.append(signum))
    reader, writer = socket.socketpair()
    reader.setblocking(False)
    writer.setblocking(False)
    own_fd = writer.fileno()
    earlier_fd = signal.set_wakeup_fd(own_fd)
    before, mask = signal_state(), signal.pthread_sigmask(signal.SIG_BLOCK, [])
    earlier = set(threading.enumerate())
    during: dict[str, Any] = {}
    # The write-ahead: the main thread waits for the network (a timer once woke it here).
    hold = s3_proxy.hold("PutObject", key=target.key(MANIFEST))

    def look() -> None:
        try:
            hold.wait_held()
            during.update(signal_state())
            os.kill(os.getpid(), signal.SIGUSR1)  # the program's, written to its fd
        finally:
            hold.release()

    looker = threading.Thread(target=look)
    try:
        looker.start()
        run("--smart", "--profile", "full")
        after, mask_after = signal_state(), signal.pthread_sigmask(signal.SIG_BLOCK, [])
    finally:
        hold.release()
        if looker.is_alive():
            looker.join()
        fd_after = signal.set_wakeup_fd(earlier_fd)
        signal.signal(signal.SIGUSR1, programs)
        written = reader.recv(16)
        reader.close()
        writer.close()
    # While it ran: its SIGINT and SIGTERM handlers, nothing else; no timer.
    for signum in (signal.SIGINT, signal.SIGTERM):
        assert during["handlers"][signum] != before["handlers"][signum]
    assert without(during, signal.SIGINT, signal.SIGTERM) == without(
        before, signal.SIGINT, signal.SIGTERM
    )
    assert during["timers"] == [(0.0, 0.0), (0.0, 0.0)]
    # The program's wake-up fd stayed in place: its signal was written there.
    assert told == [signal.SIGUSR1] and written == bytes([signal.SIGUSR1])
    # Then everything as before, and no thread of the run's left.
    assert (after, mask_after, fd_after) == (before, mask, own_fd)
    for thread in waiting_threads(earlier):
        thread.join(10)
        assert not thread.is_alive()
    assert set(assert_truthful(target)) == set(files)


@pytest.mark.skipif(not hasattr(signal, "setitimer"), reason="no interval timer")
def test_an_interval_timer_the_program_armed_is_left_alone():
    def own(signum, frame):
        pass

    before = signal.signal(signal.SIGALRM, own)
    signal.setitimer(signal.ITIMER_REAL, 100, 50)
    try:
        with signals_handled():
            assert signal.getsignal(signal.SIGALRM) is own
            assert signal.getitimer(signal.ITIMER_REAL)[1] == 50
        assert signal.getsignal(signal.SIGALRM) is own
        assert signal.getitimer(signal.ITIMER_REAL)[1] == 50
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, before)
