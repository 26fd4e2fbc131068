"""The Content-Type each file is stored with: one table shipped with the package for the
extensions a web project serves, consulted before Python's ``mimetypes``, whose answer
depends on the host's ``mime.types`` file (or its absence, in slim images) and on the
Python version. A profile's ``ContentType`` rule, or the storage's own object
parameters, still win. See docs/caching.md.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping

# By lower-case extension. Types as browsers expect them (RFC 9239 for scripts, the
# font/ types of RFC 8081); no charset, as django-storages sends none either.
MEDIA_TYPES: Mapping[str, str] = {
    ".apng": "image/apng",
    ".avif": "image/avif",
    ".bmp": "image/bmp",
    ".cjs": "text/javascript",
    ".css": "text/css",
    ".csv": "text/csv",
    ".eot": "application/vnd.ms-fontobject",
    ".flac": "audio/flac",
    ".gif": "image/gif",
    ".htm": "text/html",
    ".html": "text/html",
    ".ico": "image/vnd.microsoft.icon",
    ".jpeg": "image/jpeg",
    ".jpg": "image/jpeg",
    ".js": "text/javascript",
    ".json": "application/json",
    ".jsonld": "application/ld+json",
    ".jxl": "image/jxl",
    ".m4a": "audio/mp4",
    ".map": "application/json",
    ".md": "text/markdown",
    ".mjs": "text/javascript",
    ".mov": "video/quicktime",
    ".mp3": "audio/mpeg",
    ".mp4": "video/mp4",
    ".oga": "audio/ogg",
    ".ogg": "audio/ogg",
    ".ogv": "video/ogg",
    ".opus": "audio/ogg",
    ".otf": "font/otf",
    ".pdf": "application/pdf",
    ".png": "image/png",
    ".svg": "image/svg+xml",
    ".ttf": "font/ttf",
    ".txt": "text/plain",
    ".vtt": "text/vtt",
    ".wasm": "application/wasm",
    ".wav": "audio/wav",
    ".webm": "video/webm",
    ".webmanifest": "application/manifest+json",
    ".webp": "image/webp",
    ".woff": "font/woff",
    ".woff2": "font/woff2",
    ".xml": "application/xml",
    ".zip": "application/zip",
}


def media_type(name: str) -> str | None:
    """The table's type for ``name`` (a path or key), None for an extension it lacks."""
    return MEDIA_TYPES.get(posixpath.splitext(name)[1].lower())


def chosen(name: str, guessed: str | None) -> str | None:
    """The type to store ``name`` with when nothing set one on purpose: the table's,
    else ``guessed`` (the storage's own guess from ``mimetypes``)."""
    return media_type(name) or guessed
