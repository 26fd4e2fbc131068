"""The S3 fast writer against the real server: exact botocore calls, bytes, headers, failures.

Every count is taken over the whole command run; reads that check the result
(GetObject, HeadObject, ACLs) are made after it, outside the counted window.
"""

from __future__ import annotations

import gzip
import io
import json
import math
from typing import Any

import pytest
from botocore.config import Config
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.core.management.base import CommandError
from storages.backends.s3 import S3Storage

from collectstupid.backends import backend_for
from collectstupid.errors import SourceChanged
from collectstupid.s3.file_slice import FileSlice
from collectstupid.s3.writer import (
    COMPLETE_MULTIPART_ARGS,
    CREATE_MULTIPART_BLOCKLIST,
    PUT_OBJECT_BLOCKLIST,
    UPLOAD_PART_ARGS,
)
from collectstupid.storage import stupid_class, target_storage
from tests import helpers
from tests.helpers import SMALL_PARTS, MiB, header, keys, read
from tests.s3_fixtures import before_send

# The S3 deploys here take the path s3_path picks (tests/s3_fixtures.py).
pytestmark = pytest.mark.usefixtures("s3_path")

ASSETS: dict[str, bytes] = {
    "css/site.css": b"body { color: red }\n" * 50,
    "css/print.css": b"@media print { nav { display: none } }\n",
    "js/app.js": b"console.log('app');\n" * 30,
    "js/vendor/lib.min.js": b"!function(){return 1}();",
    "img/logo.svg": b'<svg xmlns="http://www.w3.org/2000/svg"/>',
    "img/photo.png": b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8,
    "img/space and \u00fcnicode.jpg": b"\xff\xd8\xff" + b"\x00" * 300,
    "fonts/brand.woff2": b"wOF2" + b"\x01" * 700,
    "data/seed.json.gz": gzip.compress(b'{"a": 1}', mtime=0),
    "robots.txt": b"User-agent: *\n",
    "LICENSE": b"MIT\n",
    "empty.txt": b"",
    # Files of one kind, as a site has many: PutObjects past the first few of a kind
    # are sent from a replayed request (the default path), the rest through botocore.
    **{f"css/parts/p{i:02}.css": f".p{i} {{ order: {i} }}\n".encode() for i in range(40)},
}


class PerObjectStorage(S3Storage):
    """Object parameters that depend on the name, as projects write them."""

    def get_object_parameters(self, name: str) -> dict[str, Any]:
        params = super().get_object_parameters(name)
        if name.endswith(".woff2"):
            params["ContentDisposition"] = "inline"
            params["Metadata"] = {"kind": "font"}
        return params


def run(*args: str, **options: Any) -> str:
    return helpers.run("--profile", "full", *args, **options)


def counted(calls: Any, *args: str, **options: Any) -> tuple[dict[str, int], str]:
    return helpers.counted(calls, "--profile", "full", *args, **options)


@pytest.fixture
def s3_target(s3_storage_settings, settings):
    """Point the staticfiles storage at the test bucket with these options (location 'static')."""

    def configure(backend: str = "storages.backends.s3.S3Storage", **options: Any) -> dict:
        base = settings.STORAGES["staticfiles"].get("OPTIONS", {})
        merged = {**base, "location": "static", **options}
        settings.STORAGES = {
            **settings.STORAGES,
            "staticfiles": {"BACKEND": backend, "OPTIONS": merged},
        }
        storages._storages = {}
        return merged

    return configure


@pytest.fixture
def sent(monkeypatch) -> list[tuple[str, dict[str, str]]]:
    """(operation, headers) of every HTTP request the fast writer's client sends."""
    requests: list[tuple[str, dict[str, str]]] = []

    def record(request: Any, event_name: str, **_: Any) -> None:
        requests.append((event_name.rsplit(".", 1)[-1], dict(request.headers)))

    before_send(monkeypatch, record)
    return requests


def test_each_small_file_is_one_put_and_nothing_else(
    static_files, s3_target, s3_client, s3_bucket, botocore_calls, sent
):
    static_files(ASSETS)
    s3_target(
        default_acl="public-read", object_parameters={"CacheControl": "max-age=31536000, immutable"}
    )
    ops, out = counted(botocore_calls)
    assert ops == {"PutObject": len(ASSETS)}
    assert botocore_calls.failures == {}
    assert botocore_calls.attempts == len(ASSETS)  # no retry, no second request
    assert f"{len(ASSETS)} static files copied to 's3://{s3_bucket}/static'" in out
    # This server applies ACLs only through PutObjectAcl, so the ACL is checked as sent.
    assert len(sent) == len(ASSETS)
    assert all(header(h, "x-amz-acl") == "public-read" for _, h in sent)

    assert keys(s3_client, s3_bucket) == {f"static/{name}" for name in ASSETS}
    for name, content in ASSETS.items():
        key = f"static/{name}"
        assert read(s3_client, s3_bucket, key) == content, name
        head = s3_client.head_object(Bucket=s3_bucket, Key=key)
        assert head["CacheControl"] == "max-age=31536000, immutable"
    head = s3_client.head_object
    assert head(Bucket=s3_bucket, Key="static/css/site.css")["ContentType"] == "text/css"
    assert head(Bucket=s3_bucket, Key="static/img/photo.png")["ContentType"] == "image/png"
    assert head(Bucket=s3_bucket, Key="static/LICENSE")["ContentType"] == "application/octet-stream"
    seed = head(Bucket=s3_bucket, Key="static/data/seed.json.gz")
    assert (seed["ContentType"], seed["ContentEncoding"]) == ("application/json", "gzip")


def test_a_large_file_is_one_multipart_upload(
    static_files, s3_target, s3_client, s3_bucket, botocore_calls, tmp_path
):
    size = 12 * MiB + 123
    big = bytes(range(256)) * (size // 256) + b"x" * (size % 256)
    static_files({"media/film.mp4": big, "css/a.css": b"a{}", "js/b.js": b"b()"})
    s3_target(transfer_config=SMALL_PARTS, object_parameters={"CacheControl": "max-age=60"})
    ops, _ = counted(botocore_calls)
    parts = math.ceil(size / (5 * MiB))
    assert parts == 3
    assert ops == {
        "PutObject": 2,
        "CreateMultipartUpload": 1,
        "UploadPart": parts,
        "CompleteMultipartUpload": 1,
    }
    assert read(s3_client, s3_bucket, "static/media/film.mp4") == big
    head = s3_client.head_object(Bucket=s3_bucket, Key="static/media/film.mp4")
    assert head["ETag"].endswith(f'-{parts}"')
    assert (head["ContentType"], head["CacheControl"]) == ("video/mp4", "max-age=60")
    assert head["ContentLength"] == size


def test_objects_are_those_storage_save_writes(static_files, s3_target, s3_client, s3_bucket, sent):
    """Same keys, bytes and headers as S3Storage.save(): checks the storage helpers we call."""
    files = {**ASSETS, "media/clip.mp4": b"\x00\x01" * (3 * MiB)}  # 6 MiB: multipart
    src = static_files(files)
    options = s3_target(
        "tests.test_s3_writer.PerObjectStorage",
        gzip=True,
        default_acl="public-read",
        transfer_config=SMALL_PARTS,
        object_parameters={"CacheControl": "max-age=600"},
    )
    run()
    # This server applies ACLs only through PutObjectAcl, so the ACL is checked as sent.
    writes = [h for op, h in sent if op in ("PutObject", "CreateMultipartUpload")]
    assert len(writes) == len(files)
    assert all(header(h, "x-amz-acl") == "public-read" for h in writes)
    saved = stupid_class(PerObjectStorage)(**{**options, "location": "saved"})
    for name in files:
        with (src / name).open("rb") as content:
            assert saved.save(name, content) == name

    fields = (
        "ContentType",
        "ContentEncoding",
        "CacheControl",
        "ContentDisposition",
        "Metadata",
        "ContentLength",
        "ETag",
    )
    assert {k.removeprefix("static/") for k in keys(s3_client, s3_bucket, "static/")} == set(files)
    for name in files:
        ours = s3_client.head_object(Bucket=s3_bucket, Key=f"static/{name}")
        theirs = s3_client.head_object(Bucket=s3_bucket, Key=f"saved/{name}")
        assert {f: ours.get(f) for f in fields} == {f: theirs.get(f) for f in fields}, name
        assert read(s3_client, s3_bucket, f"static/{name}") == read(
            s3_client, s3_bucket, f"saved/{name}"
        ), name
    # What the settings asked for, spelled out for a few files.
    css = s3_client.get_object(Bucket=s3_bucket, Key="static/css/site.css")
    assert css["ContentEncoding"] == "gzip"
    assert gzip.decompress(css["Body"].read()) == files["css/site.css"]
    png = s3_client.head_object(Bucket=s3_bucket, Key="static/img/photo.png")
    assert "ContentEncoding" not in png
    font = s3_client.head_object(Bucket=s3_bucket, Key="static/fonts/brand.woff2")
    assert (font["ContentDisposition"], font["Metadata"]) == ("inline", {"kind": "font"})
    clip = s3_client.head_object(Bucket=s3_bucket, Key="static/media/clip.mp4")
    assert clip["ETag"].endswith('-2"')


def test_gzip_of_a_large_css_file_goes_multipart(
    static_files, s3_target, s3_client, s3_bucket, botocore_calls
):
    import base64
    import os

    # Random base64 compresses to about 3/4 of its size: the gzip body is still 2 parts.
    text = base64.b64encode(os.urandom(5 * MiB + MiB // 2))
    static_files({"css/huge.css": text})
    s3_target(gzip=True, transfer_config=SMALL_PARTS)
    ops, _ = counted(botocore_calls)
    assert ops == {"CreateMultipartUpload": 1, "UploadPart": 2, "CompleteMultipartUpload": 1}
    body = s3_client.get_object(Bucket=s3_bucket, Key="static/css/huge.css")
    assert body["ContentEncoding"] == "gzip"
    assert gzip.decompress(body["Body"].read()) == text


def test_s3_static_storage_takes_the_fast_path(
    static_files, s3_target, s3_bucket, s3_client, botocore_calls
):
    static_files({"css/a.css": b"a{}"})
    s3_target("storages.backends.s3.S3StaticStorage", location="assets")
    assert backend_for(target_storage()).fast
    ops, _ = counted(botocore_calls)
    assert ops == {"PutObject": 1}
    assert read(s3_client, s3_bucket, "assets/css/a.css") == b"a{}"


def test_stupid_mixin_save_is_one_put(s3_target, s3_client, s3_bucket, botocore_calls):
    options = s3_target()
    storage = stupid_class(S3Storage)(**options)
    botocore_calls.reset()
    assert storage.save("css/a.css", ContentFile(b"v1")) == "css/a.css"
    assert storage.save("css/a.css", ContentFile(b"v2")) == "css/a.css"  # overwritten, not renamed
    assert storage.get_available_name("css/a.css") == "css/a.css"
    assert dict(botocore_calls.operations) == {"PutObject": 2}
    assert read(s3_client, s3_bucket, "static/css/a.css") == b"v2"
    assert keys(s3_client, s3_bucket) == {"static/css/a.css"}


def test_dry_run_makes_no_call(static_files, s3_target, s3_client, s3_bucket, botocore_calls):
    static_files(ASSETS)
    s3_target()
    ops, out = counted(botocore_calls, "--dry-run")
    assert ops == {}
    assert botocore_calls.attempts == 0
    assert "Dry run: nothing was written" in out
    assert keys(s3_client, s3_bucket) == set()


def test_a_small_put_is_one_request_without_expect_continue(
    static_files, s3_target, sent, botocore_calls
):
    """botocore would send ``Expect: 100-continue`` with a file body and wait for the reply."""
    static_files({f"js/m{i}.js": f"m({i})".encode() for i in range(10)})
    s3_target()
    ops, _ = counted(botocore_calls)
    assert ops == {"PutObject": 10}
    assert [op for op, _ in sent] == ["PutObject"] * 10
    assert all(header(h, "Expect") is None for _, h in sent)


def test_the_report_names_every_file(static_files, s3_target, s3_bucket, tmp_path, botocore_calls):
    static_files({"css/a.css": b"a{}", "js/b.js": b"b()", "media/c.mp4": b"\x00" * 10})
    s3_target()
    report = tmp_path / "report.json"
    counted(botocore_calls, "--report-json", str(report), "--exclude", "*.mp4")
    data = json.loads(report.read_text())
    assert data["profile"] == "full"
    assert data["destination"] == f"s3://{s3_bucket}/static"
    assert data["retries"] == 0
    assert data["seconds"] > 0
    assert data["totals"]["uploaded_files"] == 2 and data["totals"]["uploaded_bytes"] == 6
    assert data["totals"]["left_out_files"] == 1
    assert [(f["destination"], f["bytes"], f["status"], f["error"]) for f in data["files"]] == [
        ("css/a.css", 3, "uploaded", None),
        ("js/b.js", 3, "uploaded", None),
    ]


def test_the_fast_path_is_not_used_for_a_storage_with_its_own_save(
    static_files, s3_target, s3_client, s3_bucket, botocore_calls
):
    static_files({"css/a.css": b"a{}"})
    s3_target("tests.test_s3_writer.OwnSaveStorage")
    assert not backend_for(target_storage()).fast
    ops, _ = counted(botocore_calls)
    assert ops == {"PutObject": 1}
    assert read(s3_client, s3_bucket, "static/css/a.css") == b"/* saved by OwnSaveStorage */a{}"


class OwnSaveStorage(S3Storage):
    """A storage that changes what it saves: only its own save() may write."""

    def _save(self, name: str, content: Any) -> str:
        body = b"/* saved by OwnSaveStorage */" + content.read()
        return super()._save(name, ContentFile(body))


# --- failures: S3's refusals, transient errors and their retries ---------------

SLOW_DOWN = (
    503,
    b"<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>",
)
INTERNAL = (
    500,
    b"<Error><Code>InternalError</Code><Message>We encountered an internal "
    b"error. Please try again.</Message></Error>",
)
RESET = "reset"


class Raw:
    """The body of a canned HTTP response, as botocore reads it."""

    def __init__(self, body: bytes) -> None:
        self.body = body

    def stream(self, **_: Any) -> Any:
        yield self.body


@pytest.fixture
def faults(monkeypatch, no_backoff) -> dict[str, list[Any]]:
    """Per piece of URL, what the next attempts get instead of the server's answer.

    Injected in botocore's HTTP session, under the endpoint every request goes
    through (a replayed one too), so the attempts are counted as sent and what
    follows (the retry decision, the backoff, the error parsing) is botocore's.
    """
    from botocore.awsrequest import AWSResponse
    from botocore.exceptions import ConnectionClosedError
    from botocore.httpsession import URLLib3Session

    plan: dict[str, list[Any]] = {}
    real = URLLib3Session.send

    def send(session: URLLib3Session, request: Any) -> Any:
        for piece, steps in plan.items():
            if piece in request.url and steps:
                step = steps.pop(0)
                if step == RESET:
                    raise ConnectionClosedError(endpoint_url=request.url)
                status, body = step
                return AWSResponse(
                    request.url, status, {"Content-Type": "application/xml"}, Raw(body)
                )
        return real(session, request)

    monkeypatch.setattr(URLLib3Session, "send", send)
    return plan


def test_transient_errors_are_retried_and_counted(
    static_files, s3_target, s3_client, s3_bucket, botocore_calls, faults, tmp_path
):
    files = {f"js/f{i}.js": f"f({i})".encode() for i in range(6)}
    static_files(files)
    s3_target()
    faults.update({"/f0.js": [SLOW_DOWN], "/f1.js": [RESET], "/f2.js": [INTERNAL, SLOW_DOWN]})
    report = tmp_path / "report.json"
    ops, out = counted(botocore_calls, "--report-json", str(report))
    assert ops == {"PutObject": 6}  # retries are attempts of the same call
    assert botocore_calls.failures == {}
    assert "4 requests retried after transient errors" in out
    assert json.loads(report.read_text())["retries"] == 4
    for name, content in files.items():
        assert read(s3_client, s3_bucket, f"static/{name}") == content


def test_retries_follow_the_storage_client_config(
    static_files, s3_target, s3_client, s3_bucket, botocore_calls, faults, tmp_path
):
    static_files({"js/ok.js": b"ok()", "js/busy.js": b"busy()"})
    s3_target(
        client_config=Config(
            s3={"addressing_style": "path"}, retries={"mode": "standard", "total_max_attempts": 4}
        )
    )
    faults["/busy.js"] = [SLOW_DOWN] * 10
    report = tmp_path / "report.json"
    with pytest.raises(CommandError) as raised:
        counted(botocore_calls, "--report-json", str(report))
    assert "1 of 2 files failed to upload" in str(raised.value)
    assert "js/busy.js: SlowDown: Please reduce your request rate." in str(raised.value)
    assert botocore_calls.failures == {"PutObject": 1}
    assert len(faults["/busy.js"]) == 10 - 4  # exactly total_max_attempts tries
    data = json.loads(report.read_text())
    assert data["retries"] == 3
    by_dest = {f["destination"]: f for f in data["files"]}
    assert by_dest["js/busy.js"]["status"] == "failed"
    assert by_dest["js/busy.js"]["error"] == "SlowDown: Please reduce your request rate."
    assert read(s3_client, s3_bucket, "static/js/ok.js") == b"ok()"


def test_refused_files_are_named_and_the_others_land(
    static_files, s3_target, s3_client, s3_bucket, botocore_calls, tmp_path
):
    """A bucket policy refuses a folder: S3's reason per file, non-zero exit, the rest land."""
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:PutObject",
                "Resource": f"arn:aws:s3:::{s3_bucket}/static/private/*",
            }
        ],
    }
    s3_client.put_bucket_policy(Bucket=s3_bucket, Policy=json.dumps(policy))
    files = {
        "css/a.css": b"a{}",
        "js/b.js": b"b()",
        "img/c.png": b"\x89PNG",
        "private/d.txt": b"d",
        "private/e.txt": b"e",
    }
    static_files(files)
    s3_target()
    report = tmp_path / "report.json"
    with pytest.raises(CommandError) as raised:
        counted(botocore_calls, "--report-json", str(report))
    message = str(raised.value)
    assert "2 of 5 files failed to upload" in message
    assert "private/d.txt: AccessDenied: Access Denied" in message
    assert "private/e.txt: AccessDenied: Access Denied" in message
    assert dict(botocore_calls.operations) == {"PutObject": 5}
    assert botocore_calls.failures == {"PutObject": 2}
    assert botocore_calls.attempts == 5  # a refusal is not retried
    assert keys(s3_client, s3_bucket) == {"static/css/a.css", "static/js/b.js", "static/img/c.png"}
    data = json.loads(report.read_text())
    assert data["totals"]["failed_files"] == 2 and data["totals"]["uploaded_files"] == 3
    assert {f["destination"]: f["error"] for f in data["files"] if f["status"] == "failed"} == {
        "private/d.txt": "AccessDenied: Access Denied.",
        "private/e.txt": "AccessDenied: Access Denied.",
    }


def test_a_failed_multipart_upload_is_aborted(
    static_files, s3_target, s3_client, s3_bucket, botocore_calls, faults
):
    static_files({"media/film.mp4": b"\x07" * (11 * MiB), "css/a.css": b"a{}"})
    s3_target(
        transfer_config=SMALL_PARTS,
        client_config=Config(
            s3={"addressing_style": "path"}, retries={"mode": "standard", "total_max_attempts": 3}
        ),
    )
    faults["&partNumber=2"] = [INTERNAL] * 3  # part 2 fails on every attempt
    with pytest.raises(CommandError) as raised:
        counted(botocore_calls)
    assert "media/film.mp4: InternalError: We encountered an internal error" in str(raised.value)
    assert faults["&partNumber=2"] == []
    assert dict(botocore_calls.operations) == {
        "PutObject": 1,
        "CreateMultipartUpload": 1,
        "UploadPart": 2,
        "AbortMultipartUpload": 1,
    }
    assert keys(s3_client, s3_bucket) == {"static/css/a.css"}
    assert s3_client.list_multipart_uploads(Bucket=s3_bucket).get("Uploads", []) == []


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
    tail = FileSlice(data, 90, 10)  # the last part may be short of the chunk size
    assert tail.read() == bytes(range(90, 100))
    # A part the file no longer holds whole is the file's error, not a short body.
    with pytest.raises(SourceChanged, match="expected 115 bytes, read 100"):
        FileSlice(data, 90, 25).read()
