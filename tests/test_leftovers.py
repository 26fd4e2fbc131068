"""What a run leaves behind, besides the files: credentials in messages, the deploy
manifest after lost answers, and what two runs at once tell the terminal."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from collectstupid import smart
from collectstupid.output import redact
from collectstupid.smart_values import Recorded
from s3local import FaultPlan, S3Proxy
from s3local.ports import pick_ports
from tests.helpers import SMALL_PARTS, MiB, assert_truthful, counted, entry, run, run_reporting
from tests.s3_fixtures import client_config

# The S3 deploys here take the path s3_path picks (tests/s3_fixtures.py).
pytestmark = pytest.mark.usefixtures("s3_path")

USER, PASSWORD = "deployuser7q", "pAsS-w0rd-9z"


def test_an_endpoint_with_credentials_is_redacted_in_every_message(
    static_files, s3_storage_settings_factory, tmp_path, caplog, no_backoff
):
    static_files({f"css/f{i}.css": b".c {}" for i in range(3)})
    port = pick_ports(1)[0]  # nothing listens there
    s3_storage_settings_factory(endpoint_url=f"http://{USER}:{PASSWORD}@127.0.0.1:{port}")
    caplog.set_level(logging.DEBUG, logger="collectstupid")
    report = tmp_path / "report.json"
    out, err, error = run_reporting(report)
    assert error  # the endpoint is unreachable
    printed = [out, err, error, report.read_text(), *(r.getMessage() for r in caplog.records)]
    for text in printed:
        assert USER not in text and PASSWORD not in text, text
    # The URL is still named, so the reader knows where the run tried to connect.
    assert f'Could not connect to the endpoint URL: "http://***@127.0.0.1:{port}/' in error
    # Said once, by the closing error: the manifest read already shows the endpoint dead.
    assert error not in err


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("http://u:p@host:9000/b/k", "http://***@host:9000/b/k"),
        ('"https://key@s3.example.com/x"', '"https://***@s3.example.com/x"'),
        (
            "https://b.s3.amazonaws.com/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIA%2F1"
            "&X-Amz-Signature=abc123&x-id=GetObject",
            "https://b.s3.amazonaws.com/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=***"
            "&X-Amz-Signature=***&x-id=GetObject",
        ),
        (
            "/k?AWSAccessKeyId=AKIA1&Signature=s%2Fg&Expires=1",
            "/k?AWSAccessKeyId=***&Signature=***&Expires=1",
        ),
        ("s3://bucket/static and user@example.com", "s3://bucket/static and user@example.com"),
    ],
)
def test_redact_hides_credentials_in_urls_and_nothing_else(text, expected):
    assert redact(text) == expected


def test_a_manifest_write_whose_every_answer_was_lost_but_landed_is_reported_written(
    static_files, s3_storage_settings_factory, s3_proxy: S3Proxy, no_backoff, monkeypatch, tmp_path
):
    # Enough files of one kind that the default path replays most of them.
    files = {f"css/f{i:02}.css": f".c{i} {{}}".encode() for i in range(30)}
    static_files(files)
    target = s3_storage_settings_factory(
        endpoint_url=s3_proxy.endpoint_url,
        client_config=client_config(
            read_timeout=1, retries={"mode": "standard", "total_max_attempts": 3}
        ),
    )
    target.client.put_object(Bucket=target.bucket, Key="warm-up", Body=b"")  # see test_faults
    real_record = smart.record

    def record(*args: Any) -> Recorded:
        # Every attempt of the manifest write: the first lands, the retries are
        # refused (412), and no answer reaches the client in time.
        s3_proxy.faults = FaultPlan(
            stall_ratio=1, stall_seconds=3, max_faults=3, only_operations={"PutObject"}
        )
        return real_record(*args)

    monkeypatch.setattr(smart, "record", record)
    report = tmp_path / "report.json"
    out = run("--smart", "--report-json", str(report))
    assert s3_proxy.fault_counts == {"stall": 3}
    assert "could not be written" not in out
    assert json.loads(report.read_text())["smart"]["manifest_written"] is True
    assert assert_truthful(target) == {name: entry(data) for name, data in files.items()}


def test_a_retried_multipart_create_leaves_no_upload_open(
    static_files, s3_storage_settings_factory, s3_proxy, botocore_calls, no_backoff
):
    film = bytes(range(256)) * (6 * MiB // 256)
    static_files({"media/clip.mp4": film, "css/site.css": b"body {}"})
    target = s3_storage_settings_factory(
        endpoint_url=s3_proxy.endpoint_url, transfer_config=SMALL_PARTS
    )
    # The server makes the upload, then the answer is lost: botocore creates another.
    s3_proxy.faults = FaultPlan(
        reset_ratio=1, only_operations={"CreateMultipartUpload"}, max_faults=1
    )
    ops, _ = counted(botocore_calls, "--profile", "full")
    assert s3_proxy.fault_counts == {"reset": 1}
    assert ops == {
        "PutObject": 1,
        "CreateMultipartUpload": 1,
        "ListMultipartUploads": 1,
        "AbortMultipartUpload": 1,
        "UploadPart": 2,
        "CompleteMultipartUpload": 1,
    }
    assert target.client.list_multipart_uploads(Bucket=target.bucket).get("Uploads", []) == []
    assert target.read("media/clip.mp4") == film
