"""Faults and bad input against the real S3 server: nothing lost, nothing half-done that lies.

Faults are injected by the proxy in front of the server (s3local/proxy.py), so
what the client sees is a real 500, 503 SlowDown, 403, reset connection or
stalled response, and botocore decides what to do about it. The checks read
the bucket directly, outside the proxy.
"""

from __future__ import annotations

import json
import logging
import os
import signal
from collections.abc import Callable, Iterator
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from collectstupid import smart
from collectstupid.s3.manifest import S3ManifestStore
from collectstupid.smart_values import Recorded
from s3local import FaultPlan, S3Proxy, SeaweedServer
from s3local.ports import pick_ports
from tests.helpers import (
    MANIFEST,
    SMALL_PARTS,
    MiB,
    assert_truthful,
    counted,
    entry,
    header,
    run,
    run_reporting,
)
from tests.processes import deploy_process, wait_for_objects
from tests.s3_fixtures import client_config, storage_options

# The S3 deploys here take the path s3_path picks (tests/s3_fixtures.py).
pytestmark = pytest.mark.usefixtures("s3_path")


def small_files(count: int, folder: str = "css") -> dict[str, bytes]:
    return {
        f"{folder}/f{i:03}.css": f"/* {folder} {i} */ .c{i} {{ order: {i} }}\n".encode()
        for i in range(count)
    }


def patient_config(**extra: Any) -> Any:
    """The fixtures' client config with room for many retries of one call."""
    return client_config(retries={"mode": "standard", "total_max_attempts": 10}, **extra)


def warm_up(target: Any) -> None:
    """Make the bucket's first write, which this server answers slowly while it sets
    up storage for a new bucket, so that only injected stalls pass a short read timeout.
    """
    target.client.put_object(Bucket=target.bucket, Key="warm-up", Body=b"")


def entries(files: dict[str, bytes]) -> dict[str, Any]:
    """The manifest entries that describe ``files``."""
    return {name: entry(data) for name, data in files.items()}


def assert_bucket_holds(target: Any, files: dict[str, bytes]) -> None:
    """Every file is in the bucket byte for byte, and nothing else but the manifest."""
    assert target.names() - {MANIFEST} == set(files)
    for name, content in files.items():
        assert target.read(name) == content, name


@pytest.fixture
def s3_hooks(monkeypatch: pytest.MonkeyPatch) -> Callable[[str, Callable[..., Any]], None]:
    """Register a botocore event handler on every client an S3Storage makes.

    Both the fast writer's client and the storage's own (which reads and writes
    the manifest) come from ``S3Storage._create_session()``, and a client takes
    its session's handlers when it is made.
    """
    from storages.backends.s3 import S3Storage

    hooks: list[tuple[str, Callable[..., Any]]] = []
    real = S3Storage._create_session

    def create_session(storage: S3Storage) -> Any:
        session = real(storage)
        for event, handler in hooks:
            session.events.register(event, handler)
        return session

    monkeypatch.setattr(S3Storage, "_create_session", create_session)
    return lambda event, handler: hooks.append((event, handler))


# --- 1. transient faults ------------------------------------------------------


def test_transient_faults_are_retried_and_every_byte_lands(
    static_files, s3_storage_settings_factory, s3_proxy, botocore_calls, no_backoff, tmp_path
):
    files = {**small_files(300), "media/clip.mp4": bytes(range(256)) * (6 * MiB // 256)}
    static_files(files)
    target = s3_storage_settings_factory(
        endpoint_url=s3_proxy.endpoint_url,
        client_config=patient_config(),
        transfer_config=SMALL_PARTS,
    )
    s3_proxy.faults = FaultPlan(error_ratio=0.08, reset_ratio=0.04, seed=1207)
    report = tmp_path / "report.json"
    ops, out = counted(botocore_calls, "--profile", "full", "--report-json", str(report))

    injected = s3_proxy.fault_counts
    assert injected["error"] >= 10 and injected["reset"] >= 5  # the plan did bite
    faults = injected["error"] + injected["reset"]
    # Each fault fails exactly one attempt, and the run succeeded, so no call ran
    # out of attempts: each fault was followed by exactly one retry, and nothing
    # else was retried (every attempt on the wire is a success or a fault).
    data = json.loads(report.read_text())
    assert data["retries"] == faults
    assert f"{faults} requests retried after transient errors" in out
    assert (data["totals"]["uploaded_files"], data["totals"]["failed_files"]) == (len(files), 0)
    assert data["totals"]["uploaded_bytes"] == sum(map(len, files.values()))
    # Where the film's CreateMultipartUpload was retried, one listing of its key
    # looked for an upload the lost attempt made, and aborted it if there was one.
    twins = ops.pop("ListMultipartUploads", 0)
    assert twins <= 1 and ops.pop("AbortMultipartUpload", 0) <= twins
    assert ops == {
        "PutObject": 300,
        "CreateMultipartUpload": 1,
        "UploadPart": 2,
        "CompleteMultipartUpload": 1,
    }
    assert botocore_calls.failures == {}
    extra = sum(
        botocore_calls.operations[op] for op in ("ListMultipartUploads", "AbortMultipartUpload")
    )
    assert botocore_calls.attempts == s3_proxy.http_requests == 304 + extra + faults
    assert_bucket_holds(target, files)


# --- 2. stalls ----------------------------------------------------------------


def impatient_target(
    static_files: Any, factory: Any, proxy: S3Proxy, files: dict[str, bytes]
) -> Any:
    """``files`` to deploy through ``proxy`` by a client that waits 2 s for a response."""
    static_files(files)
    target = factory(endpoint_url=proxy.endpoint_url, client_config=patient_config(read_timeout=2))
    warm_up(target)
    return target


def stalls(count: int, **only: Any) -> FaultPlan:
    """Hold the next ``count`` responses past the read timeout; the server has acted."""
    return FaultPlan(stall_ratio=1, stall_seconds=5, max_faults=count, **only)


def test_a_response_stalled_past_the_read_timeout_is_retried(
    static_files, s3_storage_settings_factory, s3_proxy, no_backoff, monkeypatch, tmp_path
):
    files = small_files(20)
    target = impatient_target(static_files, s3_storage_settings_factory, s3_proxy, files)
    real_prepare = smart.prepare

    def prepare(*args: Any) -> smart.Prepared:
        prepared = real_prepare(*args)  # the write-ahead goes through untouched
        s3_proxy.faults = stalls(2, only_operations={"PutObject"})
        return prepared

    monkeypatch.setattr(smart, "prepare", prepare)
    report = tmp_path / "report.json"
    run("--smart", "--threads", "4", "--report-json", str(report))
    assert s3_proxy.fault_counts == {"stall": 2}
    assert json.loads(report.read_text())["retries"] == 2
    # The files and their two retries; the manifest written ahead and after.
    assert s3_proxy.counts == {"GetObject": 1, "PutObject": 20 + 2 + 2}
    assert_bucket_holds(target, files)
    assert assert_truthful(target) == entries(files)


def test_a_stalled_manifest_write_is_not_mistaken_for_a_conflict(
    static_files, s3_storage_settings_factory, s3_proxy, no_backoff, monkeypatch, tmp_path
):
    """The stalled conditional PUT lands; its retry gets 412 against that very write."""
    files = small_files(5)
    target = impatient_target(static_files, s3_storage_settings_factory, s3_proxy, files)
    real_record = smart.record

    def record(*args: Any) -> Recorded:
        s3_proxy.faults = stalls(1)
        return real_record(*args)

    monkeypatch.setattr(smart, "record", record)
    report = tmp_path / "report.json"
    out = run("--smart", "--report-json", str(report))
    assert "5 static files copied" in out
    assert json.loads(report.read_text())["smart"]["manifest_written"] is True
    assert s3_proxy.fault_counts == {"stall": 1}
    # Files, the write-ahead, the stalled final write and its refused retry; the
    # re-read finds this run's own entries, so there is nothing left to write.
    assert s3_proxy.counts == {"GetObject": 2, "PutObject": 5 + 1 + 2}
    assert assert_truthful(target) == entries(files)


# --- 3. permanent faults --------------------------------------------------------


def test_refused_writes_are_named_recorded_nowhere_and_the_rerun_sends_only_them(
    static_files, s3_storage_settings_factory, s3_proxy, botocore_calls
):
    public, private = small_files(12), small_files(3, folder="private")
    static_files({**public, **private})
    target = s3_storage_settings_factory(endpoint_url=s3_proxy.endpoint_url)
    s3_proxy.faults = FaultPlan(deny_prefix=target.key("private/"))
    with pytest.raises(CommandError) as raised:
        counted(botocore_calls, "--smart")
    message = str(raised.value)
    assert "3 of 15 files failed to upload" in message
    for name in private:
        assert f"  {name}: AccessDenied: Access Denied\n" in message
    # A refusal is not fixed by a retry: the advice says what to check instead.
    assert message.endswith(
        "Check that these credentials may write to the bucket (its policy "
        "and the key's permissions): a retry cannot fix this.\n"
        "The other files were uploaded."
    )
    # One refusal per private file, and one more for each replayed request that was
    # refused: botocore sends that file again, and its answer is the one reported.
    # Which files replay depends on the threads' order; every other attempt is a call.
    refused_replays = botocore_calls.attempts - sum(botocore_calls.operations.values())
    assert 0 <= refused_replays <= len(private)
    assert s3_proxy.fault_counts == {"deny": len(private) + refused_replays}
    assert_bucket_holds(target, public)
    assert assert_truthful(target) == entries(public)

    s3_proxy.faults = None
    ops, out = counted(botocore_calls, "--smart")
    assert ops == {"GetObject": 1, "PutObject": len(private) + 2}
    assert "3 static files copied" in out and ", 12 unmodified" in out
    assert_bucket_holds(target, {**public, **private})
    assert assert_truthful(target) == entries({**public, **private})


# --- 4. interrupted runs ---------------------------------------------------------


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_an_interrupted_run_stops_cleanly_and_the_rerun_finishes(
    static_files, s3_storage_settings_factory, s3_proxy, signum
):
    files = small_files(200)
    src = static_files(files)
    target = s3_storage_settings_factory(endpoint_url=s3_proxy.endpoint_url)
    # 2 threads and 0.1 s each way: a full run would take about 20 s.
    s3_proxy.latency = 0.1
    process = deploy_process(target, src)
    try:
        wait_for_objects(target, process, 10)
        process.send_signal(signum)
        out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    # A CommandError with the shell's status for the signal, not death by signal.
    assert process.returncode == 128 + signum, (out, err)
    landed = target.names() - {MANIFEST}
    assert 10 <= len(landed) < len(files)
    assert (
        f"Interrupted: {len(landed)} files were uploaded, "
        f"{len(files) - len(landed)} were not started. Run the command again to "
        "finish."
    ) in err
    # The uploads in flight finish and are recorded: the manifest holds exactly
    # what landed, each entry true to the bytes in the bucket.
    assert set(assert_truthful(target)) == landed

    s3_proxy.latency = 0
    s3_proxy.reset_counts()
    rerun = deploy_process(target, src)
    out, err = rerun.communicate(timeout=60)
    assert rerun.returncode == 0, (out, err)
    assert s3_proxy.counts == {"GetObject": 1, "PutObject": len(files) - len(landed) + 2}
    assert_bucket_holds(target, files)
    assert set(assert_truthful(target)) == set(files)


def test_a_signal_during_the_manifest_write_lets_it_finish(
    static_files, s3_storage_settings, monkeypatch
):
    """Cut short, the write would leave what landed unrecorded."""

    files = small_files(5)
    static_files(files)
    real_write = S3ManifestStore.write
    writes = []

    def write(self: S3ManifestStore, data: bytes, expected: Any) -> str | None:
        writes.append(data)
        if len(writes) == 2:  # the final write, after the write-ahead
            os.kill(os.getpid(), signal.SIGINT)  # handled in this (the main) thread, right here
        return real_write(self, data, expected)

    monkeypatch.setattr(S3ManifestStore, "write", write)
    with pytest.raises(CommandError, match="Interrupted: 5 files were uploaded, 0 were not "):
        try:
            run("--smart")
        except KeyboardInterrupt:
            pytest.fail("the signal broke off the manifest write")
    assert assert_truthful(s3_storage_settings) == entries(files)


# --- 5. credentials ----------------------------------------------------------------

ACCESS_KEY = "AKIAFAULTTEST7Q2XWZ"
SECRET_KEY = "fAuLt/tEsT+sEcReT/wJalrXUtnFEMI7K9Z"
WRONG_SECRET = "wRoNg/sEcReT+nOt/tHe/oNe/4b3c2d1e0f"
# Loggers whose DEBUG records are botocore's own, not ours (see the test).
THIRD_PARTY_LOGGERS = ("botocore", "boto3", "s3transfer", "urllib3")


@pytest.fixture(scope="module")
def keyed_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedServer]:
    """A server with keys that cannot occur in the output by chance.

    The shared server's access key is "collectstupid", which every run prints
    as part of the manifest's name.
    """
    with SeaweedServer(
        tmp_path_factory.mktemp("keyed"), access_key=ACCESS_KEY, secret_key=SECRET_KEY
    ) as server:
        yield server


@pytest.mark.parametrize("case", ["success", "refused", "wrong-secret", "bad-endpoint"])
def test_credentials_never_appear_in_output_errors_reports_or_our_logs(
    keyed_server, static_files, settings, tmp_path, caplog, no_backoff, case, request
):
    bucket = keyed_server.create_bucket(f"keyed-{case}")
    static_files({**small_files(4), **small_files(2, folder="private")})
    proxy = S3Proxy(keyed_server.port).start()
    request.addfinalizer(proxy.stop)
    endpoint, secret = proxy.endpoint_url, SECRET_KEY
    if case == "refused":
        proxy.faults = FaultPlan(deny_prefix="static/private/")
    elif case == "wrong-secret":
        secret = WRONG_SECRET
    elif case == "bad-endpoint":
        endpoint = f"http://127.0.0.1:{pick_ports(1)[0]}"  # nothing listens there
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": storage_options(keyed_server, bucket, endpoint, secret_key=secret),
        },
    }
    caplog.set_level(logging.DEBUG)
    report = tmp_path / "report.json"
    out, err, error = run_reporting(report)
    assert bool(error) == (case != "success")
    ours = [out, err, error, report.read_text()]
    ours += [r.getMessage() for r in caplog.records if not r.name.startswith(THIRD_PARTY_LOGGERS)]
    everything = ours + [r.getMessage() for r in caplog.records]
    # botocore's DEBUG records show each signed request, whose Authorization
    # header names the access key ID (never the secret). They appear only when
    # a project turns botocore's debug logging on, as with any boto3 program;
    # what we print, raise, report and log ourselves must not name either key.
    for text in everything:
        assert SECRET_KEY not in text and WRONG_SECRET not in text
    for text in ours:
        assert ACCESS_KEY not in text
    assert any(r.name.startswith("botocore") for r in caplog.records)  # DEBUG was captured
    if case in ("wrong-secret", "bad-endpoint"):
        # The manifest read already shows the storage unusable: one error, no upload.
        assert "nothing was uploaded" in error and "static files copied" not in out
    else:
        assert "static files copied" in out  # -v 3 did print a report


# --- 6. ACLs and object parameters ----------------------------------------------------

PUBLIC_GROUPS = (
    "http://acs.amazonaws.com/groups/global/AllUsers",
    "http://acs.amazonaws.com/groups/global/AuthenticatedUsers",
)


@pytest.mark.parametrize("acl", [None, "private"])
def test_uploads_carry_the_configured_parameters_and_never_a_wider_acl(
    static_files, s3_storage_settings_factory, s3_client, botocore_calls, s3_hooks, acl
):
    files = small_files(5)
    static_files(files)
    params = {"CacheControl": "max-age=31536000, immutable", "ContentDisposition": "inline"}
    target = s3_storage_settings_factory(default_acl=acl, object_parameters=params)
    sent: list[tuple[str, str | None]] = []
    s3_hooks(
        "before-send.s3",
        lambda request, **_: sent.append(
            (request.method, header(dict(request.headers), "x-amz-acl"))
        ),
    )
    ops, _ = counted(botocore_calls, "--smart")
    assert ops == {"GetObject": 1, "PutObject": 5 + 2}  # no PutObjectAcl either
    # This server ignores x-amz-acl on PutObject, so the ACL is checked as sent:
    # every write, the manifest's too, carries exactly the configured one.
    assert sorted(sent, key=str) == [("GET", None)] + [("PUT", acl)] * 7
    for name in files:
        head = target.head(name)
        assert {k: head.get(k) for k in params} == params
        assert head["ContentType"] == "text/css" and head.get("Metadata") == {}
        assert "ContentEncoding" not in head
        grants = s3_client.get_object_acl(Bucket=target.bucket, Key=target.key(name))["Grants"]
        assert not [g for g in grants if g["Grantee"].get("URI") in PUBLIC_GROUPS]


# --- 7. a source file that goes away during the run -----------------------------------


def test_a_source_file_lost_during_the_run_fails_alone_and_is_not_recorded(
    static_files, s3_storage_settings, botocore_calls, s3_hooks
):
    # One file at the top: with one thread it is uploaded first (finders list a
    # folder's files before its subfolders).
    files = {"first.css": b"first", **small_files(4, folder="later")}
    src = static_files(files)
    gone, locked = src / "later/f001.css", src / "later/f002.css"

    def break_sources(**_: Any) -> None:
        if gone.exists():
            gone.unlink()
            # Unreadable even for root: a folder where the file was.
            locked.unlink()
            locked.mkdir()

    # After the first PutObject (the manifest's write-ahead), so past the check every
    # run makes before uploading, and after every file was hashed.
    s3_hooks("after-call.s3.PutObject", break_sources)
    with pytest.raises(CommandError) as raised:
        counted(botocore_calls, "--smart", "--threads", "1")
    message = str(raised.value)
    assert "2 of 5 files failed to upload" in message
    assert (
        f"  later/f001.css: FileNotFoundError: [Errno 2] No such file or directory: '{gone}'\n"
    ) in message
    assert f"  later/f002.css: IsADirectoryError: [Errno 21] Is a directory: '{locked}'\n" in (
        message
    )
    # Nothing was sent for them: both failed while being read, before their request.
    assert dict(botocore_calls.operations) == {"GetObject": 1, "PutObject": 3 + 2}
    landed = {k: v for k, v in files.items() if k not in ("later/f001.css", "later/f002.css")}
    assert_bucket_holds(s3_storage_settings, landed)
    assert assert_truthful(s3_storage_settings) == entries(landed)


# --- 8. bad input: a clear error and no request at all ---------------------------------

BAD_PROFILES = {
    "invalid-yaml": ("include: [unclosed\n", "is not valid YAML"),
    "wrong-type": ("exclude: 3\n", "'exclude' must be a list of pattern strings"),
    "unknown-key": ("includes: ['*.css']\n", "unknown key(s): includes"),
    "extends-cycle": ("extends: bad\n", "extends in a cycle: bad -> bad"),
}


@pytest.mark.parametrize("case", [*BAD_PROFILES, "force-with-no-smart"])
def test_bad_input_makes_no_request(
    static_files, s3_storage_settings, settings, tmp_path, botocore_calls, case
):
    """The cases tests/test_command.py does not run through the command already."""
    static_files(small_files(3))
    args = ["--smart"]
    if case in BAD_PROFILES:
        text, expected = BAD_PROFILES[case]
        (tmp_path / "profiles").mkdir()
        (tmp_path / "profiles" / "bad.yaml").write_text(text)
        settings.COLLECTSTUPID = {"PROFILES": [str(tmp_path / "profiles")]}
        args += ["--profile", "bad"]  # a broken profile the run does not use is a warning
    else:
        args, expected = ["--force", "--no-smart"], "cannot be combined with --no-smart"
    with pytest.raises(CommandError) as raised:
        counted(botocore_calls, *args)
    assert expected in str(raised.value)
    assert dict(botocore_calls.operations) == {} and botocore_calls.attempts == 0
    assert s3_storage_settings.keys() == set()


def test_a_signal_during_the_write_ahead_lets_it_finish_and_sends_nothing(
    static_files, s3_storage_settings, monkeypatch
):
    files = small_files(5)
    src = static_files(files)
    run("--smart")
    for name in files:
        (src / name).write_text(f"v2 {name}")  # every file changes
    real_write = S3ManifestStore.write

    def write(self: S3ManifestStore, data: bytes, expected: Any) -> str | None:
        if not writes:
            os.kill(os.getpid(), signal.SIGINT)
        writes.append(data)
        return real_write(self, data, expected)

    writes: list[bytes] = []
    monkeypatch.setattr(S3ManifestStore, "write", write)
    with pytest.raises(CommandError, match="Interrupted: 0 files were uploaded, 5 were not "):
        run("--smart")
    assert len(writes) == 2  # the write-ahead landed, then the final write settled it
    assert_bucket_holds(s3_storage_settings, files)  # still v1: nothing was sent
    # Announced but never sent: no longer vouched for, so the next run uploads them.
    assert assert_truthful(s3_storage_settings) == {}


# --- what counts as a retry ---------------------------------------------------------


def test_refusals_are_not_counted_as_retries_even_of_a_replayed_request(
    static_files, s3_storage_settings_factory, s3_proxy, botocore_calls, tmp_path, settings
):
    # The call counter wraps botocore's calls, which keeps replay off unless asked for.
    settings.COLLECTSTUPID = {"FAST_PATH": True}
    # Sent first (the largest): it lands, and the replay learns its request from it.
    static_files({**small_files(20, folder="private"), "css/first.css": b"x" * 4096})
    target = s3_storage_settings_factory(endpoint_url=s3_proxy.endpoint_url)
    s3_proxy.faults = FaultPlan(deny_prefix=target.key("private/"))
    report = tmp_path / "report.json"
    out = StringIO()
    with pytest.raises(CommandError, match="20 of 21 files failed") as raised:
        call_command(
            "collectstupid",
            "--threads",
            "1",
            "--report-json",
            str(report),
            interactive=False,
            stdout=out,
            stderr=out,
        )
    # A replayed request was refused, and botocore sent the file once more, refused
    # again; every other file was refused once: no retry among them.
    denied = s3_proxy.fault_counts["deny"]
    assert denied > 20 and s3_proxy.http_requests == 1 + denied
    assert json.loads(report.read_text())["retries"] == 0
    assert "retried" not in out.getvalue() + str(raised.value)


def test_a_write_ahead_that_was_retried_reports_its_retries(
    static_files, s3_storage_settings_factory, s3_proxy, botocore_calls, no_backoff, tmp_path
):
    static_files(small_files(3))
    target = s3_storage_settings_factory(endpoint_url=s3_proxy.endpoint_url)
    s3_proxy.faults = FaultPlan(error_ratio=1, error_statuses=(503,), only_operations={"PutObject"})
    report = tmp_path / "report.json"
    with pytest.raises(CommandError, match="could not be updated before the upload"):
        counted(botocore_calls, "--smart", "--report-json", str(report))
    # Every attempt of the one PutObject (the write-ahead) was answered 503.
    puts = s3_proxy.fault_counts["error"]
    assert puts > 1 and botocore_calls.operations["PutObject"] == 1
    assert json.loads(report.read_text())["retries"] == puts - 1
    assert target.names() == set()
