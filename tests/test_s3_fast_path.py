"""The S3 fast path's guards: the setting, the tested botocore range, the circuit breaker
and the respect for handlers that listen to botocore's calls. Each deploy here is counted
on the wire, per file, and read back from SeaweedFS."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import botocore
import pytest
from botocore.awsrequest import AWSResponse
from botocore.client import BaseClient
from botocore.endpoint import Endpoint
from botocore.exceptions import ConnectionClosedError
from django.core.management.base import CommandError
from storages.backends.s3 import S3Storage

from collectstupid.checks import check_settings
from collectstupid.conf import get_settings
from collectstupid.errors import SettingsError
from collectstupid.s3 import client as s3client
from collectstupid.s3 import fast_path
from collectstupid.s3.replay import LOST, Replay, Replayed, Template
from collectstupid.s3.sender import RetryCounter
from tests.helpers import run
from tests.s3_fixtures import client_config

# One combination of parameters: the first file (the largest) teaches the others.
FILES = {f"js/f{i}.js": f"f({i});\n".encode() * (9 - i) for i in range(6)}
ON = "S3: small files are sent from replayed botocore requests"
PUBLIC = "S3: every request goes through botocore's public API"
BROKEN = "S3: a replayed request failed without an answer from the server"


# In Wire.answers: the connection is reset before an answer comes.
RESET = 0


class Wire:
    """Every request handed to botocore's HTTP sender, by key: replayed ones included,
    since a replay sends through the same ``Endpoint._send``. ``answers`` makes the
    server's answer to a key's next requests a status instead (as a 500 from S3), or
    a reset connection (``RESET``), as botocore's HTTP layer reports one."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.sent: Counter[str] = Counter()
        self.answers: dict[str, list[int]] = {}
        real = Endpoint._send

        def send(endpoint: Any, request: Any) -> Any:
            key = request.url.split("?")[0].rsplit("/static/", 1)[-1]
            if request.method == "PUT":
                self.sent[key] += 1
            statuses = self.answers.get(key)
            if statuses:
                status = statuses.pop(0)
                if status == RESET:
                    raise ConnectionClosedError(endpoint_url=request.url)
                error = b"<Error><Code>InternalError</Code><Message>boom</Message></Error>"
                return AWSResponse(request.url, status, {}, _Raw(error))
            return real(endpoint, request)

        monkeypatch.setattr(Endpoint, "_send", send)


class _Raw:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Any:
        yield self._body


def _replays(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """What ``Replay.put`` answered, by outcome, or "lost" and "not sent" where it
    raised: whether the fast path was taken."""
    outcomes: Counter[str] = Counter()
    real = Replay.put

    def put(self: Replay, key: str, body: bytes, params: dict[str, Any]) -> Replayed:
        try:
            outcome = real(self, key, body, params)
        except LOST:
            outcomes["lost"] += 1
            raise
        except Exception:
            outcomes["not sent"] += 1
            raise
        outcomes[outcome.value] += 1
        return outcome

    monkeypatch.setattr(Replay, "put", put)
    return outcomes


def _deploy(*args: str) -> str:
    return run("--profile", "full", "--threads", "1", *args, verbosity=2)


def _landed(target: Any, files: dict[str, bytes]) -> None:
    assert target.names() == set(files)
    assert {name: target.read(name) for name in files} == files


@pytest.fixture
def deploy_target(static_files, s3_storage_settings):
    static_files(FILES)
    return s3_storage_settings


def test_by_default_small_files_are_replayed(deploy_target, monkeypatch, settings):
    """The control for the tests below: the counters see the fast path when it is taken."""
    wire, replays = Wire(monkeypatch), _replays(monkeypatch)
    out = _deploy()
    assert ON in out and out.count("S3: ") == 1
    assert replays == {"untried": 1, "sent": len(FILES) - 1}
    assert wire.sent == dict.fromkeys(FILES, 1)
    _landed(deploy_target, FILES)


def test_off_by_setting(deploy_target, monkeypatch, settings):
    settings.COLLECTSTUPID = {"FAST_PATH": False}
    wire, replays = Wire(monkeypatch), _replays(monkeypatch)
    out = _deploy()
    assert f"{PUBLIC}: COLLECTSTUPID['FAST_PATH'] is False." in out
    assert ON not in out
    assert replays == {}
    assert wire.sent == dict.fromkeys(FILES, 1)
    _landed(deploy_target, FILES)


def test_off_by_setting_keeps_the_retries(
    static_files, s3_storage_settings_factory, monkeypatch, settings, no_backoff, tmp_path
):
    settings.COLLECTSTUPID = {"FAST_PATH": False}
    static_files(FILES)
    target = s3_storage_settings_factory(
        client_config=client_config(retries={"mode": "standard", "total_max_attempts": 3})
    )
    wire = Wire(monkeypatch)
    wire.answers = {"js/f2.js": [500, 500], "js/f4.js": [503]}
    report = tmp_path / "report.json"
    _deploy("--report-json", str(report))
    assert wire.sent == {**dict.fromkeys(FILES, 1), "js/f2.js": 3, "js/f4.js": 2}
    assert json.loads(report.read_text())["retries"] == 3
    _landed(target, FILES)


def test_outside_the_tested_range(deploy_target, monkeypatch):
    monkeypatch.setattr(fast_path, "NEWEST_SERIES", (1, 0))
    monkeypatch.setattr(fast_path, "TESTED", "1.0.x")
    wire, replays = Wire(monkeypatch), _replays(monkeypatch)
    out = _deploy()
    assert (
        f"{PUBLIC}: botocore {botocore.__version__} is outside the releases collectstupid's "
        "fast path is tested with (1.0.x)." in out
    )
    assert replays == {}
    assert wire.sent == dict.fromkeys(FILES, 1)
    _landed(deploy_target, FILES)


def test_the_installed_botocore_is_inside_the_tested_range():
    """The newest-versions environment installs botocore's latest release: once it leaves
    the range, this fails until the suite has passed on it and NEWEST_SERIES is raised."""
    assert fast_path.in_tested_range(botocore.__version__), (
        f"botocore {botocore.__version__} is outside {fast_path.TESTED}: run the suite on it, "
        "then raise NEWEST_SERIES in collectstupid/s3/fast_path.py"
    )


@pytest.mark.parametrize(
    ("installed", "inside"),
    [("1.35.99", False), ("1.36.0", True), ("1.44.8", True), ("1.44.99", True), ("1.45.0", False)],
)
def test_the_range_is_read_from_release_numbers(installed, inside):
    assert fast_path.LOWEST == (1, 36, 0) and fast_path.NEWEST_SERIES == (1, 44)
    assert fast_path.in_tested_range(installed) is inside


def test_a_broken_send_sends_the_rest_of_the_run_through_botocore(
    static_files, s3_storage_settings_factory, monkeypatch, no_backoff, tmp_path
):
    """Every file keeps the storage's attempts: the replay that broke was none of them."""
    static_files(FILES)
    target = s3_storage_settings_factory(
        client_config=client_config(retries={"mode": "standard", "total_max_attempts": 3})
    )
    wire, replays = Wire(monkeypatch), _replays(monkeypatch)
    broken: list[str] = []
    made = Replay.__init__

    def breaking(self: Replay, *args: Any) -> None:
        made(self, *args)

        def send(request: Any) -> Any:
            broken.append(request.url)
            raise TypeError("_send() takes 1 positional argument but 2 were given")

        self._send = send

    monkeypatch.setattr(Replay, "__init__", breaking)
    # f1 is the first file replayed; f1 and f3 then need all three attempts.
    wire.answers = {"js/f1.js": [500, 500], "js/f3.js": [500, 503], "js/f4.js": [500]}
    report = tmp_path / "report.json"
    out = _deploy("--report-json", str(report))
    assert out.count(BROKEN) == 1
    assert f"{BROKEN} (TypeError: _send() takes 1 positional" in out
    assert replays == {"untried": 1, "not sent": 1}
    assert len(broken) == 1 and broken[0].endswith("/js/f1.js")
    assert wire.sent == {**dict.fromkeys(FILES, 1), "js/f1.js": 3, "js/f3.js": 3, "js/f4.js": 2}
    assert json.loads(report.read_text())["retries"] == 5
    _landed(target, FILES)


def test_a_replay_that_cannot_be_built_sends_the_rest_of_the_run_through_botocore(
    deploy_target, monkeypatch
):
    """Building the request is botocore's internals too: a failure there is not the file's."""
    wire, replays = Wire(monkeypatch), _replays(monkeypatch)
    built: list[str] = []
    real = Template.request

    def building(self: Template, key: str, *args: Any) -> Any:
        built.append(key)
        if len(built) > 1:  # the first is f0's, checked against botocore's own request
            raise TypeError("request() takes 5 positional arguments")
        return real(self, key, *args)

    monkeypatch.setattr(Template, "request", building)
    out = _deploy()
    assert out.count(BROKEN) == 1
    assert f"{BROKEN} (TypeError: request() takes 5 positional arguments)" in out
    assert replays == {"untried": 1, "not sent": 1}
    assert len(built) == 2 and built[1].endswith("js/f1.js")
    assert wire.sent == dict.fromkeys(FILES, 1)
    _landed(deploy_target, FILES)


@pytest.mark.parametrize(
    ("answers", "lands"), [([RESET, 500], True), ([RESET, 500, 503], False)], ids=["lands", "fails"]
)
def test_a_replayed_request_reset_on_the_way_is_the_files_first_attempt(
    static_files, s3_storage_settings_factory, monkeypatch, no_backoff, tmp_path, answers, lands
):
    """A reset is an attempt as botocore counts one: the next is a retry, and the file
    keeps the storage's attempts, the reset one included."""
    static_files(FILES)
    target = s3_storage_settings_factory(
        client_config=client_config(retries={"mode": "standard", "total_max_attempts": 3})
    )
    wire, replays = Wire(monkeypatch), _replays(monkeypatch)
    wire.answers = {"js/f1.js": list(answers)}
    report = tmp_path / "report.json"
    if lands:
        assert _deploy("--report-json", str(report)).count(BROKEN) == 1
    else:
        with pytest.raises(CommandError, match=r"js/f1\.js: InternalError: boom"):
            _deploy("--report-json", str(report))
    # f0 teaches the template, f1 is replayed and reset; the breaker sends the rest
    # through botocore.
    assert replays == {"untried": 1, "lost": 1}
    assert wire.sent == {**dict.fromkeys(FILES, 1), "js/f1.js": 3}
    assert json.loads(report.read_text())["retries"] == 2
    _landed(target, {n: c for n, c in FILES.items() if lands or n != "js/f1.js"})


def test_after_a_broken_send_a_file_still_fails_after_its_attempts(
    static_files, s3_storage_settings_factory, monkeypatch, no_backoff
):
    static_files(FILES)
    target = s3_storage_settings_factory(
        client_config=client_config(retries={"mode": "standard", "total_max_attempts": 3})
    )
    wire = Wire(monkeypatch)
    made = Replay.__init__

    def breaking(self: Replay, *args: Any) -> None:
        made(self, *args)
        self._send = lambda request: (_ for _ in ()).throw(ConnectionResetError("reset"))

    monkeypatch.setattr(Replay, "__init__", breaking)
    wire.answers = {"js/f1.js": [500] * 4}
    with pytest.raises(CommandError, match=r"js/f1\.js: InternalError: boom"):
        _deploy()
    assert wire.sent == {**dict.fromkeys(FILES, 1), "js/f1.js": 3}
    _landed(target, {n: c for n, c in FILES.items() if n != "js/f1.js"})


def _with_session_handler(monkeypatch: pytest.MonkeyPatch, event: str) -> list[str]:
    """A handler on ``event`` of every boto3 session the deploy makes, as a tracing
    library or a project's own code registers one; returns the keys it saw."""
    seen: list[str] = []
    real = S3Storage._create_session

    def handler(params: Any, **kwargs: Any) -> None:
        # before-call's params are the request: its URL ends with the key.
        seen.append(params["url"].rsplit("/static/", 1)[-1])

    def making(storage: Any) -> Any:
        session = real(storage)  # the session the storage would use
        session.events.register(event, handler)
        return session

    monkeypatch.setattr(S3Storage, "_create_session", making)
    monkeypatch.setattr(s3client, "_sessions", type(s3client._sessions)())
    return seen


def test_a_user_handler_keeps_every_request_on_botocore(deploy_target, monkeypatch):
    seen = _with_session_handler(monkeypatch, "before-call.s3.PutObject")
    wire, replays = Wire(monkeypatch), _replays(monkeypatch)
    out = _deploy()
    assert f"{PUBLIC}, so that every call reaches tests.test_s3_fast_path." in out
    assert "handler on before-call. COLLECTSTUPID['FAST_PATH'] = True" in out
    assert replays == {}
    assert sorted(seen) == sorted(FILES)
    assert wire.sent == dict.fromkeys(FILES, 1)
    _landed(deploy_target, FILES)


def test_a_wrapped_make_api_call_keeps_every_request_on_botocore(deploy_target, monkeypatch):
    calls: list[str] = []
    real = BaseClient._make_api_call

    def traced(client: Any, operation: str, params: Any) -> Any:
        calls.append(operation)
        return real(client, operation, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", traced)
    wire, replays = Wire(monkeypatch), _replays(monkeypatch)
    out = _deploy()
    assert "in place of _make_api_call" in out and PUBLIC in out
    assert replays == {}
    assert calls.count("PutObject") == len(FILES)
    assert wire.sent == dict.fromkeys(FILES, 1)
    _landed(deploy_target, FILES)


def test_switched_on_explicitly_it_replays_despite_a_handler(deploy_target, monkeypatch, settings):
    settings.COLLECTSTUPID = {"FAST_PATH": True}
    seen = _with_session_handler(monkeypatch, "before-call.s3.PutObject")
    wire, replays = Wire(monkeypatch), _replays(monkeypatch)
    out = _deploy()
    assert ON in out
    assert replays == {"untried": 1, "sent": len(FILES) - 1}
    assert seen == ["js/f0.js"]  # the one call botocore made, that taught the rest
    assert wire.sent == dict.fromkeys(FILES, 1)
    _landed(deploy_target, FILES)


def test_handlers_of_botocore_and_boto3_are_its_own(s3_server, s3_bucket):
    """A plain client's handlers are not taken for a user's: the default stays fast."""
    from storages.backends.s3 import S3Storage

    from tests.s3_fixtures import storage_options

    client = s3client.make_client(
        S3Storage(**storage_options(s3_server, s3_bucket)), 4, RetryCounter()
    )
    assert fast_path.foreign_handlers(client) == []
    assert fast_path.api_call_wrapped(client) is None
    client.meta.events.register("after-call.s3", lambda **kwargs: None)
    assert fast_path.foreign_handlers(client) == [
        "tests.test_s3_fast_path.test_handlers_of_botocore_and_boto3_are_its_own.<locals>."
        "<lambda> on after-call"
    ]


@pytest.mark.parametrize("value", ["yes", 0, 1, "False"])
def test_the_setting_is_checked(settings, value):
    settings.COLLECTSTUPID = {"FAST_PATH": value}
    with pytest.raises(SettingsError, match=r"FAST_PATH'\] must be True, False or None"):
        get_settings()
    errors = check_settings()
    assert [e.id for e in errors] == ["collectstupid.E001"]
    assert f"not {value!r}" in errors[0].msg


@pytest.mark.parametrize("value", [True, False, None])
def test_the_setting_takes_true_false_or_none(settings, value):
    settings.COLLECTSTUPID = {"FAST_PATH": value}
    assert get_settings().fast_path is value


def test_the_lines_docs_cpu_quotes(s3_server, s3_bucket, monkeypatch):
    """docs/cpu.md quotes these lines whole, with the range as it is."""
    from storages.backends.s3 import S3Storage

    from tests.s3_fixtures import storage_options

    client = s3client.make_client(
        S3Storage(**storage_options(s3_server, s3_bucket)), 4, RetryCounter()
    )
    docs = (Path(__file__).parent.parent / "docs" / "cpu.md").read_text()
    docs = " ".join(docs.split())
    monkeypatch.setattr(botocore, "__version__", "1.45.0")
    outside = fast_path.decide(client, None)
    assert not outside.on and f"`{outside.note}`" in docs
    off = fast_path.decide(client, False)
    assert not off.on and f"`{off.note}`" in docs
    assert f"`{fast_path.breaker_note(TypeError('...'))}`" in docs
