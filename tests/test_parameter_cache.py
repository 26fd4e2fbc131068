"""The S3 writer's object parameters, shared between files of one kind: always what the
storage works out for each file on its own, and asked per file of a storage that may look
at more of the key than its extension."""

from __future__ import annotations

from typing import Any

import pytest
from storages.backends.s3 import S3Storage

from collectstupid.collect import SourceFile
from collectstupid.s3.parameter_cache import extension, write_parameters
from collectstupid.s3.writer import S3Writer
from collectstupid.storage import plain_key

OPTIONS = {
    "bucket_name": "b",
    "access_key": "k",
    "secret_key": "s",
    "region_name": "us-east-1",
    "location": "static",
    "gzip": True,
    "object_parameters": {"CacheControl": "max-age=60"},
}
# Names whose parameters differ by extension, by its case, by an encoding suffix
# (mimetypes then reads the one before), and names of the same kind.
NAMES = [
    "app.js",
    "b/app.abc123.js",
    "c/APP.JS",
    "d/style.css",
    "e/data.tar.gz",
    "f/notes.txt.gz",
    "g/archive.tgz",
    "h/README",
    "i/.hidden",
    "j/font.woff2",
    "k/map.js.map",
    "l/photo.Webp",
]
RULE = {"CacheControl": "public, max-age=31536000, immutable"}


class PerNameStorage(S3Storage):
    """Sets a parameter from the whole name: nothing may be shared between its files."""

    def get_object_parameters(self, name: str) -> dict[str, Any]:
        return {**super().get_object_parameters(name), "ContentDisposition": name}


def fresh(storage: S3Storage, source: SourceFile) -> dict[str, Any]:
    key = plain_key(storage, source.dest)
    return write_parameters(storage, key, None, source.parameters)[0]


@pytest.mark.parametrize("cls", [S3Storage, PerNameStorage])
def test_shared_parameters_are_each_files_own(cls: type[S3Storage]) -> None:
    storage = cls(**OPTIONS)
    writer = S3Writer(storage, None)  # type: ignore[arg-type]  # no request is made
    sources = [
        SourceFile(name, storage, name, 1, RULE if i % 2 else None)
        for i, name in enumerate(NAMES * 2)
    ]
    got = [writer.parameters(source) for source in sources]
    assert got == [fresh(storage, source) for source in sources]
    # Both kinds of file are seen: types guessed, gzip decided, the rule applied.
    assert {p["ContentType"] for p in got} >= {"text/javascript", "text/css", "font/woff2"}
    assert any(p.get("ContentEncoding") == "gzip" for p in got)
    assert any(p["CacheControl"] == RULE["CacheControl"] for p in got)


def test_only_a_storage_doing_as_django_storages_shares() -> None:
    plain = S3Writer(S3Storage(**OPTIONS), None)  # type: ignore[arg-type]
    own = S3Writer(PerNameStorage(**OPTIONS), None)  # type: ignore[arg-type]
    first, second = (SourceFile(n, plain.storage, n, 1) for n in ("a/x.js", "b/y.js"))
    assert plain.parameters(first) is plain.parameters(second)
    assert own.parameters(first)["ContentDisposition"] == "static/a/x.js"
    assert own.parameters(second)["ContentDisposition"] == "static/b/y.js"


@pytest.mark.parametrize(
    ("dest", "expected"),
    [
        ("a/b.js", ".js"),
        ("a/b.JS", ".JS"),
        ("a/README", ""),
        ("a/b.tar.gz", None),
        ("a/b.svgz", None),
        ("a/b.tgz", None),
        ("data:text/b.js", None),
        ("a\\b.js", None),
        ("a/./b.js", None),
        ("a//b.js", None),
        ("a/b.js/", None),
    ],
)
def test_what_a_key_depends_on(dest: str, expected: str | None) -> None:
    assert extension(dest) == expected
