"""A big file cut short while its multipart upload runs: a local error, at once."""

from __future__ import annotations

import json
import threading

from django.core.management.base import CommandError

from s3local import S3Proxy
from tests.helpers import SMALL_PARTS, MiB, run
from tests.s3_fixtures import client_config


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
