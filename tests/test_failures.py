"""Failures grouped by cause: unit rules, then floods against the real S3 server."""

from __future__ import annotations

import json
import socket
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from collectstupid.collect import SourceFile
from collectstupid.failures import cause_of, group
from collectstupid.outcomes import FAILED, UPLOADED, Outcome, UploadResult
from collectstupid.report import LivePrinter, closing_message
from s3local import FaultPlan

FILES = {f"css/f{n:02}.css": f"f{n}" for n in range(40)}


def failed(dest: str, error: str) -> Outcome:
    return Outcome(SourceFile(dest, None, dest, 1), FAILED, error)


def test_a_connection_error_is_one_cause_whatever_the_url():
    a = failed(
        "a.css",
        "EndpointConnectionError: Could not connect to the endpoint URL: "
        '"http://127.0.0.1:1/b/static/a.css"',
    )
    b = failed(
        "b.css",
        "EndpointConnectionError: Could not connect to the endpoint URL: "
        '"http://127.0.0.1:1/b/static/b.css"',
    )
    assert cause_of(a) == cause_of(b)
    assert [len(c.outcomes) for c in group([a, b])] == [2]


def test_different_codes_are_different_causes_most_common_first():
    outcomes = [
        failed("a", "AccessDenied: Access Denied"),
        failed("b", "SlowDown: Slow"),
        failed("c", "SlowDown: Slow"),
    ]
    assert [c.example for c in group(outcomes)] == ["SlowDown: Slow", "AccessDenied: Access Denied"]


def test_at_verbosity_1_only_a_handful_of_causes_are_spelled_out():
    outcomes = [failed(f"f{n}.css", f"Error{n}: broken {n}") for n in range(9)]
    result = UploadResult(outcomes=outcomes)
    short = closing_message(result, 9, verbosity=1)
    assert short.count("\n") + 1 == 1 + 5 + 1 + 1
    assert "... and 4 other causes (run with -v 2 to list every one)." in short
    assert "--report-json" not in short
    full = closing_message(result, 9, verbosity=2)
    assert all(f"f{n}.css: Error{n}: broken {n}" in full for n in range(9))
    reported = closing_message(result, 9, verbosity=1, report=Path("out.json"))
    assert "every file is listed in the report out.json" in reported


def test_the_live_printer_says_each_cause_once_at_verbosity_1_and_everything_at_2():
    outcomes = [failed(f"f{n}.css", "SignatureDoesNotMatch: bad") for n in range(10)]
    outcomes.append(failed("x.css", "SlowDown: slow"))
    quiet, loud = LivePrinter(1), LivePrinter(2)
    assert sum(quiet.line(o) is not None for o in outcomes) == 2
    assert sum(loud.line(o) is not None for o in outcomes) == 11
    assert all(LivePrinter(0).line(o) is None for o in outcomes)


def test_advice_fits_the_cause_and_retry_is_offered_only_where_it_can_help():
    denied = [failed(f"f{n}", "InvalidAccessKeyId: no such key") for n in range(6)]
    message = closing_message(UploadResult(outcomes=denied), 6)
    assert "Check the credentials" in message
    assert message.endswith("Nothing was uploaded.")
    mixed = [
        *denied,
        failed("slow", "SlowDown: slow"),
        Outcome(SourceFile("ok", None, "ok", 1), UPLOADED),
    ]
    message = closing_message(UploadResult(outcomes=mixed), 8)
    assert "Check the credentials" in message
    assert message.endswith("The other files were uploaded; run the command again to retry.")


# --- against the real S3 server -------------------------------------------------------


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def deploy(verbosity: int, *args: str) -> tuple[list[str], list[str]]:
    """Run the command expecting it to fail: (stderr lines, closing error lines)."""
    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError) as info:
        call_command(
            "collectstupid", *args, interactive=False, stdout=out, stderr=err, verbosity=verbosity
        )
    return err.getvalue().splitlines(), str(info.value).splitlines()


def test_a_wrong_secret_key_is_said_once(static_files, s3_storage_settings_factory):
    static_files(FILES)
    s3_storage_settings_factory(secret_key="not-the-secret")
    live, closing = deploy(1)
    assert len(live) == 1 and "SignatureDoesNotMatch" in live[0]
    assert closing[0].startswith("40 of 40 files failed to upload, all with SignatureDoesNotMatch")
    assert closing[1:] == [closing[1], closing[2], "Nothing was uploaded."]
    assert closing[2].startswith("Check the credentials")
    assert "--report-json" not in "\n".join(live + closing)
    live, _ = deploy(2)
    assert len(live) == 40


def test_a_server_that_is_down_is_one_cause(static_files, s3_storage_settings_factory, no_backoff):
    static_files(FILES)
    s3_storage_settings_factory(endpoint_url=f"http://127.0.0.1:{closed_port()}")
    live, closing = deploy(1)
    assert len(live) == 1 and "EndpointConnectionError" in live[0]
    assert len(closing) == 4
    assert closing[0].startswith(
        "40 of 40 files failed to upload, all with EndpointConnectionError"
    )
    assert closing[2].startswith("The endpoint is unreachable")
    assert "--report-json" not in "\n".join(live + closing)


def test_an_invalid_bucket_name_is_one_line(static_files, s3_storage_settings_factory, tmp_path):
    static_files(FILES)
    s3_storage_settings_factory(bucket="Not_A_Valid_Bucket!")
    report = tmp_path / "report.json"
    live, closing = deploy(1, "--report-json", str(report))
    assert len(live) == 1 and "Invalid bucket name" in live[0]
    assert len(closing) == 4 and "Fix the storage setting" in closing[2]
    data = json.loads(report.read_text())
    assert sum(f["status"] == "failed" for f in data["files"]) == 40


def test_smart_dry_run_with_the_server_down_does_not_claim_success(
    static_files, s3_storage_settings_factory, no_backoff
):
    static_files(FILES)
    s3_storage_settings_factory(endpoint_url=f"http://127.0.0.1:{closed_port()}")
    out = StringIO()
    with pytest.raises(CommandError) as info:
        call_command(
            "collectstupid", "--smart", "--dry-run", interactive=False, stdout=out, stderr=out
        )
    message = str(info.value)
    assert "could not be read" in message and "a dry run cannot say which files changed" in (
        message
    )
    assert "manifest rewritten" not in out.getvalue() + message


def test_copying_is_said_only_of_files_that_were_sent(
    static_files, s3_storage_settings_factory, s3_proxy
):
    # A failed file holds staticfiles.json back: it is never sent, so never "Copying".
    static_files({"css/site.css": "body {}", "js/app.js": "1", "img/a.png": b"png"})
    s3_storage_settings_factory(
        endpoint_url=s3_proxy.endpoint_url, backend="storages.backends.s3.S3ManifestStaticStorage"
    )
    s3_proxy.faults = FaultPlan(deny_prefix="static/js/app.")
    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError):
        call_command("collectstupid", interactive=False, verbosity=2, stdout=out, stderr=err)
    copying = {line[9:-1] for line in out.getvalue().splitlines() if line.startswith("Copying '")}
    assert "staticfiles.json" not in copying
    assert not any(name.startswith("js/app.") for name in copying)
    assert any(name.startswith("css/site.") for name in copying)
