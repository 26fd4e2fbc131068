"""The deploy client builds its User-Agent once per feature set, and sends botocore's own."""

from __future__ import annotations

from typing import Any

from botocore.useragent import UserAgentString
from storages.backends.s3 import S3Storage

from collectstupid.s3 import client as s3client
from collectstupid.s3.client import RetryCounter
from tests.s3_fixtures import storage_options


def _client(s3_server: Any, s3_bucket: str, **overrides: Any) -> Any:
    storage = S3Storage(**storage_options(s3_server, s3_bucket, **overrides))
    return s3client.make_client(storage, 4, RetryCounter())


def _record(
    monkeypatch: Any, s3_server: Any, s3_bucket: str, **overrides: Any
) -> tuple[Any, list[tuple[str, str]], list[int]]:
    """A deploy client; (header sent, what botocore's builder says at that moment)
    per request; how often the builder ran."""
    sent: list[tuple[str, str]] = []
    built = [0]
    build = UserAgentString.to_string

    def counting(self: Any) -> str:
        built[0] += 1
        return build(self)

    monkeypatch.setattr(UserAgentString, "to_string", counting)
    client = _client(s3_server, s3_bucket, **overrides)

    def capture(request: Any, **kwargs: Any) -> None:
        sent.append((request.headers["User-Agent"].decode(), build(client._user_agent_creator)))

    client.meta.events.register("before-send.s3", capture)
    return client, sent, built


def test_each_request_carries_botocore_user_agent_built_once(monkeypatch, s3_server, s3_bucket):
    client, sent, built = _record(monkeypatch, s3_server, s3_bucket)
    client.put_object(Bucket=s3_bucket, Key="static/first.css", Body=b"a{}")
    after_first = built[0]
    for n in range(5):
        client.put_object(Bucket=s3_bucket, Key=f"static/{n}.css", Body=b"a{}")
    assert len(sent) == 6
    assert all(header == expected for header, expected in sent)
    # Requests with the same features reuse the string (botocore builds it twice each).
    assert built[0] == after_first <= 2


def test_a_request_with_other_features_gets_its_own_user_agent(monkeypatch, s3_server, s3_bucket):
    client, sent, built = _record(monkeypatch, s3_server, s3_bucket)
    client.put_object(Bucket=s3_bucket, Key="static/a.css", Body=b"a{}")
    after_put = built[0]
    # A paginator adds a feature to the requests it makes.
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=s3_bucket, Prefix="static/")
    assert sum(page["KeyCount"] for page in pages) == 1
    client.put_object(Bucket=s3_bucket, Key="static/b.css", Body=b"b{}")
    assert len(sent) == 3
    assert all(header == expected for header, expected in sent)
    assert sent[0][0] != sent[1][0]
    assert sent[2][0] == sent[0][0]
    # New features, new strings; the second PutObject reuses the first one's.
    after_list = built[0]
    assert after_list > after_put
    client.put_object(Bucket=s3_bucket, Key="static/c.css", Body=b"c{}")
    assert built[0] == after_list


def test_the_user_agent_of_the_storage_settings_is_kept(monkeypatch, s3_server, s3_bucket):
    from botocore.config import Config

    from tests.s3_fixtures import client_config

    config = client_config().merge(Config(user_agent_extra="site/1.0", user_agent_appid="shop"))
    client, sent, _ = _record(monkeypatch, s3_server, s3_bucket, client_config=config)
    client.put_object(Bucket=s3_bucket, Key="static/a.css", Body=b"a{}")
    header = sent[0][0]
    assert header == sent[0][1]
    assert "site/1.0" in header and "app/shop" in header
