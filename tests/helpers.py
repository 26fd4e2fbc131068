"""What the test modules share: run the command, count its calls, read what landed."""

from __future__ import annotations

import hashlib
import json
import os
from io import StringIO
from pathlib import Path
from typing import Any

from boto3.s3.transfer import TransferConfig
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.core.management.base import CommandError

from collectstupid import manifest
from collectstupid.collect import SourceFile
from collectstupid.manifest import Entry

MiB = 1024 * 1024
# Small enough that a test's "large" file is a few MB and still goes multipart
# (5 MiB is S3's smallest part but the last).
SMALL_PARTS = TransferConfig(multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB)
MANIFEST = ".collectstupid/manifest.json"
# Three small files and two that no-media leaves out.
ASSETS: dict[str, bytes | str] = {
    "css/site.css": "body { color: red }",
    "js/app.js": "console.log(1)",
    "img/logo.png": b"\x89PNG\r\n\x1a\nlogo",
    "media/intro.mp4": b"\x00" * 2048,
    "media/theme.mp3": b"\x01" * 1024,
}


def run(*args: str, **options: Any) -> str:
    """Run collectstupid without prompting; return stdout and stderr together."""
    out = StringIO()
    call_command("collectstupid", *args, interactive=False, stdout=out, stderr=out, **options)
    return out.getvalue()


def run_reporting(report: Path) -> tuple[str, str, str]:
    """A ``--smart --report-json`` run at ``-v 3``: (stdout, stderr, the CommandError's
    message, '' when it succeeded), for tests that read everything a run says."""
    out, err = StringIO(), StringIO()
    try:
        call_command(
            "collectstupid",
            "--smart",
            "--report-json",
            str(report),
            interactive=False,
            verbosity=3,
            stdout=out,
            stderr=err,
        )
    except CommandError as exc:
        return out.getvalue(), err.getvalue(), str(exc)
    return out.getvalue(), err.getvalue(), ""


def run_split(*args: str, **options: Any) -> tuple[str, str]:
    """Run the command; return (stdout, stderr) apart, to count warnings."""
    out, err = StringIO(), StringIO()
    call_command("collectstupid", *args, interactive=False, stdout=out, stderr=err, **options)
    return out.getvalue(), err.getvalue()


def counted(calls: Any, *args: str, **options: Any) -> tuple[dict[str, int], str]:
    """Run the command; return exactly the botocore operations it made, and its output."""
    calls.reset()
    out = run(*args, **options)
    return dict(calls.operations), out


def assert_lands_as_saved(target: Any, storage: Any, root: Path, names: list[str]) -> None:
    """Each file saved by ``storage.save()`` under ``saved/``, then all deployed by the
    command: every deployed object has the saved one's properties and bytes."""
    for name in names:
        storage.save(f"saved/{name}", ContentFile((root / name).read_bytes()))
    run("--profile", "full")
    for name in names:
        assert target.head(name) == target.head(f"saved/{name}"), name
        assert target.read(name) == target.read(f"saved/{name}"), name


def tree(root: Path) -> dict[str, bytes]:
    """Every file under root, by relative posix path."""
    return {
        Path(dirpath, f).relative_to(root).as_posix(): Path(dirpath, f).read_bytes()
        for dirpath, _, names in os.walk(root)
        for f in names
    }


def read(client: Any, bucket: str, key: str) -> bytes:
    return client.get_object(Bucket=bucket, Key=key)["Body"].read()


def keys(client: Any, bucket: str, prefix: str = "") -> set[str]:
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return {o["Key"] for page in pages for o in page.get("Contents", ())}


def header(headers: dict[str, Any], name: str) -> str | None:
    """A request header by case-insensitive name, as text."""
    value = {k.lower(): v for k, v in headers.items()}.get(name.lower())
    return value.decode() if isinstance(value, bytes) else value


def sha(data: bytes | str) -> str:
    return hashlib.sha256(data.encode() if isinstance(data, str) else data).hexdigest()


def entry(data: bytes | str) -> Entry:
    """The manifest entry that content should have."""
    raw = data.encode() if isinstance(data, str) else data
    return Entry(sha(raw), len(raw))


def bucket_manifest(target: Any) -> dict[str, Entry]:
    """What the bucket's manifest vouches for: each path's content (hash and size).

    The hash of the object parameters is left out here; bucket_parameters reads it.
    """
    return {
        path: Entry(e.sha256, e.size)
        for path, e in manifest.loads(target.read(MANIFEST)).entries.items()
    }


def bucket_parameters(target: Any) -> dict[str, str | None]:
    """The hash of the object parameters the bucket's manifest records for each path."""
    return {p: e.parameters for p, e in manifest.loads(target.read(MANIFEST)).entries.items()}


def assert_truthful(target: Any) -> dict[str, Entry]:
    """Every manifest entry matches the bytes the bucket holds at that path."""
    recorded = bucket_manifest(target)
    for path, recorded_entry in recorded.items():
        assert entry(target.read(path)) == recorded_entry, path
    return recorded


def planned(*names: str) -> list[SourceFile]:
    """Source files of 10 bytes each, for writers that never open them."""
    return [SourceFile(name, None, name, 10) for name in names]  # type: ignore[arg-type]


# An S3 storage that never connects: for tests of what is built, not what is sent.
OFFLINE_S3 = {
    "bucket_name": "b",
    "endpoint_url": "http://127.0.0.1:9",
    "access_key": "k",
    "secret_key": "s",
    "region_name": "us-east-1",
}


# Headers that differ between any two sends of one request: the time, and a random id per call.
VARYING_HEADERS = frozenset({"authorization", "x-amz-date", "date", "amz-sdk-invocation-id"})


def on_the_wire(request: Any) -> tuple[str, str, dict[str, Any], bytes]:
    """What a botocore request puts on the wire but for the time: method, URL, headers, body."""
    headers = {k: v for k, v in request.headers.items() if k.lower() not in VARYING_HEADERS}
    body = request.body
    if hasattr(body, "read"):
        # Bodies are sent from their start (botocore's aws-chunked one can only go back there).
        body.seek(0)
        data = body.read()
        body.seek(0)
    else:
        data = body or b""
    return request.method, request.url, headers, bytes(data)


def version_4_doc(data: bytes) -> dict[str, Any]:
    """A manifest written today, as the JSON document version 4 wrote: plain, an object
    per path in 'files'. For tests of what older versions wrote."""
    from collectstupid.manifest import packed

    doc = json.loads(packed.unpack(data))
    doc["version"] = 4
    doc["files"] = {
        path: {"sha256": sha256, "size": size, **({"parameters": p} if p else {})}
        for path, sha256, size, p in packed.rows(doc["files"])
    }
    return doc
