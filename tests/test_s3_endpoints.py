"""The deploy client resolves endpoints once per bucket, and sends the same requests."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from django.core.files.storage import FileSystemStorage
from storages.backends.s3 import S3Storage

from collectstupid.collect import SourceFile
from collectstupid.s3 import client as s3client
from collectstupid.s3.client import RetryCounter, S3Client
from collectstupid.s3.endpoints import CachedEndpoints
from collectstupid.s3.writer import S3Writer
from tests.helpers import OFFLINE_S3, SMALL_PARTS, MiB, on_the_wire
from tests.s3_fixtures import storage_options


@pytest.fixture(autouse=True)
def fast_path_on(settings: Any) -> None:
    """These tests count botocore's calls by wrapping ``_make_api_call``, as tracing
    libraries do, which keeps a deploy on botocore unless the fast path is switched on."""
    settings.COLLECTSTUPID = {"FAST_PATH": True}


FILES: dict[str, bytes] = {
    "css/site.css": b"body { color: red }\n" * 40,
    "js/app.js": b"console.log(1);\n",
    "img/space and \u00fcnicode.svg": b"<svg/>",
    "fonts/brand.woff2": b"wOF2" + b"\x01" * 700,
    "data/seed.json.gz": b"\x1f\x8b\x08\x00",
    "robots.txt": b"User-agent: *\n",
    "empty.txt": b"",
    "video/big.mp4": b"\x00\x01" * (3 * MiB),  # above SMALL_PARTS' threshold: multipart
}
PARAMETERS: dict[str, dict[str, Any]] = {
    "css/site.css": {"CacheControl": "max-age=60"},
    "fonts/brand.woff2": {"ContentDisposition": "inline", "Metadata": {"kind": "font"}},
}


def _raw(request: Any) -> tuple[str, str, dict[str, str], bytes]:
    method, url, headers, body = on_the_wire(request)
    # The server names each multipart upload: the one part of a URL that differs.
    return method, re.sub(r"uploadId=[^&]+", "uploadId=*", url), headers, body


def _deploy(
    monkeypatch: Any, s3_server: Any, bucket: str, source: Path, cached: bool
) -> list[tuple[str, str, dict[str, str], bytes]]:
    """Every request of one deploy of FILES through the writer, with or without the cache."""
    if not cached:
        monkeypatch.setattr(s3client, "cache_endpoints", lambda client: False)
    storage = S3Storage(**storage_options(s3_server, bucket, transfer_config=SMALL_PARTS))
    client = S3Client(storage)
    requests: list[tuple[str, str, dict[str, str], bytes]] = []
    client.get().meta.events.register(
        "before-send.s3", lambda request, **_: requests.append(_raw(request))
    )
    assert isinstance(client.get()._ruleset_resolver.construct_endpoint, CachedEndpoints) is cached
    writer = S3Writer(storage, client)
    files = FileSystemStorage(location=source)
    for name, content in FILES.items():
        writer(SourceFile(name, files, name, len(content), PARAMETERS.get(name)))
    monkeypatch.undo()
    return requests


def test_requests_are_byte_identical_with_the_cache(monkeypatch, tmp_path, s3_server, s3_bucket):
    for name, content in FILES.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(content)
    without = _deploy(monkeypatch, s3_server, s3_bucket, tmp_path, cached=False)
    with_cache = _deploy(monkeypatch, s3_server, s3_bucket, tmp_path, cached=True)
    # 7 PutObjects; create, 2 parts and complete for the large file.
    assert len(without) == 11
    assert [r[:2] for r in with_cache] == [r[:2] for r in without]
    assert with_cache == without


def _client(s3_server: Any, bucket: str) -> Any:
    storage = S3Storage(**storage_options(s3_server, bucket))
    return s3client.make_client(storage, 2, RetryCounter())


def test_each_bucket_gets_its_own_endpoint(s3_server, s3_bucket):
    other = s3_server.create_bucket(f"{s3_bucket}-2")
    client = _client(s3_server, s3_bucket)
    urls: list[str] = []
    client.meta.events.register("before-send.s3", lambda request, **_: urls.append(request.url))
    for n in range(3):
        for bucket in (s3_bucket, other):
            client.put_object(Bucket=bucket, Key=f"static/{n}.css", Body=b"a{}")
    prefix = f"{s3_server.endpoint_url}/"
    assert urls == [
        f"{prefix}{bucket}/static/{n}.css" for n in range(3) for bucket in (s3_bucket, other)
    ]
    # Once per bucket, however many objects.
    assert len(client._ruleset_resolver.construct_endpoint._found) == 2


def test_a_region_chosen_per_call_is_followed(s3_server, s3_bucket):
    """What the region redirector does once a bucket answered from elsewhere: a handler
    changes the region for the next calls, which must sign for it, not for the cached one."""
    client = _client(s3_server, s3_bucket)
    regions: list[str] = []
    chosen: dict[str, str] = {}

    def choose(builtins: dict[str, Any], **_: Any) -> None:
        if "region" in chosen:
            builtins["AWS::Region"] = chosen["region"]

    def scope(request: Any, **_: Any) -> None:
        # Credential=KEY/DATE/REGION/s3/aws4_request
        regions.append(request.headers["Authorization"].decode().split("/")[2])

    client.meta.events.register("before-endpoint-resolution.s3", choose)
    client.meta.events.register("before-send.s3", scope)
    client.put_object(Bucket=s3_bucket, Key="static/a.css", Body=b"a{}")
    chosen["region"] = "eu-west-3"
    client.put_object(Bucket=s3_bucket, Key="static/b.css", Body=b"b{}")
    del chosen["region"]
    client.put_object(Bucket=s3_bucket, Key="static/c.css", Body=b"c{}")
    assert regions == [s3_server.region, "eu-west-3", s3_server.region]


def test_only_the_deploy_client_is_changed():
    storage = S3Storage(**OFFLINE_S3)
    ours = s3client.make_client(storage, 1, RetryCounter())
    assert isinstance(ours._ruleset_resolver.construct_endpoint, CachedEndpoints)
    own = storage.connection.meta.client._ruleset_resolver
    assert not isinstance(own.construct_endpoint, CachedEndpoints)


def test_a_call_that_reuses_an_endpoint_registers_its_feature_ids(
    monkeypatch, s3_server, s3_bucket
):
    """What resolving registers for the User-Agent (botocore does it for some parameters)
    goes on every request, not only on the one that resolved."""
    from botocore.regions import EndpointRulesetResolver
    from botocore.useragent import register_feature_id

    real = EndpointRulesetResolver._register_endpoint_feature_ids

    def register(self: Any, name: str, value: Any) -> None:
        if name == "Bucket":
            register_feature_id("RESOLVED_ACCOUNT_ID")  # "T" in the header's m/ list
        real(self, name, value)

    monkeypatch.setattr(EndpointRulesetResolver, "_register_endpoint_feature_ids", register)
    client = _client(s3_server, s3_bucket)
    agents: list[str] = []
    client.meta.events.register(
        "before-send.s3", lambda request, **_: agents.append(request.headers["User-Agent"].decode())
    )
    for n in range(3):
        client.put_object(Bucket=s3_bucket, Key=f"static/{n}.css", Body=b"a{}")
    features = [agent.split(" m/")[1].split(" ")[0].split(",") for agent in agents]
    assert all("T" in found for found in features)
    assert agents[0] == agents[1] == agents[2]
