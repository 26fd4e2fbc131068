"""Which URL paths a deploy asks the CDN to drop: unhashed names only, under the prefix,
URL-encoded as CloudFront wants, or one wildcard past the threshold. See docs/cdn.md."""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import quote

# RFC 1738's safe characters stay as they are: CloudFront matches the path as the
# browser sent it, so encoding any other character would miss the cached object.
SAFE = "/!$&'()+,;=:@-._"


def unhashed(names: Iterable[str], hashed: frozenset[str], copies: frozenset[str]) -> list[str]:
    """``names`` without hashed copies: a new hashed name is a new URL, never cached stale.

    A compressed sibling post-processing made of a hashed copy (``site.3f2a.css.gz``)
    is one too.
    """
    return sorted(
        {
            name
            for name in names
            if name not in hashed and not (name in copies and name.rsplit(".", 1)[0] in hashed)
        }
    )


def url_path(prefix: str, name: str) -> str:
    return prefix + quote(name, safe=SAFE)


def requested(names: Iterable[str], prefix: str, wildcard_above: int) -> list[str]:
    """The paths of one invalidation request: each name, or ``prefix*`` past the threshold."""
    paths = sorted({url_path(prefix, name) for name in names})
    if len(paths) > wildcard_above:
        return [prefix + "*"]
    return paths
