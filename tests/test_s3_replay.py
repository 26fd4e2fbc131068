"""PutObjects replayed from botocore's own request: the same bytes on the wire, less CPU."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from botocore.awsrequest import AWSPreparedRequest, AWSResponse, HeadersDict
from botocore.client import BaseClient
from botocore.config import Config
from botocore.credentials import ReadOnlyCredentials
from django.core.files.storage import FileSystemStorage
from django.core.management.base import CommandError
from storages.backends.s3 import S3Storage

from collectstupid.collect import SourceFile
from collectstupid.s3 import replay as replay_module
from collectstupid.s3.client import attempts
from collectstupid.s3.replay import Template
from collectstupid.s3.sender import S3Sender
from collectstupid.s3.writer import S3Writer
from tests.helpers import counted, on_the_wire
from tests.s3_fixtures import before_send, client_config, storage_options


@pytest.fixture(autouse=True)
def fast_path_on(settings: Any) -> None:
    """These tests count botocore's calls by wrapping ``_make_api_call``, as tracing
    libraries do, which keeps a deploy on botocore unless the fast path is switched on."""
    settings.COLLECTSTUPID = {"FAST_PATH": True}


# Several files per combination of parameters, names that need encoding, an empty file.
FILES: dict[str, bytes] = {
    **{f"css/c{i}.css": f".c{i} {{ order: {i} }}\n".encode() * (i + 1) for i in range(6)},
    **{f"js/j{i}.js": f"f({i});\n".encode() for i in range(5)},
    "img/space and \u00fcnicode.svg": b"<svg/>",
    "img/plus+sign&amp;=.svg": b"<svg></svg>",
    "img/tilde~x.svg": b"<svg> </svg>",
    "empty.txt": b"",
    "other.txt": b"text\n",
}
PARAMETERS: dict[str, dict[str, Any]] = {
    "css/c4.css": {"CacheControl": "max-age=60"},
    "css/c5.css": {"CacheControl": "max-age=60", "Metadata": {"kind": "style"}},
}


def _botocore_calls(monkeypatch: Any) -> list[str]:
    """The names of the API calls made through botocore from now on."""
    calls: list[str] = []
    real = BaseClient._make_api_call

    def counting(client: Any, operation: str, params: Any) -> Any:
        calls.append(operation)
        return real(client, operation, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", counting)
    return calls


def _write_files(root: Path) -> FileSystemStorage:
    for name, content in FILES.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(content)
    return FileSystemStorage(location=root)


class _Empty:
    def stream(self, **_: Any) -> Any:
        yield b""


Wire = list[tuple[str, str, dict[str, Any], bytes]]


def _write_all(
    monkeypatch: Any, root: Path, replayed: bool, options: dict[str, Any], offline: bool = False
) -> tuple[Wire, int]:
    """The requests of writing FILES one by one, in order, to an ``S3Storage(**options)``,
    and how many went through botocore. ``offline``: each request is answered 200 in
    ``before-send``, as botocore lets a handler do, so nothing leaves the machine."""
    if not replayed:
        monkeypatch.setattr(replay_module.Replay, "for_client", lambda *args: None)
    calls = _botocore_calls(monkeypatch)
    storage = S3Storage(**options)
    client = S3Sender(storage)
    requests: Wire = []

    def seen(request: Any, **_: Any) -> Any:
        requests.append(on_the_wire(request))
        return AWSResponse(request.url, 200, {"ETag": '"x"'}, _Empty()) if offline else None

    client.get().meta.events.register("before-send.s3", seen)
    writer = S3Writer(storage, client)
    files = _write_files(root)
    for name, content in FILES.items():
        writer(SourceFile(name, files, name, len(content), PARAMETERS.get(name)))
    monkeypatch.undo()
    return requests, calls.count("PutObject")


def _deploy(
    monkeypatch: Any, s3_server: Any, bucket: str, root: Path, replayed: bool, **options: Any
) -> tuple[Wire, int]:
    return _write_all(monkeypatch, root, replayed, storage_options(s3_server, bucket, **options))


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"default_acl": "public-read", "object_parameters": {"CacheControl": "max-age=9"}},
        {"client_config": client_config(request_checksum_calculation="when_supported")},
        {"gzip": True},
    ],
    ids=["plain", "acl-and-parameters", "crc32-checksums", "gzip"],
)
def test_replayed_requests_are_those_botocore_sends(
    monkeypatch, tmp_path, s3_server, s3_bucket, s3_client, options
):
    botocore_only, through_botocore = _deploy(
        monkeypatch, s3_server, s3_bucket, tmp_path, replayed=False, **options
    )
    replayed, through_botocore_with_replay = _deploy(
        monkeypatch, s3_server, s3_bucket, tmp_path, replayed=True, **options
    )
    assert through_botocore == len(FILES)
    # One PutObject through botocore per combination of parameters (content type,
    # gzip, the two rules above); every other file was replayed.
    combinations = len(
        {(Path(n).suffix, json.dumps(PARAMETERS.get(n), sort_keys=True)) for n in FILES}
    )
    assert through_botocore_with_replay == combinations
    assert len(replayed) == len(botocore_only) == len(FILES)
    assert replayed == botocore_only
    # SeaweedFS checks signatures: each replayed object landed with its bytes.
    for name, content in FILES.items():
        got = s3_client.get_object(Bucket=s3_bucket, Key=f"static/{name}")
        body = got["Body"].read()
        if options.get("gzip") and got.get("ContentEncoding") == "gzip":
            import gzip

            body = gzip.decompress(body)
        assert body == content, name


def _answered_offline(
    monkeypatch: Any, root: Path, replayed: bool, **options: Any
) -> tuple[Wire, int]:
    """Like _deploy, against AWS's HTTPS endpoint, offline."""
    aws = {
        "bucket_name": "collectstupid-offline",
        "access_key": "AKIDEXAMPLE",
        "secret_key": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        "region_name": "eu-west-1",
        "location": "static",
        "default_acl": None,
        "querystring_auth": False,
    }
    return _write_all(monkeypatch, root, replayed, {**aws, **options}, offline=True)


@pytest.mark.parametrize(
    "options",
    [{}, {"security_token": "session-token", "gzip": True}],
    ids=["default-checksums", "session-token-and-gzip"],
)
def test_over_https_the_checksum_trailer_is_replayed_too(monkeypatch, tmp_path, options):
    """botocore's default over HTTPS: an aws-chunked body with a CRC32 trailer."""
    plain, through_botocore = _answered_offline(monkeypatch, tmp_path, replayed=False, **options)
    replayed, with_replay = _answered_offline(monkeypatch, tmp_path, replayed=True, **options)
    assert through_botocore == len(FILES)
    assert with_replay == len(
        {(Path(n).suffix, json.dumps(PARAMETERS.get(n), sort_keys=True)) for n in FILES}
    )
    _, url, headers, body = plain[0]
    assert url.startswith("https://collectstupid-offline.s3.")
    assert headers["X-Amz-Trailer"] == b"x-amz-checksum-crc32"
    assert headers["Transfer-Encoding"] == b"chunked"
    assert body.endswith(b"\r\n\r\n") and b"x-amz-checksum-crc32:" in body
    if "security_token" in options:
        assert headers["X-Amz-Security-Token"] == b"session-token"
    assert replayed == plain


def test_a_deploy_counts_replayed_puts_as_calls(
    static_files, s3_storage_settings, s3_client, botocore_calls
):
    files = {f"css/f{i:03}.css": f".c{i} {{}}\n".encode() for i in range(40)}
    static_files(files)
    ops, _ = counted(botocore_calls, "--profile", "full")
    assert ops == {"PutObject": 40}
    assert botocore_calls.attempts == 40
    assert s3_storage_settings.names() == set(files)
    assert {n: s3_storage_settings.read(n) for n in files} == files


def _failing(monkeypatch: Any, failures: dict[str, list[int]]) -> list[str]:
    """Answer the next requests for a URL ending with a key with these statuses."""
    seen: list[str] = []

    class Raw:
        def stream(self, **_: Any) -> Any:
            yield b"<Error><Code>InternalError</Code><Message>boom</Message></Error>"

    def inject(request: Any, **_: Any) -> Any:
        seen.append(request.url)
        for piece, statuses in failures.items():
            if request.url.endswith(piece) and statuses:
                return AWSResponse(request.url, statuses.pop(0), {}, Raw())
        return None

    before_send(monkeypatch, inject)
    return seen


def test_a_failed_replay_is_the_files_first_attempt(
    static_files, s3_storage_settings_factory, tmp_path, monkeypatch, no_backoff, botocore_calls
):
    """The storage's attempts, not one more: the replay is the first of them."""
    files = {f"js/f{i}.js": f"f({i})".encode() for i in range(4)}
    # Written first (largest), so it teaches the others' request.
    files["js/a-first.js"] = b"first()" * 20
    static_files(files)
    target = s3_storage_settings_factory(
        client_config=client_config(retries={"mode": "standard", "total_max_attempts": 3})
    )
    failures = {"/f1.js": [500, 500, 500, 500], "/f2.js": [500]}
    seen = _failing(monkeypatch, failures)
    report = tmp_path / "report.json"
    with pytest.raises(CommandError) as raised:
        counted(botocore_calls, "--profile", "full", "--threads", "1", "--report-json", str(report))
    assert "1 of 5 files failed to upload" in str(raised.value)
    assert "js/f1.js: InternalError: boom" in str(raised.value)
    # f1: a replay and two attempts through botocore; f2: a replay, then one.
    assert sum(url.endswith("/f1.js") for url in seen) == 3
    assert failures["/f1.js"] == [500]
    assert sum(url.endswith("/f2.js") for url in seen) == 2
    assert json.loads(report.read_text())["retries"] == 3
    assert target.names() == set(files) - {"js/f1.js"}


def test_one_attempt_means_no_replay(s3_server, s3_bucket):
    storage = S3Storage(
        **storage_options(
            s3_server, s3_bucket, client_config=client_config(retries={"total_max_attempts": 1})
        )
    )
    client = S3Sender(storage)
    assert attempts(client.get()) == 1
    assert client._replay is None


def test_attempts_follow_botocore():
    def made(config: Config | None) -> int:
        import boto3

        session = boto3.session.Session(
            aws_access_key_id="k", aws_secret_access_key="s", region_name="us-east-1"
        )
        return attempts(session.client("s3", config=config))

    assert made(Config(retries={"mode": "standard", "total_max_attempts": 7})) == 7
    assert made(Config(retries={"mode": "legacy", "max_attempts": 2})) == 3
    assert made(Config(retries={"mode": "standard"})) == 3
    assert made(Config(retries={"mode": "legacy"})) == 5


# --- templates: what is refused, without a server ------------------------------

URL = "http://127.0.0.1:9000/bucket/static/css/a.css"
SIGNED = (
    "AWS4-HMAC-SHA256 Credential=AK/20261129/us-east-1/s3/aws4_request, "
    "SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date, Signature=" + "0" * 64
)


def _request(url: str = URL, **headers: str) -> AWSPreparedRequest:
    base = {
        "Content-Type": b"text/css",
        "X-Amz-Date": b"20261129T100000Z",
        "X-Amz-Content-SHA256": b"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "Authorization": SIGNED.encode(),
        "amz-sdk-invocation-id": b"id",
        "Content-Length": "0",
    }
    base.update(headers)
    return AWSPreparedRequest("PUT", url, HeadersDict(base), b"", False)


def test_a_plain_signed_put_makes_a_template():
    template = Template.from_request(_request(), "static/css/a.css")
    assert template is not None
    assert template.url_prefix == "http://127.0.0.1:9000/bucket/"
    assert template.host == "127.0.0.1:9000"


@pytest.mark.parametrize(
    "change",
    [
        {"url": URL + "?uploads"},
        {"url": "http://127.0.0.1:9000/bucket/static/css/b.css"},
        {"Authorization": "AWS AK:signature-v2"},
        {"X-Amz-Content-SHA256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER"},
        {"x-amz-trailer": "x-amz-checksum-crc32"},
        {"Content-Encoding": "aws-chunked"},
        {"x-amz-checksum-crc32c": "AAAAAA=="},
        {"Expect": "100-continue"},
        {"x-amz-s3session-token": "session"},
    ],
    ids=lambda change: next(iter(change)),
)
def test_other_requests_are_left_to_botocore(change):
    change = dict(change)
    url = change.pop("url", URL)
    assert Template.from_request(_request(url, **change), "static/css/a.css") is None


def test_a_template_follows_the_credentials_kind():
    template = Template.from_request(_request(), "static/css/a.css")
    assert template is not None
    plain = ReadOnlyCredentials("AK", "secret", None)
    assert template.request("k.css", b"x", plain, "20261129T100000Z", "id") is not None
    # A session token appeared: that request was not what botocore would send.
    with_token = ReadOnlyCredentials("AK", "secret", "token")
    assert template.request("k.css", b"x", with_token, "20261129T100000Z", "id") is None


def test_unhashable_parameters_go_through_botocore():
    assert replay_module.shape({"Metadata": {"a": "b"}, "ContentType": "text/css"}) is not None
    assert replay_module.shape({"Tagging": ["not", "hashable"]}) is None
