"""A file cut short while it is uploaded: a local error, at once, never a read timeout."""

from __future__ import annotations

import json
import threading

from django.core.management.base import CommandError

from s3local import S3Proxy
from tests.helpers import SMALL_PARTS, MiB, run
from tests.s3_fixtures import before_send, client_config


def test_a_file_truncated_during_its_multipart_upload_fails_at_once_and_is_aborted(
    static_files, s3_storage_settings_factory, s3_proxy: S3Proxy, tmp_path
):
    small = {f"css/f{i}.css": f".c{i} {{}}".encode() for i in range(4)}
    src = static_files({**small, "media/film.mp4": bytes(range(256)) * (12 * MiB // 256)})
    film = src / "media/film.mp4"
    # A read timeout far shorter than the test's own: a part left waiting for
    # bytes that never come would show as a timeout, not pass unnoticed.
    target = s3_storage_settings_factory(
        endpoint_url=s3_proxy.endpoint_url,
        transfer_config=SMALL_PARTS,
        client_config=client_config(read_timeout=5),
    )
    hold = s3_proxy.hold("UploadPart", skip=1)  # the second of three parts
    report = tmp_path / "report.json"
    raised: list[BaseException] = []

    def deploy() -> None:
        try:
            run("--profile", "full", "--threads", "1", "--report-json", str(report))
        except BaseException as exc:
            raised.append(exc)

    thread = threading.Thread(target=deploy)
    thread.start()
    try:
        hold.wait_held()
        with open(film, "r+b") as handle:
            handle.truncate(3 * MiB)
    finally:
        hold.release()
        thread.join(60)
    assert not thread.is_alive()
    assert len(raised) == 1 and isinstance(raised[0], CommandError), raised
    message = str(raised[0])
    assert (
        f"1 of 5 files failed to upload:\n  media/film.mp4: '{film}' changed while "
        f"uploading: expected {12 * MiB} bytes, read {3 * MiB}\n"
    ) in message
    # Parts 1 and 2 were sent; part 3 never was, nor retried, and the upload is aborted.
    counts = s3_proxy.counts
    assert {k: counts[k] for k in counts if "Multipart" in k or k == "UploadPart"} == {
        "CreateMultipartUpload": 1,
        "UploadPart": 2,
        "AbortMultipartUpload": 1,
    }
    assert json.loads(report.read_text())["retries"] == 0
    assert target.client.list_multipart_uploads(Bucket=target.bucket).get("Uploads", []) == []
    # The other files landed; the film did not.
    assert target.names() == set(small)
    assert {name: target.read(name) for name in small} == small


def test_a_file_truncated_as_its_put_is_sent_fails_at_once(
    static_files, s3_storage_settings_factory, monkeypatch, tmp_path
):
    # Above what a replayed PutObject reads whole beforehand (see replay.py),
    # below the multipart threshold: one PutObject whose body is read as sent.
    size = 2 * MiB
    small = {f"css/f{i}.css": f".c{i} {{}}".encode() for i in range(3)}
    src = static_files({**small, "js/app.js": b"x" * size})
    app = src / "js/app.js"
    # If the short body reached the server it would wait for the rest; far longer
    # than this test waits for the run.
    target = s3_storage_settings_factory(client_config=client_config(read_timeout=120))

    def cut(request, **_):
        # After botocore signed and measured the request, before its body is sent.
        if request.url.endswith("/js/app.js") and app.stat().st_size == size:
            with open(app, "r+b") as handle:
                handle.truncate(1000)

    before_send(monkeypatch, cut)
    raised: list[BaseException] = []

    def deploy() -> None:
        try:
            run("--profile", "full", "--threads", "1", "--report-json", str(tmp_path / "r.json"))
        except BaseException as exc:
            raised.append(exc)

    thread = threading.Thread(target=deploy)
    thread.start()
    thread.join(60)
    assert not thread.is_alive(), "the upload waited for bytes that never came"
    assert len(raised) == 1 and isinstance(raised[0], CommandError), raised
    assert (
        f"1 of 4 files failed to upload:\n  js/app.js: '{app}' changed while uploading: "
        f"expected {size} bytes, read 1000\n"
    ) in str(raised[0])
    assert target.names() == set(small)
