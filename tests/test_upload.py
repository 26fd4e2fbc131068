"""The upload pool, the choice of writer, and the S3 writer's parts that need no server."""

from __future__ import annotations

import io
import threading

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from django.core.files.storage import FileSystemStorage
from storages.backends.s3 import S3StaticStorage, S3Storage
from storages.backends.s3boto3 import S3Boto3Storage

from collectstupid import s3client
from collectstupid.collect import SourceFile
from collectstupid.plan import Plan
from collectstupid.profiles import Profile
from collectstupid.s3 import (
    COMPLETE_MULTIPART_ARGS,
    CREATE_MULTIPART_BLOCKLIST,
    PUT_OBJECT_BLOCKLIST,
    UPLOAD_PART_ARGS,
    FileSlice,
    S3Writer,
)
from collectstupid.s3client import RetryCounter, client_config
from collectstupid.storage import stupid_class
from collectstupid.upload import (
    CANCELLED,
    FAILED,
    SKIPPED,
    UPLOADED,
    describe_error,
    retries_of,
    storage_writer,
    upload,
    upload_in_order,
    writer_for,
)

S3_OPTIONS = {
    "bucket_name": "b",
    "endpoint_url": "http://127.0.0.1:9",
    "access_key": "k",
    "secret_key": "s",
    "region_name": "us-east-1",
}


def files(*names: str) -> list[SourceFile]:
    return [SourceFile(name, None, name, 10) for name in names]


class CustomSave(S3Storage):
    def _save(self, name, content):  # pragma: no cover - never called
        return super()._save(name, content)


@pytest.mark.parametrize(
    ("cls", "fast"),
    [
        (S3Storage, True),
        (S3StaticStorage, True),
        (stupid_class(S3Storage), True),
        (stupid_class(S3StaticStorage), True),
        (S3Boto3Storage, True),  # the name older settings still use
        (CustomSave, False),
        (stupid_class(CustomSave), False),
    ],
)
def test_writer_for_s3_storages(cls, fast):
    write = writer_for(cls(**S3_OPTIONS), threads=4)
    assert isinstance(write, S3Writer) is fast


def test_writer_for_other_storages_is_save(tmp_path):
    write = writer_for(FileSystemStorage(location=tmp_path))
    assert write.__qualname__.startswith(storage_writer.__qualname__)


def test_clients_of_one_storage_share_its_session_and_loaded_model():
    storage = S3Storage(**S3_OPTIONS)
    first = s3client.make_client(storage, 1, RetryCounter())
    second = s3client.make_client(storage, 16, RetryCounter())
    other = s3client.make_client(S3Storage(**S3_OPTIONS), 1, RetryCounter())
    assert first is not second
    assert first._loader is second._loader
    assert other._loader is not first._loader
    assert second.meta.config.max_pool_connections == 16


@pytest.mark.parametrize(("env", "client_retries", "expected"), [
    ({}, None, {"mode": "standard", "total_max_attempts": s3client.DEPLOY_ATTEMPTS}),
    ({"AWS_RETRY_MODE": "adaptive"}, None,
     {"mode": "adaptive", "total_max_attempts": s3client.DEPLOY_ATTEMPTS}),
    ({"AWS_MAX_ATTEMPTS": "5"}, None, {"mode": "standard", "total_max_attempts": 5}),
    ({}, {"mode": "legacy", "max_attempts": 1}, {"mode": "legacy", "total_max_attempts": 2}),
])
def test_a_deploy_retries_more_only_where_nobody_set_the_attempts(monkeypatch, env,
                                                                  client_retries, expected):
    for name in ("AWS_RETRY_MODE", "AWS_MAX_ATTEMPTS", "AWS_CONFIG_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")  # no ~/.aws/config of the machine
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    options = dict(S3_OPTIONS)
    if client_retries:
        options["client_config"] = Config(retries=client_retries)
    client = s3client.make_client(S3Storage(**options), 4, RetryCounter())
    assert client.meta.config.retries == expected


def test_client_pool_follows_the_workers():
    storage = S3Storage(**S3_OPTIONS)
    session = s3client.session_for(storage)
    assert client_config(storage, 32, session).max_pool_connections == 32
    # The storage's other client settings are kept.
    assert (client_config(storage, 32, session).signature_version
            == storage.client_config.signature_version)
    write = S3Writer(storage)
    write.size_for(24)
    assert write.client.meta.config.max_pool_connections == 24
    first = write.client
    write.size_for(8)  # fewer workers than the pool has: keep it
    assert write.client is first


def test_writer_client_has_no_expect_header_handler():
    write = S3Writer(S3Storage(**S3_OPTIONS), threads=2)
    request = {"body": io.BytesIO(b"x"), "headers": {}, "url_path": "/b/k", "query_string": {},
               "method": "PUT", "context": {}}
    write.client.meta.events.emit(
        "before-call.s3.PutObject",
        model=write.client.meta.service_model.operation_model("PutObject"),
        params=request, request_signer=None, context={},
    )
    assert "Expect" not in request["headers"]
    # The storage's own client is left as botocore made it.
    storage = S3Storage(**S3_OPTIONS)
    request = {**request, "headers": {}}
    storage.connection.meta.client.meta.events.emit(
        "before-call.s3.PutObject",
        model=write.client.meta.service_model.operation_model("PutObject"),
        params=request, request_signer=None, context={},
    )
    assert request["headers"].get("Expect") == "100-continue"


def test_multipart_argument_lists_match_s3transfer():
    from s3transfer.upload import UploadSubmissionTask as Task

    assert list(UPLOAD_PART_ARGS) == Task.UPLOAD_PART_ARGS
    assert list(COMPLETE_MULTIPART_ARGS) == Task.COMPLETE_MULTIPART_ARGS
    assert list(CREATE_MULTIPART_BLOCKLIST) == Task.CREATE_MULTIPART_BLOCKLIST
    assert list(PUT_OBJECT_BLOCKLIST) == Task.PUT_OBJECT_BLOCKLIST


def test_file_slice_reads_its_part_only_and_rewinds_to_its_start():
    data = io.BytesIO(bytes(range(100)))
    part = FileSlice(data, 40, 25)
    assert len(part) == 25
    assert part.read(10) == bytes(range(40, 50))
    assert part.tell() == 10
    assert part.read() == bytes(range(50, 65))
    assert part.read() == b""
    part.seek(0)  # what botocore does before a retry
    assert part.read() == bytes(range(40, 65))
    part.seek(-5, 2)
    assert part.read(100) == bytes(range(60, 65))
    tail = FileSlice(data, 90, 25)  # the last part may be short of the chunk size
    assert tail.read() == bytes(range(90, 100))


def test_retry_counter_counts_attempts_after_the_first():
    counter = RetryCounter()

    class Request:
        def __init__(self, attempt):
            self.context = {"retries": {"attempt": attempt}}

    for attempt in (1, 2, 3, 1):
        counter(Request(attempt))
    assert counter.count == 2


def test_every_failure_is_kept_and_the_others_still_upload():
    def write(source):
        if source.dest.startswith("bad"):
            raise OSError("disk on fire")
        return SKIPPED if source.dest == "same" else None

    result = upload(files("a", "bad1", "b", "same", "bad2"), write, threads=3)
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

    result = upload(files("a", "exits", "b"), write, threads=2)
    by_dest = {o.source.dest: o for o in result.outcomes}
    assert len(result.outcomes) == 3
    assert by_dest["exits"].status == FAILED
    assert by_dest["exits"].error == "SystemExit: a library gave up"
    assert by_dest["a"].status == by_dest["b"].status == UPLOADED


def test_s3_errors_are_named_with_their_code_and_message():
    error = ClientError({"Error": {"Code": "AccessDenied", "Message": "Access Denied"}},
                        "PutObject")
    assert describe_error(error) == "AccessDenied: Access Denied"


def test_a_stop_leaves_the_rest_unstarted():
    stop = threading.Event()

    def write(source):
        stop.set()

    result = upload(files(*"abcdefghij"), write, threads=1, stop=stop)
    assert len(result.cancelled) >= 7
    assert all(o.status in (UPLOADED, CANCELLED) for o in result.outcomes)


def test_the_largest_files_start_first_and_the_manifest_last():
    sizes = {"small": 10, "big": 5000, "mid": 300, "also-small": 10}
    plan = [SourceFile(name, None, name, size) for name, size in sizes.items()]
    started = []

    def write(source):
        started.append(source.dest)

    upload_in_order(plan, files("manifest.json"), write, threads=1)
    # Largest first; files of one size keep the plan's order.
    assert started == ["big", "mid", "small", "also-small", "manifest.json"]


def test_outcomes_reach_on_done_in_the_calling_thread():
    seen = []

    def on_done(outcome):
        seen.append((outcome.source.dest, threading.current_thread()))

    def write(source):
        assert threading.current_thread() is not threading.main_thread()

    result = upload(files(*"abcdefgh"), write, threads=4, on_done=on_done)
    assert sorted(d for d, _ in seen) == list("abcdefgh")
    assert {thread for _, thread in seen} == {threading.current_thread()}
    assert len(result.uploaded) == 8


def test_the_s3_client_is_made_only_when_a_request_needs_it(monkeypatch):
    made = []
    real = s3client.make_client

    def counting(*args, **kwargs):
        made.append(args[1])
        return real(*args, **kwargs)

    monkeypatch.setattr("collectstupid.s3.make_client", counting)
    write = S3Writer(S3Storage(**S3_OPTIONS), threads=4)

    class SkipAll:  # as smart mode wraps the writer when nothing changed
        inner = write

        def __call__(self, source):
            return SKIPPED

    result = upload(files("a", "b"), SkipAll(), threads=6)
    assert len(result.skipped) == 2
    assert made == []
    # Sized for the pool upload() ran, made once, on first use.
    assert write.client is write.client
    assert made == [6]


class CountingWriter:
    """Stands in for the S3 writer: counts retries and records its sizing."""

    def __init__(self):
        self.retries = 0
        self.sized = []

    def size_for(self, threads):
        self.sized.append(threads)

    def __call__(self, source):
        self.retries += 1


class Wrapper:
    def __init__(self, inner):
        self.inner = inner

    def __call__(self, source):
        return self.inner(source)


def test_retries_and_pool_size_reach_through_a_wrapper():
    inner = CountingWriter()
    write = Wrapper(inner)
    result = upload_in_order(files("a", "b"), files("manifest.json"), write, threads=5)
    assert inner.sized == [5, 5]
    assert result.retries == 3
    assert retries_of(write) == 3


def test_manifest_waits_for_every_other_file():
    def write(source):
        if source.dest == "a":
            raise OSError("no")

    result = upload_in_order(files("a", "b"), files("manifest.json"), write, threads=2)
    manifest = [o for o in result.outcomes if o.source.dest == "manifest.json"]
    assert manifest[0].status == CANCELLED


def test_report_shows_retries():
    from collectstupid import report

    profile = Profile(name="full", origin="built-in", description="")
    plan = Plan(profile, files=files("a"))
    result = upload(files("a"), CountingWriter(), threads=1)
    assert result.retries == 1
    assert "1 request retried after transient errors" in report.summary(plan, result, "x", False)
    data = report.report_data(plan, result, "s3://b", dry_run=False)
    assert data["retries"] == 1
    assert data["files"][0] == {"destination": "a", "bytes": 10, "status": UPLOADED,
                                "error": None, "seconds": data["files"][0]["seconds"]}
    assert {"profile", "totals", "seconds", "retries", "files"} <= set(data)


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_bar_draws_on_a_terminal_only():
    from collectstupid.report import ProgressBar

    outcome = upload(files("a"), CountingWriter(), threads=1).outcomes[0]
    screen = Terminal()
    bar = ProgressBar(10, 1, enabled=True, stream=screen)
    bar.update(outcome)
    bar.close()
    drawn = screen.getvalue()
    # tqdm redraws at most every 0.1 s: the first frame is what a fast test sees.
    assert "0/1 files:   0%" in drawn and "0.00/10.0" in drawn and "B/s" in drawn
    for stream, enabled in ((io.StringIO(), True), (Terminal(), False)):
        bar = ProgressBar(10, 1, enabled=enabled, stream=stream)
        bar.update(outcome)
        bar.close()
        assert stream.getvalue() == ""
