"""The compact layout of format 5: the JSON document gzipped, and its ``files`` table stored
as columns rather than one object per path, so that a manifest of 100,000 paths stays a few
megabytes to fetch and parses in a fraction of a second. See docs/smart-mode.md.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import re
import zlib
from collections.abc import Iterable, Iterator

from collectstupid.errors import ManifestFormatError

# Every gzip stream starts with these two bytes; a JSON document never does.
MAGIC = b"\x1f\x8b"
# The hashes are nearly random and take most of the bytes: a higher level gains a few
# percent of size for twice the time, paid on every write of the manifest.
LEVEL = 1
# Far above any real manifest (about 30 bytes a path unpacked): a small object that
# unpacks to more is not ours, and would otherwise fill the memory.
MAX_UNPACKED = 1 << 30
SHA256_BYTES = 32

_DIGEST = re.compile(r"[0-9a-f]{16,64}")

# One row of the files table: path, SHA-256 (hex), size, object parameters' hash.
Row = tuple[str, str, int, str | None]


def pack(document: bytes) -> bytes:
    """``document`` gzipped; the same bytes for the same document (no time stamp)."""
    return gzip.compress(document, LEVEL, mtime=0)


def unpack(data: bytes) -> bytes:
    """The document inside ``data``: gunzipped if it is gzip (format 5), else as it is."""
    if not data.startswith(MAGIC):
        return data
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        document = inflater.decompress(data, MAX_UNPACKED)
    except zlib.error as exc:
        raise ManifestFormatError(f"its compressed data is damaged ({exc})") from None
    if inflater.unconsumed_tail:
        raise ManifestFormatError("it unpacks to more than 1 GiB, far more than a manifest")
    if not inflater.eof:
        raise ManifestFormatError("its compressed data ends early (the object is truncated)")
    return document


def columns(rows: Iterable[Row]) -> dict[str, object]:
    """The files table as columns: paths, hashes (base64 of the raw bytes, one string),
    sizes, and each path's parameters hash as an index into ``digests`` (null: none)."""
    table = list(rows)
    paths, hashes, sizes, digests = zip(*table, strict=True) if table else ((), (), (), ())
    indexes: dict[str, int] = {}
    parameters = [None if d is None else indexes.setdefault(d, len(indexes)) for d in digests]
    # One conversion of every hash at once: one per path costs more than the rest.
    raw = bytes.fromhex("".join(hashes))
    return {
        "paths": list(paths),
        "sha256": base64.b64encode(raw).decode("ascii"),
        "sizes": list(sizes),
        "parameters": parameters,
        "digests": list(indexes),
    }


def rows(table: object) -> Iterator[Row]:
    """The rows of a files table written by ``columns``; any doubt raises."""
    if not isinstance(table, dict):
        raise ManifestFormatError("its 'files' table is not a mapping")
    paths, sizes = table.get("paths"), table.get("sizes")
    parameters, digests = table.get("parameters"), table.get("digests")
    if not (
        isinstance(paths, list)
        and isinstance(sizes, list)
        and isinstance(parameters, list)
        and isinstance(digests, list)
        and isinstance(table.get("sha256"), str)
    ):
        raise ManifestFormatError("its 'files' table lacks a column")
    hashes = _hashes(table["sha256"])
    if not len(paths) == len(sizes) == len(parameters) == len(hashes) // SHA256_BYTES:
        raise ManifestFormatError("the columns of its 'files' table differ in length")
    if not all(isinstance(d, str) and _DIGEST.fullmatch(d) for d in digests):
        raise ManifestFormatError("its table of parameters' hashes is malformed")
    text = hashes.hex()  # sliced as text: one object per path, not two
    width = 2 * SHA256_BYTES
    for index, (path, size, which) in enumerate(zip(paths, sizes, parameters, strict=True)):
        if not isinstance(path, str) or type(size) is not int or size < 0:
            raise ManifestFormatError(f"its entry for {path!r} is malformed")
        if which is not None and not (type(which) is int and 0 <= which < len(digests)):
            raise ManifestFormatError(f"its entry for {path!r} is malformed")
        start = index * width
        yield path, text[start : start + width], size, None if which is None else digests[which]


def _hashes(text: str) -> bytes:
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ManifestFormatError("its column of hashes is not base64") from None
    if len(raw) % SHA256_BYTES:
        raise ManifestFormatError("its column of hashes is cut short")
    return raw
